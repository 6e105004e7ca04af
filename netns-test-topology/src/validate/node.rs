//! `r [forward]`: options of a node declared by a link or a bridge.

use super::Validator;
use crate::ast::NodeOptsStmt;

impl Validator<'_> {
    pub(super) fn node_opts(&mut self, o: &NodeOptsStmt) {
        if let Some(n) = self.lookup(&o.node) {
            self.topo.nodes[n].forward |= o.opts.forward;
            self.nat(n, o);
        }
    }
}
