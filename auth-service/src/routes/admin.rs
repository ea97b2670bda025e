//! `POST /admin/reset` (demo mode only, ADMIN): ends every login lock, so a class can go on after
//! the exercise that locks the student's account (exercise 10) without restarting the demo.
//!
//! It clears the three failed-attempt throttles — per account, per device cookie, per OAuth
//! client — as kept in this process (with `[redis]`, the shared records are left alone: several
//! replicas use them) and nothing else: accounts registered during the class stay, and refresh-token
//! families keep their state. The answer says how many records were forgotten. Outside demo
//! mode the route does not exist: in production a lock is lifted by waiting, not by a call.

use crate::AppState;
use axum::{Router, extract::State, routing::post};
use serde::Serialize;
use shared::{AppJson, Authenticated, Problem, service_kit::roles::require_admin};

/// The admin routes of demo mode.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/reset", post(reset))
}

/// What `POST /admin/reset` forgot.
#[derive(Debug, Serialize)]
pub struct Reset {
    /// Accounts with failed logins on record (locked or counting).
    pub accounts: usize,
    /// Device cookies with failed logins on record.
    pub devices: usize,
    /// OAuth clients with failed authentications on record.
    pub clients: usize,
}

async fn reset(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
) -> Result<AppJson<Reset>, Problem> {
    require_admin(&claims)?;
    let reset = Reset {
        accounts: state.throttle.clear(),
        devices: state.devices.throttle().clear(),
        clients: state.client_throttle.clear(),
    };
    tracing::warn!(
        admin = %claims.sub,
        accounts = reset.accounts,
        devices = reset.devices,
        clients = reset.clients,
        "login throttles reset"
    );
    Ok(AppJson(reset))
}
