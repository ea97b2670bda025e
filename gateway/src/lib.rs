//! gateway (to be built).
