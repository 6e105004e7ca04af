//! The state of a built network that changes while the test runs: each node's routes and
//! addresses as they are now, each link's conditions, and netlink requests made at run time.
//!
//! The framework keeps this so it can put things back: a link that goes down takes its
//! routes (and IPv6 addresses) with it in the kernel, and `up()` restores them from here
//! (what is in place now is read from the kernel each time).

use crate::builder;
use crate::conditions::{forwarder::Forwarder, ConditionPath};
use crate::error::{Error, Result};
use crate::kernel::ns::NetNs;
use futures_util::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{RouteHeader, RouteMessage};
use netns_test_topology::{Conditions, Topology};
use rtnetlink::{Handle, LinkUnspec};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(crate) use crate::builder::route_message;

/// A route the framework keeps: `dest` (`None`: default) via `via`.
pub(crate) type RouteSpec = (Option<IpNet>, IpAddr);

/// Which link: `Topology::links[i]`, or member `m` of bridge `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum LinkId {
    Veth(usize),
    Member(usize, usize),
}

/// Where a namespace is: a node's, or the test's own (bridges and their ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Place {
    Node(usize),
    Root,
}

/// One end of a link: its namespace, its interface name, and the node interface it is (ports
/// are not node interfaces).
#[derive(Debug, Clone)]
pub(crate) struct End {
    pub place: Place,
    pub name: String,
    pub iface: Option<(usize, usize)>,
}

/// What the framework knows of one link now.
#[derive(Debug, Default)]
pub(crate) struct LinkState {
    pub conditions: Conditions,
    pub path: ConditionPath,
    pub forwarder: Option<Forwarder>,
}

#[derive(Debug)]
pub(crate) struct State {
    /// Per node: the routes it should have (declared, plus added, minus deleted): in the
    /// kernel, or *suspended* (their link is down, or `up()` found their destination taken).
    pub routes: Vec<Vec<RouteSpec>>,
    /// Per node, per interface: the addresses in place.
    pub addrs: Vec<Vec<Vec<IpNet>>>,
    pub links: HashMap<LinkId, LinkState>,
    /// The namespace of the userspace forwarders' interfaces, made on first use.
    pub forwarder_ns: Option<NetNs>,
    /// Names the next forwarder's interfaces (`fw0x`, `fw0y`, ...).
    pub next_forwarder: u32,
}

/// Shared by a `Net` and its nodes.
#[derive(Debug)]
pub(crate) struct Live {
    /// The namespace the topology was built from: bridges and their ports live there.
    pub root: std::sync::Arc<NetNs>,
    pub nodes: Vec<std::sync::Arc<NetNs>>,
    state: Mutex<State>,
}

impl Live {
    pub(crate) fn new(topo: &Topology, root: std::sync::Arc<NetNs>, nodes: Vec<std::sync::Arc<NetNs>>) -> Live {
        let state = State {
            routes: topo.nodes.iter().map(|n| n.routes.iter().map(|r| (r.dest, r.via)).collect()).collect(),
            addrs: topo.nodes.iter().map(|n| n.interfaces.iter().map(|i| i.addrs.clone()).collect()).collect(),
            links: HashMap::new(),
            forwarder_ns: None,
            next_forwarder: 0,
        };
        Live { root, nodes, state: Mutex::new(state) }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state if it can be had within `wait` (the failure dump must not wait on a body
    /// stuck while holding it).
    pub(crate) fn try_lock_for(&self, wait: Duration) -> Option<MutexGuard<'_, State>> {
        let start = Instant::now();
        loop {
            match self.state.try_lock() {
                Ok(st) => return Some(st),
                Err(std::sync::TryLockError::Poisoned(p)) => return Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(std::sync::TryLockError::WouldBlock) => return None,
            }
        }
    }

    pub(crate) fn ns(&self, place: Place) -> &NetNs {
        match place {
            Place::Node(n) => &self.nodes[n],
            Place::Root => &self.root,
        }
    }
}

/// The two ends of a link.
pub(crate) fn ends(topo: &Topology, id: LinkId) -> [End; 2] {
    let node_end = |r: netns_test_topology::IfaceRef| End {
        place: Place::Node(r.node),
        name: topo.iface(r).name.clone(),
        iface: Some((r.node, r.iface)),
    };
    match id {
        LinkId::Veth(l) => [node_end(topo.links[l].a), node_end(topo.links[l].b)],
        LinkId::Member(b, m) => {
            let br = &topo.bridges[b];
            [node_end(br.members[m]), End { place: Place::Root, name: br.ports[m].clone(), iface: None }]
        }
    }
}

/// `a:eth0`, or `bridge port b0p1`, for messages.
pub(crate) fn end_name(topo: &Topology, end: &End) -> String {
    match end.iface {
        Some((n, _)) => format!("{}:{}", topo.nodes[n].name, end.name),
        None => format!("bridge port {}", end.name),
    }
}

/// `a:eth0 -- b:eth0` or `h1:eth0 -- br0`, for messages.
pub(crate) fn describe(topo: &Topology, id: LinkId) -> String {
    let end = |r: netns_test_topology::IfaceRef| format!("{}:{}", topo.nodes[r.node].name, topo.iface(r).name);
    match id {
        LinkId::Veth(l) => format!("{} -- {}", end(topo.links[l].a), end(topo.links[l].b)),
        LinkId::Member(b, m) => format!("{} -- {}", end(topo.bridges[b].members[m]), topo.bridges[b].name),
    }
}

/// Runs `f` with one netlink handle per namespace of `nss`, on a short-lived thread with its
/// own runtime: callers may be inside a tokio runtime already, or in any namespace.
pub(crate) fn netlink<R, Fut>(nss: &[&NetNs], f: impl FnOnce(Vec<Handle>) -> Fut + Send) -> Result<R>
where
    R: Send,
    Fut: Future<Output = Result<R>>,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(Error::io("starting a netlink runtime"))?;
            let _enter = rt.enter();
            let mut handles = Vec::with_capacity(nss.len());
            for ns in nss {
                ns.enter().map_err(Error::io("entering a namespace"))?;
                // The socket stays in the namespace it was made in.
                let (conn, h, _) = rtnetlink::new_connection().map_err(Error::io("opening a netlink socket"))?;
                tokio::spawn(conn);
                handles.push(h);
            }
            rt.block_on(f(handles))
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// The link called `name` in `h`'s namespace.
pub(crate) async fn link_by_name(h: &Handle, name: &str) -> Result<LinkMessage> {
    let mut links = h.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(Error::Runtime(format!("no interface `{name}`"))),
        Err(e) => Err(Error::netlink(format!("looking up interface `{name}`"))(e)),
    }
}

/// IPv6's minimum link MTU (RFC 8200). The kernel gives a link below it no IPv6 at all: no
/// `net/ipv6/conf/<link>`, no link-local address, no IPv6 address, and makes it all afresh
/// (from `conf/default`) when the MTU rises to it again.
pub(crate) const IPV6_MIN_MTU: u32 = 1280;

/// The MTU of a link as the kernel has it.
pub(crate) fn link_mtu(m: &LinkMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Mtu(m) => Some(*m),
        _ => None,
    })
}

/// No duplicate detection for the link-local address the kernel makes when `name` comes up
/// (1–2 s during which neighbour discovery through it stalls); written in its namespace.
/// Nothing to do for a link whose MTU is below [`IPV6_MIN_MTU`]: it has no IPv6 to detect
/// duplicates on, nor the sysctl (and if its MTU rises later, its new conf comes from
/// `conf/default`, 0 in every node); nor on a kernel without IPv6. Any other failure is an
/// error.
pub(crate) fn no_dad(ns: &NetNs, name: &str, mtu: u32) -> Result<()> {
    if mtu < IPV6_MIN_MTU {
        return Ok(());
    }
    ns.run(|| crate::kernel::ns::NetSysctls::here()?.ipv6(&format!("conf/{name}/accept_dad"), "0"))
        .and_then(|r| r)
        .map_err(Error::io(format!("turning off duplicate address detection on {name} (mtu {mtu})")))
}

pub(crate) async fn set_up(h: &Handle, index: u32, up: bool, what: &str) -> Result<()> {
    let msg = if up { LinkUnspec::new_with_index(index).up() } else { LinkUnspec::new_with_index(index).down() };
    let verb = if up { "bringing up" } else { "taking down" };
    h.link().set(msg.build()).execute().await.map_err(Error::netlink(format!("{verb} {what}")))
}

fn exists(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -libc::EEXIST)
}

/// Adds `addrs` to `index`; those already there are fine. IPv6 ones without `IFA_F_NODAD`, as at
/// build time (see `builder::requests::address`): duplicate detection is off, and "not
/// tentative" then means the solicited-node group is joined.
pub(crate) async fn add_addrs(h: &Handle, index: u32, addrs: &[IpNet], what: &str) -> Result<()> {
    for a in addrs {
        let req = h.address().add(index, a.addr(), a.prefix_len());
        match req.execute().await {
            Err(e) if !exists(&e) => return Err(Error::netlink(format!("adding {a} to {what}"))(e)),
            _ => {}
        }
    }
    Ok(())
}

/// `10.2.0.0/24 via 10.1.0.1`, `default via fd00::1`.
pub(crate) fn show_route((dest, via): RouteSpec) -> String {
    format!("{} via {via}", dest.map_or_else(|| "default".to_string(), |d| d.to_string()))
}

/// A route of a node's main table as the kernel has it: a route that is *in place*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelRoute {
    pub v4: bool,
    /// `None`: default.
    pub dest: Option<IpNet>,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    /// The message as dumped, for putting it back.
    pub msg: RouteMessage,
}

impl KernelRoute {
    /// Whether it goes where `r` goes: same family, same destination.
    pub(crate) fn same_dest(&self, r: RouteSpec) -> bool {
        self.v4 == r.1.is_ipv4() && self.dest == r.0.filter(|d| d.prefix_len() > 0)
    }

    /// Whether it is `r`.
    pub(crate) fn is(&self, r: RouteSpec) -> bool {
        self.same_dest(r) && self.via == Some(r.1)
    }

    /// A dumped route of the main table (`None`: another table, or not IPv4 or IPv6).
    pub(crate) fn from_message(msg: RouteMessage) -> Option<KernelRoute> {
        use netlink_packet_route::route::{RouteAddress, RouteAttribute};
        use netlink_packet_route::AddressFamily;
        let ip = |a: &RouteAddress| match a {
            RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
            RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
            _ => None,
        };
        let v4 = match msg.header.address_family {
            AddressFamily::Inet => true,
            AddressFamily::Inet6 => false,
            _ => return None,
        };
        let (mut table, mut dest, mut via, mut oif) = (u32::from(msg.header.table), None, None, None);
        for a in &msg.attributes {
            match a {
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Destination(d) => dest = ip(d),
                RouteAttribute::Gateway(g) => via = ip(g),
                RouteAttribute::Oif(i) => oif = Some(*i),
                _ => {}
            }
        }
        if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
            return None;
        }
        let dest = match dest {
            Some(d) if msg.header.destination_prefix_length > 0 => {
                Some(IpNet::new(d, msg.header.destination_prefix_length).ok()?)
            }
            _ => None,
        };
        Some(KernelRoute { v4, dest, via, oif, msg })
    }

    /// `10.2.0.0/24 via 10.1.0.1`, `default via fd00::1`, `10.2.0.0/24 (no gateway)`.
    pub(crate) fn show(&self) -> String {
        let dest = self.dest.map_or_else(|| "default".to_string(), |d| d.to_string());
        match self.via {
            Some(via) => format!("{dest} via {via}"),
            None => format!("{dest} (no gateway)"),
        }
    }
}

/// The routes of the main table of `h`'s namespace, both families.
pub(crate) async fn kernel_routes(h: &Handle) -> Result<Vec<KernelRoute>> {
    let dump = h.route().get(RouteMessage::default()).execute();
    let msgs: Vec<RouteMessage> = dump.try_collect().await.map_err(Error::netlink("reading the routes"))?;
    Ok(msgs.into_iter().filter_map(KernelRoute::from_message).collect())
}

/// A route `up()` could not put back, and why: the routes to its destination in its place, or
/// the kernel's refusal.
#[derive(Debug)]
pub(crate) struct Unrestored {
    pub route: RouteSpec,
    pub in_its_place: Vec<KernelRoute>,
    pub refused: Option<rtnetlink::Error>,
}

/// Puts back those of `routes` that are not in place (the node's suspended routes whose link
/// came back); one in place already, identical, is fine. Returns those it could not put back.
pub(crate) async fn restore_routes(h: &Handle, routes: &[RouteSpec]) -> Result<Vec<Unrestored>> {
    let mut now = kernel_routes(h).await?;
    let mut failed = Vec::new();
    for &r in routes {
        if now.iter().any(|k| k.is(r)) {
            continue;
        }
        match h.route().add(route_message(r.0, r.1)).execute().await {
            Ok(()) => {}
            Err(e) => {
                now = kernel_routes(h).await?;
                let in_its_place: Vec<KernelRoute> = now.iter().filter(|k| k.same_dest(r)).cloned().collect();
                // EEXIST: another route holds the destination (or, raced, this very one).
                let refused = (!exists(&e) || in_its_place.is_empty()).then_some(e);
                if !in_its_place.iter().any(|k| k.is(r)) {
                    failed.push(Unrestored { route: r, in_its_place, refused });
                }
            }
        }
    }
    Ok(failed)
}

/// Waits until the link ends of `links` (in `h`'s namespace) are operationally up, and every
/// IPv6 address of `v6` is usable (see [`crate::kernel::ipv6::unsettled`], read in `ns`), for up to 10 s.
pub(crate) async fn wait_ready(
    h: &Handle,
    links: &[builder::LinkWant],
    ns: &NetNs,
    v6: &[(String, Ipv6Addr)],
) -> Result<()> {
    wait_ready_within(h, links, ns, v6, Duration::from_secs(10)).await
}

/// [`wait_ready`] for at most `timeout`.
pub(crate) async fn wait_ready_within(
    h: &Handle,
    links: &[builder::LinkWant],
    ns: &NetNs,
    v6: &[(String, Ipv6Addr)],
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    loop {
        let (_, down) = builder::still_down((h.clone(), links.to_vec())).await?;
        let missing = ns
            .run(|| crate::kernel::ipv6::unsettled(v6.to_vec()))
            .and_then(|r| r)
            .map_err(Error::io("reading /proc/thread-self/net/if_inet6"))?;
        if down.is_empty() && missing.is_empty() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            if !down.is_empty() {
                return Err(builder::not_up(vec![(h.clone(), down)], timeout).await);
            }
            let (dev, a) = &missing[0];
            return Err(Error::NotReady(timeout, format!("{dev}: {a} is not usable yet")));
        }
        tokio::time::sleep(Duration::from_micros(300)).await;
    }
}
