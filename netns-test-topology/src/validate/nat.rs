//! `r [nat=eth1, nat-type=.., hairpin, udp-timeout=..]`: checked against the node it names, in a
//! topology and at run time (`Nat::set` in the runtime, through [`crate::parse_nat_options`]).

use super::Validator;
use crate::ast::{Name, NodeOpts, NodeOptsStmt, Span};
use crate::error::Error;
use crate::model::Node;
use crate::nat::{Masquerade, Nat, NatType, Nptv6};
use crate::suggest::did_you_mean;
use crate::text::at;
use ipnet::Ipv6Net;
use std::net::{IpAddr, Ipv6Addr};

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

/// Where the first option naming a NAT interface (`nat=`, `nat66=`, `nptv6=`) was written.
fn interface_option(o: &NodeOpts) -> Option<&Span> {
    [&o.nat, &o.nat66, &o.nptv6].into_iter().flatten().map(|n| &n.span).min_by_key(|s| s.start)
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
    match (&o.nptv6, &o.nptv6_prefix) {
        // A knock-on error: the prefix may be written, and rejected by the parser.
        (Some(iface), None) => c.knock_on.push(
            Error::new(iface.span.clone(), format!("`nptv6={}` needs `nptv6-prefix=`, the outside prefix", iface.text))
                .help(format!("e.g. `{node_text} [nptv6={}, nptv6-prefix=2001:db8:1::/48]`", iface.text)),
        ),
        (None, Some((_, span))) => c.errors.push(
            Error::new(span.clone(), "`nptv6-prefix` needs `nptv6=IFACE` in the same option list")
                .help(format!("e.g. `{node_text} [nptv6=eth1, nptv6-prefix=2001:db8:1::/48]`")),
        ),
        _ => {}
    }
    if let (Some(a), Some(b)) = (&o.nat66, &o.nptv6) {
        c.errors.push(Error::new(b.span.clone(), "`nat66` and `nptv6` both translate IPv6: choose one").help(format!(
            "`nat66={}` shares one address (stateful); `nptv6={}` maps a prefix one to one (stateless)",
            a.text, b.text
        )));
    }
    if !c.errors.is_empty() || !c.knock_on.is_empty() {
        return c;
    }
    let named = o.nat.is_some() || o.nat66.is_some() || o.nptv6.is_some();
    let (ipv4, ipv6, nptv6) = match inherit {
        Some(nat) if !named => (nat.ipv4.clone(), nat.ipv6.clone(), nat.nptv6.clone()),
        _ => {
            let ipv4 = o.nat.as_ref().map(|iface| ipv4(node, iface, &mut c));
            let ipv6 = o.nat66.as_ref().map(|iface| ipv6(node, iface, &mut c));
            let nptv6 = match (&o.nptv6, &o.nptv6_prefix) {
                (Some(iface), Some(prefix)) => Some(nptv6(node, iface, prefix, &mut c)),
                _ => None,
            };
            if [
                ipv4.as_ref().map(Option::is_none),
                ipv6.as_ref().map(Option::is_none),
                nptv6.as_ref().map(Option::is_none),
            ]
            .contains(&Some(true))
            {
                return c;
            }
            (ipv4.flatten(), ipv6.flatten(), nptv6.flatten())
        }
    };
    if ipv4.is_none() && ipv6.is_none() {
        // Nothing stateful: the behaviour options have nothing to apply to.
        for (opt, span, value) in behaviour {
            if let Some(span) = span {
                let e = match nptv6.is_some() {
                    true => Error::new(span.clone(), format!("`{opt}` needs `nat=IFACE` or `nat66=IFACE`: `nptv6` is stateless"))
                        .help("NPTv6 keeps no mappings and filters nothing: nat-type, hairpin and the timeouts apply to `nat=` and `nat66=`"),
                    false => Error::new(span.clone(), format!("`{opt}` needs `nat=IFACE` in the same option list"))
                        .help(format!("e.g. `{node_text} [nat=eth1, {opt}{value}]`")),
                };
                c.errors.push(e);
            }
        }
        if nptv6.is_none() || !c.errors.is_empty() {
            return c;
        }
    }
    let kind = o.nat_type.as_ref().map_or(NatType::default(), |t| t.0);
    if let (Some(span), false) = (&o.hairpin, kind.endpoint_independent_mapping()) {
        c.errors.push(
            Error::new(span.clone(), "`hairpin` needs an endpoint-independent nat-type")
                .help("a symmetric NAT has no one mapping to loop back to: use `port-restricted`, `address-restricted` or `full-cone`"),
        );
        return c;
    }
    let mut nat = Nat::new(ipv4, kind, o.hairpin.is_some());
    nat.ipv6 = ipv6;
    nat.nptv6 = nptv6;
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

/// `nat66=IFACE`: the interface must be the node's and have an IPv6 address (not link-local).
fn ipv6(node: &Node, iface: &Name, c: &mut Checked) -> Option<Masquerade<Ipv6Addr>> {
    let i = interface(node, iface, c)?;
    let Some(addr) = i.addrs.iter().find_map(|a| match a.addr() {
        IpAddr::V6(v6) if !v6.is_unicast_link_local() => Some(v6),
        _ => None,
    }) else {
        c.knock_on.push(
            Error::new(iface.span.clone(), format!("`nat66={}` needs an IPv6 address on `{}`", iface.text, iface.text))
                .help(format!("it translates IPv6 to the interface's first IPv6 address: give `{}` one, e.g. `{}:{}=...|2001:db8::1/64`", iface.text, node.name, iface.text)),
        );
        return None;
    };
    Some(Masquerade { iface: iface.text.clone(), addr })
}

/// `nptv6=IFACE, nptv6-prefix=P`: the interface must be the node's and have an IPv6 address;
/// the inside prefix is the node's IPv6 networks on its other interfaces, cut to P's length,
/// which must be one prefix, and no inside network may be larger than it.
fn nptv6(node: &Node, iface: &Name, (outside, span): &(Ipv6Net, Span), c: &mut Checked) -> Option<Nptv6> {
    let i = interface(node, iface, c)?;
    if !i.addrs.iter().any(|a| matches!(a.addr(), IpAddr::V6(v6) if !v6.is_unicast_link_local())) {
        c.knock_on.push(
            Error::new(iface.span.clone(), format!("`nptv6={}` needs an IPv6 address on `{}`", iface.text, iface.text))
                .help("the outside interface carries the translated prefix: give it an IPv6 address"),
        );
        return None;
    }
    let len = outside.prefix_len();
    let inside: Vec<Ipv6Net> = node
        .interfaces
        .iter()
        .filter(|j| j.name != iface.text)
        .flat_map(|j| &j.addrs)
        .filter_map(|a| match a {
            ipnet::IpNet::V6(n) if !n.addr().is_unicast_link_local() => Some(*n),
            _ => None,
        })
        .collect();
    let Some(first) = inside.first() else {
        c.knock_on.push(
            Error::new(span.clone(), format!("`{}` has no inside IPv6 network to translate", node.name))
                .help("NPTv6 maps the router's inside IPv6 prefix: give an inside interface an IPv6 address"),
        );
        return None;
    };
    if let Some(big) = inside.iter().find(|n| n.prefix_len() < len) {
        c.errors.push(
            Error::new(
                span.clone(),
                format!("nptv6-prefix `{outside}` is longer than the inside network {}", big.trunc()),
            )
            .help(format!(
                "NPTv6 maps prefixes of one length, and the inside network must fit in it: write a /{} or shorter",
                big.prefix_len()
            )),
        );
        return None;
    }
    let cut = |n: &Ipv6Net| Ipv6Net::new(n.addr(), len).expect("a shorter prefix").trunc();
    let prefix = cut(first);
    if let Some(other) = inside.iter().find(|n| cut(n) != prefix) {
        c.errors.push(
            Error::new(span.clone(), format!("the inside networks {} and {} are not in one /{len}", first.trunc(), other.trunc()))
                .help(format!("NPTv6 translates one inside prefix: make nptv6-prefix shorter, or put the inside networks in one /{len}")),
        );
        return None;
    }
    Some(Nptv6 { iface: iface.text.clone(), inside: prefix, outside: *outside })
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
