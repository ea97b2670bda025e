//! The user-service's integration tests: one binary, one module per area. Every test starts its
//! own service on `127.0.0.1:0` with its own in-memory database and talks to it over HTTP.

mod access;
mod auth;
mod health;
mod helpers;
mod limits;
mod profile;
mod toggles;
