//! Why an exchange with an upstream produced no response.
//!
//! The upstream layer speaks only of what happened on the wire; it knows nothing of statuses or
//! problem+json. The gateway's error module ([`crate::error`]) decides how each failure is
//! answered (503 `circuit_open`, 504 `upstream_timeout`, 502 `upstream_unavailable`, or the
//! client's own 400/413), and the aggregate turns it into a failed call.

use crate::limits::BodyError;

/// Why an exchange produced no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Every target's circuit is open: nothing was sent.
    CircuitOpen,
    /// No response head within the timeout.
    Timeout {
        /// The timeout that passed.
        timeout_ms: u128,
    },
    /// The connection failed or the exchange broke.
    Unavailable {
        /// True when the connection could not be opened (the request never left).
        connect: bool,
    },
    /// The client's own body failed while it was being forwarded: not the upstream's fault.
    ClientBody(ClientBody),
}

/// How the client's body failed while it streamed upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientBody {
    /// It grew past the limit (counted on the stream).
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The client broke off or garbled it.
    Unreadable,
}

impl From<&BodyError> for ClientBody {
    fn from(error: &BodyError) -> Self {
        match error {
            BodyError::TooLarge { limit } => ClientBody::TooLarge { limit: *limit },
            BodyError::Client(_) => ClientBody::Unreadable,
        }
    }
}
