//! The nodes' NAT and `block` rules, installed after addresses and routes (one nf_tables
//! transaction per node that has any; see [`crate::kernel::nft`]).

use crate::error::Result;
use crate::kernel::nft;
use crate::kernel::ns::NetNs;
use netns_test_topology::Topology;

/// Installs every node's rules; nodes without NAT or `block` statements are not touched.
pub(super) fn install(topo: &Topology, nodes: &[NetNs]) -> Result<()> {
    for (node, ns) in topo.nodes.iter().zip(nodes) {
        let rules = nft::ruleset(node.nat.as_ref(), &node.blocks);
        if !rules.tables.is_empty() {
            nft::install(ns, &node.name, &rules)?;
        }
    }
    Ok(())
}
