//! nf_tables over netlink, hand-encoded: NAT and firewall rules for nodes, without the `nft` or
//! `iptables` binaries and without libnftnl.
//!
//! Data flows one way: the topology's NAT and `block` statements become a [`Ruleset`] (tables,
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

