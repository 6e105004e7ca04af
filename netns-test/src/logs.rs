//! Per-node log lines: the output of programs started with `Node::command` and, with the
//! `tracing` feature, `tracing` events; each tagged with the node it came from and timestamped.
//!
//! ```ignore
//! logs::record(&Arc::from("b"), "ping".into(), None, "64 bytes from 10.0.0.1".into());
//! let logs = logs::snapshot();
//! assert_eq!(&*logs.lines[0].node, "b");
//! ```
//!
//! Lines are kept in memory (the last [`KEPT`]) and, in a test child, appended to the test's
//! `log.txt` as they arrive (one `write` per line, so a test that dies abruptly loses none): the
//! parent reads that file when the child could not show its failure itself. A passing test's
//! file is deleted (kept with `NETNS_TEST_REPORT=all`). Nothing here runs unless a test logs.
//!
//! A program's output is captured when it would have gone where the test's own output goes
//! (stdout or stderr inherited): the command gets a pipe in its place, read by a thread of ours.
//! Output the test redirected (`.output()`, `Stdio::piped()`, a file) is left alone.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// The most lines kept in memory; older ones are counted (the file has them all, up to
/// [`FILE_MAX`]).
pub(crate) const KEPT: usize = 100_000;
/// The longest line kept, in bytes; longer ones are cut (and say so).
pub(crate) const LINE_MAX: usize = 4096;
/// The most a log file grows to.
const FILE_MAX: u64 = 32 << 20;
/// The file's name in the test's directory.
pub(crate) const FILE_NAME: &str = "log.txt";
/// How long an event or a run-time change waits for programs' output written before it.
pub(crate) const SETTLE: std::time::Duration = std::time::Duration::from_millis(2);

/// One line of a node's log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    /// Seconds since the body started (negative before).
    pub(crate) at: f64,
    /// The node it came from (`?` when a thread was in no node netns-test made).
    pub(crate) node: Arc<str>,
    /// The program's name, or the event's target.
    pub(crate) source: String,
    /// The event's level (`INFO`); `None` for a program's output.
    pub(crate) level: Option<&'static str>,
    pub(crate) text: String,
}

/// The lines recorded so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Logs {
    pub(crate) lines: Vec<Line>,
    /// Lines recorded in all (more than `lines` holds when the oldest were let go).
    pub(crate) total: u64,
    /// Where they were written as they came, if they were.
    pub(crate) file: Option<PathBuf>,
    /// Why they were not all written there, if they were not.
    pub(crate) file_note: Option<String>,
}

struct Store {
    lines: VecDeque<Line>,
    total: u64,
    file: Sink,
}

enum Sink {
    /// No line yet (or not in a test child).
    Unopened,
    Open {
        file: File,
        path: PathBuf,
        written: u64,
    },
    /// Not written (past the limit, or the file could not be made): why.
    Closed(Option<PathBuf>, String),
}

static STORE: Mutex<Store> = Mutex::new(Store { lines: VecDeque::new(), total: 0, file: Sink::Unopened });

fn store() -> std::sync::MutexGuard<'static, Store> {
    STORE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records one line: kept, written to the file (in a test child), echoed with
/// `NETNS_TEST_TRACE=1`.
pub(crate) fn record(node: &Arc<str>, source: String, level: Option<&'static str>, mut text: String) {
    if level.is_some() {
        // An event: what programs wrote before it is logged first.
        settle(SETTLE);
    }
    if text.len() > LINE_MAX {
        let cut = (0..=LINE_MAX).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let more = text.len() - cut;
        text.truncate(cut);
        text.push_str(&format!(" [… {more} more bytes]"));
    }
    let line = Line { at: crate::clock::offset(Instant::now()), node: node.clone(), source, level, text };
    if crate::env::tracing() {
        eprintln!("netns-test: {}", file_line(&line).trim_end());
    }
    let mut st = store();
    write(&mut st.file, &line);
    st.total += 1;
    if st.lines.len() == KEPT {
        st.lines.pop_front();
    }
    st.lines.push_back(line);
}

/// The read ends of the programs' pipes being read, to see whether output is still waiting.
static READING: Mutex<Vec<Arc<OwnedFd>>> = Mutex::new(Vec::new());

/// Waits (up to `max`) until no program output written so far waits in a pipe or in a reader:
/// what a program wrote before the failure is part of the report, and what it wrote before an
/// event or a run-time change comes before it in the log.
pub(crate) fn settle(max: std::time::Duration) {
    if READING.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
        return;
    }
    let deadline = Instant::now() + max;
    let waiting = || -> usize {
        let reading = READING.lock().unwrap_or_else(|e| e.into_inner());
        reading
            .iter()
            .map(|fd| {
                let mut n: libc::c_int = 0;
                // SAFETY: FIONREAD into an int, on a descriptor we hold.
                if unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) } == 0 {
                    n.max(0) as usize
                } else {
                    0
                }
            })
            .sum()
    };
    let busy = || BUSY.load(std::sync::atomic::Ordering::SeqCst) > 0;
    while (waiting() > 0 || busy()) && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Every line kept so far, oldest first (output still waiting in a program's pipe first read).
pub(crate) fn snapshot() -> Logs {
    settle(std::time::Duration::from_secs(2));
    let st = store();
    let (file, file_note) = match &st.file {
        Sink::Unopened => (None, None),
        Sink::Open { path, .. } => (Some(path.clone()), None),
        Sink::Closed(path, why) => (path.clone(), Some(why.clone())),
    };
    Logs { lines: st.lines.iter().cloned().collect(), total: st.total, file, file_note }
}

/// The test passed: its log file goes, unless every test keeps its report
/// (`NETNS_TEST_REPORT=all`).
pub(crate) fn passed() {
    if crate::env::report() == crate::env::Report::All {
        return;
    }
    let mut st = store();
    if let Sink::Open { path, .. } | Sink::Closed(Some(path), _) = &st.file {
        let _ = std::fs::remove_file(path);
    }
    st.file = Sink::Closed(None, "the test passed".into());
}

fn write(sink: &mut Sink, line: &Line) {
    if matches!(sink, Sink::Unopened) {
        *sink = match crate::env::child_test() {
            None => Sink::Closed(None, "not in a test process".into()),
            Some(_) => match crate::out_dir::create(&crate::out_dir::this_test(), FILE_NAME) {
                Ok((path, file)) => Sink::Open { file, path, written: 0 },
                Err(e) => Sink::Closed(None, format!("the log file could not be made: {e}")),
            },
        };
    }
    let Sink::Open { file, path, written } = sink else { return };
    let text = file_line(line);
    if *written + text.len() as u64 > FILE_MAX {
        let why = format!("the file stopped at {} MiB", FILE_MAX >> 20);
        *sink = Sink::Closed(Some(path.clone()), why);
        return;
    }
    // One write per line: what has arrived is in the file, however the test ends.
    match file.write_all(text.as_bytes()) {
        Ok(()) => *written += text.len() as u64,
        Err(e) => *sink = Sink::Closed(Some(path.clone()), format!("writing the log file failed: {e}")),
    }
}

/// A line as the file holds it: `+0.012345\t[b]\tINFO my_crate\ttext`, the text with `\`, tab
/// and newline escaped (`\\`, `\t`, `\n`).
fn file_line(l: &Line) -> String {
    let text = l.text.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n");
    let source = match l.level {
        Some(level) => format!("{level} {}", l.source),
        None => l.source.clone(),
    };
    format!("{:+.6}\t[{}]\t{}\t{text}\n", l.at, l.node, source.replace(['\t', '\n'], " "))
}

/// The lines of a log file as [`file_line`] wrote them (for the parent, when the child could not
/// show them itself); lines it cannot read are skipped.
pub(crate) fn parse_file(text: &str) -> Vec<Line> {
    const LEVELS: [&str; 5] = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"];
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(4, '\t');
            let at = f.next()?.parse().ok()?;
            let node = f.next()?.strip_prefix('[')?.strip_suffix(']')?;
            let source = f.next()?;
            let text = unescape(f.next()?);
            let (level, source) = match source.split_once(' ') {
                Some((lv, rest)) if LEVELS.contains(&lv) => (LEVELS.iter().copied().find(|l| *l == lv), rest),
                _ => (None, source),
            };
            Some(Line { at, node: Arc::from(node), source: source.to_string(), level, text })
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// Makes the output of `cmd`, a program started in `node`, part of `node`'s log, where it would
/// have gone to the test's own output; only in a test child (elsewhere, a terminal is left alone).
pub(crate) fn capture_output(cmd: &mut Command, node: &str, program: &OsStr) {
    use std::os::unix::process::CommandExt;
    let (Some(_), Some(ours)) = (crate::env::child_test(), test_output()) else { return };
    let Ok((read, write)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else { return };
    let name = std::path::Path::new(program).file_name().unwrap_or(program).to_string_lossy().into_owned();
    let node: Arc<str> = Arc::from(node);
    let read = Arc::new(read);
    READING.lock().unwrap_or_else(|e| e.into_inner()).push(read.clone());
    let reader = std::thread::Builder::new().name(format!("netns-log-{node}")).spawn(move || {
        read_lines(&read, &node, name);
        READING.lock().unwrap_or_else(|e| e.into_inner()).retain(|r| !Arc::ptr_eq(r, &read));
    });
    if reader.is_err() {
        return; // no reader: the program's output stays where it was
    }
    let write = Arc::new(write);
    // SAFETY: fstat and dup2 only: async-signal-safe, no allocation.
    unsafe {
        cmd.pre_exec(move || {
            for fd in [1, 2] {
                let mut st: libc::stat = std::mem::zeroed();
                if libc::fstat(fd, &mut st) == 0
                    && (st.st_dev as u64, st.st_ino as u64) == ours
                    && libc::dup2(write.as_raw_fd(), fd) < 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        })
    };
}

/// The identity (device, inode) of where the test's own output goes: the pipe to its parent.
fn test_output() -> Option<(u64, u64)> {
    static OURS: OnceLock<Option<(u64, u64)>> = OnceLock::new();
    *OURS.get_or_init(|| {
        // SAFETY: fstat into a zeroed struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        (unsafe { libc::fstat(2, &mut st) } == 0).then_some((st.st_dev as u64, st.st_ino as u64))
    })
}

/// Readers holding bytes read from a pipe but not yet recorded.
static BUSY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Records each line the program writes until every copy of the pipe's write end is closed.
fn read_lines(read: &OwnedFd, node: &Arc<str>, program: String) {
    use std::sync::atomic::Ordering;
    let mut buf = vec![0u8; 64 << 10];
    let mut line: Vec<u8> = Vec::new();
    let put = |line: &mut Vec<u8>| {
        record(node, program.clone(), None, String::from_utf8_lossy(line).into_owned());
        line.clear();
    };
    loop {
        // SAFETY: reading into a buffer we own, from a descriptor that outlives this call.
        let n = unsafe { libc::read(read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            if !line.is_empty() {
                put(&mut line);
            }
            return;
        }
        BUSY.fetch_add(1, Ordering::SeqCst);
        for chunk in buf[..n as usize].split_inclusive(|&b| b == b'\n') {
            match chunk.strip_suffix(b"\n") {
                Some(end) => {
                    line.extend_from_slice(end);
                    put(&mut line);
                }
                None if line.len() + chunk.len() > LINE_MAX => {
                    line.extend_from_slice(chunk);
                    put(&mut line);
                }
                None => line.extend_from_slice(chunk),
            }
        }
        BUSY.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Network namespaces netns-test made, by identity, with the name their log lines get.
static PLACES: Mutex<Vec<((u64, u64), Arc<str>)>> = Mutex::new(Vec::new());

/// Names the namespaces of a network just built: `(namespace identity, node name)`.
pub(crate) fn name_places(places: impl IntoIterator<Item = ((u64, u64), String)>) {
    let mut known = PLACES.lock().unwrap_or_else(|e| e.into_inner());
    for (id, name) in places {
        known.retain(|(k, _)| *k != id);
        known.push((id, Arc::from(name)));
    }
}

/// The node the calling thread is in (`?` if none netns-test made), found once per place the
/// thread is moved to.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn node_of_this_thread() -> Arc<str> {
    thread_local! {
        static CACHE: std::cell::RefCell<Option<(usize, Arc<str>)>> = const { std::cell::RefCell::new(None) };
    }
    let Ok(here) = crate::kernel::view::Here::of_this_thread() else { return Arc::from("?") };
    let key = Arc::as_ptr(&here) as usize;
    if let Some(name) = CACHE.with(|c| c.borrow().as_ref().filter(|(k, _)| *k == key).map(|(_, n)| n.clone())) {
        return name;
    }
    let id = here.net_id().ok();
    let known = PLACES.lock().unwrap_or_else(|e| e.into_inner());
    let name = known.iter().rev().find(|(k, _)| Some(*k) == id).map_or_else(|| Arc::from("?"), |(_, n)| n.clone());
    drop(known);
    CACHE.with(|c| *c.borrow_mut() = Some((key, name.clone())));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_line_reads_back_with_its_escapes() {
        let l = Line {
            at: -0.25,
            node: Arc::from("b"),
            source: "my_crate::net".into(),
            level: Some("WARN"),
            text: "two\nlines\twith a \\ tab".into(),
        };
        let prog = Line { at: 1.5, node: Arc::from("r"), source: "ping".into(), level: None, text: "64 bytes".into() };
        let text = format!("{}{}garbage\n", file_line(&l), file_line(&prog));
        assert_eq!(file_line(&prog), "+1.500000\t[r]\tping\t64 bytes\n");
        assert_eq!(parse_file(&text), vec![l, prog]);
    }

    #[test]
    fn long_lines_are_cut_and_say_so() {
        record(&Arc::from("a"), "t".into(), None, "é".repeat(LINE_MAX));
        let logs = snapshot();
        let line = logs.lines.iter().find(|l| &*l.node == "a" && l.source == "t").unwrap();
        assert!(line.text.len() < LINE_MAX + 40 && line.text.ends_with(&format!("[… {} more bytes]", LINE_MAX)));
        assert_eq!(logs.file, None, "not in a test child: no file");
    }
}
