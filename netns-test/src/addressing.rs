//! Addresses and routes at run time: what `Node::add_route`, `del_route`, `add_addr` and
//! `del_addr` do, and the routes a link puts back when it comes up. Written as in a topology.
//!
//! ```ignore
//! addressing::add_route(core, node, "10.2.0.0/24", "10.1.0.1")?;
//! let not_back = addressing::restore_routes(&h, &routes).await?; // after a link's up()
//! ```

use crate::core::{Core, Place};
use crate::error::{Error, Result};
use crate::journal;
use crate::kernel::netlink::{self as nl, netlink, show_route, KernelRoute, RouteSpec};
use crate::kernel::ready::wait_ready;
use futures_util::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::Handle;
use std::net::IpAddr;

/// [`Node::add_route`](crate::Node::add_route) of node `n`.
pub(crate) fn add_route(core: &Core, n: usize, dest: &str, via: &str) -> Result<()> {
    let call = format!("add_route({dest:?}, {via:?}) on node `{}`", core.topology.nodes[n].name);
    let dest_net = parse_dest(dest).map_err(|e| Error::Runtime(format!("{call}: {e}")))?;
    let via_ip: IpAddr = via.trim().parse().map_err(|_| {
        Error::Runtime(format!("{call}: invalid gateway `{via}`: expected an address such as 10.0.0.1 or fd00::1"))
    })?;
    if let Some(d) = dest_net {
        if d.addr().is_ipv4() != via_ip.is_ipv4() {
            return Err(Error::Runtime(format!(
                "{call}: the destination and the gateway are of different IP families"
            )));
        }
    }
    let route: RouteSpec = (dest_net, via_ip);
    let kernel = netlink(&[core.ns(Place::Node(n))], |h| async move { nl::kernel_routes(&h[0]).await })?;
    if core.lock().routes[n].contains(&route) {
        let why = match kernel.iter().find(|k| k.same_dest(route) && !k.is(route)) {
            Some(k) => format!(
                "suspended: {} is in its place (del_route({:?}) then up() of its link puts it back)",
                k.show(),
                show_dest(dest_net)
            ),
            None if kernel.iter().any(|k| k.is(route)) => "in place".to_string(),
            None => "suspended: its link is down, and up() puts it back".to_string(),
        };
        return Err(Error::Runtime(format!("{call}: the node already has this route, {why}")));
    }
    let addrs = node_addrs(core, n);
    let msg = nl::route_message(dest_net, via_ip);
    let r = netlink(&[core.ns(Place::Node(n))], |h| async move { Ok(h[0].route().add(msg).execute().await) })?;
    match r {
        Ok(()) => {}
        Err(e) if errno(&e) == Some(libc::EEXIST) => {
            let there: Vec<String> = kernel.iter().filter(|k| k.same_dest(route)).map(|k| k.show()).collect();
            return Err(Error::Runtime(format!(
                "{call}: the node already has a route to {} ({}); del_route({:?}) first",
                show_dest(dest_net),
                there.join(", "),
                show_dest(dest_net)
            )));
        }
        Err(e) if errno(&e) == Some(libc::ENETUNREACH) => {
            return Err(Error::Runtime(format!(
                "{call}: gateway {via_ip} is not on any subnet of the node (its addresses: {}; a link that is \
                 down has none)",
                addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
            )))
        }
        Err(e) => return Err(Error::netlink(call)(e)),
    }
    core.lock().routes[n].push(route);
    journal::record(format!("node {}: route {} added", core.topology.nodes[n].name, show_route(route)));
    Ok(())
}

/// [`Node::del_route`](crate::Node::del_route) of node `n`.
pub(crate) fn del_route(core: &Core, n: usize, dest: &str) -> Result<()> {
    let call = format!("del_route({dest:?}) on node `{}`", core.topology.nodes[n].name);
    let dest_net = parse_dest(dest).map_err(|e| Error::Runtime(format!("{call}: {e}")))?;
    let kept: Vec<RouteSpec> = core.lock().routes[n].iter().filter(|r| r.0 == dest_net).copied().collect();
    if kept.is_empty() {
        return Err(Error::Runtime(format!(
            "{call}: the node has no route to {} (it has: {})",
            show_dest(dest_net),
            core.lock().routes[n].iter().map(|r| show_route(*r)).collect::<Vec<_>>().join(", ")
        )));
    }
    let kernel = netlink(&[core.ns(Place::Node(n))], |h| async move { nl::kernel_routes(&h[0]).await })?;
    let in_place = |r: &RouteSpec| kernel.iter().any(|k| k.is(*r));
    // Per family: `default` is two destinations.
    let mut gone = Vec::new();
    for v4 in [true, false] {
        let family: Vec<RouteSpec> = kept.iter().filter(|r| r.1.is_ipv4() == v4).copied().collect();
        let placed: Vec<RouteSpec> = family.iter().filter(|r| in_place(r)).copied().collect();
        match placed.is_empty() {
            true => gone.extend(family.into_iter().map(|r| (r, false))),
            false => gone.extend(placed.into_iter().map(|r| (r, true))),
        }
    }
    let msgs: Vec<_> = gone.iter().filter(|g| g.1).map(|(r, _)| nl::route_message(r.0, r.1)).collect();
    netlink(&[core.ns(Place::Node(n))], |h| async move {
        for m in msgs {
            match h[0].route().del(m).execute().await {
                // Gone meanwhile (its link went down).
                Err(e) if errno(&e) == Some(libc::ESRCH) => {}
                r => r.map_err(Error::netlink(call.clone()))?,
            }
        }
        Ok(())
    })?;
    core.lock().routes[n].retain(|r| !gone.iter().any(|g| g.0 == *r));
    for (r, placed) in gone {
        let how = if placed { "" } else { " (it was suspended; it will not come back)" };
        journal::record(format!("node {}: route {} deleted{how}", core.topology.nodes[n].name, show_route(r)));
    }
    Ok(())
}

/// [`Node::add_addr`](crate::Node::add_addr) of node `n`.
pub(crate) fn add_addr(core: &Core, n: usize, iface: &str, addr: &str) -> Result<()> {
    let call = format!("add_addr({iface:?}, {addr:?}) on node `{}`", core.topology.nodes[n].name);
    let i = iface_index(core, n, iface, &call)?;
    let net = parse_cidr(addr).map_err(|e| Error::Runtime(format!("{call}: {e}")))?;
    if node_addrs(core, n).iter().any(|a| a.addr() == net.addr()) {
        return Err(Error::Runtime(format!("{call}: the node already has {}", net.addr())));
    }
    let name = iface.to_string();
    netlink(&[core.ns(Place::Node(n))], |h| async move {
        let index = nl::link_by_name(&h[0], &name).await?.header.index;
        nl::add_addrs(&h[0], index, &[net], &call).await?;
        let v6: Vec<_> = match net.addr() {
            IpAddr::V6(a) => vec![(name.clone(), a)],
            IpAddr::V4(_) => vec![],
        };
        wait_ready(&h[0], &[], core.ns(Place::Node(n)), &v6).await
    })?;
    core.lock().addrs[n][i].push(net);
    journal::record(format!("node {}: address {net} added to {iface}", core.topology.nodes[n].name));
    Ok(())
}

/// [`Node::del_addr`](crate::Node::del_addr) of node `n`.
pub(crate) fn del_addr(core: &Core, n: usize, iface: &str, addr: &str) -> Result<()> {
    let call = format!("del_addr({iface:?}, {addr:?}) on node `{}`", core.topology.nodes[n].name);
    let i = iface_index(core, n, iface, &call)?;
    let net = parse_cidr(addr).map_err(|e| Error::Runtime(format!("{call}: {e}")))?;
    if !core.lock().addrs[n][i].contains(&net) {
        return Err(Error::Runtime(format!("{call}: {iface} has no address {net}")));
    }
    if net.addr().is_ipv4() {
        // Without this the kernel removes the other addresses of the subnet with its first
        // one, where they should stay (as on hosts where systemd sets it everywhere).
        let key = format!("net/ipv4/conf/{iface}/promote_secondaries");
        core.ns(Place::Node(n))
            .run(|| crate::kernel::ns::write_sysctl(&key, "1"))
            .and_then(|r| r)
            .map_err(Error::io(format!("{call}: writing {key}")))?;
    }
    let name = iface.to_string();
    netlink(&[core.ns(Place::Node(n))], |h| async move {
        let index = nl::link_by_name(&h[0], &name).await?.header.index;
        let mut found = h[0].address().get().set_link_index_filter(index).set_address_filter(net.addr()).execute();
        // Absent when its link is down (IPv6): nothing to remove in the kernel.
        if let Some(msg) = found.try_next().await.map_err(Error::netlink(call.clone()))? {
            h[0].address().del(msg).execute().await.map_err(Error::netlink(call))?;
        }
        Ok(())
    })?;
    core.lock().addrs[n][i].retain(|a| *a != net);
    journal::record(format!("node {}: address {net} removed from {iface}", core.topology.nodes[n].name));
    Ok(())
}

/// The node's addresses now.
fn node_addrs(core: &Core, n: usize) -> Vec<IpNet> {
    core.lock().addrs[n].iter().flatten().copied().collect()
}

fn iface_index(core: &Core, n: usize, iface: &str, call: &str) -> Result<usize> {
    let ifaces = &core.topology.nodes[n].interfaces;
    ifaces.iter().position(|i| i.name == iface).ok_or_else(|| {
        let names: Vec<_> = ifaces.iter().map(|i| format!("`{}`", i.name)).collect();
        Error::Runtime(format!("{call}: the node has no interface `{iface}`; it has {}", names.join(", ")))
    })
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
    let mut now = nl::kernel_routes(h).await?;
    let mut failed = Vec::new();
    for &r in routes {
        if now.iter().any(|k| k.is(r)) {
            continue;
        }
        match h.route().add(nl::route_message(r.0, r.1)).execute().await {
            Ok(()) => {}
            Err(e) => {
                now = nl::kernel_routes(h).await?;
                let in_its_place: Vec<KernelRoute> = now.iter().filter(|k| k.same_dest(r)).cloned().collect();
                // EEXIST: another route holds the destination (or, raced, this very one).
                let refused = (!nl::exists(&e) || in_its_place.is_empty()).then_some(e);
                if !in_its_place.iter().any(|k| k.is(r)) {
                    failed.push(Unrestored { route: r, in_its_place, refused });
                }
            }
        }
    }
    Ok(failed)
}

fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(-m.raw_code()),
        _ => None,
    }
}

fn show_dest(d: Option<IpNet>) -> String {
    d.map_or_else(|| "default".to_string(), |d| d.to_string())
}

/// `default` or a network, as a route's destination in a topology.
fn parse_dest(text: &str) -> std::result::Result<Option<IpNet>, String> {
    let t = text.trim();
    if t == "default" {
        return Ok(None);
    }
    let net = parse_cidr(t)?;
    if net.trunc() != net {
        return Err(format!("`{t}` has host bits set: write the network, `{}`", net.trunc()));
    }
    Ok(Some(net))
}

/// `ADDRESS/PREFIX`.
fn parse_cidr(text: &str) -> std::result::Result<IpNet, String> {
    let t = text.trim();
    if !t.contains('/') {
        return Err(format!("`{t}` has no prefix length: write it as `{t}/24` (IPv4) or `{t}/64` (IPv6)"));
    }
    t.parse().map_err(|_| format!("invalid address `{t}`: expected ADDRESS/PREFIX, e.g. 10.0.0.9/24 or fd00::9/64"))
}
