//! [`TestServer`]: an app running on a spawned task for one test, stopped when the test drops it.

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use std::{future::Future, net::SocketAddr, pin::Pin, time::Duration};
use tokio::sync::oneshot;

/// The future an app runs until: it resolves when the [`TestServer`] is dropped.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A running app and a client for it. Dropping it resolves the app's [`Shutdown`], so the server
/// stops (draining in-flight requests) when the test that owns it ends.
#[derive(Debug)]
pub struct TestServer {
    /// The address the app is bound to.
    pub addr: SocketAddr,
    /// A client for it. It has a generous timeout, so a hung server fails a test instead of
    /// hanging the suite.
    pub client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl TestServer {
    /// Spawns `run(shutdown)` — typically `|shutdown| app.run_until(shutdown)` — for an app already
    /// bound to `addr`. Call it inside a Tokio runtime (any `#[tokio::test]`).
    pub fn start<Run, Running, E>(addr: SocketAddr, run: Run) -> TestServer
    where
        Run: FnOnce(Shutdown) -> Running,
        Running: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown: Shutdown = Box::pin(async move {
            // Resolves when the sender is dropped, with or without a value.
            let _ = stopped.await;
        });
        let running = run(shutdown);
        tokio::spawn(async move {
            if let Err(error) = running.await {
                panic!("the server under test stopped with an error: {error}");
            }
        });
        TestServer {
            addr,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a default reqwest client builds"),
            _stop: stop,
        }
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path`, with `Authorization: Bearer <token>` when a token is given.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Response {
        self.send(Method::GET, path, bearer, None).await
    }

    /// `GET path` with a bearer token, asserted 200, as JSON.
    pub async fn get_json(&self, path: &str, bearer: &str) -> Value {
        let response = self.get(path, Some(bearer)).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("a JSON body")
    }

    /// `method path` with a JSON body and a bearer token.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        bearer: &str,
        body: &Value,
    ) -> Response {
        self.send(method, path, Some(bearer), Some(body)).await
    }

    /// `POST path` with a JSON body and a bearer token.
    pub async fn post_json(&self, path: &str, bearer: &str, body: &Value) -> Response {
        self.send_json(Method::POST, path, bearer, body).await
    }

    /// `PUT path` with a JSON body and a bearer token.
    pub async fn put_json(&self, path: &str, bearer: &str, body: &Value) -> Response {
        self.send_json(Method::PUT, path, bearer, body).await
    }

    /// Any request: `method path`, an optional bearer token, an optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("the server under test answers")
    }
}
