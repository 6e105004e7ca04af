//! [`Firewall`]: a node's `allow` and `block` rules, changed while the test runs.

use crate::core::Core;
use crate::error::Result;
use crate::firewall;

/// A node's firewall ([`Node::firewall`](crate::Node::firewall)): rules are written as in a
/// topology after `NODE:` and tried in order, the first that matches deciding. Each change is
/// in force when the call returns (one nf_tables transaction), recorded in the journal, and
/// shown by [`Node::firewall_rules`](crate::Node::firewall_rules) and the failure dump.
///
/// ```no_run
/// # fn f(net: &netns_test::Net) -> netns_test::Result<()> {
/// let fw = net.node("r").firewall();
/// fw.add("block udp/53")?;                 // DNS through r fails from now on
/// assert_eq!(fw.rules(), ["block udp/53"]);
/// fw.remove("block udp/53")?;              // and works again
/// fw.clear()?;                             // no rules at all (declared ones included)
/// # Ok(()) }
/// ```
pub struct Firewall<'a> {
    pub(crate) core: &'a Core,
    pub(crate) node: usize,
}

impl Firewall<'_> {
    /// Adds a rule after those in force (so it sees only what they let by). Wrong text: the
    /// message a topology would get at compile time, and nothing changes.
    pub fn add(&self, rule: &str) -> Result<()> {
        firewall::add(self.core, self.node, rule)
    }

    /// Removes the first rule equal to `rule` (as parsed: `block udp/53 drop` is `block
    /// udp/53`); an error listing the rules in force if there is none.
    pub fn remove(&self, rule: &str) -> Result<()> {
        firewall::remove(self.core, self.node, rule)
    }

    /// Removes every rule, declared or added.
    pub fn clear(&self) -> Result<()> {
        firewall::clear(self.core, self.node)
    }

    /// The rules in force now, in order, each as written canonically (`block udp/53`).
    pub fn rules(&self) -> Vec<String> {
        firewall::rules(self.core, self.node).iter().map(|r| r.to_string()).collect()
    }
}
