//! [`Link`]: one link of a built network, changed while the test runs (down and up,
//! conditions set and cleared, its MTU).

use super::Net;
use crate::conditions::{self, ConditionPath};
use crate::core::Core;
use crate::error::{Error, Result};
use crate::journal;
use crate::links;
use netns_test_topology::{parse_link_options, Conditions, LinkId};

/// One link of a built network, from [`Net::link`]: a veth pair between two nodes, or a node's
/// veth to a bridge.
///
/// ```no_run
/// # use netns_test::{netns_test, Net};
/// #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
/// fn flaky(net: &Net) -> netns_test::Result<()> {
///     let link = net.link("a", "b");
///     link.set("delay=50ms, loss=2%")?; // the link-option grammar, both directions
///     link.down()?; // the cable is cut: both ends go down
///     link.up()?; // back, with its addresses and routes
///     link.clear()?; // a plain veth again
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    core: &'a Core,
    id: LinkId,
}

impl Net {
    /// The link between nodes `a` and `b` (`net.link("a", "b")`), or between node `a` and
    /// bridge `b` (`net.link("h1", "br0")`). Where two nodes share several links, name the
    /// interface: `net.link("a:eth1", "b")`.
    ///
    /// # Panics
    /// If there is no such link; the message lists the links there are.
    #[track_caller]
    pub fn link(&self, a: &str, b: &str) -> Link<'_> {
        let topo = self.topology();
        match topo.find_link(a, b) {
            Some(id) => Link { core: &self.core, id },
            None => {
                let all: Vec<String> = topo.link_ids().map(|id| format!("`{}`", topo.link_name(id))).collect();
                panic!("no link between `{a}` and `{b}` in this topology; its links are: {}", all.join(", "))
            }
        }
    }
}

impl Link<'_> {
    /// Takes both ends down, as if the cable were cut; open connections stall and resume after
    /// [`up`](Self::up). The kernel drops the routes this link carries (those whose gateway is
    /// on one of its subnets) and its IPv6 addresses; the nodes keep them: the routes are
    /// *suspended*, and `up()` puts them back. While suspended, a route may be removed with
    /// [`Node::del_route`](crate::Node::del_route) (it then does not come back), and another
    /// route to its destination may be added (a failover).
    pub fn down(&self) -> Result<()> {
        links::set_state(self.core, self.id, false)
    }

    /// Brings both ends up again, puts back their addresses and the suspended routes this link
    /// carries (declared or added since), and returns once the link passes traffic. A route
    /// already in place, the same, is fine; so `up()` of a link that is up tries again what an
    /// earlier `up()` could not do.
    ///
    /// A suspended route whose destination is taken (a route to it was added while the link
    /// was down) cannot come back. `up()` then puts back everything else and returns an error
    /// that names each such route, what is in its place and the two ways out: remove the route
    /// in place (`del_route`) and call `up()` again, or forget the suspended one too. The
    /// routes it could not put back stay suspended, and each `up()` tries again.
    pub fn up(&self) -> Result<()> {
        links::set_state(self.core, self.id, true)
    }

    /// Gives the link the options in `options`, written as in a topology's `[...]`:
    /// `"delay=50ms, loss=2%"`. The conditions replace those the link had (what is not named
    /// is off); an `mtu` changes both ends' MTU. Same messages as at compile time when the text
    /// is wrong. An `mtu` below IPv6's minimum (1280), at which the kernel takes IPv6 off a
    /// link, is refused while the link's ends (or, for a bridge member, the bridge) have IPv6
    /// addresses, and nothing is changed.
    pub fn set(&self, options: &str) -> Result<()> {
        let o = parse_link_options(options)
            .map_err(|e| Error::InvalidOptions { text: options.to_string(), rendered: e.render(options) })?;
        if let Some(mtu) = o.mtu {
            links::set_mtu(self.core, self.id, mtu)?;
        }
        self.apply(o.conditions, options)
    }

    /// Removes every condition: a plain link again (a userspace forwarder, if one was put in,
    /// stays and passes frames unchanged).
    pub fn clear(&self) -> Result<()> {
        self.apply(Conditions::default(), "clear")
    }

    /// The conditions the link has now.
    pub fn conditions(&self) -> Conditions {
        self.core.lock().links.get(&self.id).map(|l| l.conditions).unwrap_or_default()
    }

    /// Which mechanism gives the link its conditions: `tbf`, the kernel's `netem`, or the
    /// userspace forwarder where the kernel has no netem.
    pub fn path(&self) -> ConditionPath {
        self.core.lock().links.get(&self.id).map(|l| l.path).unwrap_or_default()
    }

    /// `a:eth0 -- b:eth0`, `h1:eth0 -- br0`.
    pub fn name(&self) -> String {
        self.core.link_name(self.id)
    }

    fn apply(&self, c: Conditions, asked: &str) -> Result<()> {
        let path = conditions::apply(self.core, self.id, c)?;
        journal::record(format!("link {}: {asked} -> {} ({path})", self.name(), show(&c)));
        Ok(())
    }

    /// Waits, bringing nothing up, until both ends are operationally up, for at most `timeout`.
    pub(crate) fn wait_up(&self, timeout: std::time::Duration) -> Result<()> {
        links::wait_up(self.core, self.id, timeout)
    }
}

fn show(c: &Conditions) -> String {
    if c.is_empty() {
        "no conditions".to_string()
    } else {
        c.to_string()
    }
}
