//! Links at run time: down and up (with what a link takes away and gives back), and a new MTU.
//! Conditions are their own feature (`conditions/`).
//!
//! ```ignore
//! links::set_state(core, id, false)?; // the cable is cut
//! links::set_state(core, id, true)?;  // back, with addresses and suspended routes
//! ```

use crate::addressing::{self, Unrestored};
use crate::conditions;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::journal;
use crate::kernel::netlink::{self as nl, netlink, show_route, KernelRoute, RouteSpec, IPV6_MIN_MTU};
use crate::kernel::ready::{wait_ready, wait_ready_within, LinkWant};
use netns_test_topology::LinkId;
use std::net::IpAddr;

/// Sets `mtu` on both ends of link `id` (and its forwarder's ends); refused below IPv6's
/// minimum while the link has IPv6 addresses the kernel would take away.
pub(crate) fn set_mtu(core: &Core, id: LinkId, mtu: u32) -> Result<()> {
    let [e1, e2] = core.ends(id);
    let what = core.link_name(id);
    if mtu < IPV6_MIN_MTU {
        let (doomed, bridge) = ipv6_addrs(core, id);
        if !doomed.is_empty() {
            let min = IPV6_MIN_MTU;
            let fix = match bridge {
                false => format!("del_addr them first, or use an MTU of {min} or more"),
                true => format!("use an MTU of {min} or more (a bridge's addresses stay for the whole test)"),
            };
            return Err(Error::Runtime(format!(
                "link {what}: mtu {mtu} is below IPv6's minimum ({min}): the kernel would remove {}; {fix}",
                doomed.join(" and ")
            )));
        }
    }
    let set = |h: &rtnetlink::Handle, index: u32, name: &str| {
        let req = h.link().set(rtnetlink::LinkUnspec::new_with_index(index).mtu(mtu).build()).execute();
        let err = Error::netlink(format!("setting mtu {mtu} on {name} (link {what})"));
        async move { req.await.map_err(err) }
    };
    netlink(&[core.ns(e1.place), core.ns(e2.place)], |h| async move {
        for (h, end) in h.iter().zip([&e1, &e2]) {
            set(h, nl::link_by_name(h, &end.name).await?.header.index, &end.name).await?;
        }
        Ok(())
    })?;
    conditions::set_forwarder_mtu(core, id, mtu)?;
    journal::record(format!("link {what}: mtu={mtu}"));
    Ok(())
}

/// The IPv6 addresses an MTU below IPv6's minimum would take away: the node ends' (`fd00::1/64
/// from a:eth0`), and a bridge's own when this is one of its members (the kernel gives a
/// bridge its smallest port's MTU); and whether a bridge's are among them.
fn ipv6_addrs(core: &Core, id: LinkId) -> (Vec<String>, bool) {
    let topo = &core.topology;
    let st = core.lock();
    let v6 = |addrs: &[ipnet::IpNet], place: &str| {
        let list: Vec<String> = addrs.iter().filter(|a| a.addr().is_ipv6()).map(|a| a.to_string()).collect();
        (!list.is_empty()).then(|| format!("{} from {place}", list.join(", ")))
    };
    let mut out: Vec<String> = core
        .ends(id)
        .iter()
        .filter_map(|e| e.iface.and_then(|(n, i)| v6(&st.addrs[n][i], &format!("{}:{}", topo.nodes[n].name, e.name))))
        .collect();
    let bridge = match id {
        LinkId::Member(b, _) => v6(&topo.bridges[b].addrs, &format!("bridge {}", topo.bridges[b].name)),
        LinkId::Veth(_) => None,
    };
    let has_bridge = bridge.is_some();
    out.extend(bridge);
    (out, has_bridge)
}

/// Takes both ends of link `id` down, or brings them up with their addresses and the suspended
/// routes the link carries (see [`Link::up`](crate::Link::up) for what an error means).
pub(crate) fn set_state(core: &Core, id: LinkId, up: bool) -> Result<()> {
    let topo = &core.topology;
    let [e1, e2] = core.ends(id);
    // Per node end: its addresses, and the routes of its node this link carries (their
    // gateway is on one of its subnets).
    let restore = {
        let st = core.lock();
        [&e1, &e2].map(|e| {
            e.iface.map(|(n, i)| {
                let addrs = st.addrs[n][i].clone();
                let on_link = |r: &&RouteSpec| addrs.iter().any(|a| a.contains(&r.1));
                let routes: Vec<RouteSpec> = st.routes[n].iter().filter(on_link).copied().collect();
                (n, addrs, routes)
            })
        })
    };
    let what = core.link_name(id);
    let failed = netlink(&[core.ns(e1.place), core.ns(e2.place)], |h| async move {
        let mut indices = Vec::new();
        for (h, end) in h.iter().zip([&e1, &e2]) {
            let link = nl::link_by_name(h, &end.name).await?;
            let index = link.header.index;
            if up && end.iface.is_some() {
                nl::no_dad(core.ns(end.place), &end.name, nl::link_mtu(&link).unwrap_or(1500))?;
            }
            nl::set_up(h, index, up, &format!("{} (link {what})", end.name)).await?;
            indices.push(index);
        }
        let mut failed = Vec::new();
        if !up {
            return Ok(failed);
        }
        let wants = wants(core, id, &h, &indices);
        for (((h, end), restore), want) in h.iter().zip([&e1, &e2]).zip(&restore).zip(wants) {
            let mut v6 = Vec::new();
            if let Some((n, addrs, routes)) = restore {
                let node = &topo.nodes[*n].name;
                nl::add_addrs(h, want.index, addrs, &format!("{node}:{}", end.name)).await?;
                let not_back = addressing::restore_routes(h, routes).await?;
                if !not_back.is_empty() {
                    failed.push((*n, not_back));
                }
                v6.extend(addrs.iter().filter_map(|a| match a.addr() {
                    IpAddr::V6(a) => Some((end.name.clone(), a)),
                    IpAddr::V4(_) => None,
                }));
            }
            wait_ready(h, &[want], core.ns(end.place), &v6).await?;
        }
        Ok(failed)
    })?;
    journal::record(format!("link {}: {}", core.link_name(id), if up { "up" } else { "down" }));
    if failed.is_empty() {
        return Ok(());
    }
    let e = not_restored(core, id, &failed);
    journal::record(e.to_string());
    Err(e)
}

/// What `up()` says of the routes it could not put back, per node: each route, what is in
/// its place, and the two ways out.
fn not_restored(core: &Core, id: LinkId, failed: &[(usize, Vec<Unrestored>)]) -> Error {
    let topo = &core.topology;
    let st = core.lock();
    let declared = |n: usize| topo.nodes[n].routes.iter().map(|r| (r.dest, r.via)).collect::<Vec<RouteSpec>>();
    let mut parts = Vec::new();
    for (n, routes) in failed {
        let (n, declared) = (*n, declared(*n));
        let origin = |k: &KernelRoute| match () {
            _ if declared.iter().any(|r| k.is(*r)) => "declared",
            _ if st.routes[n].iter().any(|r| k.is(*r)) => "added by add_route",
            _ => "not made by netns-test",
        };
        let (count, they) = match routes.len() {
            1 => ("1 route".to_string(), "it stays suspended"),
            c => (format!("{c} routes"), "they stay suspended"),
        };
        let mut text = format!(
            "{count} of node `{}` could not be put back; {they}, and each up() of this link tries again:",
            topo.nodes[n].name
        );
        for u in routes {
            let route = show_route(u.route);
            let own = if declared.contains(&u.route) { "declared" } else { "added by add_route" };
            let dest = u.route.0.map_or_else(|| "default".to_string(), |d| d.to_string());
            if let Some(e) = &u.refused {
                text += &format!("\n  {route} ({own}): the kernel refused it: {e}");
                continue;
            }
            let shown: Vec<String> = u.in_its_place.iter().map(|k| format!("{} ({})", k.show(), origin(k))).collect();
            let verb = if shown.len() == 1 { "is" } else { "are" };
            let ours = u.in_its_place.iter().all(|k| st.routes[n].iter().any(|r| k.is(*r)));
            let ways = match u.in_its_place.as_slice() {
                // del_route sees only the routes netns-test keeps.
                _ if !ours => format!(
                    "To put this one back: remove what netns-test did not make the way it was made, then up() \
                     again; to forget this one: del_route(\"{dest}\")."
                ),
                [k] => format!(
                    "To put this one back: del_route(\"{dest}\"), then up() again; to keep the other instead: \
                     del_route(\"{dest}\") twice (the route in place, then this one), then add_route(\"{dest}\", \
                     \"{}\").",
                    k.via.map_or_else(String::new, |v| v.to_string())
                ),
                _ => format!(
                    "To put this one back: del_route(\"{dest}\"), then up() again; to keep the others instead: \
                     del_route(\"{dest}\") twice (the routes in place, then this one), then add_route them again."
                ),
            };
            text += &format!("\n  {route} ({own}): {} {verb} in its place. {ways}", shown.join(", "));
        }
        parts.push(text);
    }
    Error::Runtime(format!("link {} is up, but {}", core.link_name(id), parts.join("\n")))
}

/// Both ends to wait for, each naming the other as its peer: `h` and `indices` are the
/// ends' namespaces' handles and interface indices, in the order of [`Core::ends`].
fn wants(core: &Core, id: LinkId, h: &[rtnetlink::Handle], indices: &[u32]) -> [LinkWant; 2] {
    let names = core.ends(id).map(|e| core.end_name(&e));
    [0, 1].map(|k| LinkWant {
        index: indices[k],
        name: names[k].clone(),
        link: core.link_name(id),
        peer: Some((h[1 - k].clone(), indices[1 - k], names[1 - k].clone())),
    })
}

/// Waits, bringing nothing up, until both ends are operationally up, for at most `timeout`.
pub(crate) fn wait_up(core: &Core, id: LinkId, timeout: std::time::Duration) -> Result<()> {
    let [e1, e2] = core.ends(id);
    netlink(&[core.ns(e1.place), core.ns(e2.place)], |h| async move {
        let mut indices = Vec::new();
        for (h, end) in h.iter().zip([&e1, &e2]) {
            indices.push(nl::link_by_name(h, &end.name).await?.header.index);
        }
        for ((h, end), want) in h.iter().zip([&e1, &e2]).zip(wants(core, id, &h, &indices)) {
            wait_ready_within(h, &[want], core.ns(end.place), &[], timeout).await?;
        }
        Ok(())
    })
}
