//! The forwarding headers' properties, for any headers a client sends.
//!
//! `X-Forwarded-For`, `Forwarded` and `X-Real-IP` decide which address a backend rate-limits and
//! audits by. So, whatever the client wrote:
//!
//! 1. nothing panics, and every header written is a valid header value;
//! 2. from an **untrusted** peer, the backend sees exactly the peer's address: `X-Forwarded-For`
//!    is that address alone, `Forwarded` is one element naming it, `X-Real-IP` and every other
//!    `X-Forwarded-*` of the client's are gone, and `X-Forwarded-Proto` is `http`;
//! 3. from a **trusted** proxy, the chain is kept and the peer's address is its last entry;
//! 4. a `host` parameter in `Forwarded` never breaks out of its quoted string;
//! 5. `Cidr::parse` never panics, and a parsed network contains its own address.
//!
//! The input is read as: one byte of flags (trusted or not, IPv4 or IPv6), the peer's address,
//! then header lines `name: value` separated by `\n`; the last line's value is also offered as
//! the client's `Host`.

use gateway::forwarded::{Cidr, Peer, TrustedProxies, apply};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Checks every property for `data`; panics (a fuzzer finding) when one fails.
pub fn check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_cidr(text);
    }
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let trusted = flags & 1 == 1;
    let (ip, rest) = if flags & 2 == 0 {
        let Some((octets, rest)) = rest.split_first_chunk::<4>() else {
            return;
        };
        (IpAddr::V4(Ipv4Addr::from(*octets)), rest)
    } else {
        let Some((octets, rest)) = rest.split_first_chunk::<16>() else {
            return;
        };
        (IpAddr::V6(Ipv6Addr::from(*octets)), rest)
    };
    let addr = SocketAddr::new(ip, 40000);
    let proxies = if trusted {
        TrustedProxies::new(&[ip.to_string()])
    } else {
        TrustedProxies::default()
    };
    let peer = Peer::new(addr, &proxies);
    assert_eq!(peer.trusted, trusted, "{ip}");

    let mut headers = HeaderMap::new();
    let mut host = None;
    for line in rest.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        host = Some(value.clone());
        headers.append(name, value);
    }
    let given_host = host.clone();
    apply(&mut headers, &peer, host);

    let shown = ip.to_canonical().to_string();
    let xff = one(&headers, "x-forwarded-for");
    let forwarded = one(&headers, "forwarded");
    if trusted {
        assert!(
            xff == shown || xff.ends_with(&format!(", {shown}")),
            "trusted chain {xff:?} does not end with {shown}"
        );
    } else {
        assert_eq!(xff, shown, "untrusted peer: X-Forwarded-For");
        assert!(
            headers.get("x-real-ip").is_none(),
            "untrusted peer: X-Real-IP kept"
        );
        assert_eq!(
            headers.get("x-forwarded-proto").map(HeaderValue::as_bytes),
            Some(&b"http"[..]),
            "untrusted peer: X-Forwarded-Proto"
        );
        let for_value = if ip.to_canonical().is_ipv6() {
            format!("for=\"[{shown}]\";proto=http")
        } else {
            format!("for={shown};proto=http")
        };
        assert!(
            forwarded == for_value || forwarded.starts_with(&format!("{for_value};host=\"")),
            "untrusted peer: Forwarded {forwarded:?}"
        );
        for (name, value) in &headers {
            let n = name.as_str();
            if n.starts_with("x-forwarded-") && n != "x-forwarded-for" && n != "x-forwarded-proto" {
                // Only the Host the gateway itself read may come back, as X-Forwarded-Host.
                assert_eq!(n, "x-forwarded-host", "untrusted peer: {n} kept");
                assert_eq!(
                    given_host.as_ref(),
                    Some(value),
                    "X-Forwarded-Host is not the Host the gateway was given"
                );
            }
        }
    }
    // The host parameter, if any, is one well-formed quoted string at the end of our element.
    let own = forwarded.rsplit(", ").next().unwrap_or_default();
    if let Some((_, quoted)) = own.split_once(";host=\"") {
        let inner = quoted
            .strip_suffix('"')
            .unwrap_or_else(|| panic!("unterminated host in {forwarded:?}"));
        assert!(
            !inner.contains(['"', '\\']),
            "host breaks out of its quotes: {forwarded:?}"
        );
    }
}

/// The only value of `name`, as text; panics when there is not exactly one.
fn one(headers: &HeaderMap, name: &str) -> String {
    let mut values = headers.get_all(name).iter();
    let value = values.next().unwrap_or_else(|| panic!("no {name} written"));
    assert!(values.next().is_none(), "several {name} headers written");
    value
        .to_str()
        .unwrap_or_else(|_| panic!("{name} is not visible ASCII"))
        .to_owned()
}

fn check_cidr(text: &str) {
    if let Ok(cidr) = Cidr::parse(text) {
        let address = text.split('/').next().unwrap_or_default().trim();
        let ip: IpAddr = address.parse().expect("a parsed CIDR's address parses");
        assert!(
            cidr.contains(ip),
            "{text:?} does not contain its own address"
        );
    }
}
