//! Firewall rules written at run time (`Firewall::add("block udp/53")` in the runtime): the
//! same grammar and the same checks as a `NODE: allow|block ...` statement in a topology.

use crate::error::Errors;
use crate::firewall::Block;
use crate::model::Node;

/// One rule of `node`'s firewall written alone, as in a topology after `NODE:`: `"block udp/53"`,
/// `"allow tcp/443"`, `"block inbound on eth1"`. Same words, checks and messages as in a
/// topology; the errors' spans are into `text`.
///
/// ```
/// use netns_test_topology::{parse_rule, Action, Topology};
///
/// let t = Topology::parse("a=10.0.0.1/24 -- r=10.0.0.2/24").unwrap();
/// let rule = parse_rule(&t.nodes[1], "allow tcp/443").unwrap();
/// assert_eq!((rule.action, rule.to_string().as_str()), (Action::Allow, "allow tcp/443"));
/// let e = parse_rule(&t.nodes[1], "block inbound on eth9").unwrap_err();
/// assert_eq!(e.0[0].message, "node `r` has no interface `eth9`");
/// ```
pub fn parse_rule(node: &Node, text: &str) -> Result<Block, Errors> {
    let (rule, inbound) = crate::parse::rule(text)?;
    if let Some(i) = &inbound {
        crate::validate::inbound_iface(node, i).map_err(|e| Errors(vec![e]))?;
    }
    Ok(rule)
}
