//! `a -- b [opts]`: a veth pair between two different nodes.

use super::Validator;
use crate::ast::LinkStmt;
use crate::error::Error;
use crate::model::{IfaceRef, Link, Peer};

impl Validator<'_> {
    pub(super) fn link(&mut self, l: &LinkStmt) {
        if l.a.node.text == l.b.node.text {
            self.errors.push(
                Error::new(l.b.node.span.clone(), format!("link from node `{}` to itself", l.a.node.text))
                    .help("a link joins two different nodes"),
            );
            return;
        }
        let link = self.topo.links.len();
        let mtu = l.opts.mtu;
        // Each end's peer is the other end, known once both exist.
        let unknown = IfaceRef { node: usize::MAX, iface: usize::MAX };
        let a = self.iface(&l.a, Peer::Link { link, peer: unknown }, mtu);
        let b = self.iface(&l.b, Peer::Link { link, peer: a }, mtu);
        self.topo.nodes[a.node].interfaces[a.iface].peer = Peer::Link { link, peer: b };
        self.topo.links.push(Link { a, b, mtu, conditions: l.opts.conditions });
    }
}
