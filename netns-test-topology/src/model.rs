//! The validated topology: what the runtime builds and the CLI prints.
//!
//! Every value here has passed validation: names are valid kernel interface names, no address is
//! used twice, every gateway is reachable from its node, every index is in range.

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
pub struct Topology {
    /// Hosts, each its own network namespace, in order of first appearance.
    pub nodes: Vec<Node>,
    /// Bridges; they live in the test's own namespace (the one that holds all nodes).
    pub bridges: Vec<Bridge>,
    /// Point-to-point veth pairs between two nodes.
    pub links: Vec<Link>,
}

/// A host: one network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The name used in the topology and in `net.node("name")`.
    pub name: String,
    /// Interfaces in order of appearance (`lo` is implicit and not listed).
    pub interfaces: Vec<Interface>,
    /// Static routes, in order.
    pub routes: Vec<Route>,
    /// `[forward]`: IPv4 and IPv6 forwarding enabled in this node.
    pub forward: bool,
}

/// One end of a veth pair, inside a node.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Index into [`Topology::links`]; the other end is in another node.
    Link(usize),
    /// Index into [`Topology::bridges`]; the other end is a port of that bridge.
    Bridge(usize),
}

/// Where an interface is: `nodes[node].interfaces[iface]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IfaceRef {
    pub node: usize,
    pub iface: usize,
}

/// A veth pair between two nodes: `a:eth0=... -- b:eth0=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub a: IfaceRef,
    pub b: IfaceRef,
    /// Link MTU if one was set with `[mtu=N]`.
    pub mtu: Option<u32>,
}

/// A bridge in the test's own namespace, with one veth per member node.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// A static route in a node: `h1: default via 10.1.0.1` or `h1: 10.2.0.0/24 via 10.1.0.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `None` is the default route of the gateway's family.
    pub dest: Option<IpNet>,
    pub via: IpAddr,
}

impl Topology {
    /// The index of the node called `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The interface an [`IfaceRef`] points to.
    pub fn iface(&self, r: IfaceRef) -> &Interface {
        &self.nodes[r.node].interfaces[r.iface]
    }

    /// Every address in the topology with where it lives, nodes first, then bridges.
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
