//! Every `NETNS_TEST_*` environment variable: its name, what it means, and the one place it is
//! read.
//!
//! ```ignore
//! if crate::env::tracing() { eprintln!("netns-test: ...") }
//! ```
//!
//! Values are read once, into a snapshot, so the test child can remove them from its environment
//! before the body runs ([`strip_from_process`]): programs a test starts never see them. They
//! are settings, never evidence: whether a process is a test child is checked from kernel facts
//! (`process::child::verify_sandbox`), not from these.

use std::sync::OnceLock;

/// Set by the parent in the child: the name of the one test it must run.
pub(crate) const CHILD: &str = "NETNS_TEST_CHILD";
/// Set by the parent in the child: the descriptor of the report pipe.
pub(crate) const REPORT_FD: &str = "NETNS_TEST_REPORT_FD";
/// `skip` (for a CI that cannot have namespaces): skip loudly instead of failing.
pub(crate) const UNSUPPORTED: &str = "NETNS_TEST_UNSUPPORTED";
/// `1`: print timings and runtime changes to stderr.
pub(crate) const TRACE: &str = "NETNS_TEST_TRACE";
/// Set to `1` by the fixture harness run with `--nocapture`: its trials print their expectation
/// table when they pass too.
pub(crate) const FIXTURE_TABLE: &str = "NETNS_TEST_FIXTURE_TABLE";
/// `0`: no state dump when a test fails (on by default).
pub(crate) const DUMP: &str = "NETNS_TEST_DUMP";
/// `fail` or `all`: capture every interface's packets, keep the files of failing (or all) tests.
pub(crate) const CAPTURE: &str = "NETNS_TEST_CAPTURE";
/// `0`: no report page for failing tests (on by default); `all`: one for passing tests too.
pub(crate) const REPORT: &str = "NETNS_TEST_REPORT";
/// `all`: a failure prints every log line of its nodes, not only the last 50.
pub(crate) const LOGS: &str = "NETNS_TEST_LOGS";
/// `1`: keep a failing test's topology up until the user presses Enter.
pub(crate) const PAUSE_ON_FAIL: &str = "NETNS_TEST_PAUSE_ON_FAIL";
/// `off`: link conditions take the userspace path even where the kernel has netem (to test it).
pub(crate) const NETEM: &str = "NETNS_TEST_NETEM";

const PREFIX: &str = "NETNS_TEST_";

/// Every `NETNS_TEST_*` variable, as the process had them when first asked.
fn snapshot() -> &'static [(String, String)] {
    static SNAPSHOT: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with(PREFIX))
            .collect()
    })
}

/// The value of `name` (one of the constants above).
pub(crate) fn get(name: &str) -> Option<&'static str> {
    snapshot().iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The test this process was started to run as a child, if the parent said so.
pub(crate) fn child_test() -> Option<&'static str> {
    get(CHILD)
}

/// The report pipe's descriptor, as the parent passed it.
pub(crate) fn report_fd() -> Option<i32> {
    get(REPORT_FD)?.parse().ok()
}

/// Whether `NETNS_TEST_UNSUPPORTED=skip` asks to skip where namespaces are unavailable.
pub(crate) fn skip_unsupported() -> bool {
    get(UNSUPPORTED) == Some("skip")
}

/// Whether `NETNS_TEST_TRACE=1` asks for timings.
pub(crate) fn tracing() -> bool {
    get(TRACE) == Some("1")
}

/// Whether a fixture trial prints its expectation table when it passes.
pub(crate) fn fixture_table() -> bool {
    get(FIXTURE_TABLE) == Some("1")
}

/// Whether a failing test dumps the network's state (unless `NETNS_TEST_DUMP=0`).
pub(crate) fn dump() -> bool {
    get(DUMP) != Some("0")
}

/// `NETNS_TEST_CAPTURE`'s value, if set.
pub(crate) fn capture() -> Option<&'static str> {
    get(CAPTURE)
}

/// Which tests get a report page (`NETNS_TEST_REPORT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Report {
    /// `0`: none.
    Off,
    /// Failing tests (the default).
    Fail,
    /// `all`: every test.
    All,
}

/// `NETNS_TEST_REPORT`: `0` off, `all` for passing tests too, failing tests otherwise.
pub(crate) fn report() -> Report {
    match get(REPORT) {
        Some("0") => Report::Off,
        Some("all") => Report::All,
        _ => Report::Fail,
    }
}

/// Whether `NETNS_TEST_LOGS=all` asks for every log line in the failure output.
pub(crate) fn all_logs() -> bool {
    get(LOGS) == Some("all")
}

/// Whether `NETNS_TEST_PAUSE_ON_FAIL=1` asks to hold a failing test's topology up.
pub(crate) fn pause_on_fail() -> bool {
    get(PAUSE_ON_FAIL) == Some("1")
}

/// Whether `NETNS_TEST_NETEM=off` asks for the userspace path for link conditions.
pub(crate) fn netem_off() -> bool {
    get(NETEM) == Some("off")
}

/// Takes the snapshot, then removes every `NETNS_TEST_*` variable from this process's
/// environment, so programs the test starts (another netns test binary, say) never see them.
pub(crate) fn strip_from_process() {
    for (k, _) in snapshot() {
        // Called in the test child before the body runs. The child's other thread (libtest's main
        // thread) is parked waiting for this test and does not read the environment.
        std::env::remove_var(k);
    }
}
