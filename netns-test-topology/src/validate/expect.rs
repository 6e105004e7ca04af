//! `expect` statements against the validated topology: names resolved, addresses checked.

use crate::ast::{ExpectStmt, ExpectTo, Span};
use crate::error::Error;
use crate::model::Topology;
use crate::suggest::did_you_mean;
use crate::{Expect, Probe, Target};

/// Resolves parsed `expect` statements against the validated topology: the expectations, and
/// the errors of names and addresses the topology does not have.
pub(super) fn resolve(stmts: &[&ExpectStmt], t: &Topology) -> (Vec<Expect>, Vec<Error>) {
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    let names = || t.nodes.iter().map(|n| format!("`{}`", n.name)).collect::<Vec<_>>().join(", ");
    let node = |name: &str, span: &Span, errors: &mut Vec<Error>| {
        let i = t.node_index(name);
        if i.is_none() {
            let help = match did_you_mean(name, t.nodes.iter().map(|n| n.name.as_str())) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("the nodes are {}", names()),
            };
            errors.push(Error::new(span.clone(), format!("unknown node `{name}`")).help(help));
        }
        i
    };
    for s in stmts {
        let from = node(&s.from.0, &s.from.1, &mut errors);
        let to = match &s.to.0 {
            ExpectTo::Node(n) => node(n, &s.to.1, &mut errors).map(Target::Node),
            ExpectTo::Addr(a) if t.node_with_addr(*a).is_some() => Some(Target::Addr(*a)),
            // An IPv4 address of the topology inside a NAT64 prefix (`64:ff9b::203.0.113.10`).
            ExpectTo::Addr(std::net::IpAddr::V6(a))
                if t.nodes.iter().filter_map(|n| n.nat64.as_ref()).any(|n| {
                    let o = a.octets();
                    n.prefix.contains(a) && t.node_with_addr([o[12], o[13], o[14], o[15]].into()).is_some()
                }) =>
            {
                Some(Target::Addr(std::net::IpAddr::V6(*a)))
            }
            ExpectTo::Addr(a)
                if s.probe == Probe::Icmp && t.bridges.iter().any(|b| b.addrs.iter().any(|x| x.addr() == *a)) =>
            {
                Some(Target::Addr(*a))
            }
            ExpectTo::Addr(a) if t.all_addrs().iter().any(|(_, x)| x == a) => {
                errors.push(
                    Error::new(
                        s.to.1.clone(),
                        format!("{a} is a bridge's address: {} needs a node to listen in", s.probe),
                    )
                    .help("probe a node's address, or the bridge's with ICMP (no protocol)"),
                );
                None
            }
            ExpectTo::Name(name) => {
                let resolver = from.and_then(|f| t.nodes[f].resolver);
                let known =
                    t.records.iter().any(|r| &r.name == name && matches!(r.data.type_name(), "A" | "AAAA" | "CNAME"))
                        || t.host_names().iter().any(|(n, _)| n == name);
                if from.is_some() && resolver.is_none() {
                    errors.push(
                        Error::new(
                            s.to.1.clone(),
                            format!("`{name}` is resolved through DNS, and the topology has no DNS server"),
                        )
                        .help("run one in a node: `d [dns]`, or probe a node or an address"),
                    );
                    None
                } else if !known {
                    errors.push(
                        Error::new(s.to.1.clone(), format!("no DNS record gives `{name}` an address"))
                            .help(format!("declare one: `dns {name} A 10.0.0.2` (an address of a node)")),
                    );
                    None
                } else {
                    Some(Target::Name(name.clone()))
                }
            }
            ExpectTo::Addr(a) => {
                errors.push(
                    Error::new(s.to.1.clone(), format!("no node or bridge of this topology has the address {a}"))
                        .help("an expectation may only probe addresses of the topology (traffic never leaves it)"),
                );
                None
            }
        };
        if let (Some(from), Some(to)) = (from, to) {
            out.push(Expect { from, to, probe: s.probe, reachable: s.reachable, line: s.line });
        }
    }
    (out, errors)
}
