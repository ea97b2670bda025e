//! user-service (to be built).
