//! Links changed while the test runs: down and up, conditions set and cleared.

use crate::api::Net;
use crate::builder::LinkWant;
use crate::conditions::{self, ConditionPath};
use crate::error::{Error, Result};
use crate::journal;
use crate::live::{self, describe, ends, show_route, LinkId, RouteSpec};
use netns_test_topology::{parse_link_options, Conditions, Topology};
use std::net::IpAddr;

/// One link of a built network, from [`Net::link`]: a veth pair between two nodes, or a node's
/// veth to a bridge.
///
/// ```no_run
/// # use netns_test::{netns_test, Net};
/// #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
/// fn flaky(net: &Net) -> netns_test::Result<()> {
///     let link = net.link("a", "b");
///     link.set("delay=50ms, loss=2%")?; // the link-option grammar, both directions
///     link.down()?; // the cable is cut: both ends go down
///     link.up()?; // back, with its addresses and routes
///     link.clear()?; // a plain veth again
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    net: &'a Net,
    id: LinkId,
}

impl Net {
    /// The link between nodes `a` and `b` (`net.link("a", "b")`), or between node `a` and
    /// bridge `b` (`net.link("h1", "br0")`). Where two nodes share several links, name the
    /// interface: `net.link("a:eth1", "b")`.
    ///
    /// # Panics
    /// If there is no such link; the message lists the links there are.
    #[track_caller]
    pub fn link(&self, a: &str, b: &str) -> Link<'_> {
        let topo = self.topology();
        match find_link(topo, a, b).or_else(|| find_link(topo, b, a)) {
            Some(id) => Link { net: self, id },
            None => {
                let all: Vec<String> =
                    all_links(topo).into_iter().map(|id| format!("`{}`", describe(topo, id))).collect();
                panic!("no link between `{a}` and `{b}` in this topology; its links are: {}", all.join(", "))
            }
        }
    }
}

/// `node[:iface]` and a node or bridge name.
fn find_link(topo: &Topology, a: &str, b: &str) -> Option<LinkId> {
    let (node, iface) = a.split_once(':').map_or((a, None), |(n, i)| (n, Some(i)));
    let n = topo.node_index(node)?;
    let matches = |r: netns_test_topology::IfaceRef| r.node == n && iface.is_none_or(|i| topo.iface(r).name == i);
    if let Some(bi) = topo.bridges.iter().position(|br| br.name == b) {
        let m = topo.bridges[bi].members.iter().position(|&r| matches(r))?;
        return Some(LinkId::Member(bi, m));
    }
    let (other, other_iface) = b.split_once(':').map_or((b, None), |(n, i)| (n, Some(i)));
    let o = topo.node_index(other)?;
    let other_matches =
        |r: netns_test_topology::IfaceRef| r.node == o && other_iface.is_none_or(|i| topo.iface(r).name == i);
    topo.links.iter().position(|l| matches(l.a) && other_matches(l.b)).map(LinkId::Veth)
}

pub(crate) fn all_links(topo: &Topology) -> Vec<LinkId> {
    let veths = (0..topo.links.len()).map(LinkId::Veth);
    let members =
        topo.bridges.iter().enumerate().flat_map(|(b, br)| (0..br.members.len()).map(move |m| LinkId::Member(b, m)));
    veths.chain(members).collect()
}

impl Link<'_> {
    /// Takes both ends down, as if the cable were cut; open connections stall and resume after
    /// [`up`](Self::up). The kernel drops the routes this link carries (those whose gateway is
    /// on one of its subnets) and its IPv6 addresses; the nodes keep them: the routes are
    /// *suspended*, and `up()` puts them back. While suspended, a route may be removed with
    /// [`Node::del_route`](crate::Node::del_route) (it then does not come back), and another
    /// route to its destination may be added (a failover).
    pub fn down(&self) -> Result<()> {
        self.set_state(false)
    }

    /// Brings both ends up again, puts back their addresses and the suspended routes this link
    /// carries (declared or added since), and returns once the link passes traffic. A route
    /// already in place, the same, is fine; so `up()` of a link that is up tries again what an
    /// earlier `up()` could not do.
    ///
    /// A suspended route whose destination is taken (a route to it was added while the link
    /// was down) cannot come back. `up()` then puts back everything else and returns an error
    /// that names each such route, what is in its place and the two ways out: remove the route
    /// in place (`del_route`) and call `up()` again, or forget the suspended one too. The
    /// routes it could not put back stay suspended, and each `up()` tries again.
    pub fn up(&self) -> Result<()> {
        self.set_state(true)
    }

    /// Gives the link the options in `options`, written as in a topology's `[...]`:
    /// `"delay=50ms, loss=2%"`. The conditions replace those the link had (what is not named
    /// is off); an `mtu` changes both ends' MTU. Same messages as at compile time when the text
    /// is wrong. An `mtu` below IPv6's minimum (1280), at which the kernel takes IPv6 off a
    /// link, is refused while the link's ends (or, for a bridge member, the bridge) have IPv6
    /// addresses, and nothing is changed.
    pub fn set(&self, options: &str) -> Result<()> {
        let o = parse_link_options(options)
            .map_err(|e| Error::InvalidOptions { text: options.to_string(), rendered: e.render(options) })?;
        if let Some(mtu) = o.mtu {
            self.set_mtu(mtu)?;
        }
        self.apply(o.conditions, options)
    }

    /// Removes every condition: a plain link again (a userspace forwarder, if one was put in,
    /// stays and passes frames unchanged).
    pub fn clear(&self) -> Result<()> {
        self.apply(Conditions::default(), "clear")
    }

    /// The conditions the link has now.
    pub fn conditions(&self) -> Conditions {
        self.net.live().lock().links.get(&self.id).map(|l| l.conditions).unwrap_or_default()
    }

    /// Which mechanism gives the link its conditions: `tbf`, the kernel's `netem`, or the
    /// userspace forwarder where the kernel has no netem.
    pub fn path(&self) -> ConditionPath {
        self.net.live().lock().links.get(&self.id).map(|l| l.path).unwrap_or_default()
    }

    /// `a:eth0 -- b:eth0`, `h1:eth0 -- br0`.
    pub fn name(&self) -> String {
        describe(self.net.topology(), self.id)
    }

    fn apply(&self, c: Conditions, asked: &str) -> Result<()> {
        let path = conditions::apply(self.net.topology(), self.net.live(), self.id, c)?;
        journal::record(format!("link {}: {asked} -> {} ({path})", self.name(), show(&c)));
        Ok(())
    }

    fn set_mtu(&self, mtu: u32) -> Result<()> {
        let live = self.net.live();
        let [e1, e2] = ends(self.net.topology(), self.id);
        let what = self.name();
        if mtu < live::IPV6_MIN_MTU {
            let (doomed, bridge) = self.ipv6_addrs();
            if !doomed.is_empty() {
                let min = live::IPV6_MIN_MTU;
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
        live::netlink(&[live.ns(e1.place), live.ns(e2.place)], |h| async move {
            for (h, end) in h.iter().zip([&e1, &e2]) {
                set(h, live::link_by_name(h, &end.name).await?.header.index, &end.name).await?;
            }
            Ok(())
        })?;
        // A forwarder's ends pass nothing larger than their own MTU.
        let st = live.lock();
        if let (Some(fw), Some(ns)) = (st.links.get(&self.id).and_then(|l| l.forwarder.as_ref()), &st.forwarder_ns) {
            live::netlink(&[ns], |h| async move {
                for i in fw.ends {
                    set(&h[0], i, "a forwarder end").await?;
                }
                Ok(())
            })?;
        }
        journal::record(format!("link {what}: mtu={mtu}"));
        Ok(())
    }

    /// The IPv6 addresses an MTU below IPv6's minimum would take away: the node ends' (`fd00::1/64
    /// from a:eth0`), and a bridge's own when this is one of its members (the kernel gives a
    /// bridge its smallest port's MTU); and whether a bridge's are among them.
    fn ipv6_addrs(&self) -> (Vec<String>, bool) {
        let topo = self.net.topology();
        let st = self.net.live().lock();
        let v6 = |addrs: &[ipnet::IpNet], place: &str| {
            let list: Vec<String> = addrs.iter().filter(|a| a.addr().is_ipv6()).map(|a| a.to_string()).collect();
            (!list.is_empty()).then(|| format!("{} from {place}", list.join(", ")))
        };
        let mut out: Vec<String> = ends(topo, self.id)
            .iter()
            .filter_map(|e| {
                e.iface.and_then(|(n, i)| v6(&st.addrs[n][i], &format!("{}:{}", topo.nodes[n].name, e.name)))
            })
            .collect();
        let bridge = match self.id {
            LinkId::Member(b, _) => v6(&topo.bridges[b].addrs, &format!("bridge {}", topo.bridges[b].name)),
            LinkId::Veth(_) => None,
        };
        let has_bridge = bridge.is_some();
        out.extend(bridge);
        (out, has_bridge)
    }

    fn set_state(&self, up: bool) -> Result<()> {
        let topo = self.net.topology();
        let live = self.net.live();
        let [e1, e2] = ends(topo, self.id);
        // Per node end: its addresses, and the routes of its node this link carries (their
        // gateway is on one of its subnets).
        let restore = {
            let st = live.lock();
            [&e1, &e2].map(|e| {
                e.iface.map(|(n, i)| {
                    let addrs = st.addrs[n][i].clone();
                    let on_link = |r: &&RouteSpec| addrs.iter().any(|a| a.contains(&r.1));
                    let routes: Vec<RouteSpec> = st.routes[n].iter().filter(on_link).copied().collect();
                    (n, addrs, routes)
                })
            })
        };
        let what = self.name();
        let failed = live::netlink(&[live.ns(e1.place), live.ns(e2.place)], |h| async move {
            let mut indices = Vec::new();
            for (h, end) in h.iter().zip([&e1, &e2]) {
                let link = live::link_by_name(h, &end.name).await?;
                let index = link.header.index;
                if up && end.iface.is_some() {
                    live::no_dad(live.ns(end.place), &end.name, live::link_mtu(&link).unwrap_or(1500))?;
                }
                live::set_up(h, index, up, &format!("{} (link {what})", end.name)).await?;
                indices.push(index);
            }
            let mut failed = Vec::new();
            if !up {
                return Ok(failed);
            }
            let wants = self.wants(&h, &indices);
            for (((h, end), restore), want) in h.iter().zip([&e1, &e2]).zip(&restore).zip(wants) {
                let mut v6 = Vec::new();
                if let Some((n, addrs, routes)) = restore {
                    let node = &topo.nodes[*n].name;
                    live::add_addrs(h, want.index, addrs, &format!("{node}:{}", end.name)).await?;
                    let not_back = live::restore_routes(h, routes).await?;
                    if !not_back.is_empty() {
                        failed.push((*n, not_back));
                    }
                    v6.extend(addrs.iter().filter_map(|a| match a.addr() {
                        IpAddr::V6(a) => Some((end.name.clone(), a)),
                        IpAddr::V4(_) => None,
                    }));
                }
                live::wait_ready(h, &[want], live.ns(end.place), &v6).await?;
            }
            Ok(failed)
        })?;
        journal::record(format!("link {}: {}", self.name(), if up { "up" } else { "down" }));
        if failed.is_empty() {
            return Ok(());
        }
        let e = self.not_restored(&failed);
        journal::record(e.to_string());
        Err(e)
    }

    /// What `up()` says of the routes it could not put back, per node: each route, what is in
    /// its place, and the two ways out.
    fn not_restored(&self, failed: &[(usize, Vec<live::Unrestored>)]) -> Error {
        let topo = self.net.topology();
        let st = self.net.live().lock();
        let declared = |n: usize| topo.nodes[n].routes.iter().map(|r| (r.dest, r.via)).collect::<Vec<RouteSpec>>();
        let mut parts = Vec::new();
        for (n, routes) in failed {
            let (n, declared) = (*n, declared(*n));
            let origin = |k: &live::KernelRoute| match () {
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
                let shown: Vec<String> =
                    u.in_its_place.iter().map(|k| format!("{} ({})", k.show(), origin(k))).collect();
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
        Error::Runtime(format!("link {} is up, but {}", self.name(), parts.join("\n")))
    }

    /// Both ends to wait for, each naming the other as its peer: `h` and `indices` are the
    /// ends' namespaces' handles and interface indices, in the order of [`ends`].
    fn wants(&self, h: &[rtnetlink::Handle], indices: &[u32]) -> [LinkWant; 2] {
        let topo = self.net.topology();
        let names = ends(topo, self.id).map(|e| live::end_name(topo, &e));
        [0, 1].map(|k| LinkWant {
            index: indices[k],
            name: names[k].clone(),
            link: self.name(),
            peer: Some((h[1 - k].clone(), indices[1 - k], names[1 - k].clone())),
        })
    }

    /// Waits, bringing nothing up, until both ends are operationally up, for at most `timeout`.
    pub(crate) fn wait_up(&self, timeout: std::time::Duration) -> Result<()> {
        let topo = self.net.topology();
        let live = self.net.live();
        let [e1, e2] = ends(topo, self.id);
        live::netlink(&[live.ns(e1.place), live.ns(e2.place)], |h| async move {
            let mut indices = Vec::new();
            for (h, end) in h.iter().zip([&e1, &e2]) {
                indices.push(live::link_by_name(h, &end.name).await?.header.index);
            }
            for ((h, end), want) in h.iter().zip([&e1, &e2]).zip(self.wants(&h, &indices)) {
                live::wait_ready_within(h, &[want], live.ns(end.place), &[], timeout).await?;
            }
            Ok(())
        })
    }
}

fn show(c: &Conditions) -> String {
    if c.is_empty() {
        "no conditions".to_string()
    } else {
        c.to_string()
    }
}

/// Gives every link the conditions its topology declares; run once after building.
pub(crate) fn apply_declared(net: &Net) -> Result<()> {
    let topo = net.topology();
    for id in all_links(topo) {
        let c = declared(topo, id);
        if !c.is_empty() {
            let path = conditions::apply(topo, net.live(), id, c)?;
            if crate::env::tracing() {
                eprintln!("netns-test: link {}: {c} ({path})", describe(topo, id));
            }
        }
    }
    Ok(())
}

/// The conditions the topology declares for a link.
pub(crate) fn declared(topo: &Topology, id: LinkId) -> Conditions {
    match id {
        LinkId::Veth(l) => topo.links[l].conditions,
        LinkId::Member(b, m) => topo.bridges[b].conditions[m],
    }
}
