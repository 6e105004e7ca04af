//! `b: block ..`, `r: allow ..`: checked against the node they name. (NAT options: `nat.rs`.)

use super::Validator;
use crate::ast::{BlockStmt, Name};
use crate::error::Error;
use crate::model::Node;
use crate::suggest::did_you_mean;

impl Validator<'_> {
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
