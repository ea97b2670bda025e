//! The auth-service's integration tests: one binary (faster to link), one module per area.
//! Every test starts its own service on 127.0.0.1 port 0 with its own fresh database.

mod authorize;
mod bad_input;
mod classroom;
mod demo;
mod device_cookie;
mod discovery;
mod helpers;
mod keys;
mod login;
mod logout;
mod oauth;
mod oauth_clients;
mod refresh;
mod register;
mod revocation;
mod shared_throttle;
mod storage;
