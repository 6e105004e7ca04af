//! What the test child shows when its body fails or times out: the failure report (rendered as
//! text, on stderr) and, with `NETNS_TEST_PAUSE_ON_FAIL=1`, a pause to look around.
//!
//! ```ignore
//! // in the child, once the body failed with `msg`:
//! let msg = match failure::show(net.core()) { Some(text) => format!("{msg}\n{text}"), None => msg };
//! ```

use super::pause;
use crate::core::Core;

/// Whether a failure would show anything (the dump, captures or a pause): only then does a test
/// child watch for its timeout.
pub(super) fn wanted() -> bool {
    crate::forensics::Settings::from_env().any() || crate::env::pause_on_fail()
}

/// Shows the failure report now (the parent hands on the body's message for `should_panic` but
/// prints only the output) and pauses if asked; returns the text, if there is any.
pub(super) fn show(core: &Core) -> Option<String> {
    let text = crate::forensics::failure_report(core).text();
    eprint!("{text}");
    if crate::env::pause_on_fail() {
        pause::request(core, &text);
    }
    (!text.is_empty()).then_some(text)
}
