//! auth-service
