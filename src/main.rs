//! `cargo run --release`: the whole demo, zero setup.
//!
//! Starts the gateway (:8080), auth-service (:8081), user-service (:8082) and billing-service
//! (:8083) in one process, in demo mode, and prints what to try. Ctrl-C stops everything after
//! in-flight requests finish.
//!
//! Environment: the ports (`GATEWAY_PORT`, …), and `CLASSROOM=1` (classroom mode: forty student
//! accounts, limits for a room behind one address), `DEMO_ADMIN_PASSWORD` (required in classroom
//! mode when `GATEWAY_HOST` is not loopback), `GATEWAY_HOST`, `PUBLIC_URL`,
//! `ACCESS_TOKEN_TTL_SECS` — see `api_gateway_pattern::Settings` and `docs/classroom.md`.

use api_gateway_pattern::{Demo, DemoOptions, Ports, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init("info");
    let mut options = DemoOptions::new(Ports::from_env()?);
    options.settings = Settings::from_env()?;
    let classroom = options.settings.classroom;
    let admin_password_set = options.settings.admin_password.is_some();
    let demo = Demo::start_with(options).await?;
    let gateway = demo.addresses.gateway;
    println!(
        r#"
  API Gateway demo is running (demo mode: public demo secret, seeded accounts, in-memory data)

    gateway          {public_url}   <- the only address a client needs (tokens' issuer)
    console          {public_url}/console   <- in a browser: see a JWT, break it, watch the gateway
    auth-service     http://{auth}
    user-service     http://{users}
    billing-service  http://{billing}
    gateway admin    http://{admin}/metrics   (also /routes, /upstreams, /decisions/{{id}})

  Try it:

    curl -s -X POST http://{gateway}/api/auth/login \
         -H 'Content-Type: application/json' \
         -d '{{"email":"student@example.edu","password":"student123"}}'

    TOKEN=<the access_token from above>
    curl -s http://{gateway}/api/users/me -H "Authorization: Bearer $TOKEN"
    curl -s http://{gateway}/api/billing/invoices -H "Authorization: Bearer $TOKEN"
    curl -s http://{gateway}/api/dashboard -H "Authorization: Bearer $TOKEN"    # 3 calls at once
    curl -si http://{gateway}/api/users -H "Authorization: Bearer $TOKEN"   # 403: ADMIN only

  Accounts: student@example.edu / student123 (STUDENT), admin@example.edu / admin123 (ADMIN)
  Press Ctrl-C to stop.
"#,
        public_url = demo.public_url,
        auth = demo.addresses.auth,
        users = demo.addresses.users,
        billing = demo.addresses.billing,
        admin = demo.addresses.admin,
    );
    if classroom {
        let admin = if admin_password_set {
            "admin@example.edu / the DEMO_ADMIN_PASSWORD you set"
        } else {
            "admin@example.edu / admin123 (loopback only)"
        };
        println!(
            "  Classroom mode: student01@example.edu / student01pw … student40@example.edu / \
             student40pw (STUDENT)\n  Instructor: {admin}\n"
        );
    }
    shared::server::shutdown_signal().await;
    demo.shutdown().await
}
