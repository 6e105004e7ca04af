//! `b: block ..`: checked against the node it names. (NAT options: `nat.rs`.)

use super::Validator;
use crate::ast::BlockStmt;

impl Validator<'_> {
    pub(super) fn block(&mut self, b: &BlockStmt) {
        if let Some(n) = self.lookup(&b.node) {
            self.topo.nodes[n].blocks.push(b.block.clone());
        }
    }
}
