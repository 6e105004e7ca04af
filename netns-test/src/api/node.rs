//! [`Node`]: one host of the topology, and ways to run code and programs in it.

use super::{placed, Firewall, Interface};
use crate::core::Core;
use crate::error::Result;
use crate::kernel::view::NsView;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

/// One host of the topology: a network namespace, and ways to run code and programs in it.
///
/// Inside a node (the body, [`run`](Self::run), [`spawn`](Self::spawn), [`command`](Self::command))
/// `/proc/net`, `/sys/class/net`, the hostname and `/etc/hosts` are the node's: see the README's
/// "What a node looks like from inside".
#[derive(Clone)]
pub struct Node {
    pub(crate) core: Arc<Core>,
    pub(crate) index: usize,
    pub(crate) view: Arc<NsView>,
}

impl Node {
    /// The node's name in the topology.
    pub fn name(&self) -> &str {
        &self.core.topology.nodes[self.index].name
    }

    /// The node's interfaces (without `lo`), in order of appearance.
    pub fn interfaces(&self) -> Vec<Interface<'_>> {
        let model = &self.core.topology.nodes[self.index].interfaces;
        model.iter().map(|i| Interface { name: &i.name, addrs: &i.addrs, model: Some(i), view: &self.view }).collect()
    }

    /// The interface called `name`, if this node has it.
    pub fn interface(&self, name: &str) -> Option<Interface<'_>> {
        self.interfaces().into_iter().find(|i| i.name == name)
    }

    /// Every address the node has now: interface by interface, those the topology declares,
    /// then those added with [`add_addr`](Self::add_addr), without those removed with
    /// [`del_addr`](Self::del_addr). ([`Interface::addrs`] stays what the topology declares.)
    pub fn addrs(&self) -> Vec<IpAddr> {
        self.core.lock().addrs[self.index].iter().flatten().map(|a| a.addr()).collect()
    }

    /// The node's first IPv4 address now (see [`addrs`](Self::addrs)).
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.addrs().into_iter().find_map(|a| match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
    }

    /// The node's first IPv6 address now (see [`addrs`](Self::addrs)).
    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        self.addrs().into_iter().find_map(|a| match a {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        })
    }

    /// The NAT and firewall (`allow`, `block`) rules netns-test installed in this node and in
    /// force now (run-time changes through [`nat`](Self::nat) and [`firewall`](Self::firewall)
    /// included), as `nft list ruleset`-style text (one line per rule); `None` if it has none.
    ///
    /// ```no_run
    /// # fn f(net: &netns_test::Net) {
    /// eprintln!("{}", net.node("r").firewall_rules().unwrap_or_default());
    /// # }
    /// ```
    pub fn firewall_rules(&self) -> Option<String> {
        self.core.rules_text(self.index)
    }

    /// The node's firewall, to change at run time: rules added, removed or cleared are written
    /// as in a topology after `NODE:` (`"block udp/53"`, `"allow tcp/443"`), with the same
    /// messages when wrong, and are in force when the call returns.
    ///
    /// ```no_run
    /// # fn f(net: &netns_test::Net) -> netns_test::Result<()> {
    /// let fw = net.node("r").firewall();
    /// fw.add("block udp/53")?;
    /// fw.remove("block udp/53")?;
    /// fw.clear()?;
    /// # Ok(()) }
    /// ```
    pub fn firewall(&self) -> Firewall<'_> {
        Firewall { core: &self.core, node: self.index }
    }

    /// Adds a route: `dest` is `default` or a network (`10.2.0.0/24`), `via` a gateway on one
    /// of the node's subnets. The node keeps it from then on, as it keeps its declared routes:
    /// when its link goes down the kernel drops it and it is *suspended*, and
    /// [`Link::up`](crate::Link::up) of that link puts it back.
    ///
    /// A route may be added to a destination whose route is suspended (a failover: the link to
    /// the first gateway is down, the traffic goes another way). When that link comes back,
    /// the destination is taken: `up()` then says so and leaves the suspended route suspended
    /// (see there). A route to a destination that has one in place is refused.
    ///
    /// ```no_run
    /// # fn f(net: &netns_test::Net) -> netns_test::Result<()> {
    /// net.node("h1").add_route("10.2.0.0/24", "10.1.0.1")?;
    /// net.node("h1").add_route("default", "10.1.0.1")?;
    /// # Ok(()) }
    /// ```
    pub fn add_route(&self, dest: &str, via: &str) -> Result<()> {
        crate::addressing::add_route(&self.core, self.index, dest, via)
    }

    /// Removes the node's routes to `dest` (`default`: the default routes of both families),
    /// declared or added, for good. Per destination (and, for `default`, per family): if
    /// routes to it are in place, those are removed and any suspended ones stay (they come
    /// back with their link); if none is in place, the suspended ones are removed (they will
    /// not come back). So after a failover (the route through a link that is down suspended, a
    /// route through another added), `del_route` removes the failover route, and `up()` of
    /// the link brings the first one back.
    pub fn del_route(&self, dest: &str) -> Result<()> {
        crate::addressing::del_route(&self.core, self.index, dest)
    }

    /// Adds an address to interface `iface`: `node.add_addr("eth0", "10.0.0.9/24")`. IPv6
    /// addresses skip duplicate detection and are usable when this returns.
    pub fn add_addr(&self, iface: &str, addr: &str) -> Result<()> {
        crate::addressing::add_addr(&self.core, self.index, iface, addr)
    }

    /// Removes an address from interface `iface`: `node.del_addr("eth0", "10.0.0.9/24")`.
    pub fn del_addr(&self, iface: &str, addr: &str) -> Result<()> {
        crate::addressing::del_addr(&self.core, self.index, iface, addr)
    }

    placed!("b");

    /// ICMP echoes from this node to `to`, as `ping -w`: one at once, then one every second
    /// until a reply to any of them arrives; an error (`TimedOut`, naming `to` and `timeout`)
    /// once `timeout` has passed without one. The round-trip time is that of the echo answered,
    /// from its own send. A timeout of 3 s sends up to 3 echoes, 1 s or less exactly one.
    pub fn ping(&self, to: IpAddr, timeout: Duration) -> io::Result<Duration> {
        self.run(|| crate::kernel::ping::ping(to, timeout))
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("name", &self.name()).field("addrs", &self.addrs()).finish()
    }
}

/// The node's namespace descriptor, for `setns(2)` or `nsenter --net=/proc/<pid>/fd/<fd>`.
impl std::os::fd::AsRawFd for Node {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(self.view.netns())
    }
}
