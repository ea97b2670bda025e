//! Device cookies: a browser that has logged in to an account before may keep logging in while
//! that account is locked by someone else's wrong passwords.
//!
//! # The problem
//!
//! The per-account throttle ([`crate::throttle`]) stops password guessing, but it is also a
//! weapon: anyone who knows an e-mail address can send five wrong passwords every few minutes and
//! keep its owner locked out for good. Locking by client IP instead does not help — a classroom
//! (or a company, or a mobile carrier) sends everyone's logins from ONE address, so an IP lock
//! would lock out the whole room, and an attacker simply changes address.
//!
//! # The pattern (OWASP "Slow Down Online Guessing Attacks with Device Cookies")
//!
//! A successful login sets a *device cookie*: a random device id, the account it was earned on and
//! an expiry, signed with an HMAC key only this service holds. On the next login the service
//! looks for a valid cookie *for the e-mail being logged in to*:
//!
//! - **without one** (an attacker, or a new browser) the account's throttle applies as before;
//! - **with one** the account's lock is ignored and the attempt is throttled *per device*
//!   instead, with the same back-off. A stolen cookie therefore buys five guesses and then the
//!   same locks as everyone else — never a way around the throttle. A success clears only the
//!   device's record, so a victim's logins do not reset the lock the attacker earned.
//!
//! A cookie that is forged, expired, or was earned on another account is simply ignored (the
//! login goes on as if there were none): it is never an error, so it tells an attacker nothing.
//!
//! # The cookie
//!
//! `device=v1.<expires>.<device id>.<mac>; Max-Age=2592000; Path=/api/auth; HttpOnly;
//! SameSite=Strict` (+ `Secure` when the public address is `https://`). `HttpOnly` keeps it from
//! scripts, `SameSite=Strict` from other sites' forms, `Path` from every request but the login
//! API's. The e-mail is *not* in the cookie (only in what the MAC covers), so the cookie reveals
//! nothing about who uses the browser. One cookie per browser: logging in to a second account
//! replaces it (a shared classroom PC remembers the last account only).
//!
//! The HMAC key is 32 random bytes drawn when the service starts, separate from the token keys
//! (a cookie is never a token, and a token key leak must not forge cookies). A restart therefore
//! forgets every device: the next successful login earns a new cookie. Several replicas would
//! share the key from configuration, as they share the token keys.

use crate::{config::ThrottleConfig, throttle::Throttle};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue, header};
use rand::RngCore;
use sha2_v011::Sha256;

/// The cookie's name.
pub const COOKIE_NAME: &str = "device";
/// How long a device is remembered after its last successful login (30 days).
pub const LIFETIME_SECS: u64 = 30 * 24 * 60 * 60;
/// Where browsers send it: the login API as the gateway publishes it, and nowhere else.
pub const COOKIE_PATH: &str = "/api/auth";
/// Format version, first in the value, so the format can change without misreading old cookies.
const VERSION: &str = "v1";

type HmacSha256 = Hmac<Sha256>;

/// A device recognised from a valid cookie: its id keys the per-device throttle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    id: String,
}

impl Device {
    /// The random device id (base64url), the key of the per-device throttle.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Issues and recognises device cookies, and throttles failed logins per device.
pub struct DeviceCookies {
    key: [u8; 32],
    secure: bool,
    throttle: Throttle,
}

impl std::fmt::Debug for DeviceCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("DeviceCookies")
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl DeviceCookies {
    /// A fresh random key. `public_url` (the issuer: where clients reach the service) decides
    /// `Secure`; `throttle` is the per-device back-off (the same numbers as the per-account one).
    pub fn new(public_url: &str, throttle: ThrottleConfig) -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        DeviceCookies {
            key,
            secure: public_url.starts_with("https://"),
            throttle: Throttle::new(throttle),
        }
    }

    /// The per-device login throttle.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// The `Set-Cookie` value for a successful login to `email` (normalised) at `now`: a new
    /// device id, valid [`LIFETIME_SECS`].
    pub fn issue(&self, email: &str, now: u64) -> HeaderValue {
        let mut id = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let id = URL_SAFE_NO_PAD.encode(id);
        let expires = now.saturating_add(LIFETIME_SECS);
        let mac = URL_SAFE_NO_PAD.encode(self.mac(email, expires, &id).finalize().into_bytes());
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE_NAME}={VERSION}.{expires}.{id}.{mac}; Max-Age={LIFETIME_SECS}; \
             Path={COOKIE_PATH}; HttpOnly; SameSite=Strict{secure}"
        );
        HeaderValue::try_from(cookie).expect("base64url and digits are valid header characters")
    }

    /// The device of the first valid `device` cookie in `headers` for `email` at `now`, if any.
    /// Forged, expired, malformed and other accounts' cookies are ignored.
    pub fn recognise(&self, headers: &HeaderMap, email: &str, now: u64) -> Option<Device> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == COOKIE_NAME)
            .find_map(|(_, value)| self.verify(value, email, now))
    }

    /// Checks one cookie value: version, expiry, then the MAC (constant-time compare).
    fn verify(&self, value: &str, email: &str, now: u64) -> Option<Device> {
        let mut parts = value.split('.');
        let (version, expires, id, mac) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != VERSION || parts.next().is_some() {
            return None;
        }
        let expires: u64 = expires.parse().ok()?;
        if expires <= now {
            return None;
        }
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        self.mac(email, expires, id).verify_slice(&mac).ok()?;
        Some(Device { id: id.to_owned() })
    }

    /// The MAC of a cookie: over the version, the account, the expiry and the device id, each
    /// separated by a byte that none of them can contain, so no two inputs run together.
    fn mac(&self, email: &str, expires: u64, id: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        for part in [VERSION, email, &expires.to_string(), id] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(public_url: &str) -> DeviceCookies {
        DeviceCookies::new(public_url, ThrottleConfig::default())
    }

    /// The `name=value` part of a `Set-Cookie`, as a browser sends it back in `Cookie`.
    fn sent_back(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::try_from(format!("theme=dark; {pair}")).unwrap(),
        );
        headers
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_the_login_api() {
        let set = cookies("http://localhost:8080").issue("ada@example.edu", 1000);
        let text = set.to_str().unwrap();
        assert!(text.starts_with("device=v1.2593000."), "{text}");
        assert!(text.ends_with("; Max-Age=2592000; Path=/api/auth; HttpOnly; SameSite=Strict"));
        assert!(!text.contains("ada"), "the e-mail is not in the cookie");
        let set = cookies("https://shop.example").issue("ada@example.edu", 1000);
        assert!(set.to_str().unwrap().ends_with("; SameSite=Strict; Secure"));
    }

    #[test]
    fn a_cookie_is_recognised_for_its_account_until_it_expires() {
        let devices = cookies("http://localhost:8080");
        let headers = sent_back(&devices.issue("ada@example.edu", 1000));
        let device = devices
            .recognise(&headers, "ada@example.edu", 1000)
            .unwrap();
        assert!(device.id().len() >= 22, "128 random bits");
        let last = 1000 + LIFETIME_SECS - 1;
        assert!(
            devices
                .recognise(&headers, "ada@example.edu", last)
                .is_some()
        );
        assert!(
            devices
                .recognise(&headers, "ada@example.edu", last + 1)
                .is_none()
        );
        assert!(
            devices
                .recognise(&headers, "bob@example.edu", 1000)
                .is_none()
        );
    }

    #[test]
    fn forged_altered_and_foreign_cookies_are_ignored() {
        let devices = cookies("http://localhost:8080");
        let set = devices.issue("ada@example.edu", 1000);
        let value = set.to_str().unwrap().split(';').next().unwrap();
        let (_, value) = value.split_once('=').unwrap();
        let parts: Vec<&str> = value.split('.').collect();
        let mut forged = vec![
            // A later expiry with the old MAC.
            format!("v1.9999999999.{}.{}", parts[2], parts[3]),
            // Another device id with the old MAC.
            format!("v1.{}.AAAAAAAAAAAAAAAAAAAAAA.{}", parts[1], parts[3]),
            format!("v2.{}.{}.{}", parts[1], parts[2], parts[3]),
            format!("{value}.extra"),
            format!("v1.{}.{}", parts[1], parts[2]),
            "v1.x.y.z".to_owned(),
            String::new(),
        ];
        // A cookie from another process (another key) for the same account.
        let other = cookies("http://localhost:8080").issue("ada@example.edu", 1000);
        let other = other.to_str().unwrap().split(';').next().unwrap();
        forged.push(other.split_once('=').unwrap().1.to_owned());
        for value in forged {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::COOKIE,
                HeaderValue::try_from(format!("device={value}")).unwrap(),
            );
            assert!(
                devices
                    .recognise(&headers, "ada@example.edu", 1000)
                    .is_none(),
                "{value} was accepted"
            );
        }
    }
}
