//! The nodes' NAT and `block` rules, installed after addresses and routes (one nf_tables
//! transaction per node that has any; see [`crate::kernel::nft`]), and the NAT routers'
//! connection tracking timeouts, which must hold from the first packet.

use crate::error::{Error, Result};
use crate::kernel::conntrack;
use crate::kernel::nft::{self, Installed};
use crate::kernel::ns::NetNs;
use netns_test_topology::Topology;

/// Installs every node's rules; nodes without NAT or `block` statements are not touched.
pub(super) fn install(topo: &Topology, nodes: &[NetNs]) -> Result<()> {
    for (node, ns) in topo.nodes.iter().zip(nodes) {
        let nat = node.nat.clone().map(Installed::new);
        let rules = nft::ruleset(nat.as_ref(), &node.blocks);
        if rules.tables.is_empty() {
            continue;
        }
        ns.run(|| {
            if let Some(nat) = node.nat.as_ref().filter(|n| n.stateful()) {
                conntrack::set_timeouts(nat.udp_timeout, nat.tcp_timeout)
                    .map_err(Error::io(format!("setting the NAT timeouts of node `{}`", node.name)))?;
            }
            nft::install_here(&node.name, &rules)
        })
        .map_err(Error::io(format!("entering node `{}` to install its rules", node.name)))??;
    }
    Ok(())
}
