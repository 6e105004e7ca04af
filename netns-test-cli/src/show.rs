//! A live topology, printed: as text for people, as one JSON document for scripts.

use netns_test::topology::{Peer, Topology};
use netns_test::{Expectations, Net};
use serde_json::{json, Value};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// ICMP echo from every node to every address: `cells[node][address]` is the round trip.
pub(crate) struct Matrix {
    pub targets: Vec<(String, IpAddr)>,
    pub cells: Vec<Vec<Option<Duration>>>,
}

pub(crate) fn reachability(net: &Net, timeout: Duration) -> Matrix {
    let targets = net.topology().all_addrs();
    let cells = net.nodes().iter().map(|n| targets.iter().map(|(_, a)| n.ping(*a, timeout).ok()).collect()).collect();
    Matrix { targets, cells }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `-> b:eth0` or `-> bridge br0`: what the other end of a node's interface is.
fn peer(t: &Topology, iface: &netns_test::topology::Interface) -> (String, Value) {
    match iface.peer {
        Peer::Link { peer, .. } => {
            let (n, i) = t.iface_name(peer);
            (format!("-> {n}:{i}"), json!({ "node": n, "interface": i }))
        }
        Peer::Bridge(b) => (format!("-> bridge {}", t.bridges[b].name), json!({ "bridge": t.bridges[b].name })),
    }
}

/// The link behind a node's interface: its conditions and the path that applies them, if any.
fn conditions(net: &Net, node: &str, iface: &netns_test::topology::Interface) -> Option<(String, String)> {
    let t = net.topology();
    let other = match iface.peer {
        Peer::Link { peer, .. } => format!("{}:{}", t.iface_name(peer).0, t.iface_name(peer).1),
        Peer::Bridge(b) => t.bridges[b].name.clone(),
    };
    let link = net.link(&format!("{node}:{}", iface.name), &other);
    let c = link.conditions();
    (!c.is_empty()).then(|| (c.to_string(), link.path().to_string()))
}

pub(crate) fn text(net: &Net, built: Duration, m: &Matrix, expectations: &Expectations) {
    let t = net.topology();
    println!(
        "topology up in {:.1} ms: {} nodes, {} bridges, {} veth pairs\n",
        ms(built),
        t.nodes.len(),
        t.bridges.len(),
        t.links.len() + t.bridges.iter().map(|b| b.members.len()).sum::<usize>()
    );
    for (node, n) in net.nodes().iter().zip(&t.nodes) {
        println!("{}{}", node.name(), if n.forward { "  [forward]" } else { "" });
        println!("  lo        127.0.0.1/8 ::1/128");
        for i in &n.interfaces {
            let addrs: Vec<_> = i.addrs.iter().map(|a| a.to_string()).collect();
            let addrs = if addrs.is_empty() { "-".to_string() } else { addrs.join(" ") };
            let cond = conditions(net, node.name(), i).map_or(String::new(), |(c, p)| format!("  [{c}] ({p})"));
            println!("  {:<9} {addrs:<32} {}{cond}", i.name, peer(t, i).0);
        }
        for r in &n.routes {
            println!("  route     {} via {}", r.dest.map_or("default".into(), |d| d.to_string()), r.via);
        }
        if let Some(nat) = &n.nat {
            let hairpin = if nat.hairpin { ", hairpin" } else { "" };
            let timeouts =
                format!("udp-timeout {}s, tcp-timeout {}s", nat.udp_timeout.as_secs(), nat.tcp_timeout.as_secs());
            if let Some(v4) = &nat.ipv4 {
                println!("  nat       {} as {} ({}{hairpin}; {timeouts})", v4.iface, v4.addr, nat.kind);
            }
            if let Some(v6) = &nat.ipv6 {
                println!("  nat66     {} as {} ({}{hairpin}; {timeouts})", v6.iface, v6.addr, nat.kind);
            }
            if let Some(npt) = &nat.nptv6 {
                println!("  nptv6     {} {} <-> {} (RFC 6296, stateless)", npt.iface, npt.inside, npt.outside);
            }
        }
        for b in &n.blocks {
            println!("  {b}");
        }
    }
    for b in &t.bridges {
        let addrs: Vec<_> = b.addrs.iter().map(|a| a.to_string()).collect();
        println!("bridge {} {}  ports: {}", b.name, addrs.join(" "), b.ports.join(", "));
    }
    print_matrix(net, m);
    if !expectations.probes.is_empty() {
        println!("\nexpectations:\n{}\n{}", expectations.table(), expectations.summary());
    }
}

fn print_matrix(net: &Net, m: &Matrix) {
    if m.targets.is_empty() {
        println!("\nno addresses, no reachability to show");
        return;
    }
    println!("\nreachability (ICMP echo from the row's node to the column's address; round trip in ms):");
    let width = m.targets.iter().map(|(_, a)| a.to_string().len()).max().unwrap_or(0).max(8);
    let name_w = net.nodes().iter().map(|n| n.name().len()).max().unwrap_or(4).max(4);
    print!("{:name_w$}", "");
    for (_, a) in &m.targets {
        print!("  {:>width$}", a.to_string());
    }
    println!();
    for (node, row) in net.nodes().iter().zip(&m.cells) {
        print!("{:name_w$}", node.name());
        for cell in row {
            let cell = cell.map_or("-".to_string(), |d| format!("{:.3}", ms(d)));
            print!("  {cell:>width$}");
        }
        println!();
    }
    let ok = m.cells.iter().flatten().filter(|c| c.is_some()).count();
    println!("{ok} of {} reachable", m.cells.iter().map(Vec::len).sum::<usize>());
}

/// Nodes, interfaces, addresses, routes, bridges, the reachability matrix and the expectations.
pub(crate) fn json(net: &Net, built: Duration, m: &Matrix, expectations: &Expectations) -> String {
    let t = net.topology();
    let nodes: Vec<Value> = net
        .nodes()
        .iter()
        .zip(&t.nodes)
        .map(|(_, n)| {
            let interfaces: Vec<Value> = (n.interfaces.iter())
                .map(|i| {
                    json!({
                        "name": i.name,
                        "addresses": i.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                        "mtu": i.mtu,
                        "peer": peer(t, i).1,
                        "conditions": conditions(net, &n.name, i).map(|(c, p)| json!({ "options": c, "path": p })),
                    })
                })
                .collect();
            let routes: Vec<Value> = n
                .routes
                .iter()
                .map(|r| json!({ "destination": r.dest.map_or("default".into(), |d| d.to_string()), "via": r.via }))
                .collect();
            let nat = n.nat.as_ref().map(|nat| {
                let v4 = nat.ipv4.as_ref();
                json!({ "interface": v4.map(|m| &m.iface), "address": v4.map(|m| m.addr), "type": nat.kind.name(),
                        "hairpin": nat.hairpin, "udp_timeout_s": nat.udp_timeout.as_secs(),
                        "tcp_timeout_s": nat.tcp_timeout.as_secs(),
                        "nat66": nat.ipv6.as_ref().map(|m| json!({ "interface": m.iface, "address": m.addr })),
                        "nptv6": nat.nptv6.as_ref().map(|n| json!({ "interface": n.iface, "inside": n.inside.to_string(),
                                                                    "outside": n.outside.to_string() })) })
            });
            let blocks: Vec<String> = n.blocks.iter().map(|b| b.to_string()).collect();
            json!({ "name": n.name, "forward": n.forward, "interfaces": interfaces, "routes": routes, "nat": nat,
                    "blocks": blocks })
        })
        .collect();
    let bridges: Vec<Value> = t
        .bridges
        .iter()
        .map(|b| {
            json!({
                "name": b.name,
                "addresses": b.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                "members": b.members.iter().map(|r| &t.nodes[r.node].name).collect::<Vec<_>>(),
                "ports": b.ports,
            })
        })
        .collect();
    let mut reach = Vec::new();
    for (node, row) in net.nodes().iter().zip(&m.cells) {
        for ((owner, addr), cell) in m.targets.iter().zip(row) {
            reach.push(json!({
                "from": node.name(), "to": owner, "address": addr,
                "reachable": cell.is_some(), "rtt_ms": cell.map(ms),
            }));
        }
    }
    let expects: Vec<Value> = expectations
        .probes
        .iter()
        .map(|p| {
            json!({
                "line": p.line, "expectation": p.expectation, "address": p.addr,
                "expected": if p.expected { "reachable" } else { "unreachable" },
                "reachable": p.got.is_ok(), "rtt_ms": p.got.as_ref().ok().map(|d| ms(*d)),
                "error": p.got.as_ref().err(), "ok": p.ok(),
            })
        })
        .collect();
    let doc = json!({
        "build_ms": ms(built),
        "nodes": nodes,
        "bridges": bridges,
        "reachability": reach,
        "expectations": expects,
        "passed": expectations.passed(),
    });
    serde_json::to_string_pretty(&doc).expect("JSON of plain values")
}

pub(crate) fn enter_hints(net: &Net) {
    let pid = std::process::id();
    println!("\nholding the topology up; enter a node from another shell with:");
    for node in net.nodes() {
        println!(
            "  {:<8} nsenter --preserve-credentials -U -t {pid} --net=/proc/{pid}/fd/{}",
            node.name(),
            node.as_raw_fd()
        );
    }
    println!("(or use `netns-test shell FILE NODE`); press Enter to tear it down");
}
