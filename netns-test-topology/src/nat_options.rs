//! NAT options written at run time (`Nat::set("nat-type=symmetric, udp-timeout=30s")` in the
//! runtime): the same grammar and the same checks as a node's `[...]` in a topology.

use crate::nat::Nat;

/// The NAT of `node` after `text`, an option list without its brackets written as in a topology
/// (`"nat-type=symmetric, udp-timeout=30s"`), as the runtime's `Nat::set` takes it: the
/// grammar's own parser and checks, so the same messages. What `text` does not name takes its
/// default (`nat-type=port-restricted`, no `hairpin`, the default timeouts); the interfaces stay
/// those of `current` unless `text` names one.
///
/// ```
/// use netns_test_topology::{parse_nat_options, NatType, Topology};
/// use std::time::Duration;
///
/// let t = Topology::parse("r:eth1=203.0.113.1/24 -- s; r [nat=eth1, hairpin]").unwrap();
/// let (r, now) = (&t.nodes[0], t.nodes[0].nat.as_ref());
/// let nat = parse_nat_options(r, now, "nat-type=symmetric, udp-timeout=30s").unwrap();
/// assert_eq!((nat.kind, nat.hairpin, nat.udp_timeout), (NatType::Symmetric, false, Duration::from_secs(30)));
/// assert_eq!(nat.ipv4, now.unwrap().ipv4);
/// let e = parse_nat_options(r, now, "nat-type=ful-cone").unwrap_err();
/// assert_eq!(e.0[0].help.as_deref(), Some("did you mean `full-cone`?"));
/// ```
pub fn parse_nat_options(node: &crate::Node, current: Option<&Nat>, text: &str) -> Result<Nat, crate::Errors> {
    let mut nat = None;
    crate::parse::node_options(text, |o, errors| {
        if o.forward {
            let at = text.find("forward").map_or(0..text.len(), |i| i + 1..i + 1 + "forward".len());
            errors.push(
                crate::Error::new(at, "`forward` is not a NAT option")
                    .help("a NAT router forwards already; the NAT options are `nat=`, `nat-type=`, `hairpin`, `udp-timeout=`, `tcp-timeout=` and `timeout=`"),
            );
        }
        let c = crate::validate::nat::check(node, &node.name, o, current);
        // As in a topology: knock-on errors only when nothing else is wrong.
        let knock_on = errors.is_empty() && c.errors.is_empty();
        errors.extend(c.errors);
        if knock_on {
            errors.extend(c.knock_on);
        }
        nat = c.nat;
    })?;
    nat.ok_or_else(|| crate::Errors(vec![crate::Error::new(0..text.len(), "no NAT options")]))
}
