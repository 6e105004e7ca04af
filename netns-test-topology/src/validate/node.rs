//! `r [forward]`: options of a node declared by a link or a bridge (a preset expanded first).

use super::Validator;
use crate::ast::NodeOptsStmt;

impl Validator<'_> {
    pub(super) fn node_opts(&mut self, o: &NodeOptsStmt) {
        if let Some(n) = self.lookup(&o.node) {
            let Some((opts, rules)) = self.preset(n, o) else { return };
            let o = NodeOptsStmt { node: o.node.clone(), opts };
            self.topo.nodes[n].forward |= o.opts.forward;
            self.nat(n, &o);
            self.topo.nodes[n].blocks.extend(rules);
        }
    }
}
