//! What the test changed at run time, timestamped relative to the body's start.
//!
//! ```ignore
//! journal::mark_body_start();
//! journal::record("link b:eth0 down");
//! assert_eq!(journal::entries()[0].1, "link b:eth0 down");
//! ```
//!
//! Runtime helpers (links going down, conditions set, routes added) record here; the failure
//! dump shows the entries, and `NETNS_TEST_TRACE=1` echoes each to stderr as it happens.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

static START: OnceLock<Instant> = OnceLock::new();
static ENTRIES: Mutex<Vec<(Duration, String)>> = Mutex::new(Vec::new());

/// Sets time zero: the moment the test body starts. Later calls change nothing.
pub(crate) fn mark_body_start() {
    START.get_or_init(Instant::now);
}

/// Time since the body started (zero before it has).
pub(crate) fn since_body_start() -> Duration {
    START.get().map_or(Duration::ZERO, Instant::elapsed)
}

/// Records one runtime change.
#[allow(dead_code)] // called by the runtime helpers that change a built topology
pub(crate) fn record(what: impl Into<String>) {
    let (at, what) = (since_body_start(), what.into());
    if crate::env::tracing() {
        eprintln!("netns-test: {} {what}", stamp(at));
    }
    ENTRIES.lock().unwrap_or_else(|e| e.into_inner()).push((at, what));
}

/// Every change recorded so far, oldest first.
pub(crate) fn entries() -> Vec<(Duration, String)> {
    ENTRIES.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// `+12.345 ms`, `+3.042 s`: an offset from the body's start as the journal and the dump print it.
pub(crate) fn stamp(at: Duration) -> String {
    match at.as_secs_f64() {
        s if s < 1.0 => format!("+{:.3} ms", s * 1e3),
        s => format!("+{s:.3} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_timestamped_from_the_body_start_in_order() {
        mark_body_start();
        std::thread::sleep(Duration::from_millis(2));
        record("link b:eth0 down");
        record(String::from("route 10.9.0.0/16 via 10.0.0.1 added in a"));
        let e = entries();
        assert_eq!(
            e.iter().map(|(_, w)| w.as_str()).collect::<Vec<_>>(),
            ["link b:eth0 down", "route 10.9.0.0/16 via 10.0.0.1 added in a"]
        );
        assert!(e[0].0 >= Duration::from_millis(2) && e[0].0 <= e[1].0);
        assert_eq!(stamp(Duration::from_micros(12_345)), "+12.345 ms");
        assert_eq!(stamp(Duration::from_millis(3_042)), "+3.042 s");
    }
}
