//! The console's live feed: one small event per finished request, for the "Watch" panel
//! (`GET /console/events`, server-sent events).
//!
//! ```json
//! {"at_unix_ms": 1767225600000, "method": "GET", "path": "/api/users", "route": "users-list",
//!  "status": 401, "reason": "bad_signature", "latency_ms": 0.42}
//! ```
//!
//! A leaf the pipeline publishes to (`handler.rs`, after the decision record is complete) and
//! the console's endpoint subscribes to. Three rules keep it harmless on a gateway under load:
//!
//! - **Nothing secret.** An event is built from the finished [decision record](crate::decision),
//!   which already holds no token, no header, no body and no query, and writes a path segment
//!   holding `@` as `{redacted}`. The event copies six of its fields and nothing else.
//! - **Free when nobody watches.** [`Feed::publish`] returns at once when no stream is open (one
//!   atomic load: the stream count's free places, not the channel's receiver count, which takes
//!   a lock every request would share); the event is not even built. When a stream is open, it
//!   is serialised once and shared by every stream.
//! - **Bounded.** A [`tokio::sync::broadcast`] channel of [`CHANNEL`] events: a stream too slow
//!   to keep up skips what it missed (and is told how many) instead of holding memory for it;
//!   at most [`MAX_STREAMS`] streams are open at once, so a classroom cannot pin the gateway's
//!   connections with open pages.
//!
//! **Closed on shutdown.** A stream is a response that never ends by itself, and a draining
//! server waits for responses to end. [`Feed::close`] (called by `App::run_until` the moment the
//! shutdown signal arrives, before the drain) ends every stream, so open pages never hold up a
//! shutdown or a rolling deploy.

use crate::decision::Record;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};

/// Events kept for a stream that is behind; older ones are skipped.
pub const CHANNEL: usize = 256;
/// Streams open at once; one more is refused with 503.
pub const MAX_STREAMS: usize = 32;

/// The feed: the channel, the shutdown signal, the stream count.
#[derive(Debug)]
pub struct Feed {
    events: broadcast::Sender<Arc<str>>,
    closed: watch::Sender<bool>,
    streams: Arc<Semaphore>,
    max_streams: usize,
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new(MAX_STREAMS)
    }
}

/// One open stream: its events, the shutdown signal, and its place among [`MAX_STREAMS`]
/// (given back when the stream is dropped, i.e. when the page goes away or the feed closes).
#[derive(Debug)]
pub struct Subscription {
    /// Every event published after the subscription, as JSON.
    pub events: broadcast::Receiver<Arc<str>>,
    /// Becomes `true` when the gateway shuts down.
    pub closed: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}

impl Feed {
    /// A feed allowing `max_streams` streams at once.
    pub fn new(max_streams: usize) -> Feed {
        let (events, _) = broadcast::channel(CHANNEL);
        let (closed, _) = watch::channel(false);
        Feed {
            events,
            closed,
            streams: Arc::new(Semaphore::new(max_streams)),
            max_streams,
        }
    }

    /// Sends the finished `record`'s summary to every open stream (nothing when none is open).
    pub fn publish(&self, record: &Record) {
        // Every place free: no stream is open. (A stream opening at this instant may miss this
        // one event; it asked for what happens after it opened.)
        if self.streams.available_permits() == self.max_streams {
            return;
        }
        let event = json!({
            "at_unix_ms": record.at_unix_ms,
            "method": record.method,
            "path": &*record.path,
            "route": record.route.as_deref(),
            "status": record.status,
            "reason": record.reason,
            "latency_ms": (record.latency.as_secs_f64() * 1_000_000.0).round() / 1000.0,
        });
        // An error only means every stream went away since the check: nobody to tell.
        let _ = self.events.send(Arc::from(event.to_string()));
    }

    /// A new stream, or `None` when [`MAX_STREAMS`] are open or the feed is closed.
    pub fn subscribe(&self) -> Option<Subscription> {
        if *self.closed.borrow() {
            return None;
        }
        let permit = Arc::clone(&self.streams).try_acquire_owned().ok()?;
        Some(Subscription {
            events: self.events.subscribe(),
            closed: self.closed.subscribe(),
            _permit: permit,
        })
    }

    /// Ends every stream, now and to come (the gateway is shutting down).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DecisionId;
    use http::{Method, StatusCode};
    use shared::trace_context::TraceId;
    use std::time::Duration;

    fn record(path: &str) -> Record {
        let mut record = Record::new(DecisionId(7), "r".into(), TraceId::random(), &Method::GET);
        record.finish(
            path,
            StatusCode::UNAUTHORIZED,
            Some("bad_signature"),
            Duration::from_micros(420),
        );
        record
    }

    #[tokio::test]
    async fn a_stream_receives_what_is_published_after_it_opened_without_secrets() {
        let feed = Feed::default();
        feed.publish(&record("/api/before"));
        let mut stream = feed.subscribe().unwrap();
        feed.publish(&record("/api/users/ada@example.edu"));
        let event: serde_json::Value =
            serde_json::from_str(&stream.events.recv().await.unwrap()).unwrap();
        assert_eq!(event["path"], "/api/users/{redacted}");
        assert_eq!(event["status"], 401);
        assert_eq!(event["reason"], "bad_signature");
        assert_eq!(event["latency_ms"], 0.42);
        assert!(
            stream.events.try_recv().is_err(),
            "nothing from before it opened"
        );
    }

    #[test]
    fn streams_are_bounded_and_a_closed_feed_opens_none() {
        let feed = Feed::new(2);
        let first = feed.subscribe().unwrap();
        let _second = feed.subscribe().unwrap();
        assert!(feed.subscribe().is_none(), "a third is refused");
        drop(first);
        let third = feed
            .subscribe()
            .expect("a closed page gives its place back");
        feed.close();
        assert!(*third.closed.borrow(), "open streams are told");
        drop(third);
        assert!(feed.subscribe().is_none(), "no stream opens after shutdown");
    }
}
