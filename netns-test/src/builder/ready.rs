//! Readiness: polling until links are operationally up and IPv6 addresses usable, so the test
//! body's first packet is not dropped or stalled.
//!
//! ```ignore
//! let t = timeout(topo.nodes.len());
//! for batch in link_batches(topo) {
//!     // both ends of each link of the batch brought up, then:
//!     wait_links(&rt, link_ends(topo, &ix, &handles, &root, &batch), t)?;
//! }
//! wait_bridges(&rt, topo, &ix, &handles, &root, t)?;
//! wait_ipv6(&rt, topo, &ix, &handles, &root, t)?;
//! ```

use super::indices::IfIndices;
use crate::error::{Error, Result};
use crate::live::{describe, LinkId, IPV6_MIN_MTU};
use futures_util::future::try_join_all;
use futures_util::TryStreamExt;
use netlink_packet_route::link::{LinkAttribute, State};
use netns_test_topology::{IfaceRef, Topology};
use rtnetlink::Handle;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// How long links and IPv6 addresses of a topology of `nodes` nodes may take to become usable:
/// 10 s, plus 10 ms per node. The wait is mostly for the kernel's rtnl lock, which the
/// teardown of an earlier topology holds for a time that grows with its size (seconds for
/// 1,000 nodes on a busy machine), and test suites tend to build topologies of one size.
pub(super) fn timeout(nodes: usize) -> Duration {
    Duration::from_secs(10) + Duration::from_millis(10 * nodes as u64)
}

/// One link end to see operationally up, and what to say of it should it not come up.
#[derive(Clone)]
pub(crate) struct LinkWant {
    pub(crate) index: u32,
    /// This end: `a:eth0`, `bridge port b0p1`, `bridge br0`.
    pub(crate) name: String,
    /// The link it belongs to: `a:eth0 -- b:eth0`, `h1:eth0 -- br0`.
    pub(crate) link: String,
    /// The other end, whose state a timeout reports: its namespace's handle, index and name
    /// (`None` for a bridge, whose carrier follows its ports).
    pub(crate) peer: Option<(Handle, u32, String)>,
}

/// Links to see up, per namespace: the handle to ask, and that namespace's ends.
pub(super) type PendingLinks = Vec<(Handle, Vec<LinkWant>)>;

/// Both ends of every link in `batch`, which the builder has just brought up (a veth end is
/// operationally up only once both ends are): per node, its own ends (bridge ports are waited
/// for once, at the end, by [`wait_bridges`]).
pub(super) fn link_ends(
    topo: &Topology,
    ix: &IfIndices,
    handles: &[Handle],
    root: &Handle,
    batch: &[LinkId],
) -> PendingLinks {
    let mut per_node: BTreeMap<usize, Vec<LinkWant>> = BTreeMap::new();
    let name = |r: IfaceRef| format!("{}:{}", topo.nodes[r.node].name, topo.iface(r).name);
    for &id in batch {
        let link = describe(topo, id);
        let ends = match id {
            LinkId::Veth(l) => {
                let (a, b) = (topo.links[l].a, topo.links[l].b);
                let peer_of = |r: IfaceRef| (handles[r.node].clone(), ix.iface(r), name(r));
                vec![(a, Some(peer_of(b))), (b, Some(peer_of(a)))]
            }
            LinkId::Member(b, m) => {
                let port = (root.clone(), ix.port(b, m), format!("bridge port {}", topo.bridges[b].ports[m]));
                vec![(topo.bridges[b].members[m], Some(port))]
            }
        };
        for (end, peer) in ends {
            let want = LinkWant { index: ix.iface(end), name: name(end), link: link.clone(), peer };
            per_node.entry(end.node).or_default().push(want);
        }
    }
    per_node.into_iter().map(|(n, want)| (handles[n].clone(), want)).collect()
}

/// Every bridge and bridge port.
fn bridge_links(topo: &Topology, ix: &IfIndices, handles: &[Handle], root: &Handle) -> PendingLinks {
    let mut want = Vec::new();
    for (bi, br) in topo.bridges.iter().enumerate() {
        let name = format!("bridge {}", br.name);
        want.push(LinkWant { index: ix.bridge(bi), name: name.clone(), link: name, peer: None });
        for (m, port) in br.ports.iter().enumerate() {
            let member = br.members[m];
            let member_name = format!("{}:{}", topo.nodes[member.node].name, topo.iface(member).name);
            want.push(LinkWant {
                index: ix.port(bi, m),
                name: format!("bridge port {port}"),
                link: describe(topo, LinkId::Member(bi, m)),
                peer: Some((handles[member.node].clone(), ix.iface(member), member_name)),
            });
        }
    }
    vec![(root.clone(), want)]
}

/// Waits until every link is operationally up: only then has the kernel attached its queue,
/// and a packet sent before is dropped. Each round looks again only at what is still pending.
pub(super) fn wait_links(rt: &tokio::runtime::Runtime, links: PendingLinks, timeout: Duration) -> Result<()> {
    wait_links_with(rt, links, timeout, || {})
}

/// [`wait_links`] for the bridges and their ports (in the calling thread's namespace). A
/// bridge's carrier change is not urgent to the kernel's link watcher, which applies it up to a
/// second after its previous run anywhere on the machine (a test suite builds topologies back
/// to back: every bridge topology waited ~1 s). Asking for the bridge's link state the way
/// `ethtool` does applies its pending change at once (`ethtool_op_get_link` →
/// `linkwatch_sync_dev`), so each round asks first.
pub(super) fn wait_bridges(
    rt: &tokio::runtime::Runtime,
    topo: &Topology,
    ix: &IfIndices,
    handles: &[Handle],
    root: &Handle,
    timeout: Duration,
) -> Result<()> {
    wait_links_with(rt, bridge_links(topo, ix, handles, root), timeout, || {
        for br in &topo.bridges {
            sync_link_state(&br.name);
        }
    })
}

/// `ETHTOOL_GLINK` on `name` in the calling thread's namespace: the kernel applies the link's
/// pending carrier and operational state first. Best effort: where it is refused, the wait is
/// only slower.
fn sync_link_state(name: &str) {
    const SIOCETHTOOL: libc::c_ulong = 0x8946;
    const ETHTOOL_GLINK: u32 = 0x0000_000a;
    #[repr(C)]
    struct EthtoolValue {
        cmd: u32,
        data: u32,
    }
    let mut value = EthtoolValue { cmd: ETHTOOL_GLINK, data: 0 };
    // SAFETY: a zeroed ifreq with a NUL-terminated name (at most 15 bytes, as validated) and a
    // pointer to a live ethtool_value, on a socket we own and close.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return;
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (d, b) in ifr.ifr_name.iter_mut().take(libc::IFNAMSIZ - 1).zip(name.bytes()) {
            *d = b as libc::c_char;
        }
        ifr.ifr_ifru.ifru_data = (&mut value as *mut EthtoolValue).cast();
        libc::ioctl(fd, SIOCETHTOOL as _, &mut ifr);
        libc::close(fd);
    }
}

fn wait_links_with(
    rt: &tokio::runtime::Runtime,
    mut links: PendingLinks,
    timeout: Duration,
    mut before_round: impl FnMut(),
) -> Result<()> {
    links.retain(|(_, want)| !want.is_empty());
    let done = poll_until(timeout, || {
        if links.is_empty() {
            return Ok(true);
        }
        before_round();
        links = rt.block_on(try_join_all(std::mem::take(&mut links).into_iter().map(still_down)))?;
        links.retain(|(_, want)| !want.is_empty());
        Ok(links.is_empty())
    })?;
    if done {
        return Ok(());
    }
    Err(rt.block_on(not_up(links, timeout)))
}

/// Above this many pending links, a round first asks for one of them alone and lists the whole
/// namespace only once that one is up: a listing costs about 5 µs of kernel time per link there
/// (every attribute and statistic of every link), so re-listing a namespace of 1,000 bridge
/// ports each round would cost more than the wait itself.
const LIST_ALL_ABOVE: usize = 16;

/// The links of `want` that are not operationally up yet.
pub(crate) async fn still_down((h, want): (Handle, Vec<LinkWant>)) -> Result<(Handle, Vec<LinkWant>)> {
    if want.len() > LIST_ALL_ABOVE && !is_up(&h, want[0].index).await? {
        return Ok((h, want));
    }
    let mut up = HashMap::new();
    let mut links = h.link().get().execute();
    while let Some(msg) = links.try_next().await.map_err(Error::netlink("listing links"))? {
        up.insert(msg.header.index, is_oper_up(&msg));
    }
    let down = want.into_iter().filter(|w| !up.get(&w.index).copied().unwrap_or(false)).collect();
    Ok((h, down))
}

/// Whether the link with this index is operationally up (one small request, no listing).
async fn is_up(h: &Handle, index: u32) -> Result<bool> {
    let mut reply = h.link().get().match_index(index).execute();
    let msg = reply.try_next().await.map_err(Error::netlink(format!("asking for link {index}")))?;
    Ok(msg.is_some_and(|m| is_oper_up(&m)))
}

fn is_oper_up(msg: &netlink_packet_route::link::LinkMessage) -> bool {
    msg.attributes.iter().any(|a| matches!(a, LinkAttribute::OperState(State::Up)))
}

/// What the kernel says of one link end, read over netlink when a wait times out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EndState {
    /// No link with that index in that namespace.
    Missing,
    /// The request failed; why.
    Unreadable(String),
    Present {
        /// `IFF_UP`: brought up.
        admin_up: bool,
        /// `IFLA_CARRIER` (`IFF_LOWER_UP` when absent).
        carrier: bool,
        /// `IFLA_OPERSTATE`, as `ip link` prints it (`UP`, `LOWERLAYERDOWN`, ...).
        oper: &'static str,
    },
}

impl std::fmt::Display for EndState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndState::Missing => f.write_str("absent"),
            EndState::Unreadable(why) => write!(f, "unreadable ({why})"),
            EndState::Present { admin_up, carrier, oper } => write!(
                f,
                "admin {}, carrier {}, operstate {oper}",
                if *admin_up { "up" } else { "down" },
                if *carrier { "on" } else { "off" }
            ),
        }
    }
}

/// The state of the link with this index in `h`'s namespace.
async fn end_state(h: &Handle, index: u32) -> EndState {
    use netlink_packet_route::link::LinkFlags;
    let mut reply = h.link().get().match_index(index).execute();
    let msg = match reply.try_next().await {
        Ok(Some(m)) => m,
        Ok(None) => return EndState::Missing,
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => return EndState::Missing,
        Err(e) => return EndState::Unreadable(e.to_string()),
    };
    let carrier = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::Carrier(c) => Some(*c != 0),
        _ => None,
    });
    let oper = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::OperState(s) => Some(oper_name(*s)),
        _ => None,
    });
    EndState::Present {
        admin_up: msg.header.flags.contains(LinkFlags::Up),
        carrier: carrier.unwrap_or(msg.header.flags.contains(LinkFlags::LowerUp)),
        oper: oper.unwrap_or("UNKNOWN"),
    }
}

/// An operational state as `ip link` names it.
fn oper_name(s: State) -> &'static str {
    match s {
        State::Unknown => "UNKNOWN",
        State::NotPresent => "NOTPRESENT",
        State::Down => "DOWN",
        State::LowerLayerDown => "LOWERLAYERDOWN",
        State::Testing => "TESTING",
        State::Dormant => "DORMANT",
        State::Up => "UP",
        _ => "OTHER",
    }
}

/// The error for links that did not come up within `timeout`: the first one by name, what was
/// waited for, both its ends' states as the kernel reports them now, and what those mean.
pub(crate) async fn not_up(pending: PendingLinks, timeout: Duration) -> Error {
    let mut all = pending.into_iter().flat_map(|(h, want)| want.into_iter().map(move |w| (h.clone(), w)));
    let Some((h, first)) = all.next() else {
        return Error::NotReady(timeout, "links not up (which was not recorded)".into());
    };
    let mut ends = vec![(first.name.clone(), end_state(&h, first.index).await)];
    if let Some((ph, pi, pname)) = &first.peer {
        ends.push((pname.clone(), end_state(ph, *pi).await));
    }
    let rest: Vec<String> = all.map(|(_, w)| w.name).collect();
    Error::NotReady(timeout, not_up_message(&first, &ends, &rest))
}

/// [`not_up`]'s text, from the states read.
fn not_up_message(first: &LinkWant, ends: &[(String, EndState)], rest: &[String]) -> String {
    let states: Vec<String> = ends.iter().map(|(name, s)| format!("{name}: {s}")).collect();
    let mut msg = format!(
        "link {} did not come up: waited for {} to be operationally up (operstate UP: both ends \
         administratively up, carrier on, and the carrier applied by the kernel's link watcher); \
         now {}. {}",
        first.link,
        first.name,
        states.join("; "),
        diagnosis(ends)
    );
    if !rest.is_empty() {
        const SHOWN: usize = 5;
        let more = if rest.len() > SHOWN { format!(", and {} more", rest.len() - SHOWN) } else { String::new() };
        let shown = rest.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
        msg.push_str(&format!(" Also not up: {shown}{more}."));
    }
    msg
}

/// What the ends' states say about why a link is not up.
fn diagnosis(ends: &[(String, EndState)]) -> String {
    if let Some((name, _)) = ends.iter().find(|(_, s)| *s == EndState::Missing) {
        return format!("{name} does not exist: it was deleted, or its namespace is gone.");
    }
    let present: Vec<(&String, bool, bool, &str)> = (ends.iter())
        .filter_map(|(n, s)| match s {
            EndState::Present { admin_up, carrier, oper } => Some((n, *admin_up, *carrier, *oper)),
            _ => None,
        })
        .collect();
    if present.len() < ends.len() {
        return "The state of an end could not be read.".into();
    }
    if let Some((name, ..)) = present.iter().find(|(_, admin_up, ..)| !admin_up) {
        return format!(
            "{name} is administratively down, so the link has no carrier: nothing brought it up \
             (while building a topology, a bug in netns-test: please report it with the topology), \
             or something took it down."
        );
    }
    if present.iter().all(|(.., oper)| *oper == "UP") {
        return "It is up now: it came up just after the deadline. The kernel was slow to apply \
                the carrier: its link watcher needs the rtnl lock, which freeing a large earlier \
                topology can hold for seconds."
            .into();
    }
    if present.iter().any(|(_, _, carrier, _)| !carrier) {
        return "Every end is administratively up, yet the link has no carrier (a veth gets one as \
                soon as both its ends are up, a bridge once one of its ports forwards)."
            .into();
    }
    "The carrier is on, but the kernel's link watcher has not applied it yet: it needs the rtnl \
     lock, which freeing a large earlier topology can hold for seconds (leave a pause after \
     dropping one, or build it on a quieter machine)."
        .into()
}

/// An IPv6 address to see usable, on the link with this index: a declared one, or (`None`) the
/// kernel's own `fe80::` one; and what to call it in an error.
type Ipv6Want = (u32, Option<Ipv6Addr>, String);

/// Waits until every IPv6 address of every node and bridge, the kernel's link-local ones
/// included, is usable: present and not tentative (see [`crate::kernel::ipv6::unsettled`] for why that
/// is enough). Asked over each namespace's netlink handle, all at once: no namespace is
/// entered and no `/proc` path looked up (such lookups grow with the namespaces alive).
pub(super) fn wait_ipv6(
    rt: &tokio::runtime::Runtime,
    topo: &Topology,
    ix: &IfIndices,
    handles: &[Handle],
    root: &Handle,
    timeout: Duration,
) -> Result<()> {
    if !std::path::Path::new("/proc/thread-self/net/if_inet6").exists() {
        return Ok(()); // a kernel without IPv6: nothing to wait for
    }
    // A link whose MTU is below IPv6's minimum has no IPv6 at all: no link-local address.
    let wants = |index: u32, dev: &str, place: &str, addrs: &[ipnet::IpNet], mtu: Option<u32>| {
        let declared = addrs.iter().filter_map(|a| match a.addr() {
            IpAddr::V6(v6) => Some((index, Some(v6), format!("{v6} on {dev} in {place} is not usable yet"))),
            IpAddr::V4(_) => None,
        });
        let link_local = (index, None, format!("the link-local address of {dev} in {place} is not usable yet"));
        let has_ipv6 = mtu.is_none_or(|m| m >= IPV6_MIN_MTU);
        has_ipv6.then_some(link_local).into_iter().chain(declared).collect::<Vec<Ipv6Want>>()
    };
    let mut pending: Vec<(Handle, Vec<Ipv6Want>)> = (topo.nodes.iter().enumerate())
        .map(|(n, node)| {
            let place = format!("node `{}`", node.name);
            let want = (node.interfaces.iter().enumerate())
                .flat_map(|(i, f)| wants(ix.iface(IfaceRef { node: n, iface: i }), &f.name, &place, &f.addrs, f.mtu))
                .collect();
            (handles[n].clone(), want)
        })
        .collect();
    let bridges = (topo.bridges.iter().enumerate())
        .flat_map(|(b, br)| wants(ix.bridge(b), &br.name, "the bridges' namespace", &br.addrs, bridge_mtu(topo, b)))
        .collect();
    pending.push((root.clone(), bridges));
    pending.retain(|(_, want)| !want.is_empty());
    let done = poll_until(timeout, || {
        pending = rt.block_on(try_join_all(std::mem::take(&mut pending).into_iter().map(unsettled_ipv6)))?;
        pending.retain(|(_, want)| !want.is_empty());
        Ok(pending.is_empty())
    })?;
    if done {
        return Ok(());
    }
    let what = pending.first().map_or_else(String::new, |(_, want)| want[0].2.clone());
    Err(Error::NotReady(timeout, format!("{what} ({IPV6_LATE})")))
}

/// Why an IPv6 address of a link that is up may stay unusable: the kernel joins its
/// solicited-node group from a work queue that needs the rtnl lock.
const IPV6_LATE: &str = "the kernel joins an address's solicited-node group from a work queue that needs the rtnl \
                         lock, which freeing a large earlier topology can hold for seconds";

/// A bridge's MTU as the kernel sets it: its members' smallest (`None`: all default).
fn bridge_mtu(topo: &Topology, b: usize) -> Option<u32> {
    topo.bridges[b].members.iter().filter_map(|m| topo.nodes[m.node].interfaces[m.iface].mtu).min()
}

/// What of `want` is not usable yet in `h`'s namespace: one listing of its IPv6 addresses.
async fn unsettled_ipv6((h, mut want): (Handle, Vec<Ipv6Want>)) -> Result<(Handle, Vec<Ipv6Want>)> {
    use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags, AddressScope};
    use netlink_packet_route::AddressFamily;
    let mut usable = Vec::new(); // (index, address, link-local)
    let mut addrs = h.address().get().execute();
    while let Some(msg) = addrs.try_next().await.map_err(Error::netlink("listing addresses"))? {
        // The flag is in the header's 8 bits and in IFA_FLAGS' 32: either says tentative.
        let tentative = msg.header.flags.contains(AddressHeaderFlags::Tentative)
            || (msg.attributes.iter())
                .any(|a| matches!(a, AddressAttribute::Flags(f) if f.contains(AddressFlags::Tentative)));
        if msg.header.family != AddressFamily::Inet6 || tentative {
            continue;
        }
        let addr = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(IpAddr::V6(v6)) => Some(*v6),
            _ => None,
        });
        if let Some(addr) = addr {
            usable.push((msg.header.index, addr, msg.header.scope == AddressScope::Link));
        }
    }
    want.retain(|(index, addr, _)| {
        !usable.iter().any(|(i, a, link)| i == index && addr.map_or(*link, |want| *a == want))
    });
    Ok((h, want))
}

/// Calls `pending` until it reports nothing pending (`true`), with short growing pauses, for
/// at most `timeout`; `false` if something still was then.
fn poll_until(timeout: Duration, mut pending: impl FnMut() -> Result<bool>) -> Result<bool> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(50);
    loop {
        if pending()? {
            return Ok(true);
        }
        if start.elapsed() > timeout {
            return Ok(false);
        }
        std::thread::sleep(pause);
        pause = (pause * 3 / 2).min(Duration::from_micros(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_stops_when_nothing_is_pending_or_at_the_timeout() {
        let mut rounds = 0;
        assert!(poll_until(Duration::from_secs(5), || {
            rounds += 1;
            Ok(rounds == 3)
        })
        .unwrap());
        assert_eq!(rounds, 3);
        assert!(!poll_until(Duration::from_millis(5), || Ok(false)).unwrap());
        assert_eq!(timeout(1000), Duration::from_secs(20));
    }

    fn want(name: &str, link: &str) -> LinkWant {
        LinkWant { index: 7, name: name.into(), link: link.into(), peer: None }
    }

    fn up(admin_up: bool, carrier: bool, oper: &'static str) -> EndState {
        EndState::Present { admin_up, carrier, oper }
    }

    #[test]
    fn a_link_not_up_is_named_with_both_ends_states_and_what_was_waited_for() {
        let w = want("a:eth0", "a:eth0 -- b:eth0");
        let ends = [("a:eth0".to_string(), up(true, false, "DOWN")), ("b:eth0".into(), up(false, false, "DOWN"))];
        let msg = not_up_message(&w, &ends, &[]);
        assert!(
            msg.starts_with("link a:eth0 -- b:eth0 did not come up: waited for a:eth0 to be operationally up"),
            "{msg}"
        );
        assert!(msg.contains("a:eth0: admin up, carrier off, operstate DOWN"), "{msg}");
        assert!(msg.contains("b:eth0: admin down, carrier off, operstate DOWN"), "{msg}");
        assert!(msg.contains("b:eth0 is administratively down") && msg.contains("bug in netns-test"), "{msg}");
        assert!(!msg.contains("kernel may be busy") && !msg.contains("rtnl"), "not the kernel's fault: {msg}");
    }

    #[test]
    fn an_ends_state_is_read_over_netlink() {
        // Read-only, in whatever namespace the unit tests run in: its `lo` (index 1) and an index
        // no namespace has.
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        let _enter = rt.enter();
        let (conn, h, _) = rtnetlink::new_connection().unwrap();
        rt.spawn(conn);
        let lo = rt.block_on(end_state(&h, 1));
        assert!(matches!(lo, EndState::Present { carrier: true, oper: "UNKNOWN" | "UP" | "DOWN", .. }), "lo: {lo}");
        assert_eq!(rt.block_on(end_state(&h, 0x7fff_fff0)), EndState::Missing);
    }

    #[test]
    fn the_kernel_is_blamed_only_when_the_carrier_is_on_and_not_applied() {
        let w = want("a:eth0", "a:eth0 -- b:eth0");
        let on = |oper| [("a:eth0".to_string(), up(true, true, oper)), ("b:eth0".into(), up(true, true, "UP"))];
        let late = not_up_message(&w, &on("DOWN"), &[]);
        assert!(late.contains("link watcher has not applied it yet") && late.contains("rtnl"), "{late}");
        let now_up = not_up_message(&w, &on("UP"), &[]);
        assert!(now_up.contains("just after the deadline"), "{now_up}");
        let gone = not_up_message(&w, &[("a:eth0".into(), EndState::Missing)], &[]);
        assert!(gone.contains("a:eth0: absent") && gone.contains("does not exist"), "{gone}");
        let rest: Vec<String> = (0..8).map(|i| format!("n{i}:eth0")).collect();
        let many = not_up_message(&w, &on("DOWN"), &rest);
        assert!(many.ends_with("Also not up: n0:eth0, n1:eth0, n2:eth0, n3:eth0, n4:eth0, and 3 more."), "{many}");
    }
}
