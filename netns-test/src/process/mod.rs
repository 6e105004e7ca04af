//! The per-test process model: one sandboxed child process per test, and a parent that judges it.
//!
//! ```ignore
//! // What `#[netns_test]` generates, in short:
//! #[test]
//! fn pings() {
//!     fn body(net: &Net) { /* the user's function */ }
//!     netns_test::__private::run_unit(&Spec { path: "crate::pings", .. }, body);
//! }
//! ```
//!
//! The parent (the ordinary libtest or nextest run) re-executes the test binary for exactly one
//! test, in a child that `spawn` puts into fresh user, network, mount, UTS and PID namespaces
//! (the test thread itself cannot: `unshare(CLONE_NEWUSER)` refuses multi-threaded processes).
//! The child (`child`) checks from kernel facts that it is in such a sandbox, builds the
//! topology, runs the body inside its node and reports over a pipe (`report`). The parent
//! (`parent`) replays its output, enforces the timeout and turns report and exit status into one
//! verdict. Everything the test made or started lives in the sandbox's namespaces, which the
//! kernel tears down when the test process ends, however it ends.

mod child;
mod failure;
mod grace;
mod parent;
mod pause;
mod replay;
mod report;
mod spawn;
mod verdict;

use crate::api::Net;
use std::io::{self, Write};
use std::time::Duration;
pub(crate) use verdict::Verdict;

/// What the macro knows about one test.
#[doc(hidden)]
pub struct Spec {
    /// `module_path!()::fn_name`, the crate name included.
    pub path: &'static str,
    pub topology: &'static str,
    /// Where the body runs.
    pub node: &'static str,
    pub timeout: Duration,
    /// The test's `#[should_panic]`, taken over from libtest (which would count the framework's
    /// own failures, a timeout say, as the expected panic).
    pub should_panic: ShouldPanic,
}

/// A test's `#[should_panic]`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShouldPanic {
    No,
    /// `#[should_panic]`
    Yes,
    /// `#[should_panic(expected = "..")]`: the body's message must contain the text.
    Expected(&'static str),
}

impl Spec {
    /// The test's name as libtest knows it: the path without the crate name.
    fn test_name(&self) -> &'static str {
        self.path.split_once("::").map_or(self.path, |(_, rest)| rest)
    }
}

/// The outcome of a body, as the child reports it.
pub(crate) type Outcome = Result<(), String>;

/// A test body, not generic, so the runtime is compiled once rather than once per test.
pub type Body = fn(&Net) -> Outcome;

/// The child's exit code after a failed body (as libtest's).
const FAILED_EXIT: i32 = 101;

/// TEST's pid in its PID namespace (INIT is 1).
const TEST_PID: libc::pid_t = 2;

/// Runs one `#[netns_test]`: as the parent, spawn and supervise the child; as the child, run.
pub fn run(spec: &Spec, body: Body) {
    run_dyn(spec, &body)
}

/// [`run`] for a test function that takes `&Net` and returns `()`: the macro hands over the
/// user's function itself, with no adapter to compile for each test.
pub fn run_unit(spec: &Spec, body: fn(&Net)) {
    run_dyn(spec, &|net| {
        body(net);
        Ok(())
    })
}

/// [`run_unit`] for a test function that takes nothing.
pub fn run_unit_without_net(spec: &Spec, body: fn()) {
    run_dyn(spec, &|_| {
        body();
        Ok(())
    })
}

fn run_dyn(spec: &Spec, body: &dyn Fn(&Net) -> Outcome) {
    match crate::env::child_test() {
        Some(name) if name == spec.test_name() => child::run(spec, body),
        Some(name) => {
            panic!("netns-test: this child process was started for `{name}` but is running `{}`", spec.test_name())
        }
        None => settle(spec, parent::run(spec)),
    }
}

/// The parent's half alone: start, supervise and judge the child for `spec`, for a harness that
/// reports verdicts its own way (the fixture harness, on libtest-mimic).
pub(crate) fn supervise(spec: &Spec) -> Verdict {
    parent::run(spec)
}

/// The child's half alone, with a body that may capture (a harness's closure); never returns.
pub(crate) fn run_child(spec: &Spec, body: &dyn Fn(&Net) -> Outcome) -> ! {
    child::run(spec, body)
}

/// Passes (returns) or fails (panics) the libtest test, applying `#[should_panic]`: only the
/// body's own panic or `Err` can satisfy it.
fn settle(spec: &Spec, verdict: Verdict) {
    let name = spec.test_name();
    match (verdict, spec.should_panic) {
        (Verdict::Passed, ShouldPanic::No) => {}
        (Verdict::Passed, _) => panic!("test did not panic as expected"),
        (v @ Verdict::Skipped(_), _) => {
            // Straight to the terminal, past libtest's capture: a skip must never look like a pass.
            let _ = writeln!(io::stderr(), "{}", v.message(name));
        }
        // The child already printed the panic with its location; carry the message on.
        (Verdict::Failed(msg), ShouldPanic::No) => std::panic::resume_unwind(Box::new(msg)),
        (Verdict::Failed(_), ShouldPanic::Yes) => {}
        (Verdict::Failed(msg), ShouldPanic::Expected(text)) if msg.contains(text) => {}
        (Verdict::Failed(msg), ShouldPanic::Expected(text)) => panic!(
            "panic did not contain expected string\n      panic message: {:?}\n expected substring: {text:?}",
            shorten(&msg)
        ),
        (v, _) => panic!("{}", v.message(name)),
    }
}

/// At most about 4 KiB of `msg` (its start and end), for a message quoted inside another.
fn shorten(msg: &str) -> String {
    const KEEP: usize = 2048;
    if msg.len() <= 2 * KEEP {
        return msg.to_string();
    }
    let head = (0..=KEEP).rev().find(|&i| msg.is_char_boundary(i)).unwrap_or(0);
    let tail = (msg.len() - KEEP..msg.len()).find(|&i| msg.is_char_boundary(i)).unwrap_or(msg.len());
    format!("{} [... {} bytes ...] {}", &msg[..head], tail - head, &msg[tail..])
}
