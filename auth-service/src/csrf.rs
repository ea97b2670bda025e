//! CSRF protection for the authorization endpoint's login form (signed double-submit cookie).
//!
//! The danger: another site makes the user's browser post *the attacker's* e-mail and password to
//! our form ("login CSRF"); the user's app then receives a code for the attacker's account and
//! stores the user's data there. The defence ties each form to the browser that asked for it:
//!
//! 1. `GET /oauth/authorize` sets a cookie `oauth_csrf` with a random nonce (`HttpOnly`,
//!    `SameSite=Strict`: another site's page can neither read it nor make the browser send it
//!    with a cross-site POST), reusing the one the browser already has so several open tabs work.
//! 2. The form carries `csrf_token = <issued-at>.<HMAC(key, nonce, issued-at, the authorization
//!    request)>`. Another site cannot compute it (it knows neither the key nor the nonce), and it
//!    also seals the request's hidden fields: a form edited to name another redirect URI fails.
//! 3. `POST` checks the token against the cookie and the submitted fields, and refuses a token
//!    older than [`TTL_SECS`].
//!
//! Signing (OWASP's "signed double-submit cookie") rather than comparing cookie and field as they
//! are: a plain comparison is beaten by anyone who can plant a cookie (a sibling subdomain, a
//! plain-HTTP network attacker). The key is random per process: a restart only means reloading
//! the form. (Several replicas would share it through configuration.)

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue, header};
use rand::RngCore;
use sha2_v011::Sha256;

/// The cookie's name.
pub const COOKIE: &str = "oauth_csrf";
/// How long a rendered form can be submitted (seconds).
pub const TTL_SECS: u64 = 600;

type HmacSha256 = Hmac<Sha256>;

/// The process's CSRF key. Its `Debug` never shows the key.
pub struct CsrfKey([u8; 32]);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(<redacted>)")
    }
}

impl CsrfKey {
    /// A fresh random key.
    pub fn random() -> CsrfKey {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        CsrfKey(key)
    }

    /// The MAC over the nonce, the issue time and the sealed fields, each length-prefixed so
    /// that no two different lists of fields feed the MAC the same bytes.
    fn mac(&self, nonce: &str, issued_at: u64, sealed: &[&str]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        let issued_at = issued_at.to_string();
        for field in [nonce, issued_at.as_str()].iter().chain(sealed) {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    /// The token for a form rendered at `now` for the browser with `nonce`, sealing `sealed`.
    pub fn token(&self, nonce: &str, sealed: &[&str], now: u64) -> String {
        let tag = self.mac(nonce, now, sealed).finalize().into_bytes();
        format!("{now}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// True when `token` was made by [`CsrfKey::token`] for this nonce and fields, at most
    /// [`TTL_SECS`] before `now`. Constant-time comparison (`verify_slice`).
    pub fn verify(&self, token: &str, nonce: &str, sealed: &[&str], now: u64) -> bool {
        let Some((issued_at, tag)) = token.split_once('.') else {
            return false;
        };
        let (Ok(issued_at), Ok(tag)) = (issued_at.parse::<u64>(), URL_SAFE_NO_PAD.decode(tag))
        else {
            return false;
        };
        if issued_at > now || now - issued_at > TTL_SECS {
            return false;
        }
        self.mac(nonce, issued_at, sealed)
            .verify_slice(&tag)
            .is_ok()
    }
}

/// A new nonce: 256 random bits, base64url.
pub fn new_nonce() -> String {
    crate::refresh::new_token()
}

/// The nonce of the request's `oauth_csrf` cookie, if it has a well-formed one.
pub fn nonce_from(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| v.len() == 43 && URL_SAFE_NO_PAD.decode(v).is_ok())
}

/// The `Set-Cookie` value for `nonce`. No `Path`: the browser scopes it to the form's own
/// directory (`/api/oauth` through the gateway), so it is not sent to the other services.
/// `Secure` when the public address is HTTPS.
pub fn set_cookie(nonce: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={nonce}; Max-Age={TTL_SECS}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("a base64url nonce is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_nonce_fields_and_time() {
        let key = CsrfKey::random();
        let nonce = new_nonce();
        let token = key.token(&nonce, &["app", "http://127.0.0.1/cb"], 1000);
        assert!(key.verify(&token, &nonce, &["app", "http://127.0.0.1/cb"], 1000));
        assert!(key.verify(
            &token,
            &nonce,
            &["app", "http://127.0.0.1/cb"],
            1000 + TTL_SECS
        ));
        assert!(!key.verify(
            &token,
            &nonce,
            &["app", "http://127.0.0.1/cb"],
            1001 + TTL_SECS
        ));
        assert!(!key.verify(&token, &new_nonce(), &["app", "http://127.0.0.1/cb"], 1000));
        assert!(!key.verify(&token, &nonce, &["app", "http://evil/cb"], 1000));
        assert!(!key.verify(&token, &nonce, &["ap", "phttp://127.0.0.1/cb"], 1000));
        assert!(!CsrfKey::random().verify(&token, &nonce, &["app", "http://127.0.0.1/cb"], 1000));
        assert!(!key.verify("garbage", &nonce, &[], 1000));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_checked_for_form() {
        let nonce = new_nonce();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("a=b; {COOKIE}={nonce}; c=d").parse().unwrap(),
        );
        assert_eq!(nonce_from(&headers), Some(nonce.as_str()));
        headers.insert(header::COOKIE, format!("{COOKIE}=short").parse().unwrap());
        assert_eq!(nonce_from(&headers), None);
    }
}
