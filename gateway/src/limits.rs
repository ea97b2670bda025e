//! Request-size limits the gateway enforces itself (the connection-level ones — header-read
//! timeout, header bytes, connection cap — live in `shared::server`).
//!
//! - **URI length** is checked first of all, before the path is even normalised: 414.
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
