//! What a failing test shows besides its own message: the network's state, packet captures,
//! a pause to look around, and the runtime changes it made.
//!
//! ```text
//! netns-test: network state at the failure, +3.120 ms into the body (NETNS_TEST_DUMP=0: off)
//! node a
//!   lo    UP    mtu 65536  rx 0/0 tx 0/0 drop 0
//!   eth0  DOWN  mtu 1500  02:4e:1c:8a:0b:11  10.0.0.1/24  rx 3/266 tx 5/426 drop 0
//!         cond delay 20ms loss 1% each way (netem)
//!   route 10.0.0.0/24 dev eth0
//! node b
//!   ...
//! ```
//!
//! The test child calls [`body_starts`] just before the body and [`failure_context`] when the
//! body failed (panic, `Err`, timeout), before the topology is torn down; [`body_passed`] when it
//! passed. Everything is read over netlink inside each namespace at that moment, but the link
//! conditions, which come from the runtime's own state (`shaping.rs`). The parent, in the
//! runner's namespace, adds what the kernel dropped machine-wide meanwhile (`shared_tables.rs`).

mod capture;
mod pause;
mod read;
mod shaping;
pub(crate) mod shared_tables;
mod state;

use crate::journal;
use crate::live::Place;
use crate::net::Net;
use capture::{Capture, FileSummary};
use state::Section;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Readers of further per-namespace sections of the dump, each run inside the namespace:
/// `Section { title, lines }`, shown when not empty. Sections known from the node itself (its
/// NAT and firewall rules) are in `dump`, and so are the link conditions (`shaping.rs`), shown
/// under each interface.
const SECTIONS: &[fn() -> io::Result<Section>] = &[];

/// How long the dump waits for the runtime's link state (held during a link change) before it
/// shows the declared conditions instead.
const LOCK_WAIT: Duration = Duration::from_millis(300);

/// Which failures keep their captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaptureMode {
    Off,
    /// `NETNS_TEST_CAPTURE=fail`: captures of failing tests are kept, the others deleted.
    Fail,
    /// `NETNS_TEST_CAPTURE=all`: every test's captures are kept.
    All,
}

/// The settings of this module, from the environment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// `NETNS_TEST_DUMP` (on unless `0`).
    pub(crate) dump: bool,
    pub(crate) capture: CaptureMode,
    /// `NETNS_TEST_PAUSE_ON_FAIL=1`.
    pub(crate) pause: bool,
}

impl Settings {
    pub(crate) fn from_env() -> Settings {
        let capture = match crate::env::capture() {
            Some("fail") => CaptureMode::Fail,
            Some("all") => CaptureMode::All,
            _ => CaptureMode::Off,
        };
        Settings { dump: crate::env::dump(), capture, pause: crate::env::pause_on_fail() }
    }
}

/// Whether a failure would show anything (the dump, captures or a pause): only then does a test
/// child watch for its timeout.
pub(crate) fn wanted() -> bool {
    let s = Settings::from_env();
    s.dump || s.capture != CaptureMode::Off || s.pause
}

pub(crate) use pause::hold as hold_paused;

/// The capture of the running test, between `body_starts` and its end.
static CAPTURE: Mutex<Option<(CaptureMode, Capture)>> = Mutex::new(None);

/// Just before the body: time zero of the journal, and captures start if asked for. A capture
/// that cannot start is reported, not fatal.
pub(crate) fn body_starts(net: &Net) {
    let settings = Settings::from_env();
    if settings.capture != CaptureMode::Off {
        let path = test_path();
        let path = path.as_str();
        let nodes: Vec<(String, &crate::ns::NetNs)> =
            net.nodes().iter().map(|n| (n.name().to_string(), n.netns())).collect();
        let [dir, fallback] = capture_dirs(path);
        match Capture::start(&dir, &nodes).or_else(|_| Capture::start(&fallback, &nodes)) {
            Ok(c) => *lock() = Some((settings.capture, c)),
            Err(e) => eprintln!("netns-test: packet capture not started in {}: {e}", fallback.display()),
        }
    }
    journal::mark_body_start();
}

/// The body passed: captures are closed, and deleted unless `NETNS_TEST_CAPTURE=all`.
pub(crate) fn body_passed() {
    if let Some((mode, c)) = lock().take() {
        let dir = c.dir().to_path_buf();
        let files = c.stop();
        match mode {
            CaptureMode::All => print!("{}", capture_summary(&dir, &files)),
            _ => drop(std::fs::remove_dir_all(dir)),
        }
    }
}

/// The text appended to a failure: the state dump, the runtime changes, where the captures are.
/// With `NETNS_TEST_PAUSE_ON_FAIL=1` it also holds the topology up until the user resumes.
pub(crate) fn failure_context(net: &Net) -> Option<String> {
    let settings = Settings::from_env();
    let mut out = String::new();
    if settings.dump {
        out.push_str("netns-test: network state at the failure (NETNS_TEST_DUMP=0 turns this off), ");
        out.push_str(&dump(net));
    }
    if let Some((_, c)) = lock().take() {
        let dir = c.dir().to_path_buf();
        out.push_str(&capture_summary(&dir, &c.stop()));
    }
    // Shown here: the parent hands on the message for `should_panic` but prints only the output.
    eprint!("{out}");
    if settings.pause {
        pause::request(net, &out);
    }
    (!out.is_empty()).then_some(out)
}

/// `+12.345 ms into the body`, then the state of every node and of the bridges, then the
/// runtime changes.
pub(crate) fn dump(net: &Net) -> String {
    let mut out = format!("{} into the body\n", journal::stamp(journal::since_body_start()));
    let shaped = shaping::read(net.topology(), net.live(), LOCK_WAIT);
    if let Some(note) = &shaped.note {
        let _ = writeln!(out, "(link conditions: {note})");
    }
    // On a thread of its own: the failing thread may be anywhere, in any namespace.
    let blocks = std::thread::scope(|s| {
        s.spawn(|| {
            let mut blocks: Vec<String> = net
                .nodes()
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let rules = n.firewall_rules().map(|r| Section {
                        title: "nft rules installed by netns-test".into(),
                        lines: r.lines().map(str::to_string).collect(),
                    });
                    let shaping = |name: &str| shaped.at(Place::Node(i), name);
                    block(&format!("node {}", n.name()), n.netns(), false, rules, shaping)
                })
                .collect();
            if let Some(ns) = net.bridges_ns() {
                let shaping = |name: &str| shaped.at(Place::Root, name);
                blocks.push(block("bridges (the test's own namespace)", ns, true, None, shaping));
            }
            blocks
        })
        .join()
    });
    match blocks {
        Ok(blocks) => blocks.iter().for_each(|b| out.push_str(b)),
        Err(p) => {
            let _ = writeln!(out, "  (no state dump: {})", crate::process::panic_message(&*p));
        }
    }
    let entries = journal::entries();
    if !entries.is_empty() {
        out.push_str("runtime changes\n");
        for (at, what) in entries {
            let _ = writeln!(out, "  {} {what}", journal::stamp(at));
        }
    }
    out
}

/// One namespace's block, with `known` sections and the conditions of each interface's link
/// (by name); `lo` left out of the bridges' namespace, where it plays no part.
fn block(
    title: &str,
    ns: &crate::ns::NetNs,
    without_lo: bool,
    known: Option<Section>,
    shaping: impl Fn(&str) -> Option<state::Shaping>,
) -> String {
    let state = ns.run(|| {
        let mut state = read::read_here()?;
        state.extra.extend(known);
        for section in SECTIONS {
            state.extra.push(section()?);
        }
        Ok::<_, io::Error>(state)
    });
    match state.and_then(|r| r) {
        Ok(mut state) => {
            if without_lo {
                state.links.retain(|l| l.name != "lo");
            }
            for l in &mut state.links {
                l.shaping = shaping(&l.name);
            }
            state::render(title, &state)
        }
        Err(e) => format!("{title}\n  (cannot read its state: {e})\n"),
    }
}

/// `netns-test: packet captures (...) in DIR` and one entry per file.
fn capture_summary(dir: &std::path::Path, files: &[FileSummary]) -> String {
    let mut out = format!(
        "netns-test: packet captures (at most {} MiB per file) in {}/\n ",
        capture::FILE_LIMIT >> 20,
        dir.display()
    );
    for f in files {
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

/// Where the captures of the test `path` go: `target/netns-test/<path>`, where the cargo target
/// directory is the one holding the test binary and a `CACHEDIR.TAG` (`./target` if there is
/// none); else, if that is not writable (a suite run by another user than the one who built
/// it), `<temporary directory>/netns-test-<uid>/<path>`.
fn capture_dirs(path: &str) -> [PathBuf; 2] {
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()).unwrap_or(Path::new("target"));
    // The user outside the test's user namespace (inside, everyone is 0): `0 <uid> 1`.
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let uid = map.split_whitespace().nth(1).unwrap_or("0").to_string();
    [target.join("netns-test").join(path), std::env::temp_dir().join(format!("netns-test-{uid}")).join(path)]
}

/// `<crate>::<test>`, the name `#[netns_test]` gives the test: the test binary's name without
/// cargo's hash, and the test's name in it.
fn test_path() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe.file_name().and_then(|n| n.to_str()).unwrap_or("test");
    let krate = match stem.rsplit_once('-') {
        Some((krate, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => krate,
        _ => stem,
    };
    format!("{krate}::{}", crate::env::child_test().unwrap_or("test"))
}

fn lock() -> std::sync::MutexGuard<'static, Option<(CaptureMode, Capture)>> {
    CAPTURE.lock().unwrap_or_else(|e| e.into_inner())
}
