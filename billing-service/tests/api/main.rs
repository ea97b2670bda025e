//! The billing-service's integration tests: one binary, one module per area. Every test starts
//! its own service on `127.0.0.1:0` with its own in-memory database and a fixed clock.

mod auth;
mod create;
mod health;
mod helpers;
mod invoices;
mod summary;
mod toggles;
