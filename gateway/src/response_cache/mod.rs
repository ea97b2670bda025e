//! Response caching per route (`[routes.response_cache]`): a successful `GET` answer is kept
//! and served again, without calling the upstream, until it is older than its freshness.
//!
//! **Where it runs.** After admission: authentication, authorization and rate limiting run for
//! every request, so a cached answer is never a way round them. The traffic split has chosen
//! the upstream, and the request rewrites are applied, before the cache is asked.
//!
//! **The key.** The upstream chosen, the forwarded path and the query — and, unless the route
//! says `shared = true`, the verified caller's `sub` and role: one user's invoices are never
//! another's cache hit, whatever the request looks like (the identity comes from the verified
//! token, never from a header a client can send). An answer's `Vary` headers are kept with it,
//! and a request whose values differ is a miss.
//!
//! **What is kept**, and for how long: see [`directives`] (RFC 9111's rules as they apply to a
//! gateway: only 200s, never with `Set-Cookie`, `no-store`/`no-cache` honoured, `max-age` caps
//! the route's `ttl_ms`). Aggregates are not cached (their sections may be partial).
//!
//! **Bounded.** Each route's store holds at most `max_entries` answers and `max_bytes` of them
//! (an entry weighs at least `max_bytes / max_entries`, so both bounds hold at once); an answer
//! larger than `max_entry_bytes` streams through and is not kept. The least recently used
//! entries go first ([`moka`]).
//!
//! **Coalescing.** When many requests miss on one key at once, one of them asks the upstream
//! and the others wait for its answer (moka's `try_get_with`): a burst after an entry expires
//! costs the upstream one call. When that answer turns out not to be storable, each waiter asks
//! the upstream itself.
//!
//! **What the client sees.** `X-Gateway-Cache: hit` or `miss` (`bypass` when the request said
//! `no-store`), and on a hit `Age`: the seconds since the answer was stored.
//!
//! Freshness is measured on the gateway's one clock ([`shared::clock`]), so tests move time by
//! hand. The store lives in the gateway's memory: each replica has its own, and a reload starts
//! empty stores. (A store shared by replicas, in Redis, is not built yet.)

pub mod directives;

use crate::config::ResponseCacheConfig;
use axum::{body::Body, response::Response};
use bytes::{Bytes, BytesMut};
use directives::{Asked, Storable};
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use http_body_util::BodyExt;
use std::{future::Future, sync::Arc, time::Duration};

/// On every answer of a caching route: `hit`, `miss` or `bypass`.
pub static X_GATEWAY_CACHE: HeaderName = HeaderName::from_static("x-gateway-cache");

/// What happened to one request, for the client and the decision record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Served from the cache.
    Hit,
    /// Asked the upstream; the detail says whether the answer was stored.
    Miss(&'static str),
    /// The request said `no-store`.
    Bypass,
}

impl Outcome {
    /// The `X-Gateway-Cache` value.
    pub fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Outcome::Hit => "hit",
            Outcome::Miss(_) => "miss",
            Outcome::Bypass => "bypass",
        })
    }

    /// The decision record's detail.
    pub fn detail(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss(why) => why,
            Outcome::Bypass => "bypass: the request said no-store",
        }
    }
}

/// Who a cached answer is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    upstream: usize,
    path_and_query: Box<str>,
    /// `sub` and role; `None` on a shared route, or for an anonymous caller.
    caller: Option<(Box<str>, &'static str)>,
}

/// One stored answer.
#[derive(Debug)]
struct Entry {
    headers: HeaderMap,
    body: Bytes,
    stored_at_ms: u64,
    fresh_for_ms: u64,
    /// The request's values of the headers the answer varies on.
    vary: Box<[(HeaderName, Option<HeaderValue>)]>,
}

impl Entry {
    fn fresh(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.stored_at_ms) < self.fresh_for_ms
    }

    fn matches(&self, request: &HeaderMap) -> bool {
        self.vary
            .iter()
            .all(|(name, value)| request.get(name) == value.as_ref())
    }

    fn response(&self, outcome: Outcome, now_ms: u64) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.headers_mut() = self.headers.clone();
        if outcome == Outcome::Hit {
            let age = now_ms.saturating_sub(self.stored_at_ms) / 1000;
            response
                .headers_mut()
                .insert(header::AGE, HeaderValue::from(age));
        }
        mark(&mut response, outcome);
        response
    }
}

/// `X-Gateway-Cache` on an answer.
fn mark(response: &mut Response, outcome: Outcome) {
    response
        .headers_mut()
        .insert(X_GATEWAY_CACHE.clone(), outcome.header());
}

/// The loader's answer was not stored (its waiters ask the upstream themselves).
#[derive(Debug)]
struct NotStored;

/// A route's response cache.
#[derive(Debug)]
pub struct ResponseCache {
    store: moka::future::Cache<Key, Arc<Entry>>,
    ttl_ms: u64,
    shared: bool,
    max_entry_bytes: u64,
}

impl ResponseCache {
    /// A route's empty cache, bounded as configured.
    pub fn new(config: &ResponseCacheConfig) -> ResponseCache {
        let floor = (config.max_bytes / config.max_entries.max(1)).max(1);
        let store = moka::future::Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(move |_key: &Key, entry: &Arc<Entry>| {
                let size = entry.body.len() as u64 + 64 * entry.headers.len() as u64;
                u32::try_from(size.max(floor)).unwrap_or(u32::MAX)
            })
            // Only reclaims memory: freshness is decided on the gateway's clock, below.
            .time_to_live(Duration::from_millis(config.ttl_ms.max(1)))
            .build();
        ResponseCache {
            store,
            ttl_ms: config.ttl_ms,
            shared: config.shared,
            max_entry_bytes: config.max_entry_bytes,
        }
    }

    /// The key of a request for `path_and_query` on `upstream` from `caller`.
    pub fn key(
        &self,
        upstream: usize,
        path_and_query: &str,
        caller: Option<(&str, &'static str)>,
    ) -> Key {
        Key {
            upstream,
            path_and_query: path_and_query.into(),
            caller: caller
                .filter(|_| !self.shared)
                .map(|(sub, role)| (sub.into(), role)),
        }
    }

    /// Answers from the cache, or with `fetch` (the upstream) — storing what may be stored.
    /// `request` is the request's headers as forwarded; `now` reads the gateway's clock.
    pub async fn serve<F, Fut, E>(
        &self,
        key: Key,
        request: &HeaderMap,
        now: impl Fn() -> u64,
        fetch: F,
    ) -> Result<(Response, Outcome), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Response, E>>,
    {
        let asked = Asked::of(request);
        if asked.no_store {
            let mut response = fetch().await?;
            mark(&mut response, Outcome::Bypass);
            return Ok((response, Outcome::Bypass));
        }
        if let Some(entry) = self.store.get(&key).await {
            if !asked.no_cache && entry.fresh(now()) && entry.matches(request) {
                return Ok((entry.response(Outcome::Hit, now()), Outcome::Hit));
            }
            self.store.invalidate(&key).await;
        }
        let had_authorization = request.contains_key(header::AUTHORIZATION);
        let mut fetch = Some(fetch);
        // The loader's own answer when it was not stored (only the loader fills it).
        let mut passed: Option<Result<(Response, Outcome), E>> = None;
        let loaded = self
            .store
            .try_get_with(key, async {
                let fetch = fetch.take().ok_or(NotStored)?;
                let kept = match fetch().await {
                    Ok(response) => self.keep(response, request, now(), had_authorization).await,
                    Err(e) => {
                        passed = Some(Err(e));
                        return Err(NotStored);
                    }
                };
                match kept {
                    Kept::Stored(entry) => Ok(entry),
                    Kept::Passed(response, why) => {
                        passed = Some(Ok((response, Outcome::Miss(why))));
                        Err(NotStored)
                    }
                }
            })
            .await;
        let loaded_here = fetch.is_none();
        match (loaded, passed) {
            (Ok(entry), _) if loaded_here => {
                let outcome = Outcome::Miss("stored");
                Ok((entry.response(outcome, now()), outcome))
            }
            // Another request's answer, loaded while this one waited.
            (Ok(entry), _) if entry.matches(request) => {
                Ok((entry.response(Outcome::Hit, now()), Outcome::Hit))
            }
            (_, Some(own)) => own,
            // The answer this one waited for was not stored, or varies: ask for its own.
            (_, None) => match fetch.take() {
                Some(fetch) => {
                    let mut response = fetch().await?;
                    let outcome =
                        Outcome::Miss("not stored: waited for an answer that was not kept");
                    mark(&mut response, outcome);
                    Ok((response, outcome))
                }
                None => unreachable!("a loader always leaves its answer"),
            },
        }
    }

    /// Reads a storable answer's body (up to `max_entry_bytes`) and stores it; any other answer
    /// passes on untouched, streaming.
    async fn keep(
        &self,
        response: Response,
        request: &HeaderMap,
        now_ms: u64,
        had_authorization: bool,
    ) -> Kept {
        let mut response = response;
        mark(&mut response, Outcome::Miss(""));
        let fresh_for_ms = match directives::storable(
            response.status(),
            response.headers(),
            self.ttl_ms,
            self.shared,
            had_authorization,
        ) {
            Storable::For(ms) => ms,
            Storable::No(why) => return Kept::Passed(response, why),
        };
        let too_large = "not stored: larger than max_entry_bytes";
        let declared = crate::limits::content_length(response.headers());
        if declared.is_some_and(|len| len > self.max_entry_bytes) {
            return Kept::Passed(response, too_large);
        }
        let (head, mut body) = response.into_parts();
        let mut buffer = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = match frame {
                Ok(frame) => frame,
                Err(broken) => {
                    // The upstream broke off the body: nothing is kept, and the client's body
                    // breaks off after what was read, as it would have without the cache.
                    let read = futures::stream::iter([Ok(buffer.freeze()), Err(broken)]);
                    let body = Body::from_stream(read);
                    return Kept::Passed(
                        Response::from_parts(head, body),
                        "not stored: the body broke off",
                    );
                }
            };
            if let Ok(data) = frame.into_data() {
                buffer.extend_from_slice(&data);
            }
            if buffer.len() as u64 > self.max_entry_bytes {
                // Larger than announced: what was read goes first, the rest streams after it.
                let read = futures::stream::once(async move { Ok(buffer.freeze()) });
                let body = Body::from_stream(read.chain(body.into_data_stream()));
                return Kept::Passed(Response::from_parts(head, body), too_large);
            }
        }
        let vary = directives::vary_names(&head.headers)
            .into_iter()
            .map(|name| {
                let value = request.get(&name).cloned();
                (name, value)
            })
            .collect();
        let mut headers = head.headers;
        headers.remove(&X_GATEWAY_CACHE);
        Kept::Stored(Arc::new(Entry {
            headers,
            body: buffer.freeze(),
            stored_at_ms: now_ms,
            fresh_for_ms,
            vary,
        }))
    }
}

/// What [`ResponseCache::keep`] did with an answer.
enum Kept {
    Stored(Arc<Entry>),
    Passed(Response, &'static str),
}
