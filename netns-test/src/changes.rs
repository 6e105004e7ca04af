//! Routes and addresses changed while the test runs, written as in a topology.

use crate::api::Node;
use crate::error::{Error, Result};
use crate::journal;
use crate::live::{self, show_route, RouteSpec};
use futures_util::TryStreamExt;
use ipnet::IpNet;
use std::net::IpAddr;

impl Node {
    /// Adds a route: `dest` is `default` or a network (`10.2.0.0/24`), `via` a gateway on one
    /// of the node's subnets. The node keeps it from then on, as it keeps its declared routes:
    /// when its link goes down the kernel drops it and it is *suspended*, and
    /// [`Link::up`](crate::Link::up) of that link puts it back.
    ///
    /// A route may be added to a destination whose route is suspended (a failover: the link to
    /// the first gateway is down, the traffic goes another way). When that link comes back,
    /// the destination is taken: `up()` then says so and leaves the suspended route suspended
    /// (see there). A route to a destination that has one in place is refused.
    ///
    /// ```no_run
    /// # fn f(net: &netns_test::Net) -> netns_test::Result<()> {
    /// net.node("h1").add_route("10.2.0.0/24", "10.1.0.1")?;
    /// net.node("h1").add_route("default", "10.1.0.1")?;
    /// # Ok(()) }
    /// ```
    pub fn add_route(&self, dest: &str, via: &str) -> Result<()> {
        let call = format!("add_route({dest:?}, {via:?}) on node `{}`", self.name());
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
        let kernel = live::netlink(&[self.ns()], |h| async move { live::kernel_routes(&h[0]).await })?;
        if self.live().lock().routes[self.index()].contains(&route) {
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
        let addrs = self.live_addrs();
        let msg = live::route_message(dest_net, via_ip);
        let r = live::netlink(&[self.ns()], |h| async move { Ok(h[0].route().add(msg).execute().await) })?;
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
        self.live().lock().routes[self.index()].push(route);
        journal::record(format!("node {}: route {} added", self.name(), show_route(route)));
        Ok(())
    }

    /// Removes the node's routes to `dest` (`default`: the default routes of both families),
    /// declared or added, for good. Per destination (and, for `default`, per family): if
    /// routes to it are in place, those are removed and any suspended ones stay (they come
    /// back with their link); if none is in place, the suspended ones are removed (they will
    /// not come back). So after a failover (the route through a link that is down suspended, a
    /// route through another added), `del_route` removes the failover route, and `up()` of
    /// the link brings the first one back.
    pub fn del_route(&self, dest: &str) -> Result<()> {
        let call = format!("del_route({dest:?}) on node `{}`", self.name());
        let dest_net = parse_dest(dest).map_err(|e| Error::Runtime(format!("{call}: {e}")))?;
        let kept: Vec<RouteSpec> =
            self.live().lock().routes[self.index()].iter().filter(|r| r.0 == dest_net).copied().collect();
        if kept.is_empty() {
            return Err(Error::Runtime(format!(
                "{call}: the node has no route to {} (it has: {})",
                show_dest(dest_net),
                self.live().lock().routes[self.index()].iter().map(|r| show_route(*r)).collect::<Vec<_>>().join(", ")
            )));
        }
        let kernel = live::netlink(&[self.ns()], |h| async move { live::kernel_routes(&h[0]).await })?;
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
        let msgs: Vec<_> = gone.iter().filter(|g| g.1).map(|(r, _)| live::route_message(r.0, r.1)).collect();
        live::netlink(&[self.ns()], |h| async move {
            for m in msgs {
                match h[0].route().del(m).execute().await {
                    // Gone meanwhile (its link went down).
                    Err(e) if errno(&e) == Some(libc::ESRCH) => {}
                    r => r.map_err(Error::netlink(call.clone()))?,
                }
            }
            Ok(())
        })?;
        self.live().lock().routes[self.index()].retain(|r| !gone.iter().any(|g| g.0 == *r));
        for (r, placed) in gone {
            let how = if placed { "" } else { " (it was suspended; it will not come back)" };
            journal::record(format!("node {}: route {} deleted{how}", self.name(), show_route(r)));
        }
        Ok(())
    }

    /// Adds an address to interface `iface`: `node.add_addr("eth0", "10.0.0.9/24")`. IPv6
    /// addresses skip duplicate detection and are usable when this returns.
    pub fn add_addr(&self, iface: &str, addr: &str) -> Result<()> {
        let call = format!("add_addr({iface:?}, {addr:?}) on node `{}`", self.name());
        let i = self.iface_index(iface, &call)?;
        let net = parse_cidr(addr).map_err(|e| Error::Runtime(format!("{call}: {e}")))?;
        if self.live_addrs().iter().any(|a| a.addr() == net.addr()) {
            return Err(Error::Runtime(format!("{call}: the node already has {}", net.addr())));
        }
        let name = iface.to_string();
        live::netlink(&[self.ns()], |h| async move {
            let index = live::link_by_name(&h[0], &name).await?.header.index;
            live::add_addrs(&h[0], index, &[net], &call).await?;
            let v6: Vec<_> = match net.addr() {
                IpAddr::V6(a) => vec![(name.clone(), a)],
                IpAddr::V4(_) => vec![],
            };
            live::wait_ready(&h[0], &[], self.ns(), &v6).await
        })?;
        self.live().lock().addrs[self.index()][i].push(net);
        journal::record(format!("node {}: address {net} added to {iface}", self.name()));
        Ok(())
    }

    /// Removes an address from interface `iface`: `node.del_addr("eth0", "10.0.0.9/24")`.
    pub fn del_addr(&self, iface: &str, addr: &str) -> Result<()> {
        let call = format!("del_addr({iface:?}, {addr:?}) on node `{}`", self.name());
        let i = self.iface_index(iface, &call)?;
        let net = parse_cidr(addr).map_err(|e| Error::Runtime(format!("{call}: {e}")))?;
        if !self.live().lock().addrs[self.index()][i].contains(&net) {
            return Err(Error::Runtime(format!("{call}: {iface} has no address {net}")));
        }
        if net.addr().is_ipv4() {
            // Without this the kernel removes the other addresses of the subnet with its first
            // one, where they should stay (as on hosts where systemd sets it everywhere).
            let key = format!("net/ipv4/conf/{iface}/promote_secondaries");
            self.ns()
                .run(|| crate::kernel::ns::write_sysctl(&key, "1"))
                .and_then(|r| r)
                .map_err(Error::io(format!("{call}: writing {key}")))?;
        }
        let name = iface.to_string();
        live::netlink(&[self.ns()], |h| async move {
            let index = live::link_by_name(&h[0], &name).await?.header.index;
            let mut found = h[0].address().get().set_link_index_filter(index).set_address_filter(net.addr()).execute();
            // Absent when its link is down (IPv6): nothing to remove in the kernel.
            if let Some(msg) = found.try_next().await.map_err(Error::netlink(call.clone()))? {
                h[0].address().del(msg).execute().await.map_err(Error::netlink(call))?;
            }
            Ok(())
        })?;
        self.live().lock().addrs[self.index()][i].retain(|a| *a != net);
        journal::record(format!("node {}: address {net} removed from {iface}", self.name()));
        Ok(())
    }

    /// The node's addresses now.
    fn live_addrs(&self) -> Vec<IpNet> {
        self.live().lock().addrs[self.index()].iter().flatten().copied().collect()
    }

    fn iface_index(&self, iface: &str, call: &str) -> Result<usize> {
        self.interfaces().iter().position(|i| i.name == iface).ok_or_else(|| {
            let names: Vec<_> = self.interfaces().iter().map(|i| format!("`{}`", i.name)).collect();
            Error::Runtime(format!("{call}: the node has no interface `{iface}`; it has {}", names.join(", ")))
        })
    }
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
