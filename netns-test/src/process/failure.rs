//! What a test shows when its body fails or times out: the failure report (as text on stderr,
//! and as a page, `report.html`, next to the captures) and, with `NETNS_TEST_PAUSE_ON_FAIL=1`, a
//! pause to look around. The child makes the report; the parent, which alone knows how the test
//! ended, writes the verdict into its page (or makes the page, when the child could not).
//!
//! ```ignore
//! // in the child, once the body failed with `msg`:
//! let msg = match failure::show(net.core(), spec.node, &msg) { Some(text) => format!("{msg}\n{text}"), None => msg };
//! // in the parent, once it has judged:
//! failure::page(&spec, &verdict, page, &output); // `page`: from the child's `Report::Page`
//! ```

use super::report::Report;
use super::{pause, Spec, Verdict};
use crate::core::Core;
use crate::forensics;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether a failure would show anything (the dump, captures, the page or a pause): only then
/// does a test child watch for its timeout.
pub(super) fn wanted() -> bool {
    forensics::Settings::from_env().any() || crate::env::pause_on_fail()
}

/// Shows the failure report now: its text on stderr (the parent hands on the body's message for
/// `should_panic` but prints only the output), its page written; pauses if asked. Returns the
/// text, if there is any.
pub(super) fn show(core: &Core, body_node: &str, failure: &str) -> Option<String> {
    let at = crate::clock::since_body_start().as_secs_f64();
    let start = std::time::Instant::now();
    let mut report = forensics::failure_report(core, Some(body_node));
    if let Some(run) = &mut report.run {
        run.failure = Some((at, failure.to_string()));
    }
    let gathered = start.elapsed();
    let mut text = report.text();
    if report.run.is_some() {
        text.push_str(&written(forensics::write_page(&report)));
    }
    if crate::env::tracing() {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        eprintln!(
            "netns-test: failure report gathered in {:.2} ms, text and page made and written in {:.2} ms",
            ms(gathered),
            ms(start.elapsed() - gathered)
        );
    }
    eprint!("{text}");
    if crate::env::pause_on_fail() {
        pause::request(core, &text);
    }
    (!text.is_empty()).then_some(text)
}

/// The body passed: captures and logs are put away; with `NETNS_TEST_REPORT=all` its page is
/// written (the parent adds the verdict).
pub(super) fn passed(core: &Core, body_node: &str) {
    if let Some(report) = forensics::body_passed(core, body_node) {
        print!("{}", written(forensics::write_page(&report)));
    }
}

/// `netns-test: report: PATH`, or why there is none; the parent is told where it is.
fn written(page: std::io::Result<PathBuf>) -> String {
    match page {
        Ok(path) => {
            Report::Page(path.to_string_lossy().into_owned()).send_from_test();
            format!("netns-test: report: {}\n", path.display())
        }
        Err(e) => format!("netns-test: the report page could not be written: {e}\n"),
    }
}

/// In the parent, once the test `spec` has its verdict: the verdict and the test's `output` go
/// into the page the child made (`page`, as it reported); if it made none (killed, lost, its
/// topology never built), the parent makes one from what it knows. A passing test's page of an
/// earlier run is removed (unless `NETNS_TEST_REPORT=all` makes a new one).
pub(super) fn page(spec: &Spec, verdict: &Verdict, page: Option<&Path>, output: &str) {
    use crate::env::Report;
    let mode = crate::env::report();
    let kind = match verdict {
        Verdict::Skipped(_) | Verdict::NoSandbox(_) | Verdict::NoTestRan(_) => return,
        _ if mode == Report::Off => return,
        Verdict::Passed if mode == Report::Fail => {
            for dir in crate::out_dir::dirs(&crate::out_dir::test_path(spec.test_name())) {
                let _ = std::fs::remove_file(dir.join(forensics::PAGE_FILE));
            }
            return;
        }
        Verdict::Passed => "passed",
        Verdict::Failed(_) => "failed",
        Verdict::BuildFailed(_) => "build-failed",
        Verdict::TimedOut { .. } => "timed-out",
        Verdict::Killed { .. } => "killed",
        Verdict::Exited { .. } | Verdict::Lost(_) => "exited",
    };
    let name = spec.test_name();
    let text = match verdict {
        Verdict::Passed => "passed".to_string(),
        Verdict::Failed(msg) => format!("failed: {msg}"),
        v => v.message(name),
    };
    let v = forensics::Verdict { kind, text };
    let said = match page {
        Some(page) => match forensics::fill_page(&page, &v, output) {
            Ok(()) => return,
            Err(e) => format!("netns-test: the verdict could not be added to {}: {e}\n", page.display()),
        },
        None => match forensics::parent_report(name, spec.topology, spec.node, v, output.to_string()) {
            Some(report) => match forensics::write_page(&report) {
                Ok(path) => format!("netns-test: report: {}\n", path.display()),
                Err(e) => format!("netns-test: the report page could not be written: {e}\n"),
            },
            None => return,
        },
    };
    // With the test's output, into libtest's capture.
    print!("{said}");
    let _ = std::io::stdout().flush();
}
