//! `r [nat=eth1, nat-type=.., hairpin, udp-timeout=..]`: checked against the node it names, in a
//! topology and at run time (`Nat::set` in the runtime, through [`crate::parse_nat_options`]).

use super::Validator;
use crate::ast::{Name, NodeOpts, NodeOptsStmt, Span};
use crate::error::Error;
use crate::model::Node;
use crate::nat::{Masquerade, Nat, NatType};
use crate::suggest::did_you_mean;
use crate::text::at;
use std::net::IpAddr;

/// What one option list says of a node's NAT.
pub(crate) struct Checked {
    pub nat: Option<Nat>,
    pub errors: Vec<Error>,
    /// Errors a statement lost to a syntax error could cause (an interface it declares).
    pub knock_on: Vec<Error>,
}

impl Validator<'_> {
    /// The NAT options of node `n`; `nat=` implies `forward`.
    pub(super) fn nat(&mut self, n: usize, o: &NodeOptsStmt) {
        if let Some(span) = interface_option(&o.opts) {
            if let Some(first) = self.nat_spans.get(&n) {
                let first = at(self.src, first.start);
                let node = &self.topo.nodes[n].name;
                self.errors.push(
                    Error::new(span.clone(), format!("node `{node}` has `nat` twice (first at {first})"))
                        .help("a node's NAT options go in one option list"),
                );
                return;
            }
            self.nat_spans.insert(n, span.clone());
        }
        let c = check(&self.topo.nodes[n], &o.node.text, &o.opts, None);
        self.errors.extend(c.errors);
        self.knock_on.extend(c.knock_on);
        if let Some(nat) = c.nat {
            let node = &mut self.topo.nodes[n];
            node.forward = true;
            node.nat = Some(nat);
        }
    }
}

/// Where the first option naming a NAT interface (`nat=`) was written.
fn interface_option(o: &NodeOpts) -> Option<&Span> {
    o.nat.as_ref().map(|n| &n.span)
}

/// The NAT that options `o` of `node` (written `node_text`) declare. Without an interface
/// option, `inherit`'s interfaces are kept (run-time `set`); without either, the behaviour
/// options are mistakes.
pub(crate) fn check(node: &Node, node_text: &str, o: &NodeOpts, inherit: Option<&Nat>) -> Checked {
    let mut c = Checked { nat: None, errors: Vec::new(), knock_on: Vec::new() };
    let behaviour = [
        ("nat-type", o.nat_type.as_ref().map(|t| &t.1), "=full-cone"),
        ("hairpin", o.hairpin.as_ref(), ""),
        ("udp-timeout", o.udp_timeout.as_ref().map(|t| &t.1), "=30s"),
        ("tcp-timeout", o.tcp_timeout.as_ref().map(|t| &t.1), "=10m"),
        ("timeout", o.timeout.as_ref().map(|t| &t.1), "=1m"),
    ];
    let ipv4 = match (&o.nat, inherit) {
        (Some(iface), _) => match ipv4(node, iface, &mut c) {
            Some(v4) => Some(v4),
            None => return c,
        },
        (None, Some(nat)) => nat.ipv4.clone(),
        (None, None) => {
            for (opt, span, value) in behaviour {
                if let Some(span) = span {
                    c.errors.push(
                        Error::new(span.clone(), format!("`{opt}` needs `nat=IFACE` in the same option list"))
                            .help(format!("e.g. `{node_text} [nat=eth1, {opt}{value}]`")),
                    );
                }
            }
            return c;
        }
    };
    let kind = o.nat_type.as_ref().map_or(NatType::default(), |t| t.0);
    if let (Some(span), false) = (&o.hairpin, kind.endpoint_independent_mapping()) {
        c.errors.push(
            Error::new(span.clone(), "`hairpin` needs an endpoint-independent nat-type")
                .help("a symmetric NAT has no one mapping to loop back to: use `port-restricted`, `address-restricted` or `full-cone`"),
        );
        return c;
    }
    let mut nat = Nat::new(ipv4, kind, o.hairpin.is_some());
    // `timeout=` sets both; `udp-timeout=` and `tcp-timeout=` override it.
    if let Some((t, _)) = o.timeout {
        (nat.udp_timeout, nat.tcp_timeout) = (t, t);
    }
    if let Some((t, _)) = o.udp_timeout {
        nat.udp_timeout = t;
    }
    if let Some((t, _)) = o.tcp_timeout {
        nat.tcp_timeout = t;
    }
    c.nat = Some(nat);
    c
}

/// `nat=IFACE`: the interface must be the node's and have an IPv4 address.
fn ipv4(node: &Node, iface: &Name, c: &mut Checked) -> Option<Masquerade<std::net::Ipv4Addr>> {
    let i = interface(node, iface, c)?;
    let Some(addr) = i.addrs.iter().find_map(|a| match a.addr() {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(_) => None,
    }) else {
        c.knock_on.push(
            Error::new(iface.span.clone(), format!("`nat={}` needs an IPv4 address on `{}`", iface.text, iface.text))
                .help(
                    "`nat=` translates IPv4 to the interface's first IPv4 address: for IPv6 write `nat66=` or `nptv6=`",
                ),
        );
        return None;
    };
    Some(Masquerade { iface: iface.text.clone(), addr })
}

/// The node's interface `iface` names, or an error (a knock-on one: the link declaring it may
/// be a statement that failed to parse).
fn interface<'n>(node: &'n Node, iface: &Name, c: &mut Checked) -> Option<&'n crate::model::Interface> {
    if let Some(i) = node.interfaces.iter().find(|i| i.name == iface.text) {
        return Some(i);
    }
    let names: Vec<&str> = node.interfaces.iter().map(|i| i.name.as_str()).collect();
    let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let e = Error::new(iface.span.clone(), format!("node `{}` has no interface `{}`", node.name, iface.text));
    c.knock_on.push(match did_you_mean(&iface.text, names.iter().copied()) {
        Some(k) => e.help(format!("did you mean `{k}`? its interfaces: {list}")),
        None if names.is_empty() => e.help("the node has no interfaces"),
        None => e.help(format!("its interfaces: {list}; `nat=` names the outside one")),
    });
    None
}
