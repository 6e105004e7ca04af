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
use crate::kernel::netlink::IPV6_MIN_MTU;
use crate::kernel::ready::{not_up, still_down, LinkWant, PendingLinks};
use futures_util::future::try_join_all;
use futures_util::TryStreamExt;
use netns_test_topology::LinkId;
use netns_test_topology::{IfaceRef, Topology};
use rtnetlink::Handle;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// How long links and IPv6 addresses of a topology of `nodes` nodes may take to become usable:
/// 10 s, plus 10 ms per node. The wait is mostly for the kernel's rtnl lock, which the
/// teardown of an earlier topology holds for a time that grows with its size (seconds for
/// 1,000 nodes on a busy machine), and test suites tend to build topologies of one size.
pub(super) fn timeout(nodes: usize) -> Duration {
    Duration::from_secs(10) + Duration::from_millis(10 * nodes as u64)
}

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
        let link = topo.link_name(id);
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
                link: topo.link_name(LinkId::Member(bi, m)),
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
}
