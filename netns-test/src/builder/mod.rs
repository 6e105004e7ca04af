//! Topology → kernel, over netlink (rtnetlink), never by running `ip`.
//!
//! ```ignore
//! let Built { nodes } = builder::build(&topo, Node0::Fresh)?; // one namespace per node
//! ```
//!
//! Every node is an anonymous network namespace held by fd. Bridges live in the calling thread's
//! namespace (the test's own). Each veth is created once with both ends already in their final
//! namespaces, so no link is ever moved (a move costs 12–37 ms and flushes addresses). Interface
//! indices are chosen first ([`indices`]) so no request waits on a lookup.
//!
//! Rooms: this file orchestrates and sends; [`requests`] builds every netlink message as a plain
//! value (testable without a kernel); [`ready`] polls until links and addresses are usable;
//! [`indices`] numbers the interfaces; [`fds`] makes room for a large topology's descriptors;
//! [`trace`] times the phases.

mod fds;
mod firewall;
mod indices;
mod ready;
mod requests;
mod trace;

use crate::error::{Error, Result};
use crate::kernel::ns::{NetNs, NetSysctls};
use futures_util::future::{try_join_all, BoxFuture};
use futures_util::StreamExt;
use indices::IfIndices;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netns_test_topology::LinkId;
use netns_test_topology::Topology;
use requests::{End, NodeEnd, Request};
use rtnetlink::Handle;
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use trace::Trace;

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

impl Node0 {
    /// Whether node 0 of `topo` is built in the calling thread's namespace.
    pub(crate) fn in_place(self, topo: &Topology) -> bool {
        self == Node0::CallersIfNoBridges && topo.bridges.is_empty()
    }
}

/// Builds `topo` with bridges in the calling thread's namespace.
pub(crate) fn build(topo: &Topology, node0: Node0) -> Result<Built> {
    let mut trace = Trace::from_env();
    // A bridge takes at most 1,023 ports; validation rejects a bigger one with its spot in the
    // text (`Topology::parse` is the only way to make a model). Were it reached anyway (a model
    // edited through its public fields), the kernel would refuse the 1,024th port with EXFULL.
    debug_assert!(
        topo.bridges.iter().all(|b| b.members.len() <= netns_test_topology::Bridge::MAX_MEMBERS),
        "a bridge beyond the kernel's port limit got past validation"
    );
    fds::ensure(fds::needed(topo.nodes.len()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(Error::io("starting the netlink runtime"))?;
    let _enter = rt.enter();

    let here = NetNs::current().map_err(Error::io("opening this thread's namespace"))?;
    // The bridges (and node 0, when it lives here) come up after this.
    let here_sysctls = NetSysctls::here().map_err(Error::io("setting sysctls in the bridges' namespace"))?;
    no_dad(&here_sysctls).map_err(Error::io("setting sysctls in the bridges' namespace"))?;
    let in_place = node0.in_place(topo);
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
    let ix = IfIndices::new(topo, rt.block_on(highest_index(&root))? + 1);
    let timeout = ready::timeout(topo.nodes.len());
    rt.block_on(execute_all(&root, root_lo_and_bridges(topo, &ix, !in_place)))?;
    rt.block_on(execute_all(&root, veths(topo, &ix, &nodes)))?;
    trace.mark("links");
    // Links come up in batches: both ends of each link of a batch, then the batch is waited
    // for (a veth end is operationally up only once its peer is up too, so a batch is a set of
    // links, never of nodes). The kernel's link watcher, which must see a link before it passes
    // packets, handles a bounded number of carrier events per run and defers the rest by up to
    // a second per run; batches within that budget are handled at once. Each batch waits for
    // its links' node ends (small per-node listings); the bridge ports, whose events went
    // through the same link-watcher runs, are checked once at the end (one listing of the
    // test's namespace, not one per batch).
    let mut lo_up = vec![false; topo.nodes.len()];
    for batch in link_batches(topo) {
        let configure = links_up(topo, &ix, &batch, &mut lo_up);
        rt.block_on(try_join_all(configure.into_iter().map(|(n, reqs)| execute_all(&handles[n], reqs))))?;
        ready::wait_links(&rt, ready::link_ends(topo, &ix, &handles, &root, &batch), timeout)?;
    }
    rt.block_on(execute_all(&root, bridge_addresses(topo, &ix)))?;
    trace.mark("addresses");
    let routes = handles.iter().enumerate().map(|(n, h)| execute_all(h, routes(topo, n)));
    rt.block_on(try_join_all(routes))?;
    trace.mark("routes");
    firewall::install(topo, &nodes)?;
    trace.mark("firewall");

    if in_place {
        // This thread is in node 0, whose duplicate address detection is off already (above).
        node_only_sysctls(&here_sysctls, &topo.nodes[0])
            .map_err(Error::io(format!("setting sysctls in node `{}`", topo.nodes[0].name)))?;
    }
    ready::wait_bridges(&rt, topo, &ix, &handles, &root, timeout)?;
    ready::wait_ipv6(&rt, topo, &ix, &handles, &root, timeout)?;
    trace.mark("ready");
    trace.report(topo);
    Ok(Built { nodes })
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

/// No duplicate address detection for IPv6 addresses of links brought up from now on, the
/// kernel's `fe80::` ones included (they would stay tentative, unusable, for 1-2 s): every
/// address here is unique by construction. Nothing to do on a kernel without IPv6.
fn no_dad(net: &NetSysctls) -> std::io::Result<()> {
    net.ipv6("conf/all/accept_dad", "0")?;
    net.ipv6("conf/default/accept_dad", "0")
}

/// A node's sysctls, written from inside its namespace.
fn node_sysctls(node: &netns_test_topology::Node) -> std::io::Result<()> {
    let net = NetSysctls::here()?;
    no_dad(&net)?;
    node_only_sysctls(&net, node)
}

/// What [`node_sysctls`] sets besides [`no_dad`].
fn node_only_sysctls(net: &NetSysctls, node: &netns_test_topology::Node) -> std::io::Result<()> {
    // ICMP echo ("ping") sockets for the namespace's root (gid 0).
    net.ipv4("ping_group_range", "0 0")?;
    if node.forward {
        net.ipv4("ip_forward", "1")?;
        net.ipv6("conf/all/forwarding", "1")?;
    }
    Ok(())
}

/// A netlink handle bound to the calling thread's current namespace.
fn connect() -> Result<Handle> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(Error::io("opening a netlink socket"))?;
    tokio::spawn(conn);
    Ok(handle)
}

/// The highest interface index in use in `h`'s namespace: 1 in a fresh one, more when a
/// topology is built from inside a node that has links (`Net::build` in a test body).
async fn highest_index(h: &Handle) -> Result<u32> {
    let mut links = h.link().get().execute();
    let mut highest = 1;
    while let Some(msg) =
        futures_util::TryStreamExt::try_next(&mut links).await.map_err(Error::netlink("listing links"))?
    {
        highest = highest.max(msg.header.index);
    }
    Ok(highest)
}

/// Sends `req` at once and returns its acknowledgement. Requests sent on one handle reach the
/// kernel in the order they were sent, so a link's `up` precedes its addresses without waiting.
fn execute(h: &Handle, req: Request) -> BoxFuture<'static, Result<()>> {
    let Request { message, flags, what, link_kind } = req;
    let mut msg = NetlinkMessage::from(message);
    msg.header.flags = flags;
    let response = h.clone().request(msg);
    Box::pin(async move {
        let acked = async {
            let mut response = response?;
            while let Some(m) = response.next().await {
                if let NetlinkPayload::Error(e) = m.payload {
                    return Err(rtnetlink::Error::NetlinkError(e));
                }
            }
            Ok(())
        };
        acked.await.map_err(refusal(what, link_kind))
    })
}

/// The error for a refused request: a missing link type names the kernel option and the fix.
fn refusal(what: String, link_kind: Option<(&'static str, &'static str)>) -> impl FnOnce(rtnetlink::Error) -> Error {
    move |e| match (&e, link_kind) {
        (rtnetlink::Error::NetlinkError(m), Some((kind, config))) if m.raw_code() == -libc::EOPNOTSUPP => {
            Error::MissingLinkKind { kind, config, source: e }
        }
        _ => Error::Netlink { what, source: e },
    }
}

/// Sends every request on `h` back to back and waits for all acknowledgements.
async fn execute_all(h: &Handle, reqs: Vec<Request>) -> Result<()> {
    try_join_all(reqs.into_iter().map(|r| execute(h, r))).await?;
    Ok(())
}

/// `lo` of the requesting namespace (when it is a node's), then every bridge.
fn root_lo_and_bridges(topo: &Topology, ix: &IfIndices, lo: bool) -> Vec<Request> {
    let lo = lo.then(|| requests::link_up(1, "lo"));
    let bridges = (topo.bridges.iter().enumerate()).map(|(bi, br)| requests::bridge(&br.name, ix.bridge(bi), br.mtu));
    lo.into_iter().chain(bridges).collect()
}

/// Every veth, created in place: one per link between two nodes, one per bridge member.
fn veths(topo: &Topology, ix: &IfIndices, nodes: &[NetNs]) -> Vec<Request> {
    let node_end = |r: netns_test_topology::IfaceRef| NodeEnd {
        name: &topo.iface(r).name,
        index: ix.iface(r),
        ns: nodes[r.node].as_raw_fd(),
    };
    let mut reqs = Vec::new();
    for (l, link) in topo.links.iter().enumerate() {
        let (a, b) = (node_end(link.a), node_end(link.b));
        let what = format!(
            "creating veth {}:{} -- {}:{} (link {l})",
            topo.nodes[link.a.node].name, a.name, topo.nodes[link.b.node].name, b.name
        );
        reqs.push(requests::veth(End::Node(a), b, link.mtu, what));
    }
    for (bi, br) in topo.bridges.iter().enumerate() {
        for (m, &member) in br.members.iter().enumerate() {
            let port = End::BridgePort { name: &br.ports[m], index: ix.port(bi, m), bridge: ix.bridge(bi) };
            let peer = node_end(member);
            let what = format!("creating veth {}:{} on bridge {}", topo.nodes[member.node].name, peer.name, br.name);
            reqs.push(requests::veth(port, peer, br.mtu, what));
        }
    }
    reqs
}

/// Carrier events per batch of links brought up: two per link (one per end, a bridge port's
/// included); the link watcher handles 100 to 200 per run.
const LINK_EVENTS_PER_BATCH: usize = 128;

/// Every link (veths in declaration order, then bridge members), in batches of at most
/// [`LINK_EVENTS_PER_BATCH`] carrier events.
fn link_batches(topo: &Topology) -> Vec<Vec<LinkId>> {
    topo.link_ids().collect::<Vec<_>>().chunks(LINK_EVENTS_PER_BATCH / 2).map(<[LinkId]>::to_vec).collect()
}

/// Per node with an end in `batch`: its `lo` up the first time (`lo_up` remembers), then each
/// of its ends up, each followed by its addresses.
fn links_up(topo: &Topology, ix: &IfIndices, batch: &[LinkId], lo_up: &mut [bool]) -> BTreeMap<usize, Vec<Request>> {
    let mut reqs: BTreeMap<usize, Vec<Request>> = BTreeMap::new();
    let ends = batch.iter().flat_map(|&id| match id {
        LinkId::Veth(l) => vec![topo.links[l].a, topo.links[l].b],
        LinkId::Member(b, m) => vec![topo.bridges[b].members[m]],
    });
    for end in ends {
        let node = &topo.nodes[end.node];
        let node_reqs = reqs.entry(end.node).or_default();
        if !std::mem::replace(&mut lo_up[end.node], true) {
            node_reqs.push(requests::link_up(1, &format!("{}:lo", node.name)));
        }
        let (iface, index) = (topo.iface(end), ix.iface(end));
        let what = format!("{}:{}", node.name, iface.name);
        node_reqs.push(requests::link_up(index, &what));
        node_reqs.extend(iface.addrs.iter().map(|a| requests::address(index, a.addr(), a.prefix_len(), &what)));
    }
    reqs
}

/// The bridges that have addresses: up, then their addresses.
fn bridge_addresses(topo: &Topology, ix: &IfIndices) -> Vec<Request> {
    let mut reqs = Vec::new();
    for (bi, br) in topo.bridges.iter().enumerate().filter(|(_, br)| !br.addrs.is_empty()) {
        let what = format!("bridge {}", br.name);
        reqs.push(requests::link_up(ix.bridge(bi), &what));
        reqs.extend(br.addrs.iter().map(|a| requests::address(ix.bridge(bi), a.addr(), a.prefix_len(), &what)));
    }
    reqs
}

/// Node `n`'s routes.
fn routes(topo: &Topology, n: usize) -> Vec<Request> {
    let node = &topo.nodes[n];
    node.routes.iter().map(|r| requests::route(r.dest, r.via, &node.name)).collect()
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
        let e = refusal("creating veth".into(), Some(("veth", "VETH")))(nack(libc::EOPNOTSUPP));
        let msg = e.to_string();
        assert!(matches!(e, Error::MissingLinkKind { kind: "veth", .. }), "{msg}");
        assert!(msg.contains("CONFIG_VETH") && msg.contains("modprobe veth"), "{msg}");
        let other = refusal("creating veth a:eth0".into(), Some(("veth", "VETH")))(nack(libc::EEXIST));
        assert!(matches!(other, Error::Netlink { .. }) && other.to_string().starts_with("creating veth a:eth0"));
        let no_kind = refusal("adding 10.0.0.1/24 to a:eth0".into(), None)(nack(libc::EOPNOTSUPP));
        assert!(matches!(no_kind, Error::Netlink { .. }), "{no_kind}");
    }

    #[test]
    fn batches_are_of_links_within_the_link_watcher_budget() {
        let members: Vec<String> = (0..150).map(|i| format!("n{i}=10.0.{}.{}/16", i / 200, i % 200 + 1)).collect();
        let chains: Vec<String> = (0..40).map(|i| format!("x{i} -- y{i}\ny{i} -- z{i}")).collect();
        let topo = Topology::parse(&format!("bridge br0 {{ {} }}\n{}", members.join(", "), chains.join("\n"))).unwrap();
        let b = link_batches(&topo);
        assert_eq!(b.concat(), topo.link_ids().collect::<Vec<_>>(), "every link once, in order");
        assert!(b.iter().all(|batch| 2 * batch.len() <= LINK_EVENTS_PER_BATCH), "{b:?}");
    }

    #[test]
    fn both_ends_of_every_link_come_up_in_the_same_batch_whatever_the_declaration_order() {
        // x_i, then every y_i, then every z_i: the chains' ends are far apart in node order.
        let xy: Vec<String> = (0..100).map(|i| format!("x{i} -- y{i}")).collect();
        let yz: Vec<String> = (0..100).map(|i| format!("y{i} -- z{i}")).collect();
        let topo = Topology::parse(&format!("{}\n{}", xy.join("\n"), yz.join("\n"))).unwrap();
        let ix = IfIndices::new(&topo, 2);
        let mut lo_up = vec![false; topo.nodes.len()];
        for batch in link_batches(&topo) {
            let up: Vec<u32> = (links_up(&topo, &ix, &batch, &mut lo_up).into_values().flatten())
                .filter_map(|r| match r.message {
                    netlink_packet_route::RouteNetlinkMessage::SetLink(m) if m.header.index != 1 => {
                        Some(m.header.index)
                    }
                    _ => None,
                })
                .collect();
            for id in &batch {
                let LinkId::Veth(l) = *id else { unreachable!() };
                let (a, b) = (ix.iface(topo.links[l].a), ix.iface(topo.links[l].b));
                assert!(up.contains(&a) && up.contains(&b), "link {l}: ends {a}, {b} not both brought up in its batch");
            }
        }
        assert!(lo_up.iter().all(|&u| u), "every node's lo comes up");
    }

    #[test]
    fn a_node_brings_lo_then_each_interface_up_before_its_addresses() {
        let topo = Topology::parse("a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24").unwrap();
        let ix = IfIndices::new(&topo, 2);
        let mut lo_up = vec![false; 2];
        let mut reqs = links_up(&topo, &ix, &[LinkId::Veth(0)], &mut lo_up);
        let what: Vec<String> = reqs.remove(&0).unwrap().into_iter().map(|r| r.what).collect();
        assert_eq!(
            what,
            ["bringing up a:lo", "bringing up a:eth0", "adding 10.0.0.1/24 to a:eth0", "adding fd00::1/64 to a:eth0"]
        );
        let again = links_up(&topo, &ix, &[LinkId::Veth(0)], &mut lo_up);
        assert!(again[&0].iter().all(|r| r.what != "bringing up a:lo"), "lo only once");
    }

    #[test]
    fn one_veth_per_link_and_per_bridge_member_each_written_by_the_same_builder() {
        let topo = Topology::parse("bridge br0 { a=10.0.0.1/24, b=10.0.0.2/24 }\n a -- c").unwrap();
        let ix = IfIndices::new(&topo, 2);
        let ns: Vec<NetNs> = (0..topo.nodes.len()).map(|_| NetNs::current().unwrap()).collect();
        let reqs = veths(&topo, &ix, &ns);
        assert_eq!(reqs.len(), 3);
        assert!(reqs.iter().all(|r| r.link_kind == Some(("veth", "VETH"))));
        assert!(reqs[0].what.starts_with("creating veth a:") && reqs[0].what.contains("-- c:"), "{}", reqs[0].what);
        assert_eq!(reqs[1].what, "creating veth a:eth0 on bridge br0");
        let bridges = root_lo_and_bridges(&topo, &ix, true);
        assert_eq!(
            bridges.iter().map(|r| r.what.as_str()).collect::<Vec<_>>(),
            ["bringing up lo", "creating bridge br0"]
        );
    }
}
