//! What the test child tells its parent over the report pipe, encoded and decoded here only.
//!
//! ```ignore
//! let mut wire = Report::Started.encode();
//! wire.extend(Report::Failed("boom".into()).encode());
//! assert_eq!(Report::decode_all(&wire), vec![Report::Started, Report::Failed("boom".into())]);
//! ```
//!
//! A frame is one tag byte, then for `Failed`, `BuildFailed` and `Paused` the message's length (u64, little endian) and its
//! UTF-8 bytes. Messages of any size fit: the parent reads the pipe while the child runs.

/// One message of the test child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// The child is the test process the framework started, in its sandbox, about to build.
    Started,
    /// The body returned normally.
    Ok,
    /// The body panicked or returned `Err`: the message.
    Failed(String),
    /// The topology could not be built: why. The body did not run.
    BuildFailed(String),
    /// The test failed and waits for the user (`NETNS_TEST_PAUSE_ON_FAIL=1`): what the parent
    /// needs to show (see `forensics::pause`). Not a verdict.
    Paused(String),
    /// The test wrote its report page at this path (the parent adds the verdict). Not a verdict.
    Page(String),
}

const STARTED: u8 = b'S';
const OK: u8 = b'O';
const FAILED: u8 = b'F';
const PAUSED: u8 = b'P';
const BUILD_FAILED: u8 = b'B';
const PAGE: u8 = b'H';

impl Report {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Report::Started => vec![STARTED],
            Report::Ok => vec![OK],
            Report::Failed(msg) => with_text(FAILED, msg),
            Report::Paused(text) => with_text(PAUSED, text),
            Report::BuildFailed(msg) => with_text(BUILD_FAILED, msg),
            Report::Page(path) => with_text(PAGE, path),
        }
    }

    /// The text of a `Paused` report.
    pub(crate) fn into_paused(self) -> Option<String> {
        match self {
            Report::Paused(text) => Some(text),
            _ => None,
        }
    }

    /// Whether this report is a verdict (not a pause or a page).
    pub(crate) fn is_verdict(&self) -> bool {
        !matches!(self, Report::Paused(_) | Report::Page(_))
    }

    /// Sends this report to the parent from any thread of the test process; false from
    /// anywhere else (a forked copy of the body, a program it started).
    pub(crate) fn send_from_test(&self) -> bool {
        use std::io::Write;
        use std::os::fd::FromRawFd;
        // SAFETY: getpid cannot fail.
        let Some(fd) = crate::env::report_fd().filter(|_| unsafe { libc::getpid() } == super::TEST_PID) else {
            return false;
        };
        // SAFETY: the report pipe is open for the whole life of the test process; we write to it
        // without taking it over (ManuallyDrop: the child's Reporter owns it).
        let mut pipe = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
        pipe.write_all(&self.encode()).is_ok()
    }

    /// Every complete frame of `wire`, in order; stops at anything incomplete or unknown.
    pub(crate) fn decode_all(mut wire: &[u8]) -> Vec<Report> {
        let mut out = Vec::new();
        while let Some((&tag, rest)) = wire.split_first() {
            let (report, rest) = match tag {
                STARTED => (Report::Started, rest),
                OK => (Report::Ok, rest),
                FAILED | PAUSED | BUILD_FAILED | PAGE if rest.len() >= 8 => {
                    let len = u64::from_le_bytes(rest[..8].try_into().unwrap());
                    let Some(msg) = rest[8..].get(..len.min(usize::MAX as u64) as usize) else { break };
                    let text = String::from_utf8_lossy(msg).into_owned();
                    let report = match tag {
                        FAILED => Report::Failed(text),
                        PAUSED => Report::Paused(text),
                        PAGE => Report::Page(text),
                        _ => Report::BuildFailed(text),
                    };
                    (report, &rest[8 + msg.len()..])
                }
                _ => break,
            };
            out.push(report);
            wire = rest;
        }
        out
    }
}

/// A tag, the text's length (u64, little endian), the text.
fn with_text(tag: u8, text: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + text.len());
    v.push(tag);
    v.extend_from_slice(&(text.len() as u64).to_le_bytes());
    v.extend_from_slice(text.as_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::Report;

    #[test]
    fn frames_round_trip_in_order() {
        let sent = [
            Report::Started,
            Report::Paused("a\t3\n\nstate".into()),
            Report::Failed("a\nb ✓".repeat(100_000)),
            Report::BuildFailed("no room".into()),
            Report::Page("/t/report.html".into()),
            Report::Ok,
        ];
        let wire: Vec<u8> = sent.iter().flat_map(Report::encode).collect();
        assert_eq!(Report::decode_all(&wire), sent);
    }

    #[test]
    fn an_incomplete_frame_is_not_a_report() {
        let wire = Report::Failed("truncated".into()).encode();
        assert_eq!(Report::decode_all(&wire[..wire.len() - 1]), vec![]);
        assert_eq!(Report::decode_all(b"S?O"), vec![Report::Started]);
    }
}
