//! Starting a demo for one test, and typed helpers for what tests do often.

use api_gateway_pattern::{Demo, DemoOptions, Ports};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// A demo on free ports plus an HTTP client. Dropping it leaves the services running until the
/// test's runtime ends; call [`TestDemo::stop`] to test a graceful stop.
pub struct TestDemo {
    pub demo: Demo,
    pub client: reqwest::Client,
}

impl TestDemo {
    pub async fn start() -> TestDemo {
        Self::start_with(DemoOptions::new(Ports::ANY)).await
    }

    /// A demo with extra user-service instances or an adjusted gateway configuration.
    pub async fn start_with(options: DemoOptions) -> TestDemo {
        let demo = Demo::start_with(options).await.expect("the demo starts");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestDemo { demo, client }
    }

    /// `http://<gateway>` + `path`.
    pub fn gateway(&self, path: &str) -> String {
        format!("http://{}{path}", self.demo.addresses.gateway)
    }

    /// `http://<service>` + `path` for a backend reached directly (bypassing the gateway).
    pub fn direct(&self, service: Service, path: &str) -> String {
        let a = &self.demo.addresses;
        let addr = match service {
            Service::Auth => a.auth,
            Service::Users => a.users,
            Service::Billing => a.billing,
        };
        format!("http://{addr}{path}")
    }

    /// Logs in through the gateway and returns the login response body.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let response = self
            .client
            .post(self.gateway("/api/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login of {email} failed");
        response.json().await.unwrap()
    }

    /// An access token for the seeded student.
    pub async fn student_token(&self) -> String {
        let body = self.login("student@example.edu", "student123").await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// An access token for the seeded admin.
    pub async fn admin_token(&self) -> String {
        let body = self.login("admin@example.edu", "admin123").await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Sets a backend's teaching toggles through its own `PUT /admin/toggles` (ADMIN token).
    pub async fn toggles(&self, addr: std::net::SocketAddr, latency_ms: u64, error_rate: f64) {
        let admin = self.admin_token().await;
        let response = self
            .client
            .put(format!("http://{addr}/admin/toggles"))
            .bearer_auth(admin)
            .json(&json!({ "latency_ms": latency_ms, "error_rate": error_rate }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "toggles on {addr}");
    }

    /// GET through the gateway with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.gateway(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Service {
    Auth,
    Users,
    Billing,
}

/// The JSON of a token's first two parts (header, payload), decoded without verification.
pub fn decode_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut next = || {
        let bytes = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    (next(), next())
}

/// `token` with its payload replaced and its signature kept: a hand-edited token.
pub fn with_payload(token: &str, payload: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap());
    format!("{}.{}.{}", parts[0], body, parts[2])
}

/// Asserts `response` is problem+json with `status` and `reason`, and returns the body.
pub async fn assert_problem(response: reqwest::Response, status: u16, reason: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["request_id"].is_string(), "{body}");
    body
}
