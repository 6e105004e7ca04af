//! nf_tables over netlink, hand-encoded: NAT and firewall rules for nodes, without the `nft` or
//! `iptables` binaries and without libnftnl.
//!
//! Data flows one way: the topology's NAT, `allow` and `block` statements become a [`Ruleset`] (tables,
//! sets, chains, rules, each rule with the `nft` text it stands for), which is encoded into one
//! batch ([`wire`]) and sent in one transaction ([`send`]).

pub(crate) mod expr;
pub(crate) mod read;
pub(crate) mod ruleset;
pub(crate) mod send;
pub(crate) mod wire;

#[cfg(test)]
mod tests;

pub(crate) use ruleset::Ruleset;

mod block;
mod matches;
pub(crate) mod nat;

pub(crate) use nat::Installed;
use netns_test_topology::Block;
use ruleset::Family;

/// The ruleset of a node with this NAT (if any) and these `block` statements; empty when
/// neither.
pub(crate) fn ruleset(nat: Option<&Installed>, blocks: &[Block]) -> Ruleset {
    let mut r = Ruleset::default();
    if let Some(nat) = nat {
        r.tables.extend(nat::tables(nat));
    }
    if !blocks.is_empty() {
        r.tables.push(block::table(blocks));
    }
    r
}

/// Every NAT table netns-test may have installed in a node: `(family, name)`.
const NAT_TABLES: [(Family, &str); 3] =
    [(Family::Ip, nat::TABLE), (Family::Ip6, nat::TABLE6), (Family::Ip6, nat::NPT_TABLE)];

/// A router's NAT replaced by `nat` (`None`: removed), in one transaction, with the mapping
/// tables refilled with the mappings `held` (read from the rules replaced), so they keep them;
/// its `block` rules are not touched.
pub(crate) fn replace_nat(nat: Option<&Installed>, held: &nat::Held) -> Ruleset {
    let mut r = Ruleset::default();
    r.delete = NAT_TABLES.iter().map(|(f, n)| (*f, n.to_string())).collect();
    if let Some(nat) = nat {
        r.tables.extend(nat::tables(nat));
        r.elements = nat::restore(nat, held);
    }
    r
}

/// Every mapping table of `nat`'s rules emptied, in one transaction.
pub(crate) fn flush_mappings(nat: &Installed) -> Ruleset {
    let mut r = Ruleset::default();
    for t in nat::tables(nat) {
        for s in &t.sets {
            r.flush.push((t.family, t.name.clone(), s.name.clone()));
        }
    }
    r
}

/// Installs `rules` in the calling thread's namespace (node `node`'s), in one transaction.
pub(crate) fn install_here(node: &str, rules: &Ruleset) -> crate::error::Result<()> {
    send::install(rules).map_err(|r| refused(node, r))
}

/// Installs `rules` in the namespace of `socket` (node `node`'s), in one transaction.
pub(crate) fn install_on(
    socket: &crate::kernel::nfnl::NfSocket,
    node: &str,
    rules: &Ruleset,
) -> crate::error::Result<()> {
    send::install_on(socket, rules).map_err(|r| refused(node, r))
}

fn refused(node: &str, r: send::Refused) -> crate::error::Error {
    crate::error::Error::Nftables {
        node: node.to_string(),
        what: r.what,
        source: r.source,
        hint: if r.hint.is_empty() { String::new() } else { format!("\n{}", r.hint) },
    }
}

/// Replaces the firewall table of the node whose namespace is `ns` by one with these `allow`
/// and `block` rules (none: no filtering), in one transaction; its NAT tables are not touched.
pub(crate) fn replace_firewall(
    ns: &crate::kernel::ns::NetNs,
    node: &str,
    blocks: &[Block],
) -> crate::error::Result<()> {
    let rules = Ruleset { tables: vec![block::replacement(blocks)], ..Default::default() };
    ns.run(|| install_here(node, &rules))
        .map_err(crate::error::Error::io(format!("entering node `{node}` to change its firewall")))?
}

/// The NAT and firewall rules netns-test installs in a node with this NAT and these `block`
/// statements, in `nft list ruleset` style (one line per rule, each `block` rule ending with its
/// statement); `None` if it has none.
///
/// For failure dumps and `Node::firewall_rules`: what the framework put in the node's nf_tables.
pub(crate) fn rules_text(nat: Option<&Installed>, blocks: &[Block]) -> Option<String> {
    let rules = ruleset(nat, blocks);
    (!rules.tables.is_empty()).then(|| rules.render())
}
