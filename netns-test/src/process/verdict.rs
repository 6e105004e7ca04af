//! What became of one test, as a typed value, and the one place each kind is put into words.
//!
//! ```ignore
//! let verdict = parent::run(&spec);
//! match verdict {
//!     Verdict::Passed => {}
//!     ref v => panic!("{}", v.message("crate::my_test")),
//! }
//! ```
//!
//! Only [`Verdict::Failed`] is the body's own doing: it alone can satisfy `#[should_panic]`
//! (`process::settle`).

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

/// What became of one test, in the parent.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The body returned normally, and the test process exited with 0.
    Passed,
    /// Namespaces are unavailable and `NETNS_TEST_UNSUPPORTED=skip` asked to skip: why.
    Skipped(String),
    /// The body panicked or returned `Err`: its message.
    Failed(String),
    /// The topology could not be built; the body did not run.
    BuildFailed(String),
    /// The timeout passed; every process of the test was killed.
    TimedOut { after: Duration, timeout: Duration },
    /// The test process was killed by a signal; the body's failure message first, if it had one.
    Killed { signal: i32, failed_with: Option<String> },
    /// The test process exited before reporting how the body ended (or after it failed, with
    /// another code than a failure's).
    Exited { status: ExitStatus, failed_with: Option<String> },
    /// The sandbox ended without saying how the test process ended.
    Lost(ExitStatus),
    /// No sandbox could be made: why (already a complete message).
    NoSandbox(String),
    /// The re-executed test binary ran no test under that name.
    NoTestRan(ExitStatus),
}

impl Verdict {
    /// Whether the test failed, in whatever way.
    pub(crate) fn is_failure(&self) -> bool {
        !matches!(self, Verdict::Passed | Verdict::Skipped(_))
    }

    /// The verdict in words, for the test `name`.
    pub(crate) fn message(&self, name: &str) -> String {
        match self {
            Verdict::Passed => format!("netns-test: `{name}` passed"),
            Verdict::Skipped(why) => format!("netns-test: SKIPPED `{name}` ({}=skip): {why}", crate::env::UNSUPPORTED),
            Verdict::Failed(msg) => msg.clone(),
            Verdict::BuildFailed(msg) => msg.clone(),
            Verdict::TimedOut { after, timeout } => {
                format!(
                    "netns-test: `{name}` timed out after {after:?} (timeout = {timeout:?}); its processes were killed"
                )
            }
            Verdict::Killed { failed_with: Some(msg), .. } | Verdict::Exited { failed_with: Some(msg), .. } => {
                format!("netns-test: the child process for `{name}` failed ({msg}), then died ({})", self.status())
            }
            Verdict::Killed { .. } | Verdict::Exited { .. } => {
                format!("netns-test: the child process for `{name}` died during the test ({})", self.status())
            }
            Verdict::Lost(sandbox) => format!(
                "netns-test: lost supervision of `{name}`: its sandbox ended ({}) without reporting how the test \
                 process ended (was it killed from outside?)",
                describe(*sandbox)
            ),
            Verdict::NoSandbox(msg) => msg.clone(),
            Verdict::NoTestRan(status) => format!(
                "netns-test: the child process for `{name}` ran no test ({}). The test binary did not run this test \
                 when re-executed with `{name} --exact`; refusing to report a pass.",
                describe(*status)
            ),
        }
    }

    fn status(&self) -> String {
        match self {
            Verdict::Killed { signal, .. } => format!("killed by signal {signal} ({})", signal_name(*signal)),
            Verdict::Exited { status, .. } => describe(*status),
            _ => String::new(),
        }
    }
}

/// `exit code 3`, `killed by signal 9 (SIGKILL)`.
pub(super) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(0), _) => "exit code 0: something called `std::process::exit` before the test finished".into(),
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s} ({})", signal_name(s)),
        _ => status.to_string(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_in_words() {
        let name = "t";
        let killed = Verdict::Killed { signal: libc::SIGKILL, failed_with: None };
        assert!(killed.message(name).contains("died during the test (killed by signal 9 (SIGKILL))"));
        let exited = Verdict::Exited { status: ExitStatus::from_raw(0), failed_with: None };
        assert!(exited.message(name).contains("exit code 0: something called `std::process::exit`"));
        let t = Verdict::TimedOut { after: Duration::from_secs(1), timeout: Duration::from_secs(1) };
        assert!(t.message(name).contains("timed out after 1s"));
        assert!(Verdict::BuildFailed("no room".into()).is_failure());
        assert!(!Verdict::Skipped("no userns".into()).is_failure());
    }
}
