//! What a connection must do to keep its place, and how many places one address may hold.
//!
//! A server has a fixed number of connections to give out ([`crate::server::ServerLimits`]'s
//! `max_connections`). Two kinds of client could take them all without ever being refused by a
//! timeout:
//!
//! - **the silent client.** hyper's header-read timeout starts when hyper starts reading a request
//!   head, but before that the server must read the first bytes to tell HTTP/1 from HTTP/2, and
//!   that read has no deadline: a connection that sends nothing, half of the HTTP/2 preface, or
//!   the whole preface and then no request, would be kept forever. [`FirstRequest`] gives every
//!   connection a deadline from accept to its first complete request head; after it, hyper's own
//!   timers take over (the header-read timeout for HTTP/1, PING liveness for HTTP/2).
//! - **the greedy address.** Ten thousand silent sockets from one machine fill the server even
//!   with deadlines, for as long as the deadline lasts, and again as soon as they reconnect.
//!   [`PerAddress`] caps the connections one IP address may hold at once, below the global cap,
//!   so one address cannot starve the others. A trusted proxy (a load balancer in front of the
//!   gateway, carrying many clients' connections) is exempt.
//!
//! Written by hand because neither job fits an existing layer: tower's limits count requests, not
//! connections, and work after hyper has read a request — too late for a client that never sends
//! one. Both are a few atomics and a small map touched once per connection, never per request.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

/// Whether a connection has delivered its first complete request head yet.
#[derive(Debug, Clone, Default)]
pub struct FirstRequest(Arc<AtomicBool>);

impl FirstRequest {
    /// Marks that a request head arrived (called for every request; only the first store
    /// matters, and a relaxed store of `true` is as cheap as a check).
    pub fn arrived(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once a request head has arrived.
    pub fn has_arrived(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Open connections per client address, capped.
#[derive(Debug)]
pub struct PerAddress {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place under its address's cap; the place is given back when it is dropped.
#[derive(Debug)]
pub struct Place {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    /// A table allowing `cap` connections per address (at least one).
    pub fn new(cap: usize) -> Arc<PerAddress> {
        Arc::new(PerAddress {
            cap: cap.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more connection from `ip`, or `None` when the address holds its cap.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Place> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Place {
            table: Arc::clone(self),
            ip,
        })
    }

    /// Connections open from `ip` right now.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self
            .table
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            // Forget addresses with nothing open, so the map holds only the connected ones.
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_cap_and_a_place_comes_back_when_dropped() {
        let table = PerAddress::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = table.admit(a).unwrap();
        let _second = table.admit(a).unwrap();
        assert!(
            table.admit(a).is_none(),
            "the third from one address is refused"
        );
        assert!(table.admit(b).is_some(), "another address is not affected");
        drop(first);
        assert_eq!(table.open_from(a), 1);
        assert!(table.admit(a).is_some());
    }

    #[test]
    fn addresses_with_nothing_open_are_forgotten() {
        let table = PerAddress::new(1);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        drop(table.admit(ip).unwrap());
        assert!(table.open.lock().unwrap().is_empty());
    }

    #[test]
    fn the_first_request_is_remembered_by_every_clone() {
        let first = FirstRequest::default();
        let seen_by_server = first.clone();
        assert!(!seen_by_server.has_arrived());
        first.arrived();
        assert!(seen_by_server.has_arrived());
    }
}
