//! Identity propagation: the backends learn who the caller is from headers the gateway sets.
//!
//! Backends behind the gateway read `X-User-Id`, `X-User-Role` and `X-User-Name`. That is only
//! safe if a client can never send them itself, so on **every** route — public ones too — every
//! client-sent `X-User-*` header is removed (header names are case-insensitive, and `http` stores
//! them lower-case, so one prefix test covers every spelling and suffix). Then, if the token was
//! verified, the three headers are set from its claims. `Authorization` is forwarded unchanged
//! so each backend can verify the token again (defence in depth).

use crate::{
    context::{IDENTITY_PREFIX, X_USER_ID, X_USER_NAME, X_USER_ROLE},
    error::GatewayError,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use shared::Claims;

/// Strips client-sent identity headers and sets the verified ones.
pub fn apply(headers: &mut HeaderMap, claims: Option<&Claims>) -> Result<(), GatewayError> {
    strip(headers);
    let Some(claims) = claims else { return Ok(()) };
    let id = HeaderValue::from_str(&claims.sub).map_err(|_| GatewayError::BadIdentity)?;
    headers.insert(X_USER_ID.clone(), id);
    headers.insert(
        X_USER_ROLE.clone(),
        HeaderValue::from_static(claims.role.as_str()),
    );
    headers.insert(X_USER_NAME.clone(), header_text(&claims.name));
    Ok(())
}

/// Removes every `x-user-*` header. Scans first so the common case allocates nothing.
fn strip(headers: &mut HeaderMap) {
    let is_identity = |name: &HeaderName| name.as_str().starts_with(IDENTITY_PREFIX);
    if !headers.keys().any(is_identity) {
        return;
    }
    let names: Vec<HeaderName> = headers.keys().filter(|n| is_identity(n)).cloned().collect();
    for name in names {
        headers.remove(name);
    }
}

/// A display name as a header value: printable ASCII as is; `%` and anything else (UTF-8 bytes,
/// control characters) percent-encoded, so a name like "José" arrives as `Jos%C3%A9`.
fn header_text(text: &str) -> HeaderValue {
    if text
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'%')
        && let Ok(value) = HeaderValue::from_str(text)
    {
        return value;
    }
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if (b' '..=b'~').contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&out).unwrap_or(HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::Role;

    fn claims() -> Claims {
        Claims {
            sub: "1905551042".into(),
            name: "José Ñ".into(),
            role: Role::Student,
            exp: 0,
            iat: 0,
            iss: String::new(),
            aud: String::new(),
            jti: String::new(),
            email: None,
            scope: None,
        }
    }

    #[test]
    fn client_identity_headers_are_replaced_by_verified_ones() {
        let mut h = HeaderMap::new();
        h.insert("X-User-Id", "1000000001".parse().unwrap());
        h.insert("x-user-role", "ADMIN".parse().unwrap());
        h.insert("X-USER-ANYTHING", "x".parse().unwrap());
        h.insert(
            "x-username",
            "kept: not the x-user- prefix".parse().unwrap(),
        );
        apply(&mut h, Some(&claims())).unwrap();
        assert_eq!(h["x-user-id"], "1905551042");
        assert_eq!(h["x-user-role"], "STUDENT");
        assert_eq!(h["x-user-name"], "Jos%C3%A9 %C3%91");
        assert!(h.get("x-user-anything").is_none());
        assert!(h.get("x-username").is_some());
    }

    #[test]
    fn anonymous_requests_lose_identity_headers_too() {
        let mut h = HeaderMap::new();
        h.insert("x-user-id", "1000000001".parse().unwrap());
        apply(&mut h, None).unwrap();
        assert!(h.is_empty());
    }
}
