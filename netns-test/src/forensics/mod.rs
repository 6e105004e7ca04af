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
//! moment; the link conditions come from the runtime's own state (`link_conditions.rs`). The parent, in
//! the runner's namespace, adds what the kernel dropped machine-wide meanwhile
//! (`machine_drops.rs`). Nothing here calls back into the handles or the harness.

mod capture;
mod link_conditions;
pub(crate) mod machine_drops;
mod packets;
mod page;
mod read;
mod report;
mod state;
mod text;

use crate::clock;
use crate::core::Core;
use crate::core::Place;
use crate::journal;
use capture::Capture;
use netns_test_topology::Topology;
pub(crate) use report::{Captures, Dump, FailureReport, Verdict};
use report::{LinkPackets, Run};
use state::Section;
use std::path::Path;
use std::sync::Arc;
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
    /// `NETNS_TEST_REPORT` (failing tests unless `0`; `all`: every test).
    pub(crate) report: crate::env::Report,
}

impl Settings {
    pub(crate) fn from_env() -> Settings {
        let capture = match crate::env::capture() {
            Some("fail") => CaptureMode::Fail,
            Some("all") => CaptureMode::All,
            _ => CaptureMode::Off,
        };
        Settings { dump: crate::env::dump(), capture, report: crate::env::report() }
    }

    /// Whether a failure report would hold anything.
    pub(crate) fn any(&self) -> bool {
        self.dump || self.capture != CaptureMode::Off || self.report != crate::env::Report::Off
    }
}

/// The capture of the running test, between `body_starts` and its end.
static CAPTURE: Mutex<Option<(CaptureMode, Capture)>> = Mutex::new(None);

/// Just before the body: time zero of the journal, and captures start if asked for. A capture
/// that cannot start is reported, not fatal.
pub(crate) fn body_starts(core: &Core) {
    let settings = Settings::from_env();
    if settings.capture != CaptureMode::Off {
        let nodes: Vec<(String, &crate::kernel::ns::NetNs)> =
            core.nodes().map(|(name, ns)| (name.to_string(), ns)).collect();
        let [dir, fallback] = crate::out_dir::dirs(&crate::out_dir::this_test());
        match Capture::start(&dir, &nodes).or_else(|_| Capture::start(&fallback, &nodes)) {
            Ok(c) => *lock() = Some((settings.capture, c)),
            Err(e) => eprintln!("netns-test: packet capture not started in {}: {e}", fallback.display()),
        }
    }
    clock::mark_body_start();
}

/// The body passed: captures are closed, and deleted unless `NETNS_TEST_CAPTURE=all`; the log
/// file goes unless `NETNS_TEST_REPORT=all`, which makes a report of the passing test: returned.
pub(crate) fn body_passed(core: &Core, body_node: &str) -> Option<FailureReport> {
    let settings = Settings::from_env();
    if settings.report == crate::env::Report::All {
        let report = failure_report(core, Some(body_node));
        if let Some(c) = report.captures.as_ref().filter(|_| settings.capture == CaptureMode::All) {
            print!("{}", c.text());
        }
        return Some(report);
    }
    crate::logs::passed();
    if let Some((mode, c)) = lock().take() {
        let dir = c.dir().to_path_buf();
        let files = c.stop();
        match mode {
            CaptureMode::All => print!("{}", Captures { dir: dir.clone(), files }.text()),
            _ => drop(std::fs::remove_dir_all(dir)),
        }
    }
    None
}

/// Writes the report page of `report` into the test's directory; its path.
pub(crate) fn write_page(report: &FailureReport) -> std::io::Result<std::path::PathBuf> {
    page::write(report)
}

/// Adds the verdict and the test's output to the page at `path`.
pub(crate) fn fill_page(path: &Path, verdict: &Verdict, output: &str) -> std::io::Result<()> {
    page::fill_file(path, verdict, output)
}

/// The report page's file name.
pub(crate) const PAGE_FILE: &str = page::FILE_NAME;

/// How many packets a report page shows at most, over every capture file.
pub(crate) const PAGE_PACKETS: usize = 10_000;

/// What a failure shows: the state of the network now (unless `NETNS_TEST_DUMP=0`), the packet
/// captures, which stop here, the nodes' logs, and (unless `NETNS_TEST_REPORT=0`) what the report
/// page needs besides, for a body that ran in `body_node`.
pub(crate) fn failure_report(core: &Core, body_node: Option<&str>) -> FailureReport {
    let settings = Settings::from_env();
    let dump = settings.dump.then(|| Dump::read(core));
    let captures = lock().take().map(|(_, c)| {
        let dir = c.dir().to_path_buf();
        Captures { dir, files: c.stop() }
    });
    let logs = crate::logs::snapshot();
    let run = (settings.report != crate::env::Report::Off).then(|| {
        let mac = |node: &str, iface: &str| {
            let ns = dump.as_ref()?.namespaces.iter().find(|n| n.title == format!("node {node}"))?;
            let link = ns.state.as_ref().ok()?.links.iter().find(|l| l.name == iface)?;
            <[u8; 6]>::try_from(link.mac.as_deref()?).ok()
        };
        let packets = captures.as_ref().map_or_else(Vec::new, |c| {
            let files: Vec<&str> = c.files.iter().filter(|f| f.error.is_none()).map(|f| f.file.as_str()).collect();
            link_packets(&core.topology, &c.dir, &files, &mac)
        });
        let secs = |d: Duration| d.as_secs_f64();
        Run {
            test: crate::out_dir::this_test(),
            topology: core.topology.clone(),
            body_node: body_node.map(str::to_string),
            zero: "the body's start",
            phases: journal::phases().into_iter().map(|(at, what)| (clock::offset(at), what)).collect(),
            journal: journal::entries().into_iter().map(|(at, what)| (secs(at), what)).collect(),
            failure: None,
            verdict: None,
            output: None,
            packets,
            notes: Vec::new(),
        }
    });
    FailureReport { dump, captures, logs, run }
}

/// The packets of each link (each end's file, where there is one among `files`), then of each
/// node's `lo` that saw any.
fn link_packets(
    t: &Topology,
    dir: &Path,
    files: &[&str],
    mac: &dyn Fn(&str, &str) -> Option<[u8; 6]>,
) -> Vec<LinkPackets> {
    let end = |r: netns_test_topology::IfaceRef| {
        let (node, iface) = t.iface_name(r);
        (node.to_string(), iface.to_string())
    };
    let mut groups: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (i, l) in t.links.iter().enumerate() {
        groups.push((t.link_name(netns_test_topology::LinkId::Veth(i)), vec![end(l.a), end(l.b)]));
    }
    for (b, br) in t.bridges.iter().enumerate() {
        for (m, r) in br.members.iter().enumerate() {
            groups.push((t.link_name(netns_test_topology::LinkId::Member(b, m)), vec![end(*r)]));
        }
    }
    for n in &t.nodes {
        if files.contains(&format!("{}-lo.pcap", n.name).as_str()) {
            groups.push((format!("{}:lo", n.name), vec![(n.name.clone(), "lo".into())]));
        }
    }
    let file = |(node, iface): &(String, String)| format!("{node}-{iface}.pcap");
    let ends: Vec<packets::End> = groups
        .iter()
        .flat_map(|(_, ends)| ends.iter())
        .filter(|e| files.contains(&file(e).as_str()))
        .map(|e| packets::End { file: file(e), mac: mac(&e.0, &e.1) })
        .collect();
    let mut decoded = packets::decode(dir, &ends, PAGE_PACKETS).into_iter();
    let mut out = Vec::new();
    for (title, group) in groups {
        let mut nodes: Vec<String> = group.iter().map(|(n, _)| n.clone()).collect();
        nodes.dedup();
        let ends: Vec<(String, packets::PacketFile)> = group
            .iter()
            .filter(|e| files.contains(&file(e).as_str()))
            .filter_map(|e| Some((format!("{}:{}", e.0, e.1), decoded.next()?)))
            .collect();
        // `lo` only when it saw something.
        if !ends.is_empty() && !(title.ends_with(":lo") && ends.iter().all(|(_, f)| f.total == 0)) {
            out.push(LinkPackets { title, nodes, ends });
        }
    }
    out
}

/// The report of a test whose child could not make one (killed, lost, its topology never built):
/// what its parent knows. The topology (from its source), the verdict, the end of its output,
/// the log file and the capture files the child left in the test's directory.
pub(crate) fn parent_report(
    test: &str,
    topology: &str,
    body_node: &str,
    verdict: Verdict,
    output: String,
) -> Option<FailureReport> {
    let topology = Arc::new(Topology::parse(topology).ok()?);
    let path = crate::out_dir::test_path(test);
    let mut notes = vec![format!(
        "The test process could not write this page itself ({}): what follows is what its parent knows — the \
         verdict, the output, and the files the test left (its log, its packet captures). The network's state at \
         the end is not known.",
        verdict.text.lines().next().unwrap_or_default()
    )];
    let mut logs = crate::logs::Logs::default();
    if let Some(file) = crate::out_dir::find(&path, crate::logs::FILE_NAME) {
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                logs.lines = crate::logs::parse_file(&text);
                logs.total = logs.lines.len() as u64;
                logs.file = Some(file);
            }
            Err(e) => notes.push(format!("The log file {} could not be read: {e}", file.display())),
        }
    }
    let dir = crate::out_dir::dirs(&path).into_iter().find(|d| d.is_dir());
    let pcaps: Vec<String> = dir
        .as_ref()
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|rd| rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(".pcap")).collect())
        .unwrap_or_default();
    let packets = match &dir {
        Some(d) if !pcaps.is_empty() => {
            notes.push("Packet times count from each file's first packet.".into());
            let names: Vec<&str> = pcaps.iter().map(String::as_str).collect();
            link_packets(&topology, d, &names, &|_, _| None)
        }
        _ => Vec::new(),
    };
    let run = Run {
        test: path,
        topology,
        body_node: Some(body_node.to_string()),
        zero: "the body's start",
        phases: Vec::new(),
        journal: Vec::new(),
        failure: None,
        verdict: Some(verdict),
        output: Some(output),
        packets,
        notes,
    };
    Some(FailureReport { dump: None, captures: None, logs, run: Some(run) })
}

/// The state dump as text: `+12.345 ms into the body`, then every node and the bridges, then the
/// runtime changes.
pub(crate) fn dump(core: &Core) -> String {
    Dump::read(core).text()
}

/// The sections of namespace `place` that come from the core rather than from the kernel:
/// the NAT and firewall rules netns-test installed in a node, as they are now (run-time changes
/// included; a body stuck holding the core's lock leaves the declared firewall rules, marked),
/// a NAT router's mappings (its translated conntrack entries), and what features noted for it
/// ([`DumpNotes`](crate::core::DumpNotes): a DNS server's records and last queries, a NAT64
/// translator's counts).
fn known_sections(core: &Core, place: Place) -> Vec<Section> {
    let Place::Node(i) = place else { return Vec::new() };
    let node = &core.topology.nodes[i];
    let mut out = Vec::new();
    let (rules, title) = match core.try_lock_for(std::time::Duration::from_millis(200)) {
        Some(now) => (now.firewall[i].clone(), "nft rules installed by netns-test"),
        None => (node.blocks.clone(), "nft rules installed by netns-test (as declared: the runtime state was locked)"),
    };
    if let Some(r) = crate::kernel::nft::rules_text(core.nat(i).as_ref(), &rules) {
        out.push(Section { title: title.into(), lines: r.lines().map(str::to_string).collect() });
    }
    if core.nat(i).is_some() {
        let dump = || crate::kernel::conntrack::dump(&crate::kernel::nfnl::NfSocket::open()?);
        let lines = match core.ns(place).run(dump).and_then(|r| r) {
            Ok(entries) => {
                let mut lines: Vec<String> = entries.iter().filter_map(|e| e.translated()).map(mapping_line).collect();
                if lines.is_empty() {
                    lines.push("(none)".into());
                }
                lines
            }
            Err(e) => vec![format!("cannot read the conntrack table: {e}")],
        };
        out.push(Section { title: "NAT mappings (translated flows in conntrack)".into(), lines });
    }
    // What features noted for the node (a DNS server's records and last queries).
    let notes = core.feature::<crate::core::DumpNotes>();
    let notes = notes.lock().unwrap_or_else(|e| e.into_inner());
    let noted = notes.sections.iter().filter(|(n, ..)| *n == i);
    out.extend(noted.map(|(_, title, lines)| Section { title: title.clone(), lines: lines.iter().cloned().collect() }));
    out
}

/// `udp 10.0.1.2:4000 -> 203.0.113.1:1024, expires in 29 s`.
fn mapping_line(t: crate::kernel::conntrack::Translated) -> String {
    let proto = match t.proto {
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        1 => "icmp".to_string(),
        58 => "icmpv6".to_string(),
        n => format!("proto {n}"),
    };
    let at = |(a, p): (std::net::IpAddr, u16)| std::net::SocketAddr::new(a, p).to_string();
    format!("{proto} {} -> {}, expires in {} s", at(t.inside), at(t.outside), t.expires_in.as_secs())
}

fn lock() -> std::sync::MutexGuard<'static, Option<(CaptureMode, Capture)>> {
    CAPTURE.lock().unwrap_or_else(|e| e.into_inner())
}
