//! The state of one namespace as the failure dump shows it, and its compact rendering.
//!
//! ```ignore
//! let text = render("node b", &state);
//! // node b
//! //   eth0  UP  mtu 1500  02:5e:..:01  10.0.0.2/24  rx 12/1.1K tx 9/830 drop 0
//! //   route default via 10.0.0.1 dev eth0
//! //   neigh 10.0.0.1 eth0 02:5e:..:02 REACHABLE
//! ```
//!
//! An interface whose link has conditions has them on the line under its own:
//!
//! ```text
//!   eth0  UP  mtu 1500  02:5e:..:01  10.0.0.2/24  rx 12/1.1K tx 9/830 drop 0
//!         cond delay 20ms±5ms loss 10% each way (userspace forwarder; from here: 27 relayed, 3 lost)
//! ```
//!
//! Pure: the data comes from `read.rs` (netlink) and `link_conditions.rs` (the runtime's state) or from
//! a unit test.

use crate::core::{ConditionPath, Counts};
use ipnet::IpNet;
use netns_test_topology::Conditions;
use std::fmt::Write;
use std::net::IpAddr;

/// One network namespace: a node, or the test's own namespace with the bridges.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct NsState {
    pub(crate) links: Vec<LinkState>,
    pub(crate) routes: Vec<RouteState>,
    pub(crate) neighbours: Vec<Neighbour>,
    /// `(key, value)` of the sysctls that differ from a new namespace's default.
    pub(crate) sysctls: Vec<(String, String)>,
    /// Further sections (NAT and firewall rules, link conditions), see `mod.rs`.
    pub(crate) extra: Vec<Section>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct LinkState {
    pub(crate) index: u32,
    pub(crate) name: String,
    /// Administratively up (`IFF_UP`).
    pub(crate) admin_up: bool,
    /// The kernel's operational state, e.g. `UP`, `DOWN`, `LOWERLAYERDOWN`, `UNKNOWN`.
    pub(crate) oper: String,
    pub(crate) mtu: Option<u32>,
    pub(crate) mac: Option<Vec<u8>>,
    /// The bridge this link is a port of.
    pub(crate) master: Option<String>,
    pub(crate) addrs: Vec<IpNet>,
    pub(crate) counters: Option<Counters>,
    /// The conditions of the link this interface is an end of, if it has any.
    pub(crate) shaping: Option<Shaping>,
}

/// A link's conditions as the runtime knows them (`Link::conditions`, `Link::path`), seen from
/// one of its ends. Both directions get the same conditions, each on its own.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shaping {
    pub(crate) conditions: Conditions,
    /// How they are applied; `None`: the runtime's state was unavailable, these are the
    /// conditions the topology declares.
    pub(crate) path: Option<ConditionPath>,
    /// On the userspace path: what the forwarder did with the frames this end sent.
    pub(crate) sent: Option<Counts>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) dropped: u64,
    pub(crate) errors: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RouteState {
    /// `None`: the default route.
    pub(crate) dest: Option<IpNet>,
    pub(crate) via: Option<IpAddr>,
    pub(crate) dev: Option<String>,
    /// `unreachable`, `blackhole`, `prohibit`; `None` for an ordinary route.
    pub(crate) kind: Option<&'static str>,
    /// The routing table, when it is not `main`.
    pub(crate) table: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Neighbour {
    pub(crate) addr: IpAddr,
    pub(crate) dev: String,
    pub(crate) mac: Option<Vec<u8>>,
    /// `REACHABLE`, `STALE`, `FAILED`, `INCOMPLETE`, ...
    pub(crate) state: String,
}

/// A titled list of lines, e.g. `nat` with one line per rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) title: String,
    pub(crate) lines: Vec<String>,
}

/// `title`, then one indented line per link, route, neighbour, sysctl and extra line.
pub(crate) fn render(title: &str, ns: &NsState) -> String {
    let mut out = format!("{title}\n");
    let width = ns.links.iter().map(|l| l.name.len()).max().unwrap_or(0);
    let state_width = ns.links.iter().map(|l| link_state(l).len()).max().unwrap_or(0);
    for l in &ns.links {
        let mut line = format!("  {:<width$}  {:<state_width$}", l.name, link_state(l));
        if let Some(mtu) = l.mtu {
            let _ = write!(line, "  mtu {mtu}");
        }
        if let Some(mac) = l.mac.as_deref().filter(|m| m.iter().any(|&b| b != 0)) {
            let _ = write!(line, "  {}", hex(mac));
        }
        if let Some(master) = &l.master {
            let _ = write!(line, "  master {master}");
        }
        if !l.addrs.is_empty() {
            let addrs: Vec<String> = l.addrs.iter().map(ToString::to_string).collect();
            let _ = write!(line, "  {}", addrs.join(" "));
        }
        if let Some(c) = &l.counters {
            let _ = write!(
                line,
                "  rx {}/{} tx {}/{} drop {}",
                c.rx_packets,
                size(c.rx_bytes),
                c.tx_packets,
                size(c.tx_bytes),
                c.dropped
            );
            if c.errors > 0 {
                let _ = write!(line, " err {}", c.errors);
            }
        }
        out.push_str(&line);
        out.push('\n');
        if let Some(s) = &l.shaping {
            let _ = writeln!(out, "  {:<width$}  cond {}", "", shaping(s));
        }
    }
    for r in &ns.routes {
        let _ = writeln!(out, "  route {}", route(r));
    }
    if ns.routes.is_empty() && ns.links.iter().any(|l| !l.addrs.is_empty()) {
        out.push_str("  (no routes)\n");
    }
    for n in &ns.neighbours {
        let _ = writeln!(out, "  neigh {}", neighbour(n));
    }
    for (key, value) in &ns.sysctls {
        let _ = writeln!(out, "  sysctl {key}={value}");
    }
    for s in ns.extra.iter().filter(|s| !s.lines.is_empty()) {
        let _ = writeln!(out, "  {}:", s.title);
        for l in &s.lines {
            let _ = writeln!(out, "    {l}");
        }
    }
    out
}

/// `unreachable 10.9.0.0/16 table 100`, `default via 10.0.0.1 dev eth0`.
pub(super) fn route(r: &RouteState) -> String {
    let mut line = String::new();
    if let Some(kind) = r.kind {
        let _ = write!(line, "{kind} ");
    }
    line.push_str(&r.dest.map_or("default".into(), |d| d.to_string()));
    if let Some(via) = r.via {
        let _ = write!(line, " via {via}");
    }
    if let Some(dev) = &r.dev {
        let _ = write!(line, " dev {dev}");
    }
    if let Some(t) = r.table {
        let _ = write!(line, " table {t}");
    }
    line
}

/// `10.0.0.1 eth0 02:00:00:00:00:02 REACHABLE`
pub(super) fn neighbour(n: &Neighbour) -> String {
    let mac = n.mac.as_deref().map(|m| format!(" {}", hex(m))).unwrap_or_default();
    format!("{} {}{mac} {}", n.addr, n.dev, n.state)
}

/// The conditions alone, short: `delay 20ms±5ms loss 10% rate 10mbit` (empty: none).
pub(super) fn conditions(c: &Conditions) -> String {
    let mut out = String::new();
    if !c.delay.is_zero() {
        let _ = write!(out, "delay {}", duration(c.delay));
        if !c.jitter.is_zero() {
            let _ = write!(out, "±{}", duration(c.jitter));
        }
        out.push(' ');
    }
    for (name, p) in [("loss", c.loss), ("duplicate", c.duplicate), ("reorder", c.reorder)] {
        if !p.is_zero() {
            let _ = write!(out, "{name} {p} ");
        }
    }
    if let Some(r) = c.rate {
        let _ = write!(out, "rate {r} ");
    }
    out.trim_end().to_string()
}

/// `delay 20ms±5ms loss 10% each way (userspace forwarder; from here: 27 relayed, 3 lost)`.
pub(super) fn shaping(s: &Shaping) -> String {
    let c = &s.conditions;
    let mut out = conditions(c);
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(if c.is_empty() { "none (" } else { "each way (" });
    match s.path {
        Some(ConditionPath::Userspace) if c.is_empty() => out.push_str("userspace forwarder, passing frames unchanged"),
        Some(path) => {
            let _ = write!(out, "{path}");
        }
        None => out.push_str("as declared: the runtime's link state was unavailable"),
    }
    if let Some(n) = &s.sent {
        let _ = write!(out, "; from here: {} relayed", n.relayed);
        for (count, what) in [
            (n.lost, "lost"),
            (n.duplicated, "duplicated"),
            (n.reordered, "reordered"),
            (n.overflow, "over its queue limit"),
        ] {
            if count > 0 {
                let _ = write!(out, ", {count} {what}");
            }
        }
    }
    out.push(')');
    out
}

/// A duration as the grammar writes it: `20ms`, `1500us`, `2s`.
fn duration(d: std::time::Duration) -> String {
    match d.as_micros() {
        us if us % 1_000_000 == 0 => format!("{}s", us / 1_000_000),
        us if us % 1_000 == 0 => format!("{}ms", us / 1_000),
        us => format!("{us}us"),
    }
}

/// `UP`; `DOWN` when set down; `NO-CARRIER` when up but without carrier (its peer is down).
pub(super) fn link_state(l: &LinkState) -> &str {
    match (l.admin_up, l.oper.as_str()) {
        (false, _) => "DOWN",
        (true, "UP" | "UNKNOWN") => "UP",
        (true, "DOWN" | "LOWERLAYERDOWN") => "NO-CARRIER",
        (true, other) => other,
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Bytes, short: `830`, `1.1K`, `12M`, `3.4G`.
pub(super) fn size(bytes: u64) -> String {
    let mut v = bytes as f64;
    for unit in ["", "K", "M", "G", "T"] {
        if v < 1000.0 || unit == "T" {
            return match unit {
                "" => format!("{bytes}"),
                _ if v < 10.0 => format!("{v:.1}{unit}"),
                _ => format!("{v:.0}{unit}"),
            };
        }
        v /= 1024.0;
    }
    unreachable!()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, admin_up: bool, oper: &str) -> LinkState {
        LinkState {
            index: 2,
            name: name.into(),
            admin_up,
            oper: oper.into(),
            mtu: Some(1500),
            mac: Some(vec![0x02, 0, 0, 0, 0, 0x01]),
            master: None,
            addrs: vec!["10.0.0.2/24".parse().unwrap()],
            counters: Some(Counters {
                rx_packets: 12,
                rx_bytes: 1130,
                tx_packets: 9,
                tx_bytes: 830,
                dropped: 0,
                errors: 0,
            }),
            shaping: None,
        }
    }

    #[test]
    fn one_line_per_link_with_state_mtu_mac_addresses_and_counters() {
        let ns = NsState { links: vec![link("eth0", true, "UP")], ..Default::default() };
        assert_eq!(
            render("node b", &ns),
            "node b\n  eth0  UP  mtu 1500  02:00:00:00:00:01  10.0.0.2/24  rx 12/1.1K tx 9/830 drop 0\n  (no routes)\n"
        );
        let mut bare = ns.links[0].clone();
        bare.addrs.clear();
        let text = render("bridges", &NsState { links: vec![bare], ..Default::default() });
        assert!(!text.contains("no routes"), "no addresses, no routes expected: {text}");
    }

    #[test]
    fn a_down_link_and_a_link_without_carrier_say_so() {
        let mut peerless = link("eth1", true, "LOWERLAYERDOWN");
        peerless.counters.as_mut().unwrap().errors = 3;
        let ns = NsState { links: vec![link("eth0", false, "DOWN"), peerless], ..Default::default() };
        let text = render("node a", &ns);
        assert!(text.contains("  eth0  DOWN        mtu 1500"), "{text}");
        assert!(text.contains("  eth1  NO-CARRIER  mtu 1500"), "{text}");
        assert!(text.contains("drop 0 err 3"), "{text}");
    }

    #[test]
    fn routes_neighbours_sysctls_and_extra_sections() {
        let ns = NsState {
            links: vec![],
            routes: vec![
                RouteState {
                    dest: None,
                    via: Some("10.0.0.1".parse().unwrap()),
                    dev: Some("eth0".into()),
                    kind: None,
                    table: None,
                },
                RouteState {
                    dest: Some("10.9.0.0/16".parse().unwrap()),
                    via: None,
                    dev: None,
                    kind: Some("unreachable"),
                    table: Some(100),
                },
            ],
            neighbours: vec![
                Neighbour {
                    addr: "10.0.0.1".parse().unwrap(),
                    dev: "eth0".into(),
                    mac: Some(vec![2, 0, 0, 0, 0, 2]),
                    state: "REACHABLE".into(),
                },
                Neighbour { addr: "10.0.0.9".parse().unwrap(), dev: "eth0".into(), mac: None, state: "FAILED".into() },
            ],
            sysctls: vec![("net.ipv4.ip_forward".into(), "1".into())],
            extra: vec![
                Section { title: "nft rules".into(), lines: vec!["table ip nat {".into(), "}".into()] },
                Section { title: "empty".into(), lines: vec![] },
            ],
        };
        assert_eq!(
            render("node r", &ns),
            "node r\n  route default via 10.0.0.1 dev eth0\n  route unreachable 10.9.0.0/16 table 100\n  \
             neigh 10.0.0.1 eth0 02:00:00:00:00:02 REACHABLE\n  neigh 10.0.0.9 eth0 FAILED\n  \
             sysctl net.ipv4.ip_forward=1\n  nft rules:\n    table ip nat {\n    }\n"
        );
    }

    fn shaping(options: &str, path: Option<ConditionPath>, sent: Option<Counts>) -> Option<Shaping> {
        let conditions = match options {
            "" => Conditions::default(),
            _ => netns_test_topology::parse_link_options(options).unwrap().conditions,
        };
        Some(Shaping { conditions, path, sent })
    }

    /// The line under `eth0`'s in a one-link rendering.
    fn cond_line(s: Option<Shaping>) -> String {
        let ns = NsState { links: vec![LinkState { shaping: s, ..link("eth0", true, "UP") }], ..Default::default() };
        render("node a", &ns).lines().nth(2).unwrap().to_string()
    }

    #[test]
    fn conditions_go_under_their_interface_line_aligned_after_the_names() {
        let sent = Counts { relayed: 27, lost: 3, ..Default::default() };
        let mut lo = link("lo", true, "UNKNOWN");
        lo.addrs.clear();
        let eth0 = LinkState {
            shaping: shaping("delay=20ms, jitter=5ms, loss=10%", Some(ConditionPath::Userspace), Some(sent)),
            ..link("eth0", true, "UP")
        };
        let ns = NsState { links: vec![lo, eth0], ..Default::default() };
        assert_eq!(
            render("node a", &ns),
            "node a\n  lo    UP  mtu 1500  02:00:00:00:00:01  rx 12/1.1K tx 9/830 drop 0\n  \
             eth0  UP  mtu 1500  02:00:00:00:00:01  10.0.0.2/24  rx 12/1.1K tx 9/830 drop 0\n        \
             cond delay 20ms±5ms loss 10% each way (userspace forwarder; from here: 27 relayed, 3 lost)\n  \
             (no routes)\n"
        );
    }

    #[test]
    fn every_condition_compactly_with_its_path() {
        let all = "rate=10mbit, delay=1500us, jitter=500us, loss=0.5%, duplicate=1%, reorder=5%";
        assert_eq!(
            cond_line(shaping(all, Some(ConditionPath::Netem), None)),
            "        cond delay 1500us±500us loss 0.5% duplicate 1% reorder 5% rate 10mbit each way (netem)"
        );
        assert_eq!(
            cond_line(shaping("delay=2s", Some(ConditionPath::Netem), None)),
            "        cond delay 2s each way (netem)"
        );
        assert_eq!(
            cond_line(shaping("rate=512kbit", Some(ConditionPath::Tbf), None)),
            "        cond rate 512kbit each way (tbf)"
        );
    }

    #[test]
    fn a_forwarder_left_in_place_and_its_counters() {
        let sent = Counts { relayed: 12, lost: 1, duplicated: 2, reordered: 3, overflow: 4 };
        assert_eq!(
            cond_line(shaping("loss=1%", Some(ConditionPath::Userspace), Some(sent))),
            "        cond loss 1% each way (userspace forwarder; from here: 12 relayed, 1 lost, 2 duplicated, \
             3 reordered, 4 over its queue limit)"
        );
        let sent = Counts { relayed: 12, ..Default::default() };
        assert_eq!(
            cond_line(shaping("", Some(ConditionPath::Userspace), Some(sent))),
            "        cond none (userspace forwarder, passing frames unchanged; from here: 12 relayed)"
        );
    }

    #[test]
    fn declared_conditions_when_the_runtime_state_was_unavailable() {
        assert_eq!(
            cond_line(shaping("delay=20ms", None, None)),
            "        cond delay 20ms each way (as declared: the runtime's link state was unavailable)"
        );
    }

    #[test]
    fn no_conditions_no_line() {
        let ns = NsState { links: vec![link("eth0", true, "UP")], ..Default::default() };
        assert!(!render("node a", &ns).contains("cond"));
    }

    #[test]
    fn sizes_are_short() {
        assert_eq!(size(0), "0");
        assert_eq!(size(999), "999");
        assert_eq!(size(1130), "1.1K");
        assert_eq!(size(50 * 1024), "50K");
        assert_eq!(size(12 * 1024 * 1024), "12M");
    }
}
