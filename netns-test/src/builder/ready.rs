//! Readiness: polling until links are operationally up and IPv6 addresses usable, so the test
//! body's first packet is not dropped or stalled.
//!
//! ```ignore
//! let t = timeout(topo.nodes.len());
//! wait_links(&rt, node_links(topo, &ix, &handles, 0..topo.nodes.len()), t)?;
//! wait_ipv6(&rt, topo, &ix, &handles, &root, t)?;
//! ```

use super::indices::IfIndices;
use crate::error::{Error, Result};
use crate::live::IPV6_MIN_MTU;
use futures_util::future::try_join_all;
use futures_util::TryStreamExt;
use netlink_packet_route::link::{LinkAttribute, State};
use netns_test_topology::{IfaceRef, Topology};
use rtnetlink::Handle;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// How long links and IPv6 addresses of a topology of `nodes` nodes may take to become usable:
/// 10 s, plus 10 ms per node. The wait is mostly for the kernel's rtnl lock, which the
/// teardown of an earlier topology holds for a time that grows with its size (seconds for
/// 1,000 nodes on a busy machine), and test suites tend to build topologies of one size.
pub(super) fn timeout(nodes: usize) -> Duration {
    Duration::from_secs(10) + Duration::from_millis(10 * nodes as u64)
}

/// Links to see up, per namespace: the handle to ask, and (index, name for errors) pairs.
pub(super) type PendingLinks = Vec<(Handle, Vec<(u32, String)>)>;

/// The interfaces of the nodes in `batch`.
pub(super) fn node_links(
    topo: &Topology,
    ix: &IfIndices,
    handles: &[Handle],
    batch: std::ops::Range<usize>,
) -> PendingLinks {
    batch
        .map(|n| {
            let node = &topo.nodes[n];
            let want = (node.interfaces.iter().enumerate())
                .map(|(i, f)| (ix.iface(IfaceRef { node: n, iface: i }), format!("{}:{}", node.name, f.name)));
            (handles[n].clone(), want.collect())
        })
        .collect()
}

/// Every bridge and bridge port.
fn bridge_links(topo: &Topology, ix: &IfIndices, root: &Handle) -> PendingLinks {
    let mut want = Vec::new();
    for (bi, br) in topo.bridges.iter().enumerate() {
        want.push((ix.bridge(bi), format!("bridge {}", br.name)));
        for (m, port) in br.ports.iter().enumerate() {
            want.push((ix.port(bi, m), format!("bridge port {port}")));
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
    root: &Handle,
    timeout: Duration,
) -> Result<()> {
    wait_links_with(rt, bridge_links(topo, ix, root), timeout, || {
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
    poll_until(timeout, || {
        if links.is_empty() {
            return Ok(None);
        }
        before_round();
        links = rt.block_on(try_join_all(std::mem::take(&mut links).into_iter().map(still_down)))?;
        links.retain(|(_, want)| !want.is_empty());
        Ok(links.first().map(|(_, want)| format!("{} is not up", want[0].1)))
    })
}

/// Above this many pending links, a round first asks for one of them alone and lists the whole
/// namespace only once that one is up: a listing costs about 5 µs of kernel time per link there
/// (every attribute and statistic of every link), so re-listing a namespace of 1,000 bridge
/// ports each round would cost more than the wait itself.
const LIST_ALL_ABOVE: usize = 16;

/// The links of `want` that are not operationally up yet.
pub(crate) async fn still_down((h, want): (Handle, Vec<(u32, String)>)) -> Result<(Handle, Vec<(u32, String)>)> {
    if want.len() > LIST_ALL_ABOVE && !is_up(&h, want[0].0).await? {
        return Ok((h, want));
    }
    let mut up = HashMap::new();
    let mut links = h.link().get().execute();
    while let Some(msg) = links.try_next().await.map_err(Error::netlink("listing links"))? {
        up.insert(msg.header.index, is_oper_up(&msg));
    }
    let down = want.into_iter().filter(|(i, _)| !up.get(i).copied().unwrap_or(false)).collect();
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

/// An IPv6 address to see usable, on the link with this index: a declared one, or (`None`) the
/// kernel's own `fe80::` one; and what to call it in an error.
type Ipv6Want = (u32, Option<Ipv6Addr>, String);

/// Waits until every IPv6 address of every node and bridge, the kernel's link-local ones
/// included, is usable: present and not tentative (see [`crate::ipv6::unsettled`] for why that
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
    poll_until(timeout, || {
        pending = rt.block_on(try_join_all(std::mem::take(&mut pending).into_iter().map(unsettled_ipv6)))?;
        pending.retain(|(_, want)| !want.is_empty());
        Ok(pending.first().map(|(_, want)| want[0].2.clone()))
    })
}

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

/// Calls `pending` until it reports nothing pending, with short growing pauses, for at most
/// `timeout`.
fn poll_until(timeout: Duration, mut pending: impl FnMut() -> Result<Option<String>>) -> Result<()> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(50);
    loop {
        let Some(what) = pending()? else { return Ok(()) };
        if start.elapsed() > timeout {
            let why = "the kernel may be busy: freeing a large earlier topology holds the lock that link changes need";
            return Err(Error::NotReady(timeout, format!("{what} ({why})")));
        }
        std::thread::sleep(pause);
        pause = (pause * 3 / 2).min(Duration::from_micros(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_names_what_is_pending_and_the_likely_cause() {
        let e = poll_until(Duration::from_millis(5), || Ok(Some("a:eth0 is not up".into()))).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::NotReady(..)), "{msg}");
        assert!(msg.contains("a:eth0 is not up") && msg.contains("freeing a large earlier topology"), "{msg}");
        assert_eq!(timeout(1000), Duration::from_secs(20));
    }
}
