//! `X-Forwarded-*` and `Forwarded` (RFC 7239): telling the backend who the client really is.
//!
//! Behind a gateway every request comes from the gateway's address, so the gateway says who it
//! was forwarding for. Those headers are only worth anything if the client cannot write them:
//!
//! - the peer is a **trusted proxy** (`trusted_proxies` in the config, e.g. the load balancer in
//!   front of us): its chain is kept and the peer's address appended, and its
//!   `X-Forwarded-Proto`/`-Host` are kept (it saw the original request);
//! - **anyone else**: every `X-Forwarded-*`, `Forwarded` and `X-Real-IP` header the client sent
//!   is removed and replaced with what the gateway itself saw. A client cannot choose the IP
//!   address a backend rate-limits or audits by.

use http::{HeaderMap, HeaderName, HeaderValue, header};
use std::net::{IpAddr, SocketAddr};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// An IP network such as `10.0.0.0/8` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `addr` or `addr/bits`.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, bits) = match text.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{addr}` is not an IP address"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => b
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("the prefix length must be 0..={max}"))?,
        };
        Ok(Cidr { network, bits })
    }

    /// True when `ip` is inside the network. IPv4-mapped IPv6 addresses count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The configured trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// From the validated configuration's CIDR strings.
    pub fn new(cidrs: &[String]) -> Self {
        TrustedProxies(cidrs.iter().filter_map(|c| Cidr::parse(c).ok()).collect())
    }

    /// True when the peer may speak for the client.
    pub fn trusts(&self, peer: Option<SocketAddr>) -> bool {
        peer.is_some_and(|p| self.0.iter().any(|c| c.contains(p.ip())))
    }
}

/// Rewrites the forwarding headers of a request about to go upstream. `host` is the Host the
/// client asked for (the upstream gets its own in `Host`).
pub fn apply(
    headers: &mut HeaderMap,
    peer: Option<SocketAddr>,
    trusted: bool,
    host: Option<HeaderValue>,
) {
    let ip = peer.map(|p| p.ip().to_canonical());
    let client = ip.map_or_else(|| "unknown".to_owned(), ip_text);

    // Only a trusted peer's chain is read at all; an untrusted one costs nothing.
    let xff = match trusted.then(|| joined(headers, &X_FORWARDED_FOR)).flatten() {
        Some(chain) => chain + ", " + &client,
        None => client.clone(),
    };
    // `for=192.0.2.7;proto=http;host="example.com"` (RFC 7239 §4), built by appending: this runs
    // on every request, and `format!` costs several times more.
    let mut element = String::with_capacity(64);
    element.push_str("for=");
    if ip.is_some_and(|ip| ip.is_ipv6()) {
        element.push_str("\"[");
        element.push_str(&client);
        element.push_str("]\"");
    } else {
        element.push_str(&client);
    }
    element.push_str(";proto=http");
    // A quoted-string may not hold `"` or `\`; a Host with them is left out rather than escaped.
    if let Some(host) = host.as_ref().and_then(|h| h.to_str().ok()).filter(|h| {
        h.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    }) {
        element.push_str(";host=\"");
        element.push_str(host);
        element.push('"');
    }
    let forwarded = match trusted
        .then(|| joined(headers, &header::FORWARDED))
        .flatten()
    {
        Some(chain) => chain + ", " + &element,
        None => element,
    };
    let proto = trusted
        .then(|| headers.get(&X_FORWARDED_PROTO).cloned())
        .flatten();
    let fwd_host = trusted
        .then(|| headers.get(&X_FORWARDED_HOST).cloned())
        .flatten();

    if !trusted {
        remove_client_forwarding(headers);
    }
    insert(headers, &X_FORWARDED_FOR, xff);
    insert(headers, &header::FORWARDED, forwarded);
    headers.insert(
        X_FORWARDED_PROTO.clone(),
        proto.unwrap_or(HeaderValue::from_static("http")),
    );
    match fwd_host.or(host) {
        Some(h) => {
            headers.insert(X_FORWARDED_HOST.clone(), h);
        }
        None => {
            headers.remove(&X_FORWARDED_HOST);
        }
    }
}

/// An address as text. IPv4, the common case, is written digit by digit: `Display` goes through
/// the formatting machinery, about a thousand instructions per request.
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

fn insert(headers: &mut HeaderMap, name: &HeaderName, value: String) {
    match HeaderValue::try_from(value) {
        Ok(v) => {
            headers.insert(name.clone(), v);
        }
        Err(_) => {
            headers.remove(name);
        }
    }
}

/// All values of `name` joined with `, ` (several header lines form one list, RFC 9110 §5.3).
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter().filter_map(|v| v.to_str().ok());
    let first = values.next()?;
    let mut out = first.to_owned();
    for v in values {
        out.push_str(", ");
        out.push_str(v);
    }
    Some(out)
}

/// Removes every forwarding header an untrusted client sent. Scans first, so the common case
/// (the client sent none) allocates nothing.
fn remove_client_forwarding(headers: &mut HeaderMap) {
    let is_forwarding = |name: &HeaderName| {
        let n = name.as_str();
        n.starts_with("x-forwarded-") || n == "forwarded" || n == "x-real-ip"
    };
    if !headers.keys().any(is_forwarding) {
        return;
    }
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_forwarding(n))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 5555))
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "9.10.99.100",
            "127.0.0.1",
            "255.255.255.255",
            "192.0.2.7",
            "::1",
            "2001:db8::7",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    #[test]
    fn cidrs() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            Cidr::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(
            Cidr::parse("127.0.0.1")
                .unwrap()
                .contains("127.0.0.1".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("ten").is_err());
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
        h.insert("forwarded", "for=1.2.3.4".parse().unwrap());
        h.insert("x-real-ip", "1.2.3.4".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        h.insert("x-forwarded-port", "443".parse().unwrap());
        apply(
            &mut h,
            peer("192.0.2.7"),
            false,
            Some("gw.example:8080".parse().unwrap()),
        );
        assert_eq!(h["x-forwarded-for"], "192.0.2.7");
        assert_eq!(
            h["forwarded"],
            "for=192.0.2.7;proto=http;host=\"gw.example:8080\""
        );
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "gw.example:8080");
        assert!(h.get("x-real-ip").is_none());
        assert!(h.get("x-forwarded-port").is_none());
    }

    #[test]
    fn a_trusted_proxy_chain_is_extended() {
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "1.2.3.4".parse().unwrap());
        h.append("x-forwarded-for", "5.6.7.8".parse().unwrap());
        h.insert("forwarded", "for=1.2.3.4".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        apply(&mut h, peer("::1"), true, None);
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 5.6.7.8, ::1");
        assert_eq!(h["forwarded"], "for=1.2.3.4, for=\"[::1]\";proto=http");
        assert_eq!(h["x-forwarded-proto"], "https");
    }
}
