//! Topology → kernel, over netlink (rtnetlink), never by running `ip`.
//!
//! Every node is an anonymous network namespace held by fd. Bridges live in the calling thread's
//! namespace (the test's own). Each veth is created once with both ends already in their final
//! namespaces, so no link is ever moved (a move costs 12–37 ms and flushes addresses). Interface
//! indices are chosen here (`lo` is 1 in every namespace) so no request waits on a lookup.

use crate::error::{Error, Result};
use crate::ns::{write_sysctl, NetNs};
use futures_util::future::{try_join_all, BoxFuture};
use futures_util::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressFlags};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, State};
use netns_test_topology::Topology;
use rtnetlink::{Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// How long links and IPv6 addresses may take to become usable.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The namespaces of a built topology; dropping it releases them.
pub(crate) struct Built {
    /// One per `Topology::nodes`, same order.
    pub(crate) nodes: Vec<NetNs>,
}

/// Where node 0 lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node0 {
    /// In a fresh namespace, like every node (the public `Net::build`).
    Fresh,
    /// In the calling thread's namespace when the topology has no bridges: the per-test child
    /// owns that namespace and has no other use for it, so one namespace fewer is created and
    /// torn down per test.
    CallersIfNoBridges,
}

/// Builds `topo` with bridges in the calling thread's namespace.
pub(crate) fn build(topo: &Topology, node0: Node0) -> Result<Built> {
    let mut trace = Trace::from_env();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(Error::io("starting the netlink runtime"))?;
    let _enter = rt.enter();

    let here = NetNs::current().map_err(Error::io("opening this thread's namespace"))?;
    let in_place = node0 == Node0::CallersIfNoBridges && topo.bridges.is_empty();
    let nodes = new_namespaces(topo, in_place.then_some(&here))?;
    let root = connect()?;
    let handles = nodes
        .iter()
        .enumerate()
        .map(|(i, ns)| match i {
            0 if in_place => Ok(root.clone()),
            _ => ns.run(connect).map_err(Error::io("entering a node namespace"))?,
        })
        .collect::<Result<Vec<_>>>()?;

    trace.mark("namespaces");
    let plan = Plan::new(topo);
    rt.block_on(create_links(topo, &plan, &root, &nodes, !in_place))?;
    trace.mark("links");
    // Links come up in batches. The kernel's link watcher, which must see a link before it
    // passes packets, handles a bounded number of carrier events per run and defers the rest
    // by up to a second per run; batches within that budget are handled at once.
    // Each batch waits for its nodes' ends of the veths (small per-node listings); the bridge
    // ports, whose events went through the same link-watcher runs, are checked once at the end
    // (one listing of the test's namespace, not one per batch).
    for batch in batches(topo) {
        rt.block_on(configure(topo, &plan, &handles, batch.clone()))?;
        wait_links(&rt, node_links(topo, &plan, &handles, batch))?;
    }
    rt.block_on(address_bridges(topo, &plan, &root))?;
    trace.mark("addresses");
    rt.block_on(add_routes(topo, &handles))?;
    trace.mark("routes");

    if in_place {
        here.run(|| node_sysctls(&topo.nodes[0]))
            .and_then(|r| r)
            .map_err(Error::io(format!("setting sysctls in node `{}`", topo.nodes[0].name)))?;
    }
    wait_links(&rt, bridge_links(topo, &plan, &root))?;
    wait_ipv6_groups(topo, &nodes)?;
    trace.mark("ready");
    trace.report(topo);
    Ok(Built { nodes })
}

/// Whether `NETNS_TEST_TRACE=1` asks for timings.
pub(crate) fn tracing() -> bool {
    std::env::var_os("NETNS_TEST_TRACE").is_some_and(|v| v == "1")
}

/// Phase timings of a build, printed to stderr when `NETNS_TEST_TRACE=1`.
struct Trace(Option<(Instant, Vec<(&'static str, Duration)>)>);

impl Trace {
    fn from_env() -> Trace {
        Trace(tracing().then(|| (Instant::now(), Vec::new())))
    }

    fn mark(&mut self, phase: &'static str) {
        if let Some((start, marks)) = &mut self.0 {
            marks.push((phase, start.elapsed()));
        }
    }

    fn report(&self, topo: &Topology) {
        let Some((_, marks)) = &self.0 else { return };
        let mut prev = Duration::ZERO;
        let phases: Vec<String> = marks
            .iter()
            .map(|(p, t)| {
                let d = *t - prev;
                prev = *t;
                format!("{p} {:.2}", d.as_secs_f64() * 1e3)
            })
            .collect();
        eprintln!(
            "netns-test: built {} nodes, {} bridges in {:.2} ms ({})",
            topo.nodes.len(),
            topo.bridges.len(),
            prev.as_secs_f64() * 1e3,
            phases.join(", ")
        );
    }
}

/// One namespace per node (node 0 may be `reuse`), created on two threads when there are
/// several: namespace creation is mostly kernel work that can run on both cores at once.
fn new_namespaces(topo: &Topology, reuse: Option<&NetNs>) -> Result<Vec<NetNs>> {
    let create = |names: &[netns_test_topology::Node]| -> Result<Vec<NetNs>> {
        names
            .iter()
            .map(|n| {
                NetNs::new_with(|| node_sysctls(n))
                    .map_err(Error::io(format!("creating the namespace of node `{}`", n.name)))
            })
            .collect()
    };
    let mut nodes = Vec::with_capacity(topo.nodes.len());
    let rest = match reuse {
        Some(ns) => {
            nodes.push(ns.try_clone().map_err(Error::io("duplicating a namespace descriptor"))?);
            &topo.nodes[1..]
        }
        None => &topo.nodes[..],
    };
    if rest.len() < 4 {
        nodes.extend(create(rest)?);
        return Ok(nodes);
    }
    let (first, second) = rest.split_at(rest.len() / 2);
    let (a, b) = std::thread::scope(|s| {
        let other = s.spawn(|| create(second));
        (create(first), other.join())
    });
    nodes.extend(a?);
    nodes.extend(b.unwrap_or_else(|p| std::panic::resume_unwind(p))?);
    Ok(nodes)
}

/// A node's sysctls, written from inside its namespace.
fn node_sysctls(node: &netns_test_topology::Node) -> std::io::Result<()> {
    // ICMP echo ("ping") sockets for the namespace's root (gid 0).
    write_sysctl("net/ipv4/ping_group_range", "0 0")?;
    if node.forward {
        write_sysctl("net/ipv4/ip_forward", "1")?;
        write_sysctl("net/ipv6/conf/all/forwarding", "1")?;
    }
    Ok(())
}

/// A netlink handle bound to the calling thread's current namespace.
fn connect() -> Result<Handle> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(Error::io("opening a netlink socket"))?;
    tokio::spawn(conn);
    Ok(handle)
}

/// Interface indices, unique across the whole topology (`lo` is 1 everywhere). Unique matters:
/// a veth whose index equals its peer's looks like a plain device to the kernel's link watcher,
/// which then delays its carrier event by a second instead of handling it at once.
struct Plan {
    bridge_index: Vec<u32>,
    /// `port_index[b][m]`: the bridge-side veth end of member `m` of bridge `b`.
    port_index: Vec<Vec<u32>>,
    /// `iface_index[n][i]`: interface `i` of node `n`.
    iface_index: Vec<Vec<u32>>,
}

impl Plan {
    fn new(topo: &Topology) -> Plan {
        let mut next = 2u32..;
        let mut take = |n: usize| next.by_ref().take(n).collect::<Vec<_>>();
        let bridge_index = take(topo.bridges.len());
        let port_index = topo.bridges.iter().map(|b| take(b.members.len())).collect();
        let iface_index = topo.nodes.iter().map(|n| take(n.interfaces.len())).collect();
        Plan { bridge_index, port_index, iface_index }
    }
}

fn classify_link_error(
    kind: &'static str,
    config: &'static str,
    what: String,
) -> impl FnOnce(rtnetlink::Error) -> Error {
    move |e| match &e {
        rtnetlink::Error::NetlinkError(m) if m.raw_code() == -libc::EOPNOTSUPP => {
            Error::MissingLinkKind { kind, config, source: e }
        }
        _ => Error::Netlink { what, source: e },
    }
}

/// Bridges, then every veth, created in place.
async fn create_links(topo: &Topology, plan: &Plan, root: &Handle, nodes: &[NetNs], root_lo: bool) -> Result<()> {
    try_join_all(root_lo_and_bridges(topo, plan, root, root_lo)).await?;

    let mut reqs: Vec<BoxFuture<'static, Result<()>>> = Vec::new();
    for (l, link) in topo.links.iter().enumerate() {
        let (a, b) = (topo.iface(link.a), topo.iface(link.b));
        let mut peer = LinkUnspec::new_with_name(&b.name)
            .index(plan.iface_index[link.b.node][link.b.iface])
            .setns_by_fd(nodes[link.b.node].as_raw_fd());
        let mut end = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(a.name.clone())
            .index(plan.iface_index[link.a.node][link.a.iface])
            .setns_by_fd(nodes[link.a.node].as_raw_fd());
        if let Some(mtu) = link.mtu {
            peer = peer.mtu(mtu);
            end = end.mtu(mtu);
        }
        let msg = end.set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build()))).build();
        let what = format!(
            "creating veth {}:{} -- {}:{} (link {l})",
            topo.nodes[link.a.node].name, a.name, topo.nodes[link.b.node].name, b.name
        );
        let req = root.link().add(msg).execute();
        reqs.push(Box::pin(async move { req.await.map_err(classify_link_error("veth", "VETH", what)) }));
    }
    for (bi, br) in topo.bridges.iter().enumerate() {
        for (m, member) in br.members.iter().enumerate() {
            let iface = topo.iface(*member);
            let mut peer = LinkUnspec::new_with_name(&iface.name)
                .index(plan.iface_index[member.node][member.iface])
                .setns_by_fd(nodes[member.node].as_raw_fd());
            let mut end = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
                .name(br.ports[m].clone())
                .index(plan.port_index[bi][m])
                .controller(plan.bridge_index[bi])
                .up();
            if let Some(mtu) = br.mtu {
                peer = peer.mtu(mtu);
                end = end.mtu(mtu);
            }
            let msg = end.set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build()))).build();
            let what = format!("creating veth {}:{} on bridge {}", topo.nodes[member.node].name, iface.name, br.name);
            let req = root.link().add(msg).execute();
            reqs.push(Box::pin(async move { req.await.map_err(classify_link_error("veth", "VETH", what)) }));
        }
    }
    try_join_all(reqs).await?;
    Ok(())
}

fn root_lo_and_bridges(topo: &Topology, plan: &Plan, root: &Handle, lo: bool) -> Vec<BoxFuture<'static, Result<()>>> {
    let mut reqs: Vec<BoxFuture<'static, Result<()>>> = Vec::new();
    if lo {
        let lo = root.link().set(LinkUnspec::new_with_index(1).up().build()).execute();
        reqs.push(Box::pin(async move { lo.await.map_err(Error::netlink("bringing up lo")) }));
    }
    for (bi, br) in topo.bridges.iter().enumerate() {
        let mut b = LinkBridge::new(&br.name).index(plan.bridge_index[bi]);
        if let Some(mtu) = br.mtu {
            b = b.mtu(mtu);
        }
        let req = root.link().add(b.build()).execute();
        let what = format!("creating bridge {}", br.name);
        reqs.push(Box::pin(async move { req.await.map_err(classify_link_error("bridge", "BRIDGE", what)) }));
    }
    reqs
}

/// Carrier events (two per veth) per batch of links brought up; the link watcher handles 100
/// to 200 per run.
const LINK_EVENTS_PER_BATCH: usize = 128;

/// Consecutive ranges of nodes whose links together stay within one batch.
fn batches(topo: &Topology) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut events) = (0, 0);
    for (n, node) in topo.nodes.iter().enumerate() {
        let e = 2 * node.interfaces.len();
        if events + e > LINK_EVENTS_PER_BATCH && n > start {
            out.push(start..n);
            (start, events) = (n, 0);
        }
        events += e;
    }
    out.push(start..topo.nodes.len());
    out
}

/// `lo` and every interface up, with their addresses, in the nodes of `batch` at once.
async fn configure(topo: &Topology, plan: &Plan, handles: &[Handle], batch: std::ops::Range<usize>) -> Result<()> {
    let mut tasks = Vec::new();
    for n in batch {
        let node = &topo.nodes[n];
        let mut steps: Vec<LinkSetup> = vec![(1, vec![], format!("{}:lo", node.name))];
        for (i, iface) in node.interfaces.iter().enumerate() {
            let addrs = iface.addrs.iter().map(|a| (a.addr(), a.prefix_len())).collect();
            steps.push((plan.iface_index[n][i], addrs, format!("{}:{}", node.name, iface.name)));
        }
        tasks.push(up_and_address(handles[n].clone(), steps));
    }
    try_join_all(tasks).await?;
    Ok(())
}

/// The bridges' own addresses.
async fn address_bridges(topo: &Topology, plan: &Plan, root: &Handle) -> Result<()> {
    let tasks = topo.bridges.iter().enumerate().filter(|(_, br)| !br.addrs.is_empty()).map(|(bi, br)| {
        let addrs = br.addrs.iter().map(|a| (a.addr(), a.prefix_len())).collect();
        up_and_address(root.clone(), vec![(plan.bridge_index[bi], addrs, format!("bridge {}", br.name))])
    });
    try_join_all(tasks).await?;
    Ok(())
}

/// A link to bring up: its index, its addresses with prefix lengths, and a name for errors.
type LinkSetup = (u32, Vec<(IpAddr, u8)>, String);

/// For each link: bring it up, then add its addresses (IPv6 without duplicate detection).
/// Sent back to back without waiting for each acknowledgement: one socket delivers them in
/// order, so each link is up before its addresses arrive.
async fn up_and_address(h: Handle, steps: Vec<LinkSetup>) -> Result<()> {
    let mut reqs: Vec<BoxFuture<'static, Result<()>>> = Vec::new();
    for (index, addrs, what) in steps {
        let up = h.link().set(LinkUnspec::new_with_index(index).up().build()).execute();
        let up_what = format!("bringing up {what}");
        reqs.push(Box::pin(async move { up.await.map_err(Error::netlink(up_what)) }));
        for (addr, prefix) in addrs {
            let mut req = h.address().add(index, addr, prefix);
            if addr.is_ipv6() {
                req.message_mut().attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
            let what = format!("adding {addr}/{prefix} to {what}");
            let req = req.execute();
            reqs.push(Box::pin(async move { req.await.map_err(Error::netlink(what)) }));
        }
    }
    try_join_all(reqs).await?;
    Ok(())
}

async fn add_routes(topo: &Topology, handles: &[Handle]) -> Result<()> {
    let mut reqs = Vec::new();
    for (n, node) in topo.nodes.iter().enumerate() {
        for r in &node.routes {
            let msg = match (r.via, r.dest) {
                (IpAddr::V4(via), dest) => {
                    let b = RouteMessageBuilder::<Ipv4Addr>::new().gateway(via);
                    match dest {
                        Some(IpNet::V4(d)) => b.destination_prefix(d.addr(), d.prefix_len()),
                        _ => b,
                    }
                    .build()
                }
                (IpAddr::V6(via), dest) => {
                    let b = RouteMessageBuilder::<Ipv6Addr>::new().gateway(via);
                    match dest {
                        Some(IpNet::V6(d)) => b.destination_prefix(d.addr(), d.prefix_len()),
                        _ => b,
                    }
                    .build()
                }
            };
            let what = format!(
                "adding route {} via {} in node `{}`",
                r.dest.map_or("default".to_string(), |d| d.to_string()),
                r.via,
                node.name
            );
            let req = handles[n].route().add(msg).execute();
            reqs.push(async move { req.await.map_err(Error::netlink(what)) });
        }
    }
    try_join_all(reqs).await?;
    Ok(())
}

/// Links to see up, per namespace.
type PendingLinks = Vec<(Handle, Vec<(u32, String)>)>;

/// The interfaces of the nodes in `batch`.
fn node_links(topo: &Topology, plan: &Plan, handles: &[Handle], batch: std::ops::Range<usize>) -> PendingLinks {
    batch
        .map(|n| {
            let node = &topo.nodes[n];
            let want = node
                .interfaces
                .iter()
                .enumerate()
                .map(|(i, f)| (plan.iface_index[n][i], format!("{}:{}", node.name, f.name)));
            (handles[n].clone(), want.collect())
        })
        .collect()
}

/// Every bridge port, and the bridges that have addresses of their own. A bridge forwards
/// between its ports whatever its own state; only its addresses need it up (and its carrier
/// event is never urgent for the link watcher: up to 1 s).
fn bridge_links(topo: &Topology, plan: &Plan, root: &Handle) -> PendingLinks {
    let mut want = Vec::new();
    for (bi, br) in topo.bridges.iter().enumerate() {
        if !br.addrs.is_empty() {
            want.push((plan.bridge_index[bi], format!("bridge {}", br.name)));
        }
        for (m, port) in br.ports.iter().enumerate() {
            want.push((plan.port_index[bi][m], format!("bridge port {port}")));
        }
    }
    vec![(root.clone(), want)]
}

/// Waits until every link is operationally up: only then has the kernel attached its queue,
/// and a packet sent before is dropped. Each round looks again only at what is still pending.
fn wait_links(rt: &tokio::runtime::Runtime, mut links: PendingLinks) -> Result<()> {
    links.retain(|(_, want)| !want.is_empty());
    poll_until(|| {
        if links.is_empty() {
            return Ok(None);
        }
        links = rt.block_on(try_join_all(std::mem::take(&mut links).into_iter().map(still_down)))?;
        links.retain(|(_, want)| !want.is_empty());
        Ok(links.first().map(|(_, want)| format!("{} is not up", want[0].1)))
    })
}

/// Waits until every IPv6 address has joined its solicited-node multicast group: before that,
/// neighbour solicitations for it are dropped and the first connect stalls for a second.
fn wait_ipv6_groups(topo: &Topology, nodes: &[NetNs]) -> Result<()> {
    // Per node: [(device, group)].
    let mut groups: Vec<(usize, Vec<(String, String)>)> = topo
        .nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let want = node.interfaces.iter().flat_map(|i| {
                i.addrs.iter().filter_map(move |a| match a.addr() {
                    IpAddr::V6(v6) => {
                        let o = v6.octets();
                        Some((
                            i.name.clone(),
                            format!("ff0200000000000000000001ff{:02x}{:02x}{:02x}", o[13], o[14], o[15]),
                        ))
                    }
                    IpAddr::V4(_) => None,
                })
            });
            (n, want.collect::<Vec<_>>())
        })
        .collect();
    poll_until(|| {
        for (n, want) in &mut groups {
            if want.is_empty() {
                continue;
            }
            let table = nodes[*n]
                .run(|| std::fs::read_to_string("/proc/thread-self/net/igmp6"))
                .and_then(|r| r)
                .map_err(Error::io("reading /proc/thread-self/net/igmp6"))?;
            want.retain(|(dev, group)| {
                !table.lines().any(|l| {
                    let mut f = l.split_whitespace();
                    f.nth(1) == Some(dev.as_str()) && f.next() == Some(group.as_str())
                })
            });
        }
        groups.retain(|(_, want)| !want.is_empty());
        Ok(groups.first().map(|(n, want)| {
            format!("{}:{} has not joined an IPv6 solicited-node group", topo.nodes[*n].name, want[0].0)
        }))
    })
}

/// Calls `pending` until it reports nothing pending, with short growing pauses, for at most
/// `READY_TIMEOUT`.
fn poll_until(mut pending: impl FnMut() -> Result<Option<String>>) -> Result<()> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(50);
    loop {
        let Some(what) = pending()? else { return Ok(()) };
        if start.elapsed() > READY_TIMEOUT {
            return Err(Error::NotReady(READY_TIMEOUT, what));
        }
        std::thread::sleep(pause);
        pause = (pause * 3 / 2).min(Duration::from_micros(500));
    }
}

/// The links of `want` that are not operationally up yet.
async fn still_down((h, want): (Handle, Vec<(u32, String)>)) -> Result<(Handle, Vec<(u32, String)>)> {
    let mut up = HashMap::new();
    let mut links = h.link().get().execute();
    while let Some(msg) = links.try_next().await.map_err(Error::netlink("listing links"))? {
        let is_up = msg.attributes.iter().any(|a| matches!(a, LinkAttribute::OperState(State::Up)));
        up.insert(msg.header.index, is_up);
    }
    let down = want.into_iter().filter(|(i, _)| !up.get(i).copied().unwrap_or(false)).collect();
    Ok((h, down))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nack(errno: i32) -> rtnetlink::Error {
        let mut m = netlink_packet_core::ErrorMessage::default();
        m.code = std::num::NonZeroI32::new(-errno);
        rtnetlink::Error::NetlinkError(m)
    }

    #[test]
    fn a_missing_link_type_names_the_kernel_option_and_the_fix() {
        let e = classify_link_error("veth", "VETH", "creating veth".into())(nack(libc::EOPNOTSUPP));
        let msg = e.to_string();
        assert!(matches!(e, Error::MissingLinkKind { kind: "veth", .. }), "{msg}");
        assert!(msg.contains("CONFIG_VETH") && msg.contains("modprobe veth"), "{msg}");
        let other = classify_link_error("veth", "VETH", "creating veth a:eth0".into())(nack(libc::EEXIST));
        assert!(matches!(other, Error::Netlink { .. }) && other.to_string().starts_with("creating veth a:eth0"));
    }

    #[test]
    fn batches_stay_within_the_link_watcher_budget() {
        let members: Vec<String> = (0..150).map(|i| format!("n{i}=10.0.{}.{}/16", i / 200, i % 200 + 1)).collect();
        let topo = Topology::parse(&format!("bridge br0 {{ {} }}", members.join(", "))).unwrap();
        let b = batches(&topo);
        assert_eq!(b.iter().map(|r| r.len()).sum::<usize>(), 150);
        assert!(b.iter().all(|r| 2 * r.len() <= LINK_EVENTS_PER_BATCH), "{b:?}");
        assert!(b.windows(2).all(|w| w[0].end == w[1].start));
    }
}
