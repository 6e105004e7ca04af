//! [`Nat`]: a NAT router's translation while the test runs, from [`Node::nat`].

use super::Node;
use crate::error::Result;
pub use crate::nat::{Mapping, Protocol};

/// The NAT of a router (`r [nat=eth1, ...]`), changed while the test runs: forget every mapping
/// as after a reboot or a carrier rebind, give it other options, turn it off and on, and read
/// its mappings.
///
/// ```no_run
/// # use netns_test::{netns_test, Net};
/// #[netns_test(topology = "
///     c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
///     r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
///     r [nat=eth1]
///     c: default via 10.0.1.1
/// ")]
/// fn migrates(net: &Net) -> netns_test::Result<()> {
///     let nat = net.node("r").nat();
///     nat.rebind()?;                                       // the next packet leaves on a new port
///     nat.set("nat-type=symmetric, udp-timeout=30s")?;     // the topology's grammar and messages
///     for m in nat.mappings() {
///         println!("{:?} {} -> {}, {:?} left", m.protocol, m.inside, m.outside, m.expires_in);
///     }
///     nat.off()?;                                          // routed untranslated
///     nat.on()?;                                           // back, with no mappings
///     Ok(())
/// }
/// ```
///
/// Every change is recorded in the journal (`NETNS_TEST_TRACE=1`, failure reports), and
/// [`Node::firewall_rules`] and the failure dump show the rules as they are now.
#[derive(Debug, Clone, Copy)]
pub struct Nat<'a> {
    node: &'a Node,
}

impl Node {
    /// This router's NAT, to change while the test runs.
    ///
    /// # Panics
    /// If the topology gives the node no NAT (`nat=`); the message names the node, its options
    /// and the nodes that have one.
    #[track_caller]
    pub fn nat(&self) -> Nat<'_> {
        let model = &self.core.topology.nodes[self.index];
        if model.nat.is_none() {
            let mut opts = Vec::new();
            if model.forward {
                opts.push("forward");
            }
            let opts = if opts.is_empty() { "none".to_string() } else { format!("`[{}]`", opts.join(", ")) };
            let with: Vec<String> =
                self.core.topology.nodes.iter().filter(|n| n.nat.is_some()).map(|n| format!("`{}`", n.name)).collect();
            let with = if with.is_empty() { "none".to_string() } else { with.join(", ") };
            panic!(
                "node `{}` has no NAT: its options are {opts}; nat() needs `nat=` in the topology (e.g. `{} \
                 [nat=eth1]`). Nodes with NAT: {with}",
                model.name, model.name
            );
        }
        Nat { node: self }
    }
}

impl Nat<'_> {
    /// Forgets every mapping and conntrack entry of the router at once, as a home router's
    /// reboot or a carrier's rebind does: the next packet of a live flow leaves on a new
    /// outside port, and packets sent in to the old ones are dropped. An error while the NAT is
    /// off.
    pub fn rebind(&self) -> Result<()> {
        crate::nat::rebind(&self.node.core, self.node.index)
    }

    /// Gives the NAT the options `options`, written as in a topology's `[...]` without `nat=`:
    /// `"nat-type=symmetric, udp-timeout=30s"`. What it does not name takes its default
    /// (`port-restricted`, no `hairpin`, the default timeouts); the outside interface stays
    /// unless it names one. Flows alive keep their mappings, and from one endpoint-independent
    /// type to another (or the same, with other timeouts) so do inside endpoints: a new flow
    /// from one leaves on its old port. New mappings follow the new options.
    /// Same messages as at compile time when the text is wrong. While the NAT is off, it
    /// changes what [`on`](Self::on) puts back.
    pub fn set(&self, options: &str) -> Result<()> {
        crate::nat::set(&self.node.core, self.node.index, options)
    }

    /// The router's translated flows now, by protocol, inside and outside endpoint.
    ///
    /// # Panics
    /// If the router's connection tracking table cannot be read (the message says why).
    pub fn mappings(&self) -> Vec<Mapping> {
        crate::nat::mappings(&self.node.core, self.node.index)
            .unwrap_or_else(|e| panic!("reading the mappings of node `{}`: {e}", self.node.name()))
    }

    /// Removes the NAT (the node's `block` rules stay) and forgets its conntrack entries: the
    /// router forwards untranslated until [`on`](Self::on). Nothing if it is off already.
    pub fn off(&self) -> Result<()> {
        crate::nat::off(&self.node.core, self.node.index)
    }

    /// Puts the NAT back as it was before [`off`](Self::off) (or as [`set`](Self::set) made it
    /// since), with no mappings: flows that crossed untranslated meanwhile are forgotten, so
    /// their next packets are translated. Nothing if it is on already.
    pub fn on(&self) -> Result<()> {
        crate::nat::on(&self.node.core, self.node.index)
    }

    /// Whether the NAT is on.
    pub fn is_on(&self) -> bool {
        crate::nat::config(&self.node.core, self.node.index).0
    }

    /// The NAT's options now (while it is off: those [`on`](Self::on) puts back), as the
    /// topology's model.
    pub fn options(&self) -> netns_test_topology::Nat {
        let (_, nat) = crate::nat::config(&self.node.core, self.node.index);
        nat.expect("a node with NAT has options, on or off")
    }
}
