//! `r [nat=eth1, nat-type=.., hairpin]` and `b: block ..`, `r: allow ..`: checked against the node they name.

use super::Validator;
use crate::ast::{BlockStmt, Name, NodeOptsStmt};
use crate::error::Error;
use crate::model::Node;
use crate::nat::{Nat, NatType};
use crate::suggest::did_you_mean;
use crate::text::at;
use std::net::IpAddr;

impl Validator<'_> {
    /// The NAT options of node `n`: the interface must be the node's and have an IPv4 address;
    /// `nat=` implies `forward`.
    pub(super) fn nat(&mut self, n: usize, o: &NodeOptsStmt) {
        let Some(iface) = &o.opts.nat else {
            let stray = [("nat-type", o.opts.nat_type.as_ref().map(|t| &t.1)), ("hairpin", o.opts.hairpin.as_ref())];
            for (opt, span) in stray {
                if let Some(span) = span {
                    self.errors.push(
                        Error::new(span.clone(), format!("`{opt}` needs `nat=IFACE` in the same option list")).help(
                            format!(
                                "e.g. `{} [nat=eth1, {opt}{}]`",
                                o.node.text,
                                if opt == "hairpin" { "" } else { "=full-cone" }
                            ),
                        ),
                    );
                }
            }
            return;
        };
        let node = &self.topo.nodes[n];
        if let Some(first) = self.nat_spans.get(&n) {
            let first = at(self.src, first.start);
            self.errors.push(Error::new(
                iface.span.clone(),
                format!("node `{}` has `nat` twice (first at {first})", node.name),
            ));
            return;
        }
        self.nat_spans.insert(n, iface.span.clone());
        let Some(i) = node.interfaces.iter().find(|i| i.name == iface.text) else {
            let names: Vec<&str> = node.interfaces.iter().map(|i| i.name.as_str()).collect();
            let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            let e = Error::new(iface.span.clone(), format!("node `{}` has no interface `{}`", node.name, iface.text));
            // The link declaring it may be a statement that failed to parse.
            self.knock_on.push(match did_you_mean(&iface.text, names.iter().copied()) {
                Some(k) => e.help(format!("did you mean `{k}`? its interfaces: {list}")),
                None if names.is_empty() => e.help("the node has no interfaces"),
                None => e.help(format!("its interfaces: {list}; `nat=` names the outside one")),
            });
            return;
        };
        let Some(addr) = i.addrs.iter().find_map(|a| match a.addr() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        }) else {
            self.knock_on.push(
                Error::new(iface.span.clone(), format!("`nat={}` needs an IPv4 address on `{}`", iface.text, iface.text))
                    .help("NAT is IPv4-only: it translates to the interface's first IPv4 address (IPv6 is routed untranslated)"),
            );
            return;
        };
        let kind = o.opts.nat_type.as_ref().map_or(NatType::default(), |t| t.0);
        if let (Some(span), false) = (&o.opts.hairpin, kind.endpoint_independent_mapping()) {
            self.errors.push(
                Error::new(span.clone(), "`hairpin` needs an endpoint-independent nat-type")
                    .help("a symmetric NAT has no one mapping to loop back to: use `port-restricted`, `address-restricted` or `full-cone`"),
            );
            return;
        }
        let nat = Nat::new(iface.text.clone(), addr, kind, o.opts.hairpin.is_some());
        let node = &mut self.topo.nodes[n];
        node.forward = true;
        node.nat = Some(nat);
    }

    pub(super) fn block(&mut self, b: &BlockStmt) {
        if let Some(n) = self.lookup(&b.node) {
            if let Some(i) = &b.inbound {
                if let Err(e) = inbound_iface(&self.topo.nodes[n], i) {
                    // The link declaring it may be a statement that failed to parse.
                    self.knock_on.push(e);
                    return;
                }
            }
            self.topo.nodes[n].blocks.push(b.block.clone());
        }
    }
}

/// `inbound on IFACE`: the node must have the interface.
pub(crate) fn inbound_iface(node: &Node, iface: &Name) -> Result<(), Error> {
    if node.interfaces.iter().any(|i| i.name == iface.text) {
        return Ok(());
    }
    let names: Vec<&str> = node.interfaces.iter().map(|i| i.name.as_str()).collect();
    let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let e = Error::new(iface.span.clone(), format!("node `{}` has no interface `{}`", node.name, iface.text));
    Err(match did_you_mean(&iface.text, names.iter().copied()) {
        Some(k) => e.help(format!("did you mean `{k}`? its interfaces: {list}")),
        None if names.is_empty() => e.help("the node has no interfaces"),
        None => e.help(format!("its interfaces: {list}; `inbound on` names the one packets arrive on")),
    })
}
