//! `r [preset=home, wan=eth1]`: a preset expanded into the node options and firewall rules it
//! stands for (see [`crate::Preset`]), then checked as if written out.

use super::firewall::inbound_iface;
use super::Validator;
use crate::ast::{NodeOpts, NodeOptsStmt};
use crate::error::Error;
use crate::firewall::Block;

impl Validator<'_> {
    /// The options of `o` with its preset expanded, and the rules the preset adds; `None` (and
    /// an error) when the preset and `wan=` do not fit together.
    pub(super) fn preset(&mut self, n: usize, o: &NodeOptsStmt) -> Option<(NodeOpts, Vec<Block>)> {
        let opts = &o.opts;
        let Some((preset, span)) = &opts.preset else {
            if let Some(w) = &opts.wan {
                // A knock-on error when the `preset=` written was refused.
                self.knock_on.push(Error::new(w.span.clone(), "`wan` needs `preset=` in the same option list").help(
                    format!(
                        "e.g. `{} [preset=home, wan={}]`; for NAT alone write `nat={}`",
                        o.node.text, w.text, w.text
                    ),
                ));
                return None;
            }
            return Some((opts.clone(), Vec::new()));
        };
        let mut expanded = opts.clone();
        expanded.forward = true;
        let Some(kind) = preset.nat_type() else {
            if let Some(w) = &opts.wan {
                self.errors
                    .push(Error::new(w.span.clone(), format!("`preset={preset}` has no NAT: `wan=` is not used")).help(
                    "leave `wan=` out, or choose a preset with NAT (`home`, `corporate`, `hotel`, `cgnat`, `cloud`)",
                ));
                return None;
            }
            return Some((expanded, Vec::new()));
        };
        let Some(wan) = &opts.wan else {
            self.errors.push(
                Error::new(span.clone(), format!("`preset={preset}` needs `wan=IFACE`, the outside interface"))
                    .help(format!("e.g. `{} [preset={preset}, wan=eth1]`", o.node.text)),
            );
            return None;
        };
        if let Some(nat) = &opts.nat {
            self.errors.push(
                Error::new(nat.span.clone(), "`nat=` with `preset=`: the preset's NAT is on `wan=`")
                    .help("leave `nat=` out; `nat-type=` and `hairpin` after the preset change its NAT"),
            );
            return None;
        }
        if let Err(e) = inbound_iface(&self.topo.nodes[n], wan) {
            // The link declaring it may be a statement that failed to parse.
            self.knock_on.push(e);
            return None;
        }
        expanded.nat = Some(wan.clone());
        expanded.nat_type = opts.nat_type.clone().or(Some((kind, span.clone())));
        let rules = preset
            .rules(&wan.text)
            .iter()
            .map(|r| crate::parse::rule(r).expect("a preset's rules are valid grammar").0)
            .collect();
        Some((expanded, rules))
    }
}
