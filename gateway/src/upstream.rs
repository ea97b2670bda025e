//! Upstreams: the backend services and how the gateway reaches them.
//!
//! Each upstream owns one HTTP client with a pool of keep-alive connections (opening a TCP
//! connection per request would double the latency of every call) and picks a target
//! round-robin. This is the module where load balancing, health checks, circuit breakers and
//! retries will grow; the proxy only asks it for a target and a client.

use crate::{config::UpstreamConfig, limits::LimitedBody};
use http::{HeaderValue, Uri, uri::Authority};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};
use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

/// The body type the gateway sends upstream: the client's body, counted against the limit.
pub type ProxyBody = LimitedBody<axum::body::Body>;

/// The pooled client of one upstream.
pub type HttpClient = Client<HttpConnector, ProxyBody>;

/// One `http://host:port` address of an upstream, parsed once.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`, used in the request URI.
    pub authority: Authority,
    /// The `Host` header the upstream gets (its own authority, not the gateway's).
    pub host_header: HeaderValue,
}

impl Target {
    /// Parses a configured target URL; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(
                    "https upstreams are not supported yet (no TLS client is built in)".into(),
                );
            }
            _ => return Err("the URL must start with http://".into()),
        }
        let authority = uri.authority().ok_or("the URL has no host")?.clone();
        if authority.as_str().contains('@') {
            return Err("credentials in the URL are not allowed".into());
        }
        if authority.host().is_empty() {
            return Err("the URL has no host".into());
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(
                "the URL must not have a path or query (use a route's rewrite_prefix)".into(),
            );
        }
        let host_header = HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?;
        Ok(Target {
            authority,
            host_header,
        })
    }
}

/// One upstream: its targets, its client and its timeouts.
#[derive(Debug)]
pub struct Upstream {
    /// The configured name (access log, errors).
    pub name: Box<str>,
    targets: Vec<Target>,
    next: AtomicUsize,
    /// Pooled keep-alive client.
    pub client: HttpClient,
    /// From sending the request to the response head; past it → 504.
    pub request_timeout: Duration,
}

impl Upstream {
    /// Builds the upstream from its validated configuration.
    pub fn new(config: &UpstreamConfig) -> Upstream {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_millis(config.connect_timeout_ms)));
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build(connector);
        Upstream {
            name: config.name.as_str().into(),
            targets: config
                .targets
                .iter()
                .map(|t| Target::parse(t).expect("validation checked every target URL"))
                .collect(),
            next: AtomicUsize::new(0),
            client,
            request_timeout: Duration::from_millis(config.request_timeout_ms),
        }
    }

    /// The next target, round-robin. `Relaxed` is enough: the counter only spreads load.
    pub fn pick(&self) -> &Target {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        &self.targets[i % self.targets.len()]
    }

    /// All targets (readiness checks).
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_must_be_plain_http_base_urls() {
        assert!(Target::parse("http://127.0.0.1:8082").is_ok());
        assert!(Target::parse("http://users:80/").is_ok());
        assert!(Target::parse("https://x:1").unwrap_err().contains("https"));
        assert!(Target::parse("127.0.0.1:8082").is_err());
        assert!(
            Target::parse("http://x:1/api")
                .unwrap_err()
                .contains("path")
        );
        assert!(
            Target::parse("http://u:p@x:1")
                .unwrap_err()
                .contains("credentials")
        );
        assert!(Target::parse("http://x:1?q=1").is_err());
        assert!(Target::parse("not a url").is_err());
    }

    #[test]
    fn targets_are_picked_round_robin() {
        let upstream = Upstream::new(&UpstreamConfig {
            name: "u".into(),
            targets: vec!["http://a:1".into(), "http://b:2".into()],
            connect_timeout_ms: 100,
            request_timeout_ms: 100,
        });
        let picked: Vec<&str> = (0..4).map(|_| upstream.pick().authority.as_str()).collect();
        assert_eq!(picked, ["a:1", "b:2", "a:1", "b:2"]);
    }
}
