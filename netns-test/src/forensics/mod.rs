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
//! The test child calls [`body_starts`] just before the body and [`failure_report`] when the
//! body failed (panic, `Err`, timeout), before the topology is torn down; [`body_passed`] when it
//! passed. A [`FailureReport`] is a value (`report.rs`), put into words by its renderers (text in
//! `text.rs`). Everything is read from the [`Core`] and over netlink inside each namespace at that
//! moment; the link conditions come from the runtime's own state (`shaping.rs`). The parent, in
//! the runner's namespace, adds what the kernel dropped machine-wide meanwhile
//! (`shared_tables.rs`). Nothing here calls back into the handles or the harness.

mod capture;
mod read;
mod report;
mod shaping;
pub(crate) mod shared_tables;
mod state;
mod text;

use crate::core::Core;
use crate::journal;
use crate::live::Place;
use capture::Capture;
pub(crate) use report::{Captures, Dump, FailureReport};
use state::Section;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

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
}

impl Settings {
    pub(crate) fn from_env() -> Settings {
        let capture = match crate::env::capture() {
            Some("fail") => CaptureMode::Fail,
            Some("all") => CaptureMode::All,
            _ => CaptureMode::Off,
        };
        Settings { dump: crate::env::dump(), capture }
    }

    /// Whether a failure report would hold anything.
    pub(crate) fn any(&self) -> bool {
        self.dump || self.capture != CaptureMode::Off
    }
}

/// The capture of the running test, between `body_starts` and its end.
static CAPTURE: Mutex<Option<(CaptureMode, Capture)>> = Mutex::new(None);

/// Just before the body: time zero of the journal, and captures start if asked for. A capture
/// that cannot start is reported, not fatal.
pub(crate) fn body_starts(core: &Core) {
    let settings = Settings::from_env();
    if settings.capture != CaptureMode::Off {
        let path = test_path();
        let path = path.as_str();
        let nodes: Vec<(String, &crate::kernel::ns::NetNs)> =
            core.nodes().map(|(name, ns)| (name.to_string(), ns)).collect();
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
            CaptureMode::All => print!("{}", Captures { dir: dir.clone(), files }.text()),
            _ => drop(std::fs::remove_dir_all(dir)),
        }
    }
}

/// What a failure shows: the state of the network now (unless `NETNS_TEST_DUMP=0`), and the
/// packet captures, which stop here.
pub(crate) fn failure_report(core: &Core) -> FailureReport {
    let settings = Settings::from_env();
    let dump = settings.dump.then(|| Dump::read(core));
    let captures = lock().take().map(|(_, c)| {
        let dir = c.dir().to_path_buf();
        Captures { dir, files: c.stop() }
    });
    FailureReport { dump, captures }
}

/// The state dump as text: `+12.345 ms into the body`, then every node and the bridges, then the
/// runtime changes.
pub(crate) fn dump(core: &Core) -> String {
    Dump::read(core).text()
}

/// The sections of namespace `place` that come from the core rather than from the kernel:
/// the NAT and firewall rules netns-test installed in a node, and what features noted for it
/// ([`DumpNotes`](crate::core::DumpNotes): a DNS server's records and last queries).
fn known_sections(core: &Core, place: Place) -> Vec<Section> {
    match place {
        Place::Node(i) => {
            let rules = crate::kernel::nft::rules_text(&core.topology.nodes[i]).map(|r| Section {
                title: "nft rules installed by netns-test".into(),
                lines: r.lines().map(str::to_string).collect(),
            });
            let notes = core.feature::<crate::core::DumpNotes>();
            let notes = notes.lock().unwrap_or_else(|e| e.into_inner());
            let noted = notes
                .sections
                .iter()
                .filter(|(n, ..)| *n == i)
                .map(|(_, title, lines)| Section { title: title.clone(), lines: lines.iter().cloned().collect() });
            rules.into_iter().chain(noted).collect()
        }
        Place::Root => Vec::new(),
    }
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
