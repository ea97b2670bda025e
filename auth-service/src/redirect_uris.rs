//! Matching a requested `redirect_uri` against a client's registered ones.
//!
//! The rule is exact string comparison (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3): any looser match
//! (a prefix, a parsed-and-normalised URL) has let attackers send codes to a page of their own.
//! There is one exception, for native apps (RFC 8252 §7.3): a loopback redirect URI
//! (`http://127.0.0.1`, `http://[::1]`, `http://localhost`) matches on any port, because such an
//! app listens on whatever port the OS gave it at that moment. Everything but the port must still
//! be identical.
//!
//! Hand-written rather than with a URL parser on purpose: a parser normalises (default ports,
//! case, percent-encoding), and normalising is exactly what exact matching must not do.

/// The loopback hosts whose port may vary.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// True when `requested` may be used for a client that registered `registered`.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(requested)) {
        (Some((host_a, rest_a)), Some((host_b, rest_b))) => host_a == host_b && rest_a == rest_b,
        _ => false,
    }
}

/// The client's registered URI that `requested` matches, if any.
pub fn find<'a>(registered: &'a [String], requested: &str) -> Option<&'a str> {
    registered
        .iter()
        .map(String::as_str)
        .find(|r| matches(r, requested))
}

/// `http://<loopback host>[:<port>]<rest>` split into host and rest (what follows the port).
/// `None` for anything else, including a port that is not a number from 1 to 65535.
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let after_scheme = uri.strip_prefix("http://")?;
    let host = LOOPBACK_HOSTS
        .into_iter()
        .find(|h| after_scheme.starts_with(h))?;
    let after_host = &after_scheme[host.len()..];
    let rest = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(port_and_rest.len());
            let port: u16 = port_and_rest[..digits].parse().ok()?;
            if port == 0 {
                return None;
            }
            &port_and_rest[digits..]
        }
        None => after_host,
    };
    // The authority must end here: `http://127.0.0.1.evil.example/` is not loopback.
    if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
        return None;
    }
    Some((host, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_uris_match_exactly() {
        let registered = "https://app.example/cb";
        assert!(matches(registered, "https://app.example/cb"));
        for other in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://app.example:443/cb",
            "https://APP.example/cb",
            "https://app.example/CB",
            "https://app.example.evil/cb",
        ] {
            assert!(!matches(registered, other), "{other}");
        }
    }

    #[test]
    fn loopback_uris_match_on_any_port_and_nothing_else() {
        assert!(matches(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:53211/callback"
        ));
        assert!(matches(
            "http://127.0.0.1:8000/callback",
            "http://127.0.0.1:9/callback"
        ));
        assert!(matches(
            "http://[::1]/callback",
            "http://[::1]:8080/callback"
        ));
        assert!(matches("http://localhost/cb", "http://localhost:3000/cb"));
        for other in [
            "http://127.0.0.1:53211/other",
            "http://127.0.0.1:53211/callback?x",
            "http://localhost:53211/callback",
            "https://127.0.0.1:53211/callback",
            "http://127.0.0.1:0/callback",
            "http://127.0.0.1:99999/callback",
            "http://127.0.0.1:80x/callback",
            "http://127.0.0.1.evil.example/callback",
            "http://127.0.0.1@evil.example/callback",
        ] {
            assert!(!matches("http://127.0.0.1/callback", other), "{other}");
        }
    }
}
