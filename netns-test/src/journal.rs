//! What the test changed at run time, timestamped relative to the body's start.
//!
//! ```ignore
//! clock::mark_body_start();
//! journal::record("link b:eth0 down");
//! assert_eq!(journal::entries()[0].1, "link b:eth0 down");
//! ```
//!
//! Runtime helpers (links going down, conditions set, routes added) record here; the failure
//! dump shows the entries, and `NETNS_TEST_TRACE=1` echoes each to stderr as it happens.

use crate::clock::since_body_start;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ENTRIES: Mutex<Vec<(Duration, String)>> = Mutex::new(Vec::new());
static PHASES: Mutex<Vec<(Instant, String)>> = Mutex::new(Vec::new());

/// Records one runtime change.
#[allow(dead_code)] // called by the runtime helpers that change a built topology
pub(crate) fn record(what: impl Into<String>) {
    // What programs wrote before this change is logged before it.
    crate::logs::settle(crate::logs::SETTLE);
    let (at, what) = (since_body_start(), what.into());
    if crate::env::tracing() {
        eprintln!("netns-test: {} {what}", stamp(at));
    }
    ENTRIES.lock().unwrap_or_else(|e| e.into_inner()).push((at, what));
}

/// Records that a phase of the test's life ended now (`topology built`): the report's timeline
/// shows them before the body's start.
pub(crate) fn phase(what: impl Into<String>) {
    PHASES.lock().unwrap_or_else(|e| e.into_inner()).push((Instant::now(), what.into()));
}

/// The phases recorded so far, oldest first.
pub(crate) fn phases() -> Vec<(Instant, String)> {
    PHASES.lock().unwrap_or_else(|e| e.into_inner()).clone()
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
        crate::clock::mark_body_start();
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

    #[test]
    fn phases_before_the_body_have_negative_offsets() {
        let before = Instant::now();
        phase("topology built");
        crate::clock::mark_body_start();
        // (Another test of this process may have started the clock earlier.)
        use crate::clock::offset;
        assert!(offset(before) <= offset(Instant::now()));
        assert!(offset(Instant::now()) >= 0.0);
        let zero = Instant::now() - Duration::from_secs_f64(offset(Instant::now()));
        assert!(offset(zero.checked_sub(Duration::from_millis(5)).unwrap()) < -0.004);
        assert_eq!(phases().last().unwrap().1, "topology built");
    }
}
