//! What a policy counts by, and how a request becomes a key.
//!
//! - **user**: the verified token's `sub`. A request without a token (a public route) is
//!   counted by its IP address instead, so anonymous callers cannot share one unlimited key.
//! - **ip**: the client's address. Behind a load balancer every request comes from the
//!   balancer, so `X-Forwarded-For` is read — but only when the peer is one of
//!   `trusted_proxies`, and then from the right: the rightmost address that is not itself a
//!   trusted proxy is the client as our own infrastructure saw it. Anything to its left was
//!   written by the client and could be anything (a client rotating fake addresses must not
//!   get a fresh allowance per request).
//! - **route**: the route's name: one allowance shared by everyone on it.
//! - **account**: the login a request is for: `email` (JSON) or `username` (form, the OAuth
//!   password grant). Lower-cased and hashed (SHA-256) before use, so the key, the Redis
//!   database and any debugging output never hold the address in clear.
//!
//! A key is `policy|part|part`, e.g. `per-user|u:1905551042` or `login-ip|ip:192.0.2.7`.

use super::policy::Policy;
use crate::{
    config::KeyPart,
    error::GatewayError,
    forwarded::{Peer, TrustedProxies},
    limits::content_length,
};
use axum::body::Body;
use http::{HeaderMap, header, request::Parts};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sha2::{Digest, Sha256};
use std::{
    fmt::Write,
    net::{IpAddr, SocketAddr},
};

/// Most body bytes read to find the login account. Logins are tiny; a larger body on a login
/// route is refused (413) rather than buffered.
pub const MAX_ACCOUNT_BODY: u64 = 16 * 1024;

/// Who is asking, as far as rate limiting cares.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The verified token's `sub`.
    pub user: Option<&'a str>,
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// The route's name.
    pub route: &'a str,
    /// The hashed login account.
    pub account: Option<&'a str>,
}

impl Subject<'_> {
    /// The key for `policy`, or `None` when the request has nothing to count by (a policy by
    /// account on a request that names no account).
    pub fn key(&self, policy: &Policy) -> Option<String> {
        let mut key = String::with_capacity(64);
        key.push_str(&policy.name);
        for part in &policy.key {
            key.push('|');
            match (part, self.user) {
                (KeyPart::User, Some(user)) => {
                    key.push_str("u:");
                    key.push_str(user);
                }
                (KeyPart::User, None) => {
                    key.push_str("anon:");
                    self.push_ip(&mut key);
                }
                (KeyPart::Ip, _) => {
                    key.push_str("ip:");
                    self.push_ip(&mut key);
                }
                (KeyPart::Route, _) => {
                    key.push_str("r:");
                    key.push_str(self.route);
                }
                (KeyPart::Account, _) => {
                    key.push_str("a:");
                    key.push_str(self.account?);
                }
            }
        }
        Some(key)
    }

    fn push_ip(&self, key: &mut String) {
        match self.ip {
            Some(ip) => {
                let _ = write!(key, "{ip}");
            }
            None => key.push_str("unknown"),
        }
    }
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the rightmost
/// `X-Forwarded-For` entry (in the request's `headers`) that is not a trusted proxy.
pub fn client_ip(peer: &Peer, headers: &HeaderMap, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer_ip = peer.ip()?;
    if !peer.trusted {
        return Some(peer_ip);
    }
    let is_trusted = |ip: IpAddr| trusted.trusts(Some(SocketAddr::new(ip, 0)));
    let mut client = peer_ip;
    // Several header lines form one list (RFC 9110 §5.3): walk them all, last line last.
    let lines: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    for entry in lines.iter().rev().flat_map(|line| line.rsplit(',')) {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            // Garbage: nothing to its left can be believed; the last good hop stands.
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

/// Reads a login body (at most [`MAX_ACCOUNT_BODY`]) and finds the account it names. Returns
/// the same bytes as a new body to forward.
pub async fn read_account(
    parts: &Parts,
    body: Body,
) -> Result<(Body, Option<String>), GatewayError> {
    let too_large = GatewayError::BodyTooLarge {
        limit: MAX_ACCOUNT_BODY,
    };
    if content_length(&parts.headers).is_some_and(|len| len > MAX_ACCOUNT_BODY) {
        return Err(too_large);
    }
    let limit = usize::try_from(MAX_ACCOUNT_BODY).unwrap_or(usize::MAX);
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return Err(too_large),
        Err(_) => return Err(GatewayError::BodyUnreadable),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let account = account_in(content_type, &bytes).map(|a| hash_account(&a));
    Ok((Body::from(bytes), account))
}

/// The account a login body names, if it names one.
pub fn account_in(content_type: &str, body: &[u8]) -> Option<String> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let found = if media == "application/x-www-form-urlencoded" {
        form_urlencoded::parse(body)
            .find(|(k, _)| k == "username" || k == "email")
            .map(|(_, v)| v.into_owned())
    } else if media == "application/json" || media.ends_with("+json") {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        ["email", "username"]
            .iter()
            .find_map(|k| value.get(*k)?.as_str().map(str::to_owned))
    } else {
        None
    };
    found.filter(|a| !a.trim().is_empty())
}

/// Normalises (trim, lower-case) and hashes an account name: `Student@Example.edu ` and
/// `student@example.edu` are one account, and its key never holds the address in clear.
pub fn hash_account(account: &str) -> String {
    let digest = Sha256::digest(account.trim().to_lowercase().as_bytes());
    digest[..16]
        .iter()
        .fold(String::with_capacity(32), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forwarded::TrustedProxies;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = TrustedProxies::new(&["10.0.0.0/8".to_owned()]);
        let ip = |peer: &str, xff: &[&str]| {
            let peer = Peer::new(SocketAddr::new(peer.parse().unwrap(), 4000), &trusted);
            let mut headers = HeaderMap::new();
            for line in xff {
                headers.append("x-forwarded-for", line.parse().unwrap());
            }
            client_ip(&peer, &headers, &trusted).unwrap().to_string()
        };
        // An untrusted peer cannot choose its address.
        assert_eq!(ip("192.0.2.7", &["1.2.3.4"]), "192.0.2.7");
        // Through our balancer: the rightmost untrusted entry; the client's own prefix is ignored.
        assert_eq!(
            ip("10.0.0.1", &["6.6.6.6, 198.51.100.9", "10.0.0.2"]),
            "198.51.100.9"
        );
        // No header: the proxy itself.
        assert_eq!(ip("10.0.0.1", &[]), "10.0.0.1");
        // Garbage stops the walk.
        assert_eq!(ip("10.0.0.1", &["6.6.6.6, nonsense"]), "10.0.0.1");
        // No known peer: no address to count by.
        assert_eq!(
            client_ip(&Peer::unknown(), &HeaderMap::new(), &trusted),
            None
        );
    }

    #[test]
    fn accounts_are_found_normalised_and_hashed() {
        let json = br#"{"email":"Student@Example.edu ","password":"x"}"#;
        let form = b"grant_type=password&username=student%40example.edu&password=x";
        let a = account_in("application/json; charset=utf-8", json).unwrap();
        let b = account_in("application/x-www-form-urlencoded", form).unwrap();
        assert_eq!(hash_account(&a), hash_account(&b));
        assert_eq!(hash_account(&a).len(), 32);
        assert!(!hash_account(&a).contains("student"));
        assert_eq!(account_in("text/plain", json), None);
        assert_eq!(account_in("application/json", b"{\"email\":\"\"}"), None);
        assert_eq!(account_in("application/json", b"not json"), None);
    }
}
