//! One upstream target: the `http://host:port` or `https://host:port` base URL a configuration
//! names, parsed once, and the most targets an upstream may have.
//!
//! A leaf: the configuration's checks parse targets with the same code the upstream uses to reach
//! them, so a URL that passes `gateway check-config` is one the gateway can call.

use http::{HeaderValue, Uri, uri::Authority};

/// The most targets one upstream may have (exclusions are a 64-bit mask).
pub const MAX_TARGETS: usize = 64;

/// One `http://host:port` or `https://host:port` address of an upstream, parsed once.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`, used in the request URI.
    pub authority: Authority,
    /// The `Host` header the upstream gets (its own authority, not the gateway's).
    pub host_header: HeaderValue,
    /// `https://`: the connection is TLS, the certificate checked for the host
    /// ([`super::tls`]).
    pub https: bool,
}

impl Target {
    /// The port to connect to: the URL's, else 80 for `http` and 443 for `https`.
    pub fn port(&self) -> u16 {
        self.authority
            .port_u16()
            .unwrap_or(if self.https { 443 } else { 80 })
    }
}

impl Target {
    /// Parses a configured target URL; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{e}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err("the URL must start with http:// or https://".into()),
        };
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
            https,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_must_be_http_or_https_base_urls() {
        assert!(Target::parse("http://127.0.0.1:8082").is_ok());
        assert!(Target::parse("http://users:80/").is_ok());
        let secure = Target::parse("https://users.internal").unwrap();
        assert!(secure.https);
        assert_eq!(secure.port(), 443);
        assert_eq!(Target::parse("http://users").unwrap().port(), 80);
        assert!(Target::parse("ftp://x:1").unwrap_err().contains("https://"));
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
}
