//! A node's firewall at run time: the `allow` and `block` rules in force are kept in the core
//! ([`Now::firewall`](crate::core::Now), where the failure dump and `Node::firewall_rules` read
//! them), and each change replaces the node's firewall table in one nf_tables transaction, so a
//! packet meets either the old rules or the new ones, never a mix. The NAT table is not touched.
//!
//! ```ignore
//! firewall::add(core, n, "block udp/53")?;     // appended: tried after the rules already there
//! firewall::remove(core, n, "block udp/53")?;  // the first rule equal to it (as written canonically)
//! firewall::clear(core, n)?;                   // no rules: nothing filtered
//! ```

use crate::core::Core;
use crate::error::{Error, Result};
use crate::journal;
use crate::kernel::nft;
use netns_test_topology::{parse_rule, Block};

/// The rules of node `n` in force now, in order.
pub(crate) fn rules(core: &Core, n: usize) -> Vec<Block> {
    core.lock().firewall[n].clone()
}

/// Appends the rule `text` to node `n`'s rules: the first rule that matches decides, so it only
/// sees what the rules before it let by.
pub(crate) fn add(core: &Core, n: usize, text: &str) -> Result<()> {
    let rule = parse(core, n, text)?;
    let what = format!("`{rule}` added");
    change(core, n, &what, |rules| {
        rules.push(rule);
        Ok(())
    })
}

/// Removes the first of node `n`'s rules equal to `text` (compared as parsed: `block udp/53 drop`
/// is `block udp/53`); an error naming the rules in force if it has none.
pub(crate) fn remove(core: &Core, n: usize, text: &str) -> Result<()> {
    let rule = parse(core, n, text)?;
    let what = format!("`{rule}` removed");
    let name = &core.topology.nodes[n].name;
    change(core, n, &what, |rules| match rules.iter().position(|r| *r == rule) {
        Some(i) => {
            rules.remove(i);
            Ok(())
        }
        None => Err(Error::Runtime(format!(
            "node `{name}` has no firewall rule `{rule}`, so none was removed; its rules now: {}",
            listing(rules)
        ))),
    })
}

/// Removes every rule of node `n` (declared or added): nothing filtered but what its NAT does.
pub(crate) fn clear(core: &Core, n: usize) -> Result<()> {
    change(core, n, "cleared", |rules| {
        rules.clear();
        Ok(())
    })
}

fn parse(core: &Core, n: usize, text: &str) -> Result<Block> {
    let node = &core.topology.nodes[n];
    parse_rule(node, text).map_err(|e| Error::InvalidRule {
        node: node.name.clone(),
        text: text.to_string(),
        rendered: e.render(text),
    })
}

/// Applies `edit` to a copy of node `n`'s rules, installs the result in one transaction and
/// only then records it: on any error the node keeps the rules it had, in the kernel and here.
fn change(core: &Core, n: usize, what: &str, edit: impl FnOnce(&mut Vec<Block>) -> Result<()>) -> Result<()> {
    let name = &core.topology.nodes[n].name;
    // Held across the kernel change: two changes to one node cannot interleave.
    let mut now = core.lock();
    let mut rules = now.firewall[n].clone();
    edit(&mut rules)?;
    nft::replace_firewall(&core.nodes[n], name, &rules)?;
    now.firewall[n] = rules;
    let listed = listing(&now.firewall[n]);
    drop(now);
    journal::record(format!("node {name}: firewall {what}; rules now: {listed}"));
    Ok(())
}

/// `` `allow tcp/443`, `block tcp` `` or `none`.
fn listing(rules: &[Block]) -> String {
    if rules.is_empty() {
        return "none".into();
    }
    rules.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
}
