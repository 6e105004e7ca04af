//! Putting a userspace forwarder into a link: `a:eth0 -- b:eth0` becomes `a:eth0 -- fwNx` and
//! `fwNy -- b:eth0`, with `fwNx` and `fwNy` in the forwarders' namespace.
//!
//! The nodes keep everything they see that the change does not name: interface names, MAC
//! addresses, MTUs, whether the link is up or down, addresses, routes and neighbour entries;
//! open sockets survive. The old pair
//! is deleted and the new ends are made with the same names and MACs, so the peers' entries
//! stay right; deleting the pair flushes the entries the nodes' ends had, so they are read
//! before and put back after, in the state they were in (learned or permanent), and traffic
//! right after the change needs no new resolution through what may now be a lossy link.
//! Creating veths in place costs about a millisecond, so this is done both while building and
//! when `Link::set` first needs it.
//!
//! Every new end gets an index of its own choosing: the node ends keep their old ones, the
//! forwarder's ends take `100000 + 2N` and `100001 + 2N`. A veth whose index equals its peer's
//! looks like a plain device to the kernel's link watcher, which then delays its carrier by up to
//! a second (the builder avoids it the same way).
//!
//! The outer ends get `gso_max_segs` 1: the kernel segments large TCP sends before they reach
//! the forwarder, so each frame it reads is one wire-sized packet, and loss, duplication and
//! reordering apply per packet as on a real link.

use super::forwarder::Forwarder;
use super::Forwarders;
use crate::core::{Core, End};
use crate::error::{Error, Result};
use crate::kernel::netlink::{self as nl, KernelRoute};
use crate::kernel::ns::{write_sysctl, NetNs};
use crate::kernel::ready::{wait_ready, LinkWant};
use futures_util::TryStreamExt;
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{RouteAttribute, RouteFlags, RouteMessage, RouteProtocol};
use netns_test_topology::{Conditions, LinkId};
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec, LinkVeth};
use std::net::IpAddr;
use std::os::fd::AsRawFd;

/// Recreates link `id` through a new forwarder (passing frames unchanged until told otherwise).
pub(crate) fn splice(core: &Core, fws: &mut Forwarders, id: LinkId) -> Result<Forwarder> {
    let topo = &core.topology;
    let start = std::time::Instant::now();
    if fws.ns.is_none() {
        // No IPv6 on the forwarder's interfaces: they would send router and neighbour
        // solicitations of their own into the link.
        let ns = NetNs::new_with(|| {
            write_sysctl("net/ipv6/conf/all/disable_ipv6", "1")?;
            write_sysctl("net/ipv6/conf/default/disable_ipv6", "1")
        })
        .map_err(Error::io("creating the forwarders' namespace"))?;
        fws.ns = Some(ns);
    }
    let k = fws.next;
    fws.next += 1;
    let (x, y) = (format!("fw{k}x"), format!("fw{k}y"));
    let (xi, yi) = (100_000 + 2 * k, 100_001 + 2 * k);
    let [e1, e2] = core.ends(id);
    let what = core.link_name(id);
    // What to put back on each node end: its addresses (its routes and neighbour entries are
    // read from the kernel below).
    let (r1, r2) = {
        let now = core.lock();
        let restore = |end: &End| end.iface.map(|(n, i)| (now.addrs[n][i].clone(), topo.nodes[n].name.clone()));
        (restore(&e1), restore(&e2))
    };
    let bridge = match id {
        LinkId::Member(b, _) => Some(topo.bridges[b].name.clone()),
        LinkId::Veth(_) => None,
    };
    let fns = fws.ns.as_ref().expect("made above");
    let (ns1, ns2) = (core.ns(e1.place), core.ns(e2.place));
    nl::netlink(&[fns, ns1, ns2], |h| async move {
        let (hf, h1, h2) = (&h[0], &h[1], &h[2]);
        let old1 = nl::link_by_name(h1, &e1.name).await?;
        let old2 = nl::link_by_name(h2, &e2.name).await?;
        let (mac1, mtu) = (mac(&old1), nl::link_mtu(&old1).unwrap_or(1500));
        let mac2 = mac(&old2);
        // A link that is down stays down (the kernel has dropped its routes and IPv6 addresses).
        let [up1, up2] = [&old1, &old2].map(|m| m.header.flags.contains(LinkFlags::Up));
        // What each node end has learned of its neighbours, and the routes that leave through
        // it; a bridge port has neither.
        let (mut learned, mut routes) = (Vec::new(), [Vec::new(), Vec::new()]);
        for (k, h, end, old, restore) in [(0, h1, &e1, &old1, &r1), (1, h2, &e2, &old2, &r2)] {
            if let Some((_, node)) = restore {
                learned.push((h, end, node, neighbours(h, old.header.index, node, &end.name).await?));
                routes[k] = routes_through(h, old.header.index).await?;
            }
        }
        h1.link().del(old1.header.index).execute().await.map_err(Error::netlink(format!("removing link {what}")))?;

        // Node end 1 -- x.
        let peer = LinkUnspec::new_with_name(&e1.name).index(old1.header.index).setns_by_fd(ns1.as_raw_fd());
        let msg =
            veth(&x, mtu).index(xi).up().set_info_data(InfoData::Veth(InfoVeth::Peer(outer(peer, mac1, mtu)))).build();
        hf.link()
            .add(msg)
            .execute()
            .await
            .map_err(Error::netlink(format!("creating {}--{x} for link {what}", e1.name)))?;

        // y -- end 2; a bridge port is made from its bridge's side, enslaved (and up if it was).
        let err = Error::netlink(format!("creating {y}--{} for link {what}", e2.name));
        match &bridge {
            Some(br) => {
                let br_index = nl::link_by_name(h2, br).await?.header.index;
                let peer = LinkUnspec::new_with_name(&y).index(yi).setns_by_fd(fns.as_raw_fd()).mtu(mtu).build();
                let port = veth(&e2.name, mtu).index(old2.header.index).address(mac2).controller(br_index);
                let port = if up2 { port.up() } else { port };
                let port = port.append_extra_attribute(LinkAttribute::GsoMaxSegs(1));
                let msg = port.set_info_data(InfoData::Veth(InfoVeth::Peer(peer))).build();
                h2.link().add(msg).execute().await.map_err(err)?;
            }
            None => {
                let peer = LinkUnspec::new_with_name(&e2.name).index(old2.header.index).setns_by_fd(ns2.as_raw_fd());
                let msg = veth(&y, mtu)
                    .index(yi)
                    .up()
                    .set_info_data(InfoData::Veth(InfoVeth::Peer(outer(peer, mac2, mtu))))
                    .build();
                hf.link().add(msg).execute().await.map_err(err)?;
            }
        }

        nl::set_up(hf, yi, true, &y).await?;
        let mut waits = Vec::new();
        let mut fw_ends = Vec::new();
        let [routes1, routes2] = routes;
        let sides = [(h1, &e1, &r1, ns1, up1, routes1, (xi, &x)), (h2, &e2, &r2, ns2, up2, routes2, (yi, &y))];
        for (h, end, restore, ns, up, routes, (fi, fname)) in sides {
            let index = nl::link_by_name(h, &end.name).await?.header.index;
            if end.iface.is_some() {
                nl::no_dad(ns, &end.name, mtu)?;
            }
            if up {
                nl::set_up(h, index, true, &end.name).await?;
            }
            let mut v6 = Vec::new();
            if let Some((addrs, node)) = restore {
                // Down, the end has only its IPv4 addresses (and no routes): the rest comes back
                // with `up()`.
                let addrs: Vec<_> = addrs.iter().filter(|a| up || a.addr().is_ipv4()).copied().collect();
                nl::add_addrs(h, index, &addrs, &format!("{node}:{}", end.name)).await?;
                put_back_routes(h, routes, &format!("node `{node}` (link {what})")).await?;
                v6.extend(addrs.iter().filter_map(|a| match a.addr() {
                    IpAddr::V6(v6) => Some((end.name.clone(), v6)),
                    IpAddr::V4(_) => None,
                }));
            }
            // A forwarder end whose peer is down has no carrier: neither is waited for.
            if up {
                let name = core.end_name(end);
                let link = format!("{name} -- {fname} (the forwarder of link {what})");
                let peer = Some((hf.clone(), fi, fname.clone()));
                waits.push((h, vec![LinkWant { index, name: name.clone(), link: link.clone(), peer }], ns, v6));
                fw_ends.push(LinkWant { index: fi, name: fname.clone(), link, peer: Some((h.clone(), index, name)) });
            }
        }
        waits.push((hf, fw_ends, fns, Vec::new()));
        for (h, links, ns, v6) in waits {
            wait_ready(h, &links, ns, &v6).await?;
        }
        for (h, end, node, entries) in learned {
            let index = nl::link_by_name(h, &end.name).await?.header.index;
            put_back(h, index, entries, &format!("{node}:{} (link {what})", end.name)).await?;
        }
        Ok(())
    })?;
    let fw = Forwarder::start(fns, xi, yi, Conditions::default(), &core.link_name(id))
        .map_err(Error::io(format!("starting the forwarder of link {}", core.link_name(id))))?;
    if crate::env::tracing() {
        let ms = start.elapsed().as_secs_f64() * 1e3;
        eprintln!("netns-test: link {} now crosses userspace forwarder {k} ({ms:.2} ms)", core.link_name(id));
    }
    Ok(fw)
}

fn veth(name: &str, mtu: u32) -> LinkMessageBuilder<LinkVeth> {
    LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth).name(name.to_string()).mtu(mtu)
}

/// A node's end as it was (MAC, MTU), with large sends segmented before the forwarder.
fn outer(b: LinkMessageBuilder<LinkUnspec>, mac: Vec<u8>, mtu: u32) -> LinkMessage {
    b.address(mac).mtu(mtu).append_extra_attribute(LinkAttribute::GsoMaxSegs(1)).build()
}

fn mac(m: &LinkMessage) -> Vec<u8> {
    m.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::Address(mac) => Some(mac.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A neighbour entry to put back on a new end: address, MAC, state, flags.
type Entry = (IpAddr, Vec<u8>, NeighbourState, NeighbourFlags);

/// The neighbour entries (ARP and ND) of interface `index` that carry a MAC: those learned
/// (reachable, stale, or being checked) and the permanent ones. Incomplete and failed entries
/// have nothing to keep; `NOARP` ones (multicast) the kernel makes again by itself.
async fn neighbours(h: &Handle, index: u32, node: &str, dev: &str) -> Result<Vec<Entry>> {
    use NeighbourState as S;
    let err = Error::netlink(format!("reading the neighbour entries of {node}:{dev}"));
    let msgs: Vec<NeighbourMessage> = h.neighbours().get().execute().try_collect().await.map_err(err)?;
    Ok((msgs.into_iter().filter(|m| m.header.ifindex == index))
        .filter_map(|m| {
            // Delay and probe are stale entries being checked: stale again, checked on next use.
            let state = match m.header.state {
                S::Reachable | S::Permanent | S::Stale => m.header.state,
                S::Delay | S::Probe => S::Stale,
                _ => return None,
            };
            let (mut addr, mut mac) = (None, None);
            for a in m.attributes {
                match a {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => addr = Some(IpAddr::V4(v4)),
                    NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => addr = Some(IpAddr::V6(v6)),
                    NeighbourAttribute::LinkLayerAddress(l) if !l.is_empty() => mac = Some(l),
                    _ => {}
                }
            }
            let flags = m.header.flags & (NeighbourFlags::Router | NeighbourFlags::ExtLearned);
            Some((addr?, mac?, state, flags))
        })
        .collect())
}

/// Puts `entries` back on interface `index` (`what`: `node:dev (link ...)`), replacing what the
/// kernel may have made meanwhile.
async fn put_back(h: &Handle, index: u32, entries: Vec<Entry>, what: &str) -> Result<()> {
    for (addr, mac, state, flags) in entries {
        let req = h.neighbours().add(index, addr).link_layer_address(&mac).state(state).flags(flags).replace();
        req.execute().await.map_err(Error::netlink(format!("putting back the neighbour entry of {addr} on {what}")))?;
    }
    Ok(())
}

/// The routes of the main table that leave through interface `index`, but those the kernel
/// makes itself (a subnet's, IPv6's link-local ones): they come back with the addresses.
async fn routes_through(h: &Handle, index: u32) -> Result<Vec<RouteMessage>> {
    let routes = nl::kernel_routes(h).await?;
    Ok((routes.into_iter())
        .filter(|r| r.oif == Some(index) && r.msg.header.protocol != RouteProtocol::Kernel)
        .map(|r| r.msg)
        .collect())
}

/// Puts back routes read by [`routes_through`] on the new end of the same index: as they were
/// (destination, gateway, interface, metric, preferred source), without what the kernel keeps
/// about them (cache information, expiry).
async fn put_back_routes(h: &Handle, routes: Vec<RouteMessage>, what: &str) -> Result<()> {
    for mut msg in routes {
        msg.header.flags = RouteFlags::empty();
        msg.attributes.retain(|a| {
            matches!(
                a,
                RouteAttribute::Destination(_)
                    | RouteAttribute::Gateway(_)
                    | RouteAttribute::Oif(_)
                    | RouteAttribute::Priority(_)
                    | RouteAttribute::PrefSource(_)
                    | RouteAttribute::Table(_)
            )
        });
        let shown = KernelRoute::from_message(msg.clone()).map_or_else(|| format!("{msg:?}"), |r| r.show());
        match h.route().add(msg).execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => {}
            r => r.map_err(Error::netlink(format!("putting back route {shown} in {what}")))?,
        }
    }
    Ok(())
}
