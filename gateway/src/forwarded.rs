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
        // A peer's address is compared in its canonical form (an IPv4-mapped IPv6 peer as
        // IPv4), so a network written as IPv4-mapped IPv6 (`::ffff:10.0.0.1`, `::ffff:10.0.0.0/104`)
        // is stored as the IPv4 network it names; otherwise it could never match.
        match network.to_canonical() {
            IpAddr::V4(v4) if network.is_ipv6() && bits >= 96 => Ok(Cidr {
                network: IpAddr::V4(v4),
                bits: bits - 96,
            }),
            _ => Ok(Cidr { network, bits }),
        }
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

/// The client end of one connection, as the forwarding headers describe it. Worked out once,
/// when the connection is accepted (a peer cannot change mid-connection): whether it is trusted,
/// and its address already written out, so a request's forwarding headers are mostly copies.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The peer's address (`None` only where no connection is known, such as in a test).
    pub addr: Option<SocketAddr>,
    /// True when the peer is a trusted proxy: its forwarding headers are kept and extended.
    pub trusted: bool,
    /// The address as `X-Forwarded-For` writes it (an IPv4-mapped IPv6 address as IPv4).
    for_value: HeaderValue,
    /// This hop's `Forwarded` element up to its `host` parameter: `for=192.0.2.7;proto=http`.
    element: String,
    /// How the client reached the gateway: `http`, or `https` over the gateway's own TLS.
    proto: HeaderValue,
}

impl Peer {
    /// The peer at `addr`, trusted or not by `trusted_proxies`.
    pub fn new(addr: SocketAddr, trusted_proxies: &TrustedProxies) -> Peer {
        Peer::describe(Some(addr), trusted_proxies.trusts(Some(addr)))
    }

    /// A peer whose address is not known: written as `unknown`, never trusted.
    pub fn unknown() -> Peer {
        Peer::describe(None, false)
    }

    fn describe(addr: Option<SocketAddr>, trusted: bool) -> Peer {
        let ip = addr.map(|a| a.ip().to_canonical());
        let text = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        // `for=192.0.2.7;proto=http` (RFC 7239 §4); an IPv6 address is quoted and bracketed.
        let element = if ip.is_some_and(|ip| ip.is_ipv6()) {
            format!("for=\"[{text}]\";proto=http")
        } else {
            format!("for={text};proto=http")
        };
        Peer {
            addr,
            trusted,
            for_value: HeaderValue::try_from(text).expect("an address is a valid header value"),
            element,
            proto: HeaderValue::from_static("http"),
        }
    }

    /// The same peer, connected over TLS that the gateway terminated: `proto=https`.
    pub fn over_tls(mut self) -> Peer {
        self.element = self.element.replace(";proto=http", ";proto=https");
        self.proto = HeaderValue::from_static("https");
        self
    }

    /// The peer's IP address (an IPv4-mapped IPv6 address as IPv4).
    pub fn ip(&self) -> Option<IpAddr> {
        self.addr.map(|a| a.ip().to_canonical())
    }
}

/// Rewrites the forwarding headers of a request about to go upstream from `peer`. `host` is the
/// Host the client asked for (the upstream gets its own in `Host`).
pub fn apply(headers: &mut HeaderMap, peer: &Peer, host: Option<HeaderValue>) {
    let trusted = peer.trusted;
    // Only a trusted peer's chain is read at all; an untrusted one costs a shared copy of the
    // address written when the connection was accepted.
    let xff = match trusted.then(|| joined(headers, &X_FORWARDED_FOR)).flatten() {
        Some(chain) => {
            let address = peer.for_value.to_str().unwrap_or("unknown");
            HeaderValue::try_from(chain + ", " + address).ok()
        }
        None => Some(peer.for_value.clone()),
    };
    // `for=192.0.2.7;proto=http;host="example.com"`, built by appending: this runs on every
    // request, and `format!` costs several times more.
    let mut element = String::with_capacity(peer.element.len() + 64);
    element.push_str(&peer.element);
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
    set(headers, &X_FORWARDED_FOR, xff);
    set(
        headers,
        &header::FORWARDED,
        HeaderValue::try_from(forwarded).ok(),
    );
    headers.insert(
        X_FORWARDED_PROTO.clone(),
        proto.unwrap_or_else(|| peer.proto.clone()),
    );
    set(headers, &X_FORWARDED_HOST, fwd_host.or(host));
}

/// Sets `name` to `value`, or removes it when there is no (valid) value.
fn set(headers: &mut HeaderMap, name: &HeaderName, value: Option<HeaderValue>) {
    match value {
        Some(value) => {
            headers.insert(name.clone(), value);
        }
        None => {
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

    fn peer(ip: &str, trusted: &[&str]) -> Peer {
        let trusted: Vec<String> = trusted.iter().map(|c| (*c).to_owned()).collect();
        Peer::new(
            SocketAddr::new(ip.parse().unwrap(), 5555),
            &TrustedProxies::new(&trusted),
        )
    }

    #[test]
    fn a_peer_is_described_once_as_the_headers_write_it() {
        let v4 = peer("192.0.2.7", &[]);
        assert_eq!(v4.for_value, "192.0.2.7");
        assert_eq!(v4.element, "for=192.0.2.7;proto=http");
        assert!(!v4.trusted);
        // An IPv4-mapped IPv6 peer (a dual-stack listener) is the IPv4 client it is.
        let mapped = peer("::ffff:192.0.2.7", &["192.0.2.0/24"]);
        assert_eq!(mapped.for_value, "192.0.2.7");
        assert!(mapped.trusted);
        let v6 = peer("2001:db8::7", &[]);
        assert_eq!(v6.element, "for=\"[2001:db8::7]\";proto=http");
        let unknown = Peer::unknown();
        assert_eq!(unknown.for_value, "unknown");
        assert!(!unknown.trusted && unknown.ip().is_none());
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

    /// Found by the `forwarded_headers` fuzz target's seed: a trusted proxy written as an
    /// IPv4-mapped IPv6 address never matched, because peers are compared as IPv4.
    #[test]
    fn an_ipv4_mapped_network_matches_its_ipv4_peers() {
        let one = Cidr::parse("::ffff:10.0.0.1").unwrap();
        assert!(one.contains("10.0.0.1".parse().unwrap()));
        assert!(one.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!one.contains("10.0.0.2".parse().unwrap()));
        let net = Cidr::parse("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(net, Cidr::parse("10.0.0.0/8").unwrap());
        assert!(
            TrustedProxies::new(&["::ffff:127.0.0.1".into()])
                .trusts(Some("127.0.0.1:4000".parse().unwrap()))
        );
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
            &peer("192.0.2.7", &[]),
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
        apply(&mut h, &peer("::1", &["::1"]), None);
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 5.6.7.8, ::1");
        assert_eq!(h["forwarded"], "for=1.2.3.4, for=\"[::1]\";proto=http");
        assert_eq!(h["x-forwarded-proto"], "https");
    }
}
