//! Seams for per-test work in the child, around the body. Other rooms fill these in.
//!
//! ```ignore
//! // in child::run, once the topology is built:
//! hooks::setup(&net)?;            // before the body
//! // ... the body fails with `msg` ...
//! let msg = match hooks::failure_context(&net) { Some(c) => format!("{msg}\n{c}"), None => msg };
//! ```
//!
//! Both run in the test child (PID 2 of its sandbox), in its own mount and UTS namespaces, on the
//! test's thread, in the caller's (the child's own) network namespace.

use crate::net::Net;

/// Runs once the topology is built, before the body (e.g. per-node /etc/hosts). An `Err` fails
/// the test with that message.
pub(crate) fn setup(net: &Net) -> Result<(), String> {
    // Last: captures start and the journal's clock is set right before the body.
    crate::forensics::body_starts(net);
    Ok(())
}

/// Called when the body returned normally.
pub(crate) fn passed(net: &Net) {
    let _ = net;
    crate::forensics::body_passed();
}

/// Called when the body panicked or returned `Err`; the text is appended to the failure message
/// (e.g. a dump of the namespaces' state).
pub(crate) fn failure_context(net: &Net) -> Option<String> {
    crate::forensics::failure_context(net)
}
