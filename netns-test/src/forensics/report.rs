//! The failure report as a value: what the network looked like when the test failed, what it
//! changed at run time, its nodes' logs, and where its packet captures are. Renderers put it into
//! words (`text.rs` for the terminal, `page.rs` for the report page); none of them reads the kernel.
//!
//! ```ignore
//! let report = FailureReport { dump: Some(Dump::read(core)), ..Default::default() };
//! eprint!("{}", report.text());
//! let html = report.page(); // with `run`: the report page
//! ```

use super::capture::FileSummary;
use super::packets::PacketFile;
use super::state::NsState;
use super::{known_sections, link_conditions, read, LOCK_WAIT};
use crate::clock;
use crate::core::Core;
use crate::core::Place;
use crate::journal;
use crate::logs::Logs;
use netns_test_topology::Topology;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything a failing test shows besides its own message.
#[derive(Debug, Default)]
pub(crate) struct FailureReport {
    /// The network's state (`None` with `NETNS_TEST_DUMP=0`).
    pub(crate) dump: Option<Dump>,
    /// The packet captures, if they were on.
    pub(crate) captures: Option<Captures>,
    /// The nodes' log lines so far.
    pub(crate) logs: Logs,
    /// What the report page shows besides (`None` when no page is made).
    pub(crate) run: Option<Run>,
}

/// The test's life, for the report page: what it was, what happened when, how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    /// `<crate>::<test>`
    pub(crate) test: String,
    pub(crate) topology: Arc<Topology>,
    /// The node the body ran in.
    pub(crate) body_node: Option<String>,
    /// Where times are counted from: the body's start, or (the parent's page of a test that
    /// could not make its own) the test process's start.
    pub(crate) zero: &'static str,
    /// The phases before the body (seconds since the body started: negative).
    pub(crate) phases: Vec<(f64, String)>,
    /// The run-time changes, when (seconds since the body started) and what.
    pub(crate) journal: Vec<(f64, String)>,
    /// When the body failed and its message (`None`: it passed, or the parent does not know).
    pub(crate) failure: Option<(f64, String)>,
    /// The verdict, when known where the page is made (the parent's page); else the parent
    /// fills it in.
    pub(crate) verdict: Option<Verdict>,
    /// The end of the test's output, when known (the parent's page).
    pub(crate) output: Option<String>,
    /// The capture files, decoded.
    pub(crate) packets: Vec<LinkPackets>,
    /// What could not be shown, and why.
    pub(crate) notes: Vec<String>,
}

/// How a test ended, in words and as a kind (`passed`, `failed`, `timed-out`, ...).
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub(crate) kind: &'static str,
    pub(crate) text: String,
}

/// The packets seen on one link (or `lo`), each end's file decoded.
#[derive(Debug)]
pub(crate) struct LinkPackets {
    /// `a:eth0 -- b:eth0`, `a:eth1 -- br0`, `a:lo`
    pub(crate) title: String,
    /// The nodes it touches.
    pub(crate) nodes: Vec<String>,
    /// Each end's file: the end (`a:eth0`) and what it held.
    pub(crate) ends: Vec<(String, PacketFile)>,
}

/// The state of every namespace at one moment, and the run-time changes until then.
#[derive(Debug)]
pub(crate) struct Dump {
    /// Since the body started.
    pub(crate) at: Duration,
    /// Why the link conditions shown are the declared ones, if they are.
    pub(crate) conditions_note: Option<String>,
    /// Each node, then the bridges' namespace.
    pub(crate) namespaces: Vec<Namespace>,
    /// The run-time changes: when (since the body started) and what.
    pub(crate) journal: Vec<(Duration, String)>,
}

/// One namespace of the dump: its title (`node b`) and its state, or why it could not be read.
#[derive(Debug)]
pub(crate) struct Namespace {
    pub(crate) title: String,
    pub(crate) state: Result<NsState, String>,
}

/// Where the test's packet captures were written, and what each file holds.
#[derive(Debug)]
pub(crate) struct Captures {
    pub(crate) dir: PathBuf,
    pub(crate) files: Vec<FileSummary>,
}

impl Dump {
    /// Reads every namespace of `core` now, on a thread of its own: the failing thread may be
    /// anywhere, in any namespace.
    pub(crate) fn read(core: &Core) -> Dump {
        let at = clock::since_body_start();
        let shaped = link_conditions::read(core, LOCK_WAIT);
        let mut places: Vec<(String, Place)> =
            core.nodes().enumerate().map(|(i, (name, _))| (format!("node {name}"), Place::Node(i))).collect();
        if core.bridges_ns().is_some() {
            places.push(("bridges (the test's own namespace)".into(), Place::Root));
        }
        let namespaces = std::thread::scope(|s| {
            s.spawn(|| {
                places
                    .into_iter()
                    .map(|(title, place)| {
                        let state = read_namespace(core, place).map(|mut state| {
                            for l in &mut state.links {
                                l.shaping = shaped.at(place, &l.name);
                            }
                            state
                        });
                        Namespace { title, state }
                    })
                    .collect()
            })
            .join()
        });
        let namespaces = namespaces.unwrap_or_else(|p| {
            let why = format!("no state dump: {}", crate::error::panic_message(&*p));
            vec![Namespace { title: "(all namespaces)".into(), state: Err(why) }]
        });
        Dump { at, conditions_note: shaped.note, namespaces, journal: journal::entries() }
    }
}

/// The state of one namespace, read inside it, with the sections the core knows of it; `lo`
/// left out of the bridges' namespace, where it plays no part.
fn read_namespace(core: &Core, place: Place) -> Result<NsState, String> {
    let state = core.ns(place).run(read::read_here).and_then(|r| r);
    let mut state = state.map_err(|e: io::Error| format!("cannot read its state: {e}"))?;
    state.extra.extend(known_sections(core, place));
    if place == Place::Root {
        state.links.retain(|l| l.name != "lo");
    }
    Ok(state)
}
