//! [`Net`]: a built topology, and the way to its nodes, bridges and links.

use super::{Bridge, Node};
use crate::builder;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::kernel::ns::NetNs;
use crate::kernel::view::{Base, NsView};
use netns_test_topology::Topology;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// A built topology: its nodes, each a network namespace.
///
/// ```no_run
/// # use netns_test::{netns_test, Net};
/// #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
/// fn ping_b(net: &Net) {
///     assert!(net.ping("a", "10.0.0.2".parse().unwrap()).is_ok());
///     let b = net.node("b");
///     assert_eq!(b.ipv4(), Some("10.0.0.2".parse().unwrap()));
/// }
/// ```
pub struct Net {
    pub(crate) core: Arc<Core>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) bridges: Vec<Bridge>,
}

impl Net {
    /// Builds `topology` with its bridges in the calling thread's network namespace.
    ///
    /// The calling thread must be in a namespace this process owns (inside a `#[netns_test]`, or
    /// after [`isolate`](crate::isolate)): bridges and their ports are created there.
    pub fn build(topology: Topology) -> Result<Net> {
        Net::build_with(topology, builder::Node0::Fresh)
    }

    pub(crate) fn build_with(topology: Topology, node0: builder::Node0) -> Result<Net> {
        crate::sandbox::check_isolated()?;
        topology.check_references().map_err(Error::InconsistentTopology)?;
        #[cfg(not(feature = "dns"))]
        if let Some(&d) = topology.dns_nodes().first() {
            return Err(Error::Runtime(format!(
                "node `{}` runs a DNS server (`[dns]`), and netns-test was built without its `dns` feature: \
                 enable it (`netns-test = {{ version = \"..\", features = [\"dns\"] }}` in Cargo.toml)",
                topology.nodes[d].name
            )));
        }
        let root = NetNs::current().map_err(Error::io("opening this thread's namespace"))?;
        let names = crate::names::Files::for_topology(&topology);
        let base = Base::capture(&|| names.overlay()).map_err(Error::io("preparing the nodes' views"))?;
        let in_place = node0.in_place(&topology);
        let built = builder::build(&topology, node0)?;
        crate::journal::phase(format!(
            "topology built: {} nodes, {} bridges, {} links",
            topology.nodes.len(),
            topology.bridges.len(),
            topology.links.len() + topology.bridges.iter().map(|b| b.members.len()).sum::<usize>()
        ));
        let node_ns: Vec<Arc<NetNs>> = built.nodes.into_iter().map(Arc::new).collect();
        let id = |ns: &NetNs| {
            // SAFETY: fstat of a descriptor we hold, into a zeroed struct.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            (unsafe { libc::fstat(std::os::fd::AsRawFd::as_raw_fd(ns), &mut st) } == 0)
                .then_some((st.st_dev as u64, st.st_ino as u64))
        };
        let named = std::iter::once((&root, "bridges".to_string()))
            .chain(node_ns.iter().map(|n| &**n).zip(topology.nodes.iter().map(|n| n.name.clone())));
        crate::logs::name_places(named.filter_map(|(ns, name)| Some((id(ns)?, name))));
        let root = Arc::new(root);
        let topology = Arc::new(topology);
        let core = Arc::new(Core::new(topology.clone(), root.clone(), node_ns.clone()));
        let nodes = node_ns
            .into_iter()
            .enumerate()
            .map(|(index, ns)| {
                let name = topology.nodes[index].name.clone();
                // Node 0 in this thread's own namespaces: its view is these (no copy, no keeper).
                let files = names.node_overlay(index);
                let view = match index {
                    0 if in_place => NsView::adopt(ns, name, base.clone(), files)
                        .map_err(Error::io("preparing the view of the first node"))?,
                    _ => NsView::new(ns, Some(name), base.clone()).with_files(files),
                };
                Ok(Node { core: core.clone(), index, view: Arc::new(view) })
            })
            .collect::<Result<_>>()?;
        let root = Arc::new(NsView::new(root, None, base));
        let bridges =
            (0..topology.bridges.len()).map(|index| Bridge { core: core.clone(), index, view: root.clone() }).collect();
        let net = Net { core, nodes, bridges };
        crate::conditions::apply_declared(&net.core)?;
        if net.core.topology.links.iter().any(|l| !l.conditions.is_empty())
            || net.core.topology.bridges.iter().any(|b| b.conditions.iter().any(|c| !c.is_empty()))
        {
            crate::journal::phase("declared link conditions applied");
        }
        #[cfg(feature = "dns")]
        crate::dns::start(&net.core)?;
        crate::nat64::start(&net.core)?;
        Ok(net)
    }

    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// The node called `name`.
    ///
    /// # Panics
    /// If there is no such node; the message lists the nodes there are.
    #[track_caller]
    pub fn node(&self, name: &str) -> &Node {
        match self.core.topology.node_index(name) {
            Some(i) => &self.nodes[i],
            None => panic!(
                "no node `{name}` in this topology; its nodes are: {}",
                self.nodes.iter().map(|n| format!("`{}`", n.name())).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// All nodes, in order of first appearance in the topology.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The bridge called `name`: a handle on the namespace that holds the bridges.
    ///
    /// # Panics
    /// If there is no such bridge; the message lists the bridges there are.
    #[track_caller]
    pub fn bridge(&self, name: &str) -> &Bridge {
        match self.bridges.iter().find(|b| b.name() == name) {
            Some(b) => b,
            None => panic!(
                "no bridge `{name}` in this topology; its bridges are: {}",
                match self.bridges.len() {
                    0 => "none".to_string(),
                    _ => self.bridges.iter().map(|b| format!("`{}`", b.name())).collect::<Vec<_>>().join(", "),
                }
            ),
        }
    }

    /// All bridges, in order of appearance.
    pub fn bridges(&self) -> &[Bridge] {
        &self.bridges
    }

    /// The topology this network was built from.
    pub fn topology(&self) -> &Topology {
        &self.core.topology
    }

    /// The state of every node and of the bridges, read now over netlink: links (state, MTU,
    /// MAC, bridge, addresses, packet/byte/drop counters, the conditions of its link), routes,
    /// neighbours, non-default sysctls, and the runtime changes made so far. A failing test
    /// prints this on its own.
    ///
    /// ```no_run
    /// # fn f(net: &netns_test::Net) {
    /// eprintln!("{}", net.dump());
    /// # }
    /// ```
    pub fn dump(&self) -> String {
        crate::forensics::dump(&self.core)
    }

    /// One ICMP echo from node `from` to `to`; the round-trip time, or an error after 1 s.
    /// [`Node::ping`] with a timeout of 1 s: a single echo, never resent.
    ///
    /// Uses ICMP datagram sockets, so no `ping` binary is needed.
    #[track_caller]
    pub fn ping(&self, from: &str, to: IpAddr) -> io::Result<Duration> {
        self.node(from).ping(to, Duration::from_secs(1))
    }
}

#[cfg(feature = "dns")]
impl Net {
    /// The topology's DNS server (`d [dns]`), when it has exactly one (the `dns` feature).
    ///
    /// # Panics
    /// If the topology has no DNS node, or several (then use [`dns_of`](Self::dns_of)).
    #[track_caller]
    pub fn dns(&self) -> super::Dns<'_> {
        match self.core.topology.dns_nodes()[..] {
            [d] => self.dns_at(d),
            [] => panic!("this topology has no DNS server: declare one with `d [dns]`"),
            ref several => panic!(
                "this topology has {} DNS servers ({}): use net.dns_of(\"NAME\")",
                several.len(),
                several.iter().map(|&i| format!("`{}`", self.nodes[i].name())).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// The DNS server of node `name`.
    ///
    /// # Panics
    /// If there is no such node or it runs no DNS server; the message lists those that do.
    #[track_caller]
    pub fn dns_of(&self, name: &str) -> super::Dns<'_> {
        let t = &self.core.topology;
        match t.node_index(name) {
            Some(i) if t.nodes[i].dns.is_some() => self.dns_at(i),
            _ => panic!(
                "node `{name}` runs no DNS server; the DNS nodes are: {}",
                match t.dns_nodes()[..] {
                    [] => "none (declare one with `d [dns]`)".to_string(),
                    ref d => d.iter().map(|&i| format!("`{}`", t.nodes[i].name)).collect::<Vec<_>>().join(", "),
                }
            ),
        }
    }

    fn dns_at(&self, node: usize) -> super::Dns<'_> {
        let server = crate::dns::server_of(&self.core, node).expect("netns-test: every DNS node's server was started");
        super::Dns { core: &self.core, server }
    }
}

impl Net {
    /// Probes every `expect` line of the topology; `timeout` bounds each probe (and so the wait
    /// for a `-/->` expectation to hold).
    ///
    /// ```no_run
    /// # fn f(net: &netns_test::Net) {
    /// let report = net.check_expectations(std::time::Duration::from_secs(1));
    /// assert!(report.passed(), "{}", report.table());
    /// # }
    /// ```
    pub fn check_expectations(&self, timeout: Duration) -> crate::expect::Expectations {
        crate::expect::check(&self.core, timeout)
    }
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.nodes).entries(&self.bridges).finish()
    }
}
