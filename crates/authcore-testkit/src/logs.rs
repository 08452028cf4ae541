//! What authcore logged: a `tracing` subscriber that keeps every line in memory, for tests
//! that check an audit line is written, a warning is given, or a secret never appears.
//!
//! ```
//! use authcore_testkit::logs::LogCapture;
//!
//! let logs = LogCapture::new();
//! logs.run(|| tracing::warn!(uid = 7, "account locked after failed sign-ins"));
//! assert_eq!(logs.lines_at(tracing::Level::WARN).len(), 1);
//! assert!(logs.text().contains("uid=7"));
//! ```
//!
//! `tracing` caches, per call site and process-wide, whether any subscriber is interested. A
//! test that captures while other tests of the same binary run the same call sites with no
//! subscriber may miss lines: keep such a test in a test binary of its own.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::Level;
use tracing::subscriber::DefaultGuard;

/// Every line logged (all levels, plain text, no colours) while this capture is the
/// subscriber. Clones share the same lines.
#[derive(Clone, Debug, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// An empty capture.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish()
    }

    /// Runs `f` with this capture as the thread's subscriber.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        tracing::subscriber::with_default(self.subscriber(), f)
    }

    /// Makes this capture the thread's subscriber until the guard is dropped (for an `async`
    /// test on a current-thread runtime, where the whole test runs on this thread).
    #[must_use = "the capture stops when the guard is dropped"]
    pub fn set_default(&self) -> DefaultGuard {
        tracing::subscriber::set_default(self.subscriber())
    }

    /// Everything captured so far.
    #[must_use]
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The captured lines logged at exactly `level`.
    #[must_use]
    pub fn lines_at(&self, level: Level) -> Vec<String> {
        let tag = format!(" {level} ");
        self.text()
            .lines()
            .filter(|line| line.contains(&tag))
            .map(str::to_owned)
            .collect()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_kept_by_level_and_only_while_capturing() {
        let logs = LogCapture::new();
        tracing::warn!("before: not captured");
        logs.run(|| {
            tracing::info!(target: "authcore::audit", uid = 1, "sign-in succeeded");
            tracing::warn!("the database is reached without TLS");
            tracing::debug!("detail");
        });
        tracing::warn!("after: not captured");
        assert_eq!(logs.lines_at(Level::WARN).len(), 1, "{}", logs.text());
        assert_eq!(logs.lines_at(Level::INFO).len(), 1, "{}", logs.text());
        assert_eq!(logs.lines_at(Level::DEBUG).len(), 1, "{}", logs.text());
        assert!(!logs.text().contains("not captured"), "{}", logs.text());
        assert!(logs.text().contains("uid=1"));
        let shared = logs.clone();
        let _guard = shared.set_default();
        tracing::error!("through a clone");
        assert_eq!(logs.lines_at(Level::ERROR).len(), 1, "{}", logs.text());
    }
}
