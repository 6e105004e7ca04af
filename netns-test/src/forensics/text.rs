//! The failure report in words, for the terminal: what a failing test prints under its message.
//!
//! ```text
//! netns-test: network state at the failure (NETNS_TEST_DUMP=0 turns this off), +3.120 ms into the body
//! node a
//!   eth0  DOWN  mtu 1500  02:4e:1c:8a:0b:11  10.0.0.1/24  rx 3/266 tx 5/426 drop 0
//! runtime changes
//!   +1.002 ms link a:eth0 -- b:eth0: down
//! netns-test: packet captures (at most 16 MiB per file) in target/netns-test/e2e::t/
//!   a.pcap 4, b.pcap 4
//! netns-test: the nodes' log lines (2):
//!   +0.412 ms [b] ping: PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.
//!   +1.003 ms [a] INFO my_crate::server: listening port=7000
//! ```

use super::report::{Captures, Dump, FailureReport};
use super::{capture, state};
use crate::journal;
use std::fmt::Write as _;

impl FailureReport {
    /// The dump (with its heading), then where the captures are.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        if let Some(dump) = &self.dump {
            out.push_str("netns-test: network state at the failure (NETNS_TEST_DUMP=0 turns this off), ");
            out.push_str(&dump.text());
        }
        if let Some(c) = &self.captures {
            out.push_str(&c.text());
        }
        out.push_str(&self.logs_text(if crate::env::all_logs() { usize::MAX } else { LAST_LOG_LINES }));
        out
    }

    /// The last `last` log lines of the nodes, in time order, each tagged `[node]`.
    pub(crate) fn logs_text(&self, last: usize) -> String {
        let logs = &self.logs;
        if logs.lines.is_empty() {
            return String::new();
        }
        let shown = logs.lines.len().min(last);
        let mut out = String::from("netns-test: ");
        if (shown as u64) < logs.total {
            let _ = write!(
                out,
                "the last {shown} of {} log lines of the nodes (NETNS_TEST_LOGS=all shows them all",
                logs.total
            );
            match &logs.file {
                Some(f) => {
                    let _ = write!(out, "; every one is in {})", f.display());
                }
                None => out.push(')'),
            }
        } else {
            let _ = write!(out, "the nodes' log lines ({shown})");
        }
        out.push_str(":\n");
        for l in &logs.lines[logs.lines.len() - shown..] {
            let source = match l.level {
                Some(level) => format!("{level} {}", l.source),
                None => l.source.clone(),
            };
            let mut text = l.text.lines();
            let _ = writeln!(out, "  {} [{}] {source}: {}", stamp(l.at), l.node, text.next().unwrap_or(""));
            for more in text {
                let _ = writeln!(out, "      {more}");
            }
        }
        out
    }
}

/// How many log lines a failure prints unless `NETNS_TEST_LOGS=all`.
pub(crate) const LAST_LOG_LINES: usize = 50;

/// `+12.345 ms`, `-3.100 ms`, `+1.042 s` (seconds since the body started).
fn stamp(at: f64) -> String {
    let sign = if at < 0.0 { "-" } else { "+" };
    match at.abs() {
        s if s < 1.0 => format!("{sign}{:.3} ms", s * 1e3),
        s => format!("{sign}{s:.3} s"),
    }
}

impl Dump {
    /// `+12.345 ms into the body`, every namespace's block, then the runtime changes.
    pub(crate) fn text(&self) -> String {
        let mut out = format!("{} into the body\n", journal::stamp(self.at));
        if let Some(note) = &self.conditions_note {
            let _ = writeln!(out, "(link conditions: {note})");
        }
        for ns in &self.namespaces {
            match &ns.state {
                Ok(state) => out.push_str(&state::render(&ns.title, state)),
                Err(why) => {
                    let _ = writeln!(out, "{}\n  ({why})", ns.title);
                }
            }
        }
        if !self.journal.is_empty() {
            out.push_str("runtime changes\n");
            for (at, what) in &self.journal {
                let _ = writeln!(out, "  {} {what}", journal::stamp(*at));
            }
        }
        out
    }
}

impl Captures {
    /// `netns-test: packet captures (...) in DIR` and one entry per file.
    pub(crate) fn text(&self) -> String {
        let mut out = format!(
            "netns-test: packet captures (at most {} MiB per file) in {}/\n ",
            capture::FILE_LIMIT >> 20,
            self.dir.display()
        );
        for f in &self.files {
            let _ = write!(out, " {} {}", f.file, f.packets);
            if f.over_limit > 0 {
                let _ = write!(out, " (+{} over the size limit, not written)", f.over_limit);
            }
            if f.kernel_drops > 0 {
                let _ = write!(out, " ({} dropped by the kernel: capture too slow)", f.kernel_drops);
            }
            if let Some(e) = &f.error {
                let _ = write!(out, " (not captured: {e})");
            }
            out.push(',');
        }
        out.pop();
        out.push('\n');
        out
    }
}
