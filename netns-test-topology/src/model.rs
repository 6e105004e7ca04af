//! The validated topology: what the runtime builds and the CLI prints.
//!
//! Every value here has passed validation: names are valid kernel interface names, no address is
//! used twice, every gateway is reachable from its node, every index is in range. The types are
//! `#[non_exhaustive]`: their fields can be read anywhere, but only [`Topology::parse`] makes
//! them. A model changed afterwards through its public fields is checked again by the runtime
//! before it builds anything ([`Topology::check_references`]), so it is never indexed out of
//! range.

use crate::firewall::Block;
use crate::nat::Nat;
use ipnet::IpNet;
use std::net::IpAddr;

/// A validated topology.
///
/// ```
/// let t = netns_test_topology::Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24").unwrap();
/// assert_eq!(t.nodes[0].name, "a");
/// assert_eq!(t.nodes[1].interfaces[0].name, "eth0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Topology {
    /// Hosts, each its own network namespace, in order of first appearance.
    pub nodes: Vec<Node>,
    /// Bridges; they live in the test's own namespace (the one that holds all nodes).
    pub bridges: Vec<Bridge>,
    /// Point-to-point veth pairs between two nodes.
    pub links: Vec<Link>,
    /// `expect` statements: reachability the harness and `netns-test up` check.
    pub expects: Vec<crate::Expect>,
    /// `dns NAME TYPE VALUE` statements, in order: served by every DNS node.
    pub records: Vec<crate::Record>,
}

/// A host: one network namespace.
///
/// ```
/// let t = netns_test_topology::Topology::parse("r [forward]; a=10.0.0.1/24 -- r=10.0.0.2/24").unwrap();
/// let r = &t.nodes[t.node_index("r").unwrap()];
/// assert!(r.forward);
/// assert_eq!(r.interfaces[0].name, "eth0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Node {
    /// The name used in the topology and in `net.node("name")`.
    pub name: String,
    /// Interfaces in order of appearance (`lo` is implicit and not listed).
    pub interfaces: Vec<Interface>,
    /// Static routes, in order.
    pub routes: Vec<Route>,
    /// `[forward]`: IPv4 and IPv6 forwarding enabled in this node (also implied by `nat=`).
    pub forward: bool,
    /// `[nat=eth1, nat-type=.., hairpin]`: NAT of what leaves through that interface.
    pub nat: Option<Nat>,
    /// `NODE: block ...` statements, in order.
    pub blocks: Vec<Block>,
    /// `[dns]`: this node runs a DNS server.
    pub dns: Option<crate::DnsServer>,
    /// The DNS node this node's `/etc/resolv.conf` points to (`[resolver=d]`, the only DNS node,
    /// or itself if it is one); `None` when the topology has no DNS node.
    pub resolver: Option<usize>,
    /// `[nat64=eth1]`: this node translates IPv6 to the NAT64 prefix into IPv4 (implies forward).
    pub nat64: Option<crate::Nat64>,
}

/// One end of a veth pair, inside a node.
///
/// ```
/// let t = netns_test_topology::Topology::parse("a:up=10.0.0.1/24|fd00::1/64 -- b [mtu=1400]").unwrap();
/// let up = &t.nodes[0].interfaces[0];
/// assert_eq!(up.name, "up");
/// assert_eq!(up.addrs.len(), 2);
/// assert_eq!(up.mtu, Some(1400));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Interface {
    /// Kernel interface name (at most 15 bytes).
    pub name: String,
    /// Addresses with their prefix length, IPv4 and IPv6 mixed, in the order written.
    pub addrs: Vec<IpNet>,
    /// What the other end of the veth is.
    pub peer: Peer,
    /// Link MTU if one was set with `[mtu=N]`.
    pub mtu: Option<u32>,
}

/// The other end of a node's veth.
///
/// ```
/// use netns_test_topology::{Peer, Topology};
///
/// let t = Topology::parse("a -- b; bridge br0 { a, c }").unwrap();
/// let a = &t.nodes[0];
/// match a.interfaces[0].peer {
///     Peer::Link { peer, .. } => assert_eq!(t.iface_name(peer), ("b", "eth0")),
///     Peer::Bridge(_) => unreachable!(),
/// }
/// assert_eq!(a.interfaces[1].peer, Peer::Bridge(0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The other end is in another node.
    Link {
        /// Index into [`Topology::links`].
        link: usize,
        /// The interface at the other end.
        peer: IfaceRef,
    },
    /// Index into [`Topology::bridges`]; the other end is a port of that bridge.
    Bridge(usize),
}

/// Where an interface is: `nodes[node].interfaces[iface]`.
///
/// ```
/// use netns_test_topology::{IfaceRef, Topology};
///
/// let t = Topology::parse("a -- b").unwrap();
/// assert_eq!(t.links[0].b, IfaceRef { node: 1, iface: 0 });
/// assert_eq!(t.iface(t.links[0].b).name, "eth0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IfaceRef {
    /// Index into [`Topology::nodes`].
    pub node: usize,
    /// Index into that node's [`Node::interfaces`].
    pub iface: usize,
}

/// A veth pair between two nodes: `a:eth0=... -- b:eth0=...`.
///
/// ```
/// let t = netns_test_topology::Topology::parse("a -- b [mtu=9000]").unwrap();
/// let l = &t.links[0];
/// assert_eq!((t.iface_name(l.a), t.iface_name(l.b)), (("a", "eth0"), ("b", "eth0")));
/// assert_eq!(l.mtu, Some(9000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// The end written first.
    pub a: IfaceRef,
    /// The end written second.
    pub b: IfaceRef,
    /// Link MTU if one was set with `[mtu=N]`.
    pub mtu: Option<u32>,
    /// `[delay=20ms, loss=1%, ...]`: how the link misbehaves, in each direction.
    pub conditions: crate::Conditions,
}

/// A bridge in the test's own namespace, with one veth per member node.
///
/// ```
/// let t = netns_test_topology::Topology::parse("bridge br0=10.0.0.254/24 { a=10.0.0.1/24, b }").unwrap();
/// let br = &t.bridges[0];
/// assert_eq!(br.name, "br0");
/// assert_eq!(br.addrs[0].to_string(), "10.0.0.254/24");
/// assert_eq!(br.ports, ["b0p0", "b0p1"]);
/// assert_eq!(t.iface_name(br.members[1]), ("b", "eth0"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bridge {
    /// Kernel interface name of the bridge.
    pub name: String,
    /// Addresses of the bridge itself (`bridge br0=10.0.0.254/24 { .. }`).
    pub addrs: Vec<IpNet>,
    /// Members; `ports[i]` is the bridge-side veth end for `members[i]`.
    pub members: Vec<IfaceRef>,
    /// Kernel names of the bridge-side veth ends, generated (`b0p0`, `b0p1`, ...).
    pub ports: Vec<String>,
    /// Link MTU if one was set with `[mtu=N]`.
    pub mtu: Option<u32>,
    /// `conditions[i]`: those of member `i`'s link, from `{ h1 [delay=20ms] }` or else from the
    /// bridge's own `[...]`.
    pub conditions: Vec<crate::Conditions>,
}

impl Bridge {
    /// The most members a bridge may have: a Linux bridge takes at most 1,023 ports
    /// (`BR_MAX_PORTS` is 1,024 and port number 0 is reserved), and each member is one port.
    /// A topology with a bigger bridge is rejected by [`Topology::parse`].
    ///
    /// ```
    /// use netns_test_topology::{Bridge, Topology};
    /// let members: Vec<String> = (0..=Bridge::MAX_MEMBERS).map(|i| format!("n{i}")).collect();
    /// let src = format!("bridge br0 {{ {} }}", members.join(", "));
    /// let e = Topology::parse(&src).unwrap_err();
    /// assert!(e.0[0].message.contains("at most 1,023 ports"));
    /// ```
    pub const MAX_MEMBERS: usize = 1023;
}

/// A static route in a node: `h1: default via 10.1.0.1` or `h1: 10.2.0.0/24 via 10.1.0.1`.
///
/// ```
/// let t = netns_test_topology::Topology::parse("h=10.0.0.2/24 -- r=10.0.0.1/24; h: default via 10.0.0.1").unwrap();
/// let route = t.nodes[0].routes[0];
/// assert_eq!(route.dest, None);
/// assert_eq!(route.via.to_string(), "10.0.0.1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// `None` is the default route of the gateway's family.
    pub dest: Option<IpNet>,
    /// The gateway, in one of the node's subnets.
    pub via: IpAddr,
}

impl Topology {
    /// The index of the node called `name`.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse("a -- b").unwrap();
    /// assert_eq!(t.node_index("b"), Some(1));
    /// assert_eq!(t.node_index("c"), None);
    /// ```
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The interface an [`IfaceRef`] points to.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse("a:up -- b").unwrap();
    /// assert_eq!(t.iface(t.links[0].a).name, "up");
    /// ```
    pub fn iface(&self, r: IfaceRef) -> &Interface {
        &self.nodes[r.node].interfaces[r.iface]
    }

    /// The node's and the interface's names of an [`IfaceRef`], as in `a:eth0`.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse("a:up -- b").unwrap();
    /// assert_eq!(t.iface_name(t.links[0].a), ("a", "up"));
    /// ```
    pub fn iface_name(&self, r: IfaceRef) -> (&str, &str) {
        (&self.nodes[r.node].name, &self.iface(r).name)
    }

    /// Checks that every index in the model is in range and that the two ends of every link and
    /// bridge port point at each other. Always true for a topology from [`Topology::parse`]; the
    /// fields are public to read, so a model changed afterwards may break it, and the runtime
    /// checks this before it builds anything (it never indexes a malformed model).
    ///
    /// ```
    /// let mut t = netns_test_topology::Topology::parse("a -- b").unwrap();
    /// assert_eq!(t.check_references(), Ok(()));
    /// t.links[0].b.node = 7;
    /// assert_eq!(t.check_references().unwrap_err(), "link 0 (`a:eth0 -- ?`): its second end is node 7 of 2");
    /// ```
    pub fn check_references(&self) -> Result<(), String> {
        let iface = |r: IfaceRef| self.nodes.get(r.node).and_then(|n| n.interfaces.get(r.iface));
        let end = |r: IfaceRef| match iface(r) {
            Some(i) => format!("{}:{}", self.nodes[r.node].name, i.name),
            None => "?".into(),
        };
        let out_of_range = |r: IfaceRef| match self.nodes.get(r.node) {
            None => format!("node {} of {}", r.node, self.nodes.len()),
            Some(n) => format!("interface {} of the {} of node `{}`", r.iface, n.interfaces.len(), n.name),
        };
        for (i, l) in self.links.iter().enumerate() {
            let what = || format!("link {i} (`{} -- {}`)", end(l.a), end(l.b));
            let ends = [("first", l.a, l.b), ("second", l.b, l.a)];
            if let Some((which, r, _)) = ends.iter().find(|(_, r, _)| iface(*r).is_none()) {
                return Err(format!("{}: its {which} end is {}", what(), out_of_range(*r)));
            }
            if let Some((which, ..)) =
                ends.iter().find(|(_, r, other)| iface(*r).unwrap().peer != (Peer::Link { link: i, peer: *other }))
            {
                return Err(format!("{}: its {which} end does not name the link back", what()));
            }
        }
        for (b, br) in self.bridges.iter().enumerate() {
            let n = br.members.len();
            if n > Bridge::MAX_MEMBERS || br.ports.len() != n || br.conditions.len() != n {
                return Err(format!(
                    "bridge `{}`: {n} members (at most {}), {} ports, {} conditions",
                    br.name,
                    Bridge::MAX_MEMBERS,
                    br.ports.len(),
                    br.conditions.len()
                ));
            }
            for &m in &br.members {
                match iface(m) {
                    None => return Err(format!("bridge `{}`: a member is {}", br.name, out_of_range(m))),
                    Some(x) if x.peer != Peer::Bridge(b) => {
                        return Err(format!("bridge `{}`: member {} does not name the bridge back", br.name, end(m)))
                    }
                    Some(_) => {}
                }
            }
        }
        for node in &self.nodes {
            for i in &node.interfaces {
                let ok = match i.peer {
                    Peer::Link { link, .. } => link < self.links.len(),
                    Peer::Bridge(b) => b < self.bridges.len(),
                };
                if !ok {
                    return Err(format!("interface `{}:{}`: its peer {:?} does not exist", node.name, i.name, i.peer));
                }
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(r) = node.resolver.filter(|&r| self.nodes.get(r).is_none_or(|n| n.dns.is_none())) {
                return Err(format!("node {i} (`{}`): its resolver, node {r}, is not a DNS node", node.name));
            }
        }
        for e in &self.expects {
            let to_node = match e.to {
                crate::Target::Node(n) => Some(n),
                _ => None,
            };
            if let Some(bad) = [Some(e.from), to_node].into_iter().flatten().find(|&n| n >= self.nodes.len()) {
                return Err(format!("the expectation of line {}: node {bad} of {}", e.line, self.nodes.len()));
            }
        }
        Ok(())
    }

    /// Every address in the topology with where it lives, nodes first, then bridges.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse("bridge br0=10.0.0.254/24 { a=10.0.0.1/24 }").unwrap();
    /// let all: Vec<String> = t.all_addrs().iter().map(|(at, ip)| format!("{at} {ip}")).collect();
    /// assert_eq!(all, ["a 10.0.0.1", "br0 10.0.0.254"]);
    /// ```
    pub fn all_addrs(&self) -> Vec<(String, IpAddr)> {
        let mut out = Vec::new();
        for n in &self.nodes {
            for i in &n.interfaces {
                out.extend(i.addrs.iter().map(|a| (n.name.clone(), a.addr())));
            }
        }
        for b in &self.bridges {
            out.extend(b.addrs.iter().map(|a| (b.name.clone(), a.addr())));
        }
        out
    }
}
