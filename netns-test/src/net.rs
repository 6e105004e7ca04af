//! The node API a test body sees: `net.node("x").run(..)`, `.command(..)`, `net.ping(..)`.

use crate::builder::{self, Built};
use crate::error::Result;
use crate::ns::NetNs;
use netns_test_topology::{Interface, Topology};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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
    topology: Arc<Topology>,
    nodes: Vec<Node>,
}

/// One host of the topology: a network namespace, and ways to run code and programs in it.
#[derive(Clone)]
pub struct Node {
    topology: Arc<Topology>,
    index: usize,
    ns: Arc<NetNs>,
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
        crate::userns::check_isolated()?;
        let Built { nodes } = builder::build(&topology, node0)?;
        let topology = Arc::new(topology);
        let nodes = nodes
            .into_iter()
            .enumerate()
            .map(|(index, ns)| Node { topology: topology.clone(), index, ns: Arc::new(ns) })
            .collect();
        Ok(Net { topology, nodes })
    }

    /// The node called `name`.
    ///
    /// # Panics
    /// If there is no such node; the message lists the nodes there are.
    #[track_caller]
    pub fn node(&self, name: &str) -> &Node {
        match self.topology.node_index(name) {
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

    /// The topology this network was built from.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// One ICMP echo from node `from` to `to`; the round-trip time, or an error after 1 s.
    ///
    /// Uses ICMP datagram sockets, so no `ping` binary is needed.
    #[track_caller]
    pub fn ping(&self, from: &str, to: IpAddr) -> io::Result<Duration> {
        self.node(from).ping(to, Duration::from_secs(1))
    }
}

impl Node {
    /// The node's name in the topology.
    pub fn name(&self) -> &str {
        &self.topology.nodes[self.index].name
    }

    /// The node's interfaces (without `lo`), in order of appearance.
    pub fn interfaces(&self) -> &[Interface] {
        &self.topology.nodes[self.index].interfaces
    }

    /// The interface called `name`, if this node has it.
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces().iter().find(|i| i.name == name)
    }

    /// Every address of the node, in order of appearance.
    pub fn addrs(&self) -> Vec<IpAddr> {
        self.interfaces().iter().flat_map(|i| i.addrs.iter().map(|a| a.addr())).collect()
    }

    /// The node's first IPv4 address.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.addrs().into_iter().find_map(|a| match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
    }

    /// The node's first IPv6 address.
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
        crate::nft::rules_text(&self.topology.nodes[self.index])
    }

    /// Runs `f` on the calling thread, moved into this node's namespace for the call.
    ///
    /// Sockets created in `f` belong to the node and stay there whichever thread uses them later.
    ///
    /// ```no_run
    /// # fn f(net: &netns_test::Net) {
    /// let listener = net.node("b").run(|| std::net::TcpListener::bind("10.0.0.2:7000").unwrap());
    /// # }
    /// ```
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let back = NetNs::current().expect("netns-test: cannot open this thread's namespace");
        self.ns.enter().expect("netns-test: cannot enter the node's namespace");
        // Restores the thread even if `f` panics.
        struct Back(NetNs);
        impl Drop for Back {
            fn drop(&mut self) {
                self.0.enter().expect("netns-test: cannot return to the previous namespace");
            }
        }
        let _back = Back(back);
        f()
    }

    /// Runs `f` on a new thread inside this node; `join` returns its result (or its panic).
    pub fn spawn<F, R>(&self, f: F) -> std::thread::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let ns = self.ns.clone();
        let name = format!("netns-{}", self.name());
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                ns.enter().expect("netns-test: cannot enter the node's namespace");
                f()
            })
            .expect("netns-test: cannot spawn a thread")
    }

    /// A [`std::process::Command`] whose process runs inside this node.
    ///
    /// The process is in the test's process group, so it never outlives the test: it is killed
    /// when the test ends, however it ends.
    ///
    /// ```no_run
    /// # fn f(net: &netns_test::Net) {
    /// let out = net.node("a").command("cat").arg("/proc/net/dev").output().unwrap();
    /// # }
    /// ```
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new(program);
        let ns = self.ns.clone();
        // SAFETY: setns is async-signal-safe and allocates nothing.
        unsafe { cmd.pre_exec(move || setns_raw(&ns)) };
        cmd
    }

    /// Like [`command`](Self::command), for tokio.
    #[cfg(feature = "tokio")]
    pub fn tokio_command(&self, program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
        tokio::process::Command::from(self.command(program))
    }

    /// Runs `fut` to completion on a tokio current-thread runtime whose thread is in this node.
    ///
    /// From synchronous code only: inside an `async` test body (already on a runtime) create
    /// sockets with [`run`](Self::run) instead and use them from the body's runtime.
    #[cfg(feature = "tokio")]
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.run(|| crate::private::block_on(fut))
    }

    /// One ICMP echo from this node to `to`, waiting at most `timeout` for the reply.
    pub fn ping(&self, to: IpAddr, timeout: Duration) -> io::Result<Duration> {
        self.run(|| crate::ping::ping(to, timeout))
    }
}

fn setns_raw(ns: &NetNs) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on an open namespace descriptor.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.nodes).finish()
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
        self.ns.as_raw_fd()
    }
}
