//! What the test child tells its parent over the report pipe, encoded and decoded here only.
//!
//! ```ignore
//! let mut wire = Report::Started.encode();
//! wire.extend(Report::Failed("boom".into()).encode());
//! assert_eq!(Report::decode_all(&wire), vec![Report::Started, Report::Failed("boom".into())]);
//! ```
//!
//! A frame is one tag byte, then for `Failed` the message's length (u64, little endian) and its
//! UTF-8 bytes. Messages of any size fit: the parent reads the pipe while the child runs.

/// One message of the test child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// The child is the test process the framework started, in its sandbox, about to build.
    Started,
    /// The body returned normally.
    Ok,
    /// The body panicked or returned `Err` (or the build failed): the message.
    Failed(String),
}

const STARTED: u8 = b'S';
const OK: u8 = b'O';
const FAILED: u8 = b'F';

impl Report {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Report::Started => vec![STARTED],
            Report::Ok => vec![OK],
            Report::Failed(msg) => {
                let mut v = Vec::with_capacity(9 + msg.len());
                v.push(FAILED);
                v.extend_from_slice(&(msg.len() as u64).to_le_bytes());
                v.extend_from_slice(msg.as_bytes());
                v
            }
        }
    }

    /// Every complete frame of `wire`, in order; stops at anything incomplete or unknown.
    pub(crate) fn decode_all(mut wire: &[u8]) -> Vec<Report> {
        let mut out = Vec::new();
        while let Some((&tag, rest)) = wire.split_first() {
            let (report, rest) = match tag {
                STARTED => (Report::Started, rest),
                OK => (Report::Ok, rest),
                FAILED if rest.len() >= 8 => {
                    let len = u64::from_le_bytes(rest[..8].try_into().unwrap());
                    let Some(msg) = rest[8..].get(..len.min(usize::MAX as u64) as usize) else { break };
                    (Report::Failed(String::from_utf8_lossy(msg).into_owned()), &rest[8 + msg.len()..])
                }
                _ => break,
            };
            out.push(report);
            wire = rest;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Report;

    #[test]
    fn frames_round_trip_in_order() {
        let sent = [Report::Started, Report::Failed("a\nb ✓".repeat(100_000)), Report::Ok];
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
