//! Reading what a test's code logged: a `tracing_subscriber` writer that keeps every byte, for
//! tests that assert what reached (or never reached) the logs.
//!
//! ```ignore
//! let logs = CapturedLogs::default();
//! let subscriber = tracing_subscriber::fmt().json().with_writer(logs.clone()).finish();
//! let _guard = tracing::subscriber::set_default(subscriber);
//! // … run the code …
//! assert!(!logs.text().contains("student123"));
//! ```

use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// Everything written so far; clones share the buffer (hand one to the subscriber, keep one).
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// The captured output as text.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
