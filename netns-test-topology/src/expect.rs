//! Expectations (`expect` statements), validated: reachability a topology promises, checked
//! with real packets by the fixture harness and by `netns-test up`.
//!
//! ```
//! use netns_test_topology::{Probe, Topology};
//!
//! let t = Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24\nexpect a -> b tcp/80").unwrap();
//! assert_eq!(t.expects[0].probe, Probe::Tcp(80));
//! assert_eq!(t.expects[0].describe(&t), "a -> b tcp/80");
//! ```
//!
//! ```text
//! expect a -> b            every address of b answers ICMP echo from a
//! expect a -/-> b          none does
//! expect a -> b tcp/80     a connects to every address of b on TCP port 80 (the checker listens)
//! expect a -> b udp/53     a datagram to every address of b on UDP port 53 comes back
//! expect a -> 10.0.2.1     an address of the topology instead of a node
//! expect a -> www.example.com tcp/80   a name, resolved through the topology's DNS server
//! ```

use std::fmt;
use std::net::IpAddr;

/// One `expect` statement, validated: `from` and a node target exist, an address target
/// belongs to the topology.
///
/// ```
/// let t = netns_test_topology::Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24\nexpect a -/-> b udp/53").unwrap();
/// let e = &t.expects[0];
/// assert_eq!((e.from, e.reachable, e.line), (0, false, 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Expect {
    /// Index of the node the probe starts from.
    pub from: usize,
    /// What the probe goes to.
    pub to: Target,
    pub probe: Probe,
    /// `->` (true) or `-/->` (false).
    pub reachable: bool,
    /// The 1-based line of the statement, for reports.
    pub line: usize,
}

/// What an expectation points at.
///
/// ```
/// use netns_test_topology::{Target, Topology};
///
/// let t = Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24\nexpect a -> b\nexpect b -> 10.0.0.1").unwrap();
/// assert_eq!(t.expects[0].to, Target::Node(1));
/// assert_eq!(t.expects[1].to, Target::Addr("10.0.0.1".parse().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every address of this node (an index into [`Topology::nodes`](crate::Topology::nodes)).
    Node(usize),
    /// One address of a node or bridge of the topology.
    Addr(IpAddr),
    /// A domain name, resolved through the topology's DNS from the probing node; every address
    /// it resolves to is probed (`expect a -> www.example.com tcp/80`).
    Name(String),
}

/// How reachability is tested.
///
/// ```
/// use netns_test_topology::{Probe, Topology};
///
/// let t = Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24\nexpect a -> b\nexpect a -> b udp/53").unwrap();
/// assert_eq!((t.expects[0].probe, t.expects[1].probe), (Probe::Icmp, Probe::Udp(53)));
/// assert_eq!(Probe::Tcp(80).to_string(), "tcp/80");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// One ICMP echo request and its reply.
    Icmp,
    /// A TCP connection to this port (a listener is opened in the target node).
    Tcp(u16),
    /// A UDP datagram to this port, echoed back by the target node.
    Udp(u16),
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Icmp => f.write_str("icmp"),
            Probe::Tcp(p) => write!(f, "tcp/{p}"),
            Probe::Udp(p) => write!(f, "udp/{p}"),
        }
    }
}

impl Expect {
    /// The statement as written, without `expect`: `a -/-> b udp/53`.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24\nexpect  a  -> b").unwrap();
    /// assert_eq!(t.expects[0].describe(&t), "a -> b");
    /// ```
    pub fn describe(&self, t: &crate::Topology) -> String {
        let arrow = if self.reachable { "->" } else { "-/->" };
        let to = match &self.to {
            Target::Node(n) => t.nodes[*n].name.clone(),
            Target::Addr(a) => a.to_string(),
            Target::Name(name) => name.clone(),
        };
        let probe = match self.probe {
            Probe::Icmp => String::new(),
            p => format!(" {p}"),
        };
        format!("{} {arrow} {to}{probe}", t.nodes[self.from].name)
    }
}

impl crate::Topology {
    /// The node that has `addr` on one of its interfaces.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24").unwrap();
    /// assert_eq!(t.node_with_addr("10.0.0.2".parse().unwrap()), Some(1));
    /// assert_eq!(t.node_with_addr("10.0.0.3".parse().unwrap()), None);
    /// ```
    pub fn node_with_addr(&self, addr: IpAddr) -> Option<usize> {
        self.nodes.iter().position(|n| n.interfaces.iter().any(|i| i.addrs.iter().any(|a| a.addr() == addr)))
    }
}
