//! nf_tables over netlink, hand-encoded: NAT and firewall rules for nodes, without the `nft` or
//! `iptables` binaries and without libnftnl.
//!
//! Data flows one way: the topology's NAT, `allow` and `block` statements become a [`Ruleset`] (tables,
//! sets, chains, rules, each rule with the `nft` text it stands for), which is encoded into one
//! batch ([`wire`]) and sent in one transaction ([`send`]).

pub(crate) mod expr;
pub(crate) mod ruleset;
pub(crate) mod send;
pub(crate) mod wire;

#[cfg(test)]
mod tests;

pub(crate) use ruleset::Ruleset;

mod block;
mod matches;
pub(crate) mod nat;

use netns_test_topology::{Block, Nat};

/// The ruleset of a node with this NAT (if any) and these `block` statements; empty when
/// neither.
pub(crate) fn ruleset(nat: Option<&Nat>, blocks: &[Block]) -> Ruleset {
    let mut r = Ruleset::default();
    if let Some(nat) = nat {
        r.tables.push(nat::table(nat));
    }
    if !blocks.is_empty() {
        r.tables.push(block::table(blocks));
    }
    r
}

/// Installs `rules` in the namespace `ns` of node `node`, in one transaction.
pub(crate) fn install(ns: &crate::kernel::ns::NetNs, node: &str, rules: &Ruleset) -> crate::error::Result<()> {
    let refused = |r: send::Refused| crate::error::Error::Nftables {
        node: node.to_string(),
        what: r.what,
        source: r.source,
        hint: if r.hint.is_empty() { String::new() } else { format!("\n{}", r.hint) },
    };
    ns.run(|| send::install(rules))
        .map_err(crate::error::Error::io(format!("entering node `{node}` to install its rules")))?
        .map_err(refused)
}

/// Replaces the firewall table of the node whose namespace is `ns` by one with these `allow`
/// and `block` rules (none: no filtering), in one transaction; its NAT table is not touched.
pub(crate) fn replace_firewall(
    ns: &crate::kernel::ns::NetNs,
    node: &str,
    blocks: &[Block],
) -> crate::error::Result<()> {
    install(ns, node, &Ruleset { tables: vec![block::replacement(blocks)] })
}

/// The NAT and firewall rules of a node with this NAT and these firewall rules, in `nft list
/// ruleset` style (one line per rule, each firewall rule ending with its statement); `None` if
/// it has none.
///
/// For failure dumps and `Node::firewall_rules`: what the framework put in the node's nf_tables.
pub(crate) fn rules_text(nat: Option<&Nat>, blocks: &[Block]) -> Option<String> {
    let rules = ruleset(nat, blocks);
    (!rules.tables.is_empty()).then(|| rules.render())
}
