//! The failure report as a page: one self-contained HTML file (`report.html`, next to the
//! captures) showing the network as a picture coloured by its state at the failure, a timeline
//! of the test filterable by node, the nodes' logs, the packets of each link and the state dump.
//!
//! ```ignore
//! let html = report.page();                     // the test child, at the failure
//! let html = fill(&html, &verdict, &output);    // the parent, once it knows the verdict
//! ```
//!
//! Everything is in the HTML (no network, no external script or font; `page/report.css` and
//! `page/report.js` are inlined); the script only adds filters, clicks and jumps, so the page reads
//! and prints without it. The child makes the page and leaves two regions for the parent to fill:
//! the verdict (it alone knows how the test ended: a timeout, a signal) and the test's output.
//!
//! Size: at most [`PAGE_PACKETS`](super::PAGE_PACKETS) packets, [`LOG_LINES`] log lines of at most
//! [`LOG_TEXT`] characters, and a byte budget per part (packets, logs, dump), so a page stays
//! under [`MAX_PAGE`]; what is left out is counted, and the files (pcap, log) hold it all.

use super::packets::Packet;
use super::report::{Dump, FailureReport, Run, Verdict};
use super::state::{self, NsState};
use crate::logs::Line;
use netns_test_topology::layout::{self, Place, Wire};
use netns_test_topology::Topology;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

const CSS: &str = include_str!("page/report.css");
const JS: &str = include_str!("page/report.js");

/// The file's name in the test's directory.
pub(crate) const FILE_NAME: &str = "report.html";
/// The most log lines a page shows (the first fifth and the last four fifths of them).
pub(crate) const LOG_LINES: usize = 5_000;
/// The most characters of one log line a page shows.
pub(crate) const LOG_TEXT: usize = 500;
/// The most bytes a page takes.
pub(crate) const MAX_PAGE: usize = 5 << 20;
/// Timeline rows per chunk (a chunk is laid out only when scrolled to).
const TIMELINE_CHUNK: usize = 200;
/// Byte budgets of the parts that grow with the test.
const PACKETS_BUDGET: usize = 2_400 << 10;
const LOGS_BUDGET: usize = 1 << 20;
const DUMP_BUDGET: usize = 1 << 20;
/// The most of a message, or of the output, a page shows (its start and its end).
const TEXT_MAX: usize = 64 << 10;

/// The regions the parent fills in.
const VERDICT: &str = "netns-test:verdict";
const OUTPUT: &str = "netns-test:output";

impl FailureReport {
    /// The report page (empty without [`run`](FailureReport::run)).
    pub(crate) fn page(&self) -> String {
        let Some(run) = &self.run else { return String::new() };
        let mut p = Page { out: String::with_capacity(256 << 10), notes: run.notes.clone() };
        p.document(self, run);
        let mut html = p.out;
        if html.len() > MAX_PAGE {
            // Budgets keep each part small; this is the last resort should they add up.
            let note = format!(
                "This page came to {} bytes, over its limit of {MAX_PAGE}: the packet tables and log lines are left \
                 out. The pcap files and log.txt beside it have them.",
                html.len()
            );
            let lean = FailureReport {
                dump: None,
                captures: None,
                logs: crate::logs::Logs::default(),
                run: Some(Run { packets: Vec::new(), notes: vec![note], ..run.clone_light() }),
            };
            let mut p = Page { out: String::new(), notes: lean.run.as_ref().unwrap().notes.clone() };
            p.document(&lean, lean.run.as_ref().unwrap());
            html = p.out;
        }
        html
    }
}

impl Run {
    /// The run without its packets (for a page over its limit).
    fn clone_light(&self) -> Run {
        Run {
            test: self.test.clone(),
            topology: self.topology.clone(),
            body_node: self.body_node.clone(),
            zero: self.zero,
            phases: self.phases.clone(),
            journal: self.journal.clone(),
            failure: self.failure.clone(),
            verdict: self.verdict.clone(),
            output: self.output.clone(),
            packets: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Writes `report`'s page into the test's directory; its path.
pub(crate) fn write(report: &FailureReport) -> io::Result<PathBuf> {
    let run = report.run.as_ref().ok_or_else(|| io::Error::other("no report to write"))?;
    let html = report.page();
    let (path, mut file) = crate::out_dir::create(&run.test, FILE_NAME)?;
    io::Write::write_all(&mut file, html.as_bytes())?;
    Ok(path)
}

/// `html` with the verdict and the test's output in their regions.
pub(crate) fn fill(html: &str, verdict: &Verdict, output: &str) -> String {
    let html = fill_region(html, VERDICT, &verdict_html(verdict));
    fill_region(&html, OUTPUT, &output_html(output))
}

/// Fills the regions of the page at `path` (see [`fill`]).
pub(crate) fn fill_file(path: &Path, verdict: &Verdict, output: &str) -> io::Result<()> {
    let html = std::fs::read_to_string(path)?;
    io::Write::write_all(&mut crate::out_dir::replace(path)?, fill(&html, verdict, output).as_bytes())
}

/// Replaces what is between `<!--mark-->` and `<!--/mark-->`, everywhere. Every text of the
/// page is escaped, so the marks appear nowhere else.
fn fill_region(html: &str, mark: &str, with: &str) -> String {
    let (open, close) = (format!("<!--{mark}-->"), format!("<!--/{mark}-->"));
    let mut out = String::with_capacity(html.len() + with.len());
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push_str(&rest[..i + open.len()]);
        out.push_str(with);
        rest = &after[j..];
    }
    out.push_str(rest);
    out
}

fn verdict_html(v: &Verdict) -> String {
    let first = v.text.lines().find(|l| !l.trim().is_empty()).unwrap_or(v.kind);
    format!(
        r#"<span class="verdict v-{}" title="{}">{}</span>"#,
        v.kind,
        esc(&cut(&v.text, 4096)),
        esc(&cut(first, 300))
    )
}

fn output_html(output: &str) -> String {
    if output.is_empty() {
        return r#"<p class="empty">The test printed nothing.</p>"#.into();
    }
    format!(
        "<details open><summary>What the test printed<span class=\"sub\">{}</span></summary><pre>{}</pre></details>",
        if output.len() > TEXT_MAX { "(its end)" } else { "" },
        esc(&cut_middle(output, TEXT_MAX))
    )
}

struct Page {
    out: String,
    notes: Vec<String>,
}

impl Page {
    fn document(&mut self, r: &FailureReport, run: &Run) {
        let t = &*run.topology;
        // Parts first, so their notes make it into the header.
        let svg = self.topology(r.dump.as_ref(), run);
        let timeline = self.timeline(r, run);
        let packets = self.packets(run);
        let dump = self.dump(r.dump.as_ref());
        let nodes: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        let o = &mut self.out;
        let _ = write!(
            o,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"generator\" content=\"netns-test\"><title>{} — netns-test report</title><style>{CSS}</style></head>\n<body>\n",
            esc(&run.test)
        );
        let provisional = match (&run.verdict, &run.failure) {
            (Some(v), _) => v.clone(),
            (None, Some((_, msg))) => Verdict { kind: "pending", text: format!("failed: {msg}") },
            (None, None) => Verdict { kind: "pending", text: "verdict not known yet".into() },
        };
        let _ = write!(
            o,
            "<header><h1><span class=\"brand\">netns-test</span>{}</h1>\n<div><!--{VERDICT}-->{}<!--/{VERDICT}--></div>\n",
            esc(&run.test),
            verdict_html(&provisional)
        );
        let _ = write!(o, "<p class=\"meta\">");
        if let Some(n) = &run.body_node {
            let _ = write!(o, "The body ran in node <b>{}</b>. ", esc(n));
        }
        let _ = write!(
            o,
            "Times are since {}. {} nodes, {} bridges. Made {}.</p>\n",
            run.zero,
            nodes.len(),
            t.bridges.len(),
            now_utc()
        );
        let logs = r.logs.lines.len();
        let pk: u64 = run.packets.iter().flat_map(|l| &l.ends).map(|(_, f)| f.total).sum();
        let _ = write!(
            o,
            "<nav><a href=\"#topology\">Network</a><a href=\"#timeline\">Timeline</a><a href=\"#logs\">Logs <span class=\"count\">{logs}</span></a>\
             <a href=\"#packets\">Packets <span class=\"count\">{pk}</span></a><a href=\"#dump\">State</a><a href=\"#output\">Output</a></nav></header>\n"
        );
        if !self.notes.is_empty() {
            o.push_str("<section class=\"notes\" id=\"notes\"><ul>");
            for n in &self.notes {
                let _ = write!(o, "<li>{}</li>", esc(n));
            }
            o.push_str("</ul></section>\n");
        }
        if let Some((at, msg)) = &run.failure {
            let _ = write!(
                o,
                "<section id=\"failure\"><h2>The failure, {}</h2><pre class=\"message\">{}</pre></section>\n",
                stamp(*at),
                esc(&cut_middle(msg, TEXT_MAX))
            );
        }
        o.push_str(&svg);
        o.push_str(&timeline);
        o.push_str(&logs_summary(&r.logs, &nodes));
        o.push_str(&packets);
        o.push_str(&dump);
        let _ = write!(
            o,
            "<section id=\"output\"><h2>Output</h2><!--{OUTPUT}-->{}<!--/{OUTPUT}--></section>\n",
            match &run.output {
                Some(out) => output_html(out),
                None =>
                    "<p class=\"empty\">The test's output is added by the runner once the test has ended.</p>".into(),
            }
        );
        let _ = write!(o, "<script>{JS}</script>\n</body></html>\n");
    }

    /// The picture: boxes and lines from the topology's layout, coloured by the dump.
    fn topology(&mut self, dump: Option<&Dump>, run: &Run) -> String {
        let t = &*run.topology;
        let scene = layout::scene(t);
        let side = scene.side;
        let mut o = String::new();
        let _ = write!(
            o,
            "<section id=\"topology\"><h2>The network{}</h2>\n<p class=\"legend\"><span><i></i>up</span><span><i class=\"down\"></i>down</span>\
             <span><i class=\"cond\"></i>with conditions</span><span>orange box: router</span><span>blue outline: the body's node</span>\
             <span>click a node or a link for its state</span></p>\n",
            if dump.is_some() { " at the failure" } else { " (as declared: its state at the end is not known)" }
        );
        if dump.is_none() {
            self.notes.push("No state dump (NETNS_TEST_DUMP=0, or the test could not make one): links are drawn as declared, not as they were.".into());
        }
        // The picture's own extent (the layout's canvas has room to spare): the boxes, their
        // badges below, the labels beside.
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for v in &scene.vertices {
            x0 = x0.min(v.x - 150.0);
            x1 = x1.max(v.x + 150.0);
            y0 = y0.min(v.y - 70.0);
            y1 = y1.max(v.y + 110.0);
        }
        let (x0, y0) = (x0.max(0.0), y0.max(0.0));
        let (w, h) = ((x1.min(side) - x0).max(200.0), (y1.min(side) - y0).max(120.0));
        // Small networks drawn a little larger, so their text reads well.
        let zoom = (1000.0 / w).clamp(1.0, 1.5);
        let _ = write!(
            o,
            "<div class=\"svgwrap\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{x0:.0} {y0:.0} {w:.0} {h:.0}\" width=\"{:.0}\" height=\"{:.0}\" role=\"img\" aria-label=\"the topology\">\n",
            w * zoom,
            h * zoom
        );
        let states = LinkStates { dump };
        // Lines first, their labels over them, boxes on top.
        let mut labels = String::new();
        for e in &scene.edges {
            let (a, b) = (&scene.vertices[e.a], &scene.vertices[e.b]);
            let (ends, packets_id, title) = match e.what {
                Wire::Link(i) => {
                    let l = &t.links[i];
                    let (na, ia) = t.iface_name(l.a);
                    let (nb, ib) = t.iface_name(l.b);
                    (vec![(na, ia), (nb, ib)], format!("pk-{}", slug(&format!("{na}:{ia}"))), link_title(t, e.what))
                }
                Wire::Member { bridge, member } => {
                    let br = &t.bridges[bridge];
                    let (n, i) = t.iface_name(br.members[member]);
                    (vec![(n, i)], format!("pk-{}", slug(&format!("{n}:{i}"))), link_title(t, e.what))
                }
            };
            let port = match e.what {
                Wire::Member { bridge, member } => Some(t.bridges[bridge].ports[member].as_str()),
                Wire::Link(_) => None,
            };
            let st = states.of(&ends, port);
            let cond = st.conditions.clone().or_else(|| declared_conditions(t, e.what));
            let mut class = String::from("link");
            match st.state {
                End::Down => class.push_str(" down"),
                End::NoCarrier => class.push_str(" no-carrier"),
                End::Up | End::Unknown => {}
            }
            if cond.is_some() {
                class.push_str(" cond");
            }
            let mut ifaces: Vec<String> = ends.iter().map(|(n, i)| format!("if-{}-{}", slug(n), slug(i))).collect();
            if let Some(p) = port {
                ifaces.push(format!("if-bridges-{}", slug(p)));
            }
            let _ = writeln!(
                o,
                "<g class=\"{class}\" data-link=\"{}\" data-ifaces=\"{}\" data-packets=\"{packets_id}\"><title>{}</title>\
                 <line class=\"hit\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/><line class=\"wire\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/></g>",
                esc(&title),
                ifaces.join(" "),
                esc(&format!("{title}: {}", st.describe(cond.as_deref()))),
                a.x, a.y, b.x, b.y, a.x, a.y, b.x, b.y
            );
            let at = |f: f64| (a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f);
            for (f, label) in [(0.28, &e.label_a), (0.76, &e.label_b)] {
                let (x, y) = at(f);
                card(&mut labels, "label", x, y, label, false);
            }
            let (mx, my) = at(0.52);
            let mut tags: Vec<(&str, String)> = Vec::new();
            match st.state {
                End::Down => tags.push(("state", "DOWN".into())),
                End::NoCarrier => tags.push(("state", "NO CARRIER".into())),
                _ => {}
            }
            if let Some(c) = &cond {
                tags.push(("cond-label", c.clone()));
            }
            for (k, (class, text)) in tags.iter().enumerate() {
                card(&mut labels, class, mx, my + k as f64 * 17.0, std::slice::from_ref(text), *class == "state");
            }
        }
        o.push_str(&labels);
        for v in &scene.vertices {
            let (class, ns, badges) = match v.what {
                Place::Node(i) => {
                    let n = &t.nodes[i];
                    let mut class = String::from("node");
                    let mut badges: Vec<(&str, String)> = Vec::new();
                    if n.forward {
                        class.push_str(" router");
                    }
                    if run.body_node.as_deref() == Some(n.name.as_str()) {
                        class.push_str(" body");
                        badges.push(("body", "body runs here".into()));
                    }
                    if let Some(nat) = &n.nat {
                        let v4 = nat.ipv4.as_ref().map(|m| m.iface.as_str());
                        let v6 = nat.ipv6.as_ref().map(|m| m.iface.as_str());
                        let outs: Vec<&str> = v4.into_iter().chain(v6).collect();
                        badges.push(("nat", format!("NAT out of {} ({})", outs.join(", "), nat.kind)));
                    }
                    if !n.blocks.is_empty() {
                        let rules = if n.blocks.len() == 1 { "rule" } else { "rules" };
                        badges.push(("fw", format!("firewall: {} {rules}", n.blocks.len())));
                    }
                    (class, format!("ns-{}", slug(&n.name)), badges)
                }
                Place::Bridge(_) => ("node bridge".to_string(), "ns-bridges".to_string(), Vec::new()),
            };
            let lines: Vec<String> = std::iter::once(v.title.clone()).chain(v.lines.iter().cloned()).collect();
            let (w, h) = layout::text_size(&lines);
            let (w, h) = (w + 12.0, h + 8.0);
            let _ = write!(
                o,
                "<g class=\"{class}\" data-ns=\"{ns}\" data-name=\"{}\"><title>{} — click for its state</title><rect class=\"box\" x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"6\"/>",
                esc(&v.title),
                esc(&v.title),
                v.x - w / 2.0,
                v.y - h / 2.0
            );
            text(&mut o, v.x, v.y, &lines, true);
            for (k, (kind, label)) in badges.iter().enumerate() {
                card(
                    &mut o,
                    &format!("badge {kind}"),
                    v.x,
                    v.y + h / 2.0 + 10.0 + k as f64 * 16.0,
                    std::slice::from_ref(label),
                    false,
                );
            }
            o.push_str("</g>\n");
        }
        o.push_str("</svg></div></section>\n");
        o
    }

    /// Every event in time order: build phases, the body's start, run-time changes, log lines,
    /// the failure and the verdict.
    fn timeline(&mut self, r: &FailureReport, run: &Run) -> String {
        let t = &*run.topology;
        let node_names: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        // (time, order within a time, kind, nodes, html of the "what" cell)
        let mut rows: Vec<(f64, u8, &str, String, String)> = Vec::new();
        for (at, what) in &run.phases {
            rows.push((*at, 0, "phase", String::new(), format!("<span class=\"kind\">build</span>{}", esc(what))));
        }
        if run.zero == "the body's start" && !run.phases.is_empty() || run.body_node.is_some() && run.failure.is_some()
        {
            let node = run.body_node.clone().unwrap_or_default();
            rows.push((
                0.0,
                1,
                "change",
                node.clone(),
                format!("<span class=\"kind\">start</span>the body starts in node {}", esc(&node)),
            ));
        }
        for (at, what) in &run.journal {
            let nodes = journal_nodes(what, &node_names).join(" ");
            rows.push((*at, 2, "change", nodes, format!("<span class=\"kind\">change</span>{}", esc(what))));
        }
        let (logs, kept) = page_logs(&r.logs.lines);
        if kept < r.logs.lines.len() || (r.logs.total as usize) > r.logs.lines.len() {
            self.notes.push(format!(
                "{} log lines in all; this page shows {kept} of them (the first and the last){}.",
                r.logs.total,
                r.logs.file.as_ref().map(|f| format!(": every one is in {}", f.display())).unwrap_or_default()
            ));
        }
        if let Some(note) = &r.logs.file_note {
            self.notes.push(format!("Log file: {note}."));
        }
        let mut log_bytes = 0;
        let mut cut_for_budget = 0;
        for item in logs {
            match item {
                LogItem::Line(l) => {
                    let html = log_html(l);
                    log_bytes += html.len();
                    if log_bytes > LOGS_BUDGET {
                        cut_for_budget += 1;
                        continue;
                    }
                    rows.push((l.at, 3, "log", l.node.to_string(), html));
                }
                LogItem::Gap(at, n) => rows.push((
                    at,
                    3,
                    "log",
                    String::new(),
                    format!("<span class=\"kind\">…</span><i>{n} log lines left out here</i>"),
                )),
            }
        }
        if cut_for_budget > 0 {
            self.notes.push(format!(
                "{cut_for_budget} more log lines are left out to keep this page under {} MiB.",
                MAX_PAGE >> 20
            ));
        }
        let end = run.failure.as_ref().map(|(at, _)| *at);
        if let Some((at, msg)) = &run.failure {
            let first = msg.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            rows.push((
                *at,
                8,
                "failure",
                run.body_node.clone().unwrap_or_default(),
                format!("<span class=\"kind\">failure</span><a href=\"#failure\">{}</a>", esc(&cut(first, 400))),
            ));
        }
        // Sorted by time; stable, so lines of one time keep their order.
        rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let last = end.or_else(|| rows.last().map(|r| r.0)).unwrap_or(0.0);
        let mut o = String::new();
        let _ = write!(
            o,
            "<section id=\"timeline\"><h2>Timeline</h2>\n<div class=\"filters\" id=\"filters\"><b>Nodes:</b>"
        );
        let mut shown: BTreeSet<&str> = BTreeSet::new();
        for n in node_names.iter().copied().chain(r.logs.lines.iter().map(|l| &*l.node)) {
            if shown.insert(n) {
                let _ = write!(o, "<label><input type=\"checkbox\" data-node=\"{0}\" checked> {0}</label>", esc(n));
            }
        }
        o.push_str("<b>Show:</b>");
        for (kind, label) in [("phase", "build"), ("change", "changes"), ("log", "log lines"), ("failure", "failure")] {
            let _ = write!(o, "<label><input type=\"checkbox\" data-kind=\"{kind}\" checked> {label}</label>");
        }
        let _ = write!(
            o,
            "<a href=\"#\" id=\"filter-all-nodes\">show all</a> <span class=\"sub\" id=\"timeline-shown\"></span></div>\n\
             <div class=\"scroll\"><div class=\"tl\" id=\"timeline-rows\"><div class=\"row head\"><span>time</span><span>node</span><span>what</span></div>\n"
        );
        // Rows in chunks that the browser lays out only when they are scrolled to: thousands of
        // log lines load in well under a second.
        for (i, (at, _, kind, nodes, html)) in rows.iter().enumerate() {
            if i % TIMELINE_CHUNK == 0 {
                if i > 0 {
                    o.push_str("</div>");
                }
                o.push_str("<div class=\"chunk\">");
            }
            let tags: String = nodes.split_whitespace().map(|n| format!("[{}]", esc(n))).collect::<Vec<_>>().join(" ");
            let _ = writeln!(
                o,
                "<div class=\"row k-{kind}\" data-kind=\"{kind}\" data-nodes=\"{}\" data-t=\"{at:.6}\"><span class=\"t\">{}</span><span class=\"n\">{tags}</span><span class=\"x\">{html}</span></div>",
                esc(nodes),
                stamp(*at)
            );
        }
        if !rows.is_empty() {
            o.push_str("</div>");
        }
        let _ = write!(
            o,
            "<div class=\"row k-verdict\" data-kind=\"failure\" data-nodes=\"\" data-t=\"{last:.6}\"><span class=\"t\">{}</span><span class=\"n\"></span>\
             <span class=\"x\"><span class=\"kind\">verdict</span><!--{VERDICT}-->{}<!--/{VERDICT}--></span></div>\n</div></div></section>\n",
            stamp(last),
            verdict_html(&run.verdict.clone().unwrap_or(Verdict { kind: "pending", text: "not known yet".into() }))
        );
        o
    }

    /// Each link's packets, both ends merged in time order, with links to the pcap files.
    fn packets(&mut self, run: &Run) -> String {
        let mut o = String::from("<section id=\"packets\"><h2>Packets</h2>\n");
        if run.packets.is_empty() {
            o.push_str(
                "<p class=\"empty\">No packet capture for this test. Run it with <code>NETNS_TEST_CAPTURE=fail</code> to \
                 capture every interface from the body's start; the packets then appear here, link by link.</p></section>\n",
            );
            return o;
        }
        let total: usize = run.packets.iter().flat_map(|l| &l.ends).map(|(_, f)| f.packets.len()).sum();
        let mut bytes = 0;
        let mut left_out = 0u64;
        for l in &run.packets {
            let count: u64 = l.ends.iter().map(|(_, f)| f.total).sum();
            let id = format!("pk-{}", slug(l.ends.first().map_or(l.title.as_str(), |(e, _)| e.as_str())));
            let files: Vec<String> = l.ends.iter().map(|(_, f)| format!("{} {}", f.file, f.total)).collect();
            let _ = write!(
                o,
                "<details class=\"link-packets\" id=\"{id}\" data-nodes=\"{}\"{}><summary>{}<span class=\"sub\">{count} packets ({})</span></summary>\n<p class=\"pcaps\">",
                esc(&l.nodes.join(" ")),
                if total <= 400 && count > 0 { " open" } else { "" },
                esc(&l.title),
                esc(&files.join(", "))
            );
            for (_, f) in &l.ends {
                let _ = write!(o, "<a href=\"{0}\" download>{0}</a>", esc(&f.file));
                if let Some(n) = &f.note {
                    let _ = write!(o, "<span class=\"empty\">({})</span> ", esc(n));
                }
            }
            o.push_str("</p>");
            if count == 0 {
                o.push_str("<p class=\"empty\">No packets.</p></details>\n");
                continue;
            }
            // Both ends' packets in time order, each marked with its end.
            let mut rows: Vec<(f64, &str, Option<&Packet>, u64)> = Vec::new();
            for (end, f) in &l.ends {
                for (i, p) in f.packets.iter().enumerate() {
                    if let Some((at, n)) = f.gap.filter(|(at, _)| *at == i) {
                        let _ = at;
                        rows.push((p.at, end, None, n));
                    }
                    rows.push((p.at, end, Some(p), 0));
                }
            }
            rows.sort_by(|a, b| a.0.total_cmp(&b.0));
            o.push_str(
                "<div class=\"scroll\"><table class=\"pk\"><thead><tr><th>time</th><th>seen at</th><th>dir</th><th>source</th><th>destination</th>\
                 <th>protocol</th><th>ports</th><th>info</th><th>length</th></tr></thead><tbody>\n",
            );
            for (at, end, p, gap) in rows {
                let Some(p) = p else {
                    let _ = writeln!(o, "<tr class=\"gap\"><td colspan=\"9\">… {gap} packets of {} left out here (all in its pcap file) …</td></tr>", esc(end));
                    continue;
                };
                if bytes > PACKETS_BUDGET {
                    left_out += 1;
                    continue;
                }
                let row = packet_row(at, end, p);
                bytes += row.len();
                o.push_str(&row);
            }
            o.push_str("</tbody></table></div></details>\n");
        }
        if left_out > 0 {
            self.notes.push(format!(
                "{left_out} packet rows are left out to keep this page under {} MiB; the pcap files have them.",
                MAX_PAGE >> 20
            ));
        }
        let shown_total: u64 = run.packets.iter().flat_map(|l| &l.ends).map(|(_, f)| f.total).sum();
        if (total as u64) < shown_total {
            self.notes.push(format!(
                "{shown_total} packets were captured; this page shows {total} of them (at most {} in all: each file's first and last ones).",
                super::PAGE_PACKETS
            ));
        }
        o.push_str("</section>\n");
        o
    }

    /// Every namespace's state as collapsible sections.
    fn dump(&mut self, dump: Option<&Dump>) -> String {
        let mut o = String::from("<section id=\"dump\"><h2>The state of every node</h2>\n");
        let Some(dump) = dump else {
            o.push_str("<p class=\"empty\">No state dump: it was turned off (<code>NETNS_TEST_DUMP=0</code>) or the test process could not make one.</p></section>\n");
            return o;
        };
        let _ = writeln!(
            o,
            "<p class=\"meta\">Read over netlink inside each namespace, {} into the body.</p>",
            esc(&crate::journal::stamp(dump.at))
        );
        if let Some(n) = &dump.conditions_note {
            let _ = writeln!(o, "<p class=\"notes\">Link conditions: {}</p>", esc(n));
        }
        let mut left_out = 0;
        for ns in &dump.namespaces {
            let (id, slugged) = match ns.title.strip_prefix("node ") {
                Some(name) => (format!("ns-{}", slug(name)), slug(name)),
                None => ("ns-bridges".to_string(), "bridges".to_string()),
            };
            if o.len() > DUMP_BUDGET {
                left_out += 1;
                let _ = writeln!(o, "<details class=\"ns\" id=\"{id}\"><summary>{}</summary><p class=\"empty\">Left out to keep the page small: see the text dump in the test's output.</p></details>", esc(&ns.title));
                continue;
            }
            let summary = match &ns.state {
                Ok(s) => ns_summary(s),
                Err(_) => "could not be read".into(),
            };
            let _ = write!(
                o,
                "<details class=\"ns\" id=\"{id}\"><summary>{}<span class=\"sub\">{}</span></summary>\n",
                esc(&ns.title),
                esc(&summary)
            );
            match &ns.state {
                Err(why) => {
                    let _ = writeln!(o, "<p class=\"empty\">{}</p>", esc(why));
                }
                Ok(s) => ns_html(&mut o, &slugged, s),
            }
            o.push_str("</details>\n");
        }
        if left_out > 0 {
            self.notes.push(format!(
                "{left_out} namespaces' state is left out of this page to keep it small; the test's output has it all."
            ));
        }
        if !dump.journal.is_empty() {
            o.push_str("<details class=\"ns\" id=\"ns-journal\"><summary>Run-time changes</summary><pre>");
            for (at, what) in &dump.journal {
                let _ = writeln!(o, "{} {}", esc(&crate::journal::stamp(*at)), esc(what));
            }
            o.push_str("</pre></details>\n");
        }
        o.push_str("</section>\n");
        o
    }
}

/// A link's state from the dump: its ends' interfaces (and the bridge port).
struct LinkStates<'a> {
    dump: Option<&'a Dump>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    Up,
    Down,
    NoCarrier,
    Unknown,
}

struct Seen {
    state: End,
    conditions: Option<String>,
    detail: Vec<String>,
}

impl Seen {
    fn describe(&self, cond: Option<&str>) -> String {
        let mut s = match self.state {
            End::Up => "up".to_string(),
            End::Down => "DOWN".to_string(),
            End::NoCarrier => "no carrier".to_string(),
            End::Unknown => "state not known".to_string(),
        };
        if let Some(c) = cond {
            let _ = write!(s, "; {c}");
        }
        if !self.detail.is_empty() {
            let _ = write!(s, " ({})", self.detail.join(", "));
        }
        s
    }
}

impl LinkStates<'_> {
    fn iface(&self, title: &str, name: &str) -> Option<&state::LinkState> {
        let ns = self.dump?.namespaces.iter().find(|n| n.title == title)?;
        ns.state.as_ref().ok()?.links.iter().find(|l| l.name == name)
    }

    /// Down if any end is set down; no carrier if any end has none; conditions from either end.
    fn of(&self, ends: &[(&str, &str)], port: Option<&str>) -> Seen {
        let mut found: Vec<(String, &state::LinkState)> =
            ends.iter().filter_map(|(n, i)| Some((format!("{n}:{i}"), self.iface(&format!("node {n}"), i)?))).collect();
        if let Some(p) = port {
            if let Some(l) = self.iface("bridges (the test's own namespace)", p) {
                found.push((format!("port {p}"), l));
            }
        }
        if found.is_empty() {
            return Seen { state: End::Unknown, conditions: None, detail: Vec::new() };
        }
        let mut state = End::Up;
        let mut detail = Vec::new();
        for (name, l) in &found {
            let s = state::link_state(l);
            if s != "UP" {
                detail.push(format!("{name} {s}"));
            }
            match s {
                "DOWN" => state = End::Down,
                "UP" => {}
                _ if state == End::Up => state = End::NoCarrier,
                _ => {}
            }
        }
        let conditions = found
            .iter()
            .find_map(|(_, l)| l.shaping.as_ref())
            .map(|s| state::conditions(&s.conditions))
            .filter(|c| !c.is_empty());
        Seen { state, conditions, detail }
    }
}

/// The conditions the topology declares for a link (`None`: none).
fn declared_conditions(t: &Topology, w: Wire) -> Option<String> {
    let c = match w {
        Wire::Link(i) => &t.links[i].conditions,
        Wire::Member { bridge, member } => &t.bridges[bridge].conditions[member],
    };
    Some(state::conditions(c)).filter(|c| !c.is_empty())
}

fn link_title(t: &Topology, w: Wire) -> String {
    let id = match w {
        Wire::Link(i) => netns_test_topology::LinkId::Veth(i),
        Wire::Member { bridge, member } => netns_test_topology::LinkId::Member(bridge, member),
    };
    t.link_name(id)
}

/// The nodes a journal entry is about: `node b: …`, `link a:eth0 -- b:eth0: …`.
fn journal_nodes<'a>(what: &str, nodes: &[&'a str]) -> Vec<&'a str> {
    let head = what.split(": ").next().unwrap_or("");
    let mut out: Vec<&str> = Vec::new();
    let words = head.trim_start_matches("node ").trim_start_matches("link ");
    for w in words.split([' ', ':']) {
        if let Some(n) = nodes.iter().find(|n| **n == w) {
            if !out.contains(n) {
                out.push(n);
            }
        }
    }
    out
}

enum LogItem<'a> {
    Line(&'a Line),
    /// Where lines were left out: the time of the next line shown, and how many.
    Gap(f64, usize),
}

/// The log lines a page shows: all of them, or the first fifth and last four fifths of
/// [`LOG_LINES`] with the gap marked; and how many lines that is.
fn page_logs(lines: &[Line]) -> (Vec<LogItem<'_>>, usize) {
    if lines.len() <= LOG_LINES {
        return (lines.iter().map(LogItem::Line).collect(), lines.len());
    }
    let head = LOG_LINES / 5;
    let tail = LOG_LINES - head;
    let gap = lines.len() - head - tail;
    let mut out: Vec<LogItem> = lines[..head].iter().map(LogItem::Line).collect();
    out.push(LogItem::Gap(lines[head].at, gap));
    out.extend(lines[lines.len() - tail..].iter().map(LogItem::Line));
    (out, LOG_LINES)
}

fn log_html(l: &Line) -> String {
    let level = l.level.map(|lv| format!("<span class=\"lv-{lv}\">{lv}</span> ")).unwrap_or_default();
    format!(
        "<span class=\"kind\">log</span>{level}<span class=\"src\">{}</span>{}",
        esc(&cut(&l.source, 80)),
        esc(&cut(&l.text, LOG_TEXT))
    )
}

/// Per node: how many log lines, from which programs and targets, and a way to see only them.
fn logs_summary(logs: &crate::logs::Logs, nodes: &[&str]) -> String {
    let mut o = String::from("<section id=\"logs\"><h2>Logs</h2>\n");
    if logs.lines.is_empty() {
        o.push_str(
            "<p class=\"empty\">No log lines. The output of programs started with <code>Node::command</code> and, with \
             netns-test's <code>tracing</code> feature, <code>tracing</code> events are recorded here, each tagged \
             with its node.</p></section>\n",
        );
        return o;
    }
    o.push_str("<p>Log lines are in the timeline, each tagged with its node; pick a node to see its lines alone.");
    if let Some(f) = &logs.file {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let _ = write!(o, " Every line is in <a href=\"{0}\">{0}</a>.", esc(&name));
    }
    o.push_str("</p><table><thead><tr><th>node</th><th>lines</th><th>from</th><th></th></tr></thead><tbody>\n");
    let mut order: Vec<&str> = nodes.to_vec();
    for l in &logs.lines {
        if !order.contains(&&*l.node) {
            order.push(&l.node);
        }
    }
    for n in order {
        let mine: Vec<&Line> = logs.lines.iter().filter(|l| &*l.node == n).collect();
        if mine.is_empty() {
            continue;
        }
        let mut sources: Vec<&str> = Vec::new();
        for l in &mine {
            if !sources.contains(&l.source.as_str()) && sources.len() < 8 {
                sources.push(&l.source);
            }
        }
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">[{0}]</td><td>{1}</td><td>{2}</td><td><a href=\"#timeline\" data-only-node=\"{0}\">only {0}'s lines</a></td></tr>",
            esc(n),
            mine.len(),
            esc(&sources.join(", "))
        );
    }
    o.push_str(
        "</tbody></table><p><a href=\"#timeline\" data-only-node=\"*\">every node's log lines</a></p></section>\n",
    );
    o
}

fn packet_row(at: f64, end: &str, p: &Packet) -> String {
    let dir = match p.out {
        Some(true) => "→ out",
        Some(false) => "← in",
        None => "",
    };
    let ports = p.ports.map(|(s, d)| format!("{s} → {d}")).unwrap_or_default();
    format!(
        "<tr data-t=\"{at:.6}\"><td class=\"t\">{}</td><td class=\"n\">{}</td><td>{dir}</td><td>{}</td><td>{}</td><td>{}</td><td>{ports}</td><td>{}</td><td>{}</td></tr>\n",
        stamp(at),
        esc(end),
        esc(&p.src),
        esc(&p.dst),
        esc(&p.proto),
        esc(&p.info),
        p.len
    )
}

/// `3 links, 2 down, 4 routes`
fn ns_summary(s: &NsState) -> String {
    let down = s.links.iter().filter(|l| state::link_state(l) != "UP").count();
    let mut out = format!("{} links", s.links.len());
    if down > 0 {
        let _ = write!(out, ", {down} not up");
    }
    let _ = write!(out, ", {} routes, {} neighbours", s.routes.len(), s.neighbours.len());
    out
}

fn ns_html(o: &mut String, ns: &str, s: &NsState) {
    o.push_str("<h4>Links</h4><table><thead><tr><th>name</th><th>state</th><th>mtu</th><th>mac</th><th>master</th><th>addresses</th>\
                <th>rx packets/bytes</th><th>tx packets/bytes</th><th>drop</th><th>err</th><th>conditions</th></tr></thead><tbody>\n");
    for l in &s.links {
        let st = state::link_state(l);
        let class = match st {
            "UP" => "st-up",
            "DOWN" => "st-down",
            _ => "st-no-carrier",
        };
        let c = l.counters.unwrap_or_default();
        let _ = writeln!(
            o,
            "<tr id=\"if-{ns}-{}\" class=\"{class}\"><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td>\
             <td>{}/{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td class=\"cond-cell\">{}</td></tr>",
            slug(&l.name),
            esc(&l.name),
            esc(st),
            l.mtu.map(|m| m.to_string()).unwrap_or_default(),
            l.mac.as_deref().filter(|m| m.iter().any(|&b| b != 0)).map(state::hex).unwrap_or_default(),
            esc(l.master.as_deref().unwrap_or("")),
            esc(&l.addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")),
            c.rx_packets,
            state::size(c.rx_bytes),
            c.tx_packets,
            state::size(c.tx_bytes),
            c.dropped,
            c.errors,
            esc(&l.shaping.as_ref().map(state::shaping).unwrap_or_default())
        );
    }
    o.push_str("</tbody></table>\n");
    let mut list = |title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            let _ = write!(o, "<h4>{}</h4><pre>", esc(title));
            for l in lines {
                let _ = writeln!(o, "{}", esc(&l));
            }
            o.push_str("</pre>\n");
        }
    };
    list("Routes", s.routes.iter().map(state::route).collect());
    list("Neighbours", s.neighbours.iter().map(state::neighbour).collect());
    list("Sysctls that differ from a new namespace's", s.sysctls.iter().map(|(k, v)| format!("{k}={v}")).collect());
    for x in &s.extra {
        list(&x.title, x.lines.clone());
    }
}

/// A white card with `lines` centred on `(x, y)`.
fn card(o: &mut String, class: &str, x: f64, y: f64, lines: &[String], bold: bool) {
    let (w, h) = layout::text_size(lines);
    // Bold text is wider than the estimate.
    let w = if bold { w * 1.2 + 6.0 } else { w + 4.0 };
    let _ = write!(
        o,
        "<g class=\"{class}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"3\"/>",
        x - w / 2.0,
        y - h / 2.0
    );
    text(o, x, y, lines, bold);
    o.push_str("</g>\n");
}

/// Multi-line text centred on `(x, y)`.
fn text(o: &mut String, x: f64, y: f64, lines: &[String], first_bold: bool) {
    let top = y - (lines.len() as f64 - 1.0) * 6.5;
    let _ = write!(o, "<text x=\"{x:.1}\" y=\"{top:.1}\" text-anchor=\"middle\" dominant-baseline=\"middle\">");
    for (i, l) in lines.iter().enumerate() {
        let weight = if i == 0 && first_bold { " font-weight=\"bold\"" } else { "" };
        let dy = if i == 0 { 0.0 } else { 13.0 };
        let _ = write!(o, "<tspan x=\"{x:.1}\" dy=\"{dy}\"{weight}>{}</tspan>", esc(l));
    }
    o.push_str("</text>");
}

/// `+12.345 ms`, `−4.100 ms`, `+3.042 s`: seconds since the body started.
fn stamp(at: f64) -> String {
    let sign = if at < 0.0 { "−" } else { "+" };
    match at.abs() {
        s if s < 1.0 => format!("{sign}{:.3} ms", s * 1e3),
        s => format!("{sign}{s:.3} s"),
    }
}

/// A name as an HTML id part: letters, digits, `-`, `_`, `.`; anything else as `_XX`.
fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' => out.push(b as char),
            _ => {
                let _ = write!(out, "_{b:02x}");
            }
        }
    }
    out
}

/// Text for HTML (element content or a quoted attribute).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` bytes of `s`, cut at a character boundary, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let end = (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
    format!("{}…", &s[..end])
}

/// At most about `max` bytes of `s`: its start and its end.
fn cut_middle(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let keep = max / 2;
    let head = (0..=keep).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
    let tail = (s.len() - keep..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
    format!("{}\n[… {} bytes left out …]\n{}", &s[..head], tail - head, &s[tail..])
}

/// The time now, `2026-12-07 19:18:41 UTC`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem / 60 % 60, rem % 60)
}
