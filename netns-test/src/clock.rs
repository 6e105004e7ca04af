//! The test's clock: time zero is the moment the body starts; the journal, the logs and the
//! report page all count from it.
//!
//! ```ignore
//! clock::mark_body_start();
//! let at = clock::since_body_start();          // a Duration
//! let before = clock::offset(build_started);   // seconds, negative before the body
//! ```

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

static START: OnceLock<Instant> = OnceLock::new();
/// The same moment on the wall clock (packet captures are stamped with it).
static START_WALL: OnceLock<SystemTime> = OnceLock::new();

/// Sets time zero: the moment the test body starts. Later calls change nothing.
pub(crate) fn mark_body_start() {
    START.get_or_init(|| {
        START_WALL.get_or_init(SystemTime::now);
        Instant::now()
    });
}

/// Seconds from the body's start to `at`, a wall-clock time since the Unix epoch (a packet's
/// capture stamp); `None` before the body started.
pub(crate) fn offset_of_wall(at: Duration) -> Option<f64> {
    let start = START_WALL.get()?.duration_since(UNIX_EPOCH).ok()?;
    Some(at.as_secs_f64() - start.as_secs_f64())
}

/// Time since the body started (zero before it has).
pub(crate) fn since_body_start() -> Duration {
    START.get().map_or(Duration::ZERO, Instant::elapsed)
}

/// Seconds from the body's start to `at`: negative before it (a build phase), measured from now
/// while the body has not started.
pub(crate) fn offset(at: Instant) -> f64 {
    let zero = START.get().copied().unwrap_or_else(Instant::now);
    match at.checked_duration_since(zero) {
        Some(after) => after.as_secs_f64(),
        None => -(zero - at).as_secs_f64(),
    }
}
