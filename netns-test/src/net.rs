//! The node API a test body sees: `net.node("x").run(..)`, `.command(..)`, `net.ping(..)`, and
//! the same for the bridges' namespace, `net.bridge("br0")`.

use crate::builder;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::kernel::ns::NetNs;
use crate::kernel::view::{Base, NsView};
use crate::live::Live;
use ipnet::IpNet;
use netns_test_topology::Topology;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

/// `run`, `spawn`, `command`, `tokio_command` and `block_on`, written once for nodes and bridges.
macro_rules! placed {
    ($example:literal) => {
        /// Runs `f` on the calling thread, moved into this namespace (network, `/proc/net`,
        /// `/sys`, hostname) for the call, and back afterwards, also if `f` panics.
        ///
        /// Sockets created in `f` belong here and stay whichever thread uses them later; threads
        /// `f` starts with `std::thread::spawn` stay here too.
        ///
        /// ```no_run
        /// # fn f(net: &netns_test::Net) {
        /// let listener = net.node("b").run(|| std::net::TcpListener::bind("10.0.0.2:7000").unwrap());
        /// # }
        /// ```
        pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
            self.place.run(f)
        }

        /// Runs `f` on a new thread inside this namespace; `join` returns its result (or its
        /// panic).
        pub fn spawn<F, R>(&self, f: F) -> std::thread::JoinHandle<R>
        where
            F: FnOnce() -> R + Send + 'static,
            R: Send + 'static,
        {
            self.place.spawn(format!("netns-{}", self.name()), f)
        }

        /// A [`std::process::Command`] whose process runs inside this namespace, with its
        /// `/proc/net`, `/sys/class/net`, hostname and `/etc/hosts`.
        ///
        /// The process is in the test's process group, so it never outlives the test: it is
        /// killed when the test ends, however it ends.
        ///
        /// ```no_run
        /// # fn f(net: &netns_test::Net) {
        #[doc = concat!("let out = net.node(\"", $example, "\").command(\"cat\").arg(\"/proc/net/dev\").output().unwrap();")]
        /// # }
        /// ```
        pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
            self.place.command(program.as_ref())
        }

        /// Like [`command`](Self::command), for tokio.
        #[cfg(feature = "tokio")]
        pub fn tokio_command(&self, program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
            tokio::process::Command::from(self.command(program))
        }

        /// Runs `fut` to completion on a tokio current-thread runtime whose thread is in here.
        ///
        /// From synchronous code only: inside an `async` test body (already on a runtime) create
        /// sockets with [`run`](Self::run) instead and use them from the body's runtime.
        #[cfg(feature = "tokio")]
        pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
            self.run(|| crate::runtime::block_on(crate::runtime::Flavor::CurrentThread, fut))
        }
    };
}

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
    core: Arc<Core>,
    nodes: Vec<Node>,
    bridges: Vec<Bridge>,
}

/// One host of the topology: a network namespace, and ways to run code and programs in it.
///
/// Inside a node (the body, [`run`](Self::run), [`spawn`](Self::spawn), [`command`](Self::command))
/// `/proc/net`, `/sys/class/net`, the hostname and `/etc/hosts` are the node's: see the README's
/// "What a node looks like from inside".
#[derive(Clone)]
pub struct Node {
    core: Arc<Core>,
    index: usize,
    place: Arc<NsView>,
}

/// A bridge of the topology, and the namespace that holds every bridge and its ports: code and
/// programs run there the same way as in a node, e.g. to capture a whole LAN on `br0`.
///
/// ```no_run
/// # use netns_test::{netns_test, Net};
/// #[netns_test(topology = "bridge br0 { a=10.0.0.1/24, b=10.0.0.2/24 }")]
/// fn lan(net: &Net) {
///     let br0 = net.bridge("br0");
///     assert_eq!(br0.interfaces()[0].name, "br0");
///     let out = br0.command("cat").arg("/sys/class/net/br0/bridge/stp_state").output().unwrap();
///     assert_eq!(out.stdout, b"0\n");
/// }
/// ```
#[derive(Clone)]
pub struct Bridge {
    core: Arc<Core>,
    index: usize,
    place: Arc<NsView>,
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
        let root = NetNs::current().map_err(Error::io("opening this thread's namespace"))?;
        let names = crate::names::Files::for_topology(&topology);
        let base = Base::capture(&|| names.overlay()).map_err(Error::io("preparing the nodes' views"))?;
        let in_place = node0.in_place(&topology);
        let built = builder::build(&topology, node0)?;
        let node_ns: Vec<Arc<NetNs>> = built.nodes.into_iter().map(Arc::new).collect();
        let root = Arc::new(root);
        let topology = Arc::new(topology);
        let core =
            Arc::new(Core { live: Live::new(&topology, root.clone(), node_ns.clone()), topology: topology.clone() });
        let nodes = node_ns
            .into_iter()
            .enumerate()
            .map(|(index, ns)| {
                let name = topology.nodes[index].name.clone();
                // Node 0 in this thread's own namespaces: its view is these (no copy, no keeper).
                let place = match index {
                    0 if in_place => NsView::adopt(ns, name, base.clone())
                        .map_err(Error::io("preparing the view of the first node"))?,
                    _ => NsView::new(ns, Some(name), base.clone()),
                };
                Ok(Node { core: core.clone(), index, place: Arc::new(place) })
            })
            .collect::<Result<_>>()?;
        let root = Arc::new(NsView::new(root, None, base));
        let bridges = (0..topology.bridges.len())
            .map(|index| Bridge { core: core.clone(), index, place: root.clone() })
            .collect();
        let net = Net { core, nodes, bridges };
        crate::link::apply_declared(&net)?;
        Ok(net)
    }

    pub(crate) fn live(&self) -> &Live {
        &self.core.live
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

impl Node {
    pub(crate) fn live(&self) -> &Live {
        &self.core.live
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    pub(crate) fn ns(&self) -> &NetNs {
        self.place.netns()
    }

    /// The node's name in the topology.
    pub fn name(&self) -> &str {
        &self.core.topology.nodes[self.index].name
    }

    /// The node's interfaces (without `lo`), in order of appearance.
    pub fn interfaces(&self) -> Vec<Interface<'_>> {
        let model = &self.core.topology.nodes[self.index].interfaces;
        model.iter().map(|i| Interface { name: &i.name, addrs: &i.addrs, model: Some(i), place: &self.place }).collect()
    }

    /// The interface called `name`, if this node has it.
    pub fn interface(&self, name: &str) -> Option<Interface<'_>> {
        self.interfaces().into_iter().find(|i| i.name == name)
    }

    /// Every address the node has now: interface by interface, those the topology declares,
    /// then those added with [`add_addr`](Self::add_addr), without those removed with
    /// [`del_addr`](Self::del_addr). ([`Interface::addrs`] stays what the topology declares.)
    pub fn addrs(&self) -> Vec<IpAddr> {
        self.core.live.lock().addrs[self.index].iter().flatten().map(|a| a.addr()).collect()
    }

    /// The addresses the topology declares for the node, in order of appearance.
    pub(crate) fn declared_addrs(&self) -> Vec<IpAddr> {
        let model = &self.core.topology.nodes[self.index].interfaces;
        model.iter().flat_map(|i| i.addrs.iter().map(|a| a.addr())).collect()
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

    /// The NAT and `block` rules netns-test installed in this node, as `nft list ruleset`-style
    /// text (one line per rule); `None` if the topology gives it none.
    ///
    /// ```no_run
    /// # fn f(net: &netns_test::Net) {
    /// eprintln!("{}", net.node("r").firewall_rules().unwrap_or_default());
    /// # }
    /// ```
    pub fn firewall_rules(&self) -> Option<String> {
        crate::kernel::nft::rules_text(&self.core.topology.nodes[self.index])
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

impl Bridge {
    /// The bridge's name in the topology.
    pub fn name(&self) -> &str {
        &self.core.topology.bridges[self.index].name
    }

    /// The bridge device itself, then its ports (the bridge's ends of its members' veths).
    pub fn interfaces(&self) -> Vec<Interface<'_>> {
        let br = &self.core.topology.bridges[self.index];
        let bridge = Interface { name: &br.name, addrs: &br.addrs, model: None, place: &self.place };
        let ports = br.ports.iter().map(|p| Interface { name: p, addrs: &[], model: None, place: &self.place });
        std::iter::once(bridge).chain(ports).collect()
    }

    /// The interface called `name` (the bridge or one of its ports).
    pub fn interface(&self, name: &str) -> Option<Interface<'_>> {
        self.interfaces().into_iter().find(|i| i.name == name)
    }

    placed!("br0");
}

/// An interface of a node or of the bridges' namespace: what the topology declared, and what the
/// kernel chose (index, MAC address, link-local address), read inside its namespace.
///
/// ```no_run
/// # fn f(net: &netns_test::Net) {
/// let eth0 = net.node("b").interface("eth0").unwrap();
/// let scope = eth0.index();
/// let peer = std::net::SocketAddrV6::new(eth0.link_local().unwrap(), 7000, 0, scope);
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct Interface<'a> {
    /// The kernel's name for it.
    pub name: &'a str,
    /// The addresses the topology declared, with prefix lengths.
    pub addrs: &'a [IpNet],
    model: Option<&'a netns_test_topology::Interface>,
    place: &'a NsView,
}

impl<'a> Interface<'a> {
    /// What the topology says of this node interface (peer, MTU); `None` for a bridge or port.
    pub fn model(&self) -> Option<&'a netns_test_topology::Interface> {
        self.model
    }

    /// The interface index (the scope id of its link-local addresses).
    ///
    /// # Panics
    /// If the interface is gone (the test deleted it).
    pub fn index(&self) -> u32 {
        let name = std::ffi::CString::new(self.name).expect("interface names have no NUL");
        // SAFETY: a valid C string.
        match self.place.run(|| unsafe { libc::if_nametoindex(name.as_ptr()) }) {
            0 => panic!("netns-test: interface `{}` not found: {}", self.name, io::Error::last_os_error()),
            index => index,
        }
    }

    /// The MAC address the kernel gave it.
    ///
    /// # Panics
    /// If the interface is gone (the test deleted it).
    pub fn mac(&self) -> [u8; 6] {
        let path = format!("/sys/class/net/{}/address", self.name);
        let text = self.place.run(|| std::fs::read_to_string(&path));
        let text = text.unwrap_or_else(|e| panic!("netns-test: reading {path}: {e}"));
        let bytes: Vec<u8> = text.trim().split(':').filter_map(|b| u8::from_str_radix(b, 16).ok()).collect();
        bytes.try_into().unwrap_or_else(|_| panic!("netns-test: {path} holds no MAC address: {text:?}"))
    }

    /// The kernel's `fe80::` address on it, usable at once (the topology is built with duplicate
    /// address detection off and waits for its multicast groups). `None` if it has none (IPv6
    /// disabled, or a bridge that is down).
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        let addrs = self.place.run(crate::kernel::ipv6::addresses).unwrap_or_default();
        addrs.into_iter().find(|a| a.scope_link && a.dev == self.name).map(|a| a.addr)
    }
}

impl std::fmt::Debug for Interface<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interface").field("name", &self.name).field("addrs", &self.addrs).finish()
    }
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.nodes).entries(&self.bridges).finish()
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("name", &self.name()).field("addrs", &self.addrs()).finish()
    }
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").field("name", &self.name()).finish()
    }
}

/// The node's namespace descriptor, for `setns(2)` or `nsenter --net=/proc/<pid>/fd/<fd>`.
impl std::os::fd::AsRawFd for Node {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(self.place.netns())
    }
}
