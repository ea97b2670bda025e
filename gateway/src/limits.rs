//! Request-size limits the gateway enforces itself (the connection-level ones — header-read
//! timeout, header bytes, connection cap — live in `shared::server`).
//!
//! - **URI length** is checked first of all, before the path is even normalised: 414.
//! - **The head** ([`check_head`]): its size against `max_header_bytes` (431, explained, where
//!   hyper would answer an empty 431), and an HTTP/1.1 request's `Host`, which must be there
//!   exactly once (RFC 9112 §3.2: 400) — two `Host` headers are how a request is made to mean
//!   one host to the gateway and another to a backend.
//! - **Body size** is checked twice. A `Content-Length` over the limit is refused at once (413)
//!   without reading a byte. A chunked body has no declared length, so the body is wrapped in
//!   [`LimitedBody`], which counts bytes as they stream through to the upstream and fails the
//!   stream the moment the limit is passed; the proxy turns that failure into 413. Nothing is
//!   buffered whole.

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

/// Why a request body stopped: the client's fault either way (a downstream error).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More bytes than `max_body_bytes`.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit that was passed.
        limit: u64,
    },
    /// The client's stream failed (it disconnected, or sent broken chunked framing).
    #[error("the request body could not be read from the client")]
    Client(#[source] axum::Error),
}

/// A body that fails once more than `limit` bytes have passed through.
#[derive(Debug)]
pub struct LimitedBody<B> {
    inner: B,
    remaining: u64,
    limit: u64,
}

impl<B> LimitedBody<B> {
    /// Wraps `inner`, allowing at most `limit` bytes.
    pub fn new(inner: B, limit: u64) -> Self {
        LimitedBody {
            inner,
            remaining: limit,
            limit,
        }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Error = axum::Error> + Unpin,
{
    type Data = B::Data;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            None => return Poll::Ready(None),
            Some(Err(e)) => return Poll::Ready(Some(Err(BodyError::Client(e)))),
            Some(Ok(frame)) => frame,
        };
        if let Some(data) = frame.data_ref() {
            let len = data.remaining() as u64;
            if len > this.remaining {
                this.remaining = 0;
                return Poll::Ready(Some(Err(BodyError::TooLarge { limit: this.limit })));
            }
            this.remaining -= len;
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        // Keep the client's framing: an exact length stays a Content-Length upstream.
        self.inner.size_hint()
    }
}

/// Why a request head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// The request line and headers take more than the limit, in bytes.
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// An HTTP/1.1 request with no `Host` header, or with more than one.
    BadHost,
}

/// Checks the request head: its size (request line and headers, as they were sent, give or take
/// the spaces and line ends) and, for HTTP/1.1, that `Host` is there exactly once.
pub fn check_head<B>(request: &http::Request<B>, max_header_bytes: usize) -> Result<(), HeadError> {
    let headers = request.headers();
    if request.version() == http::Version::HTTP_11 {
        let mut hosts = headers.get_all(http::header::HOST).iter();
        if hosts.next().is_none() || hosts.next().is_some() {
            return Err(HeadError::BadHost);
        }
    }
    let request_line = request.method().as_str().len()
        + request
            .uri()
            .path_and_query()
            .map_or(1, |pq| pq.as_str().len())
        + 12;
    let size = headers.iter().fold(request_line, |sum, (name, value)| {
        sum + name.as_str().len() + value.len() + 4
    });
    if size > max_header_bytes {
        return Err(HeadError::TooLarge {
            limit: max_header_bytes,
        });
    }
    Ok(())
}

/// The declared `Content-Length`, if any and valid (hyper already refused conflicting ones).
pub fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_body_within_the_limit_passes_whole() {
        let body = LimitedBody::new(axum::body::Body::from("hello"), 5);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"hello");
    }

    #[tokio::test]
    async fn a_streamed_body_over_the_limit_fails() {
        let chunks = futures::stream::iter(
            ["abc", "def", "ghi"]
                .map(|p| Ok::<_, std::io::Error>(bytes::Bytes::from_static(p.as_bytes()))),
        );
        let body = LimitedBody::new(axum::body::Body::from_stream(chunks), 7);
        let error = body.collect().await.unwrap_err();
        assert!(matches!(error, BodyError::TooLarge { limit: 7 }), "{error}");
    }
}
