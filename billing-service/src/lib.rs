//! billing-service (to be built).
