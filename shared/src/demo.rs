//! The demo's fixed facts, in one place so every service agrees on them.
//!
//! **Demo only.** These values are public (they are in the repository). A service started
//! without demo mode never seeds the accounts, and every service refuses the public secret there
//! ([`crate::token_rules`]).

/// Where clients reach the gateway unless told otherwise: the demo's `public_url`. The demo
/// launcher (`src/lib.rs`) replaces it with the address the gateway really bound, and compose
/// with its `PUBLIC_URL` variable (see `service_kit::settings::public_url_for`).
pub const PUBLIC_URL: &str = "http://localhost:8080";

/// The issuer every demo token names, and every verifier expects: the public URL, since
/// clients reach the auth-service, its discovery documents included, through the gateway.
pub const ISSUER: &str = PUBLIC_URL;

/// The audience of every demo access token: the e-commerce API behind the gateway.
pub const AUDIENCE: &str = "ecommerce-api";

/// The demo's HS256 secret (the lecture's "secret key"). 45 bytes: long enough for HS256
/// (RFC 7518 §3.2 asks for at least 256 bits), but public, so demo-only.
pub const HS256_SECRET: &str = "demo-only-hs256-secret-do-not-use-in-production";

/// The seeded student. The id and name are the lecture's example payload.
pub mod student {
    /// Stable id (`sub`), referred to by the backends' demo data.
    pub const ID: &str = "1905551042";
    /// Login e-mail.
    pub const EMAIL: &str = "student@example.edu";
    /// Login password (demo only).
    pub const PASSWORD: &str = "student123";
    /// Display name.
    pub const NAME: &str = "I Wayan Sudarma";
}

/// The seeded administrator.
pub mod admin {
    /// Stable id (`sub`), referred to by the backends' demo data.
    pub const ID: &str = "1000000001";
    /// Login e-mail.
    pub const EMAIL: &str = "admin@example.edu";
    /// Login password (demo only).
    pub const PASSWORD: &str = "admin123";
    /// Display name.
    pub const NAME: &str = "Ada Admin";
}
