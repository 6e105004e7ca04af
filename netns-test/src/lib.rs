//! Real networks for `cargo test`, without root.
//!
//! One attribute gives each test a fresh user + network namespace, builds the topology the test
//! declares inside it (hosts, veth pairs, bridges, IPv4 and IPv6 addresses, routes, NAT, firewall
//! rules, link conditions) over netlink, runs the body in one of its hosts, and tears it all down
//! by construction: everything belongs to the test's child process, and the kernel frees it when
//! that process dies, however it dies. No root, no setup script, no `ip` binary.
//!
//! This page is the manual. The [README] is the longer guide: how it works, what a verdict
//! means, what a node looks like from inside, the CLI, speed and security.
//!
//! [README]: https://github.com/netns-test/netns-test#readme
//!
//! <br>
//!
//! # A first test
//!
//! ```toml
//! [dev-dependencies]
//! netns-test = "0.1"
//! ```
//!
//! ```no_run
//! use netns_test::{netns_test, Net};
//! use std::io::{Read, Write};
//!
//! #[netns_test(topology = "
//!     bridge br0 { ns1=192.168.1.1/24, ns2=192.168.1.2/24, ns3=192.168.1.3/24 }
//! ")]
//! fn three_hosts_talk(net: &Net) {
//!     let listener = net.node("ns3").run(|| std::net::TcpListener::bind("192.168.1.3:7000").unwrap());
//!     // The body runs in ns1, the first node named.
//!     let mut s = std::net::TcpStream::connect("192.168.1.3:7000").unwrap();
//!     s.write_all(b"hi").unwrap();
//!     let (mut conn, peer) = listener.accept().unwrap();
//!     assert_eq!(peer.ip().to_string(), "192.168.1.1");
//!     let mut buf = [0; 2];
//!     conn.read_exact(&mut buf).unwrap();
//!     assert_eq!(&buf, b"hi");
//! }
//! ```
//!
//! `cargo test` (or `cargo nextest run`) runs it like any other test. Each test runs in a child
//! process of its own, in its own namespaces: nothing is left on the host whether it passes,
//! panics, times out or is killed. A mistake in the topology is a compile error pointing at it.
//!
//! A doctest cannot run a `#[test]`, so the example above only compiles here. The same network
//! without the attribute, for a program with its own `main` (a CLI, a `harness = false` test, an
//! example), is [`isolate`] first thing, then [`Net::build`]; this one runs with `cargo test
//! --doc`:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use netns_test::Net;
//! use std::net::{TcpListener, TcpStream};
//!
//! // While the process has one thread: the kernel refuses a user namespace to any other.
//! netns_test::isolate()?;
//! let net = Net::build("bridge br0 { ns1=192.168.1.1/24, ns2=192.168.1.2/24, ns3=192.168.1.3/24 }".parse()?)?;
//! let listener = net.node("ns3").run(|| TcpListener::bind("192.168.1.3:7000"))?;
//! let _conn = net.node("ns1").run(|| TcpStream::connect("192.168.1.3:7000"))?;
//! let (_, peer) = listener.accept()?;
//! assert_eq!(peer.ip().to_string(), "192.168.1.1");
//! # Ok(())
//! # }
//! ```
//!
//! The crate's `examples/` are programs of this kind: `cargo run -p netns-test --example
//! nat_traversal` (UDP hole punching through two NAT routers), `lossy_link` (a link with 10 %
//! loss and 20 ms of delay, measured), `fixture_dir` (the fixture harness on a directory).
//!
//! <br>
//!
//! # The attribute
//!
//! ```no_run
//! # use netns_test::{netns_test, Net};
//! #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", node = "b", timeout = "10s")]
//! fn my_test(net: &Net) { /* runs in node b */ }
//! ```
//!
//! | argument | meaning | default |
//! |---|---|---|
//! | `topology = "…"` | the network, in the grammar below; checked at compile time | required (or `topology_file`) |
//! | `topology_file = "…"` | the network from a file, relative to `CARGO_MANIFEST_DIR` (see [Fixtures](#fixtures)) | |
//! | `node = "…"` | the node the body runs in | the first node named |
//! | `timeout = "…"` | `500ms`, `30s`, `2m`; the test and every process it started are killed after it | `60s` |
//! | `crate = "…"` | the path of this crate when it is re-exported, e.g. `crate = "my_kit::netns_test"` | `::netns_test` |
//! | `flavor = "multi_thread"` | `async fn` only: a tokio multi-thread runtime whose workers are all in the body's node | current-thread |
//! | `worker_threads = N` | with `flavor = "multi_thread"`: the number of workers | one per core |
//!
//! The function may be `fn()` or `fn(net: &Net)`, return `()` or `Result<(), E: Debug>`, and be
//! an `async fn` (the `tokio` feature, on by default). `#[ignore]` composes as usual;
//! `#[should_panic]` (with `expected = "…"`) is taken over by the attribute and passes only when
//! the body itself panicked or returned `Err`, never on a timeout or a signal. Do not add
//! `#[test]`: the attribute adds it, and `#[test]`, `#[tokio::test]` or `#[async_std::test]`
//! stacked with it is a compile error saying what to remove. Every mistake in a topology is a
//! compile error with its line and column inside the string:
//!
//! ```text
//! error: invalid topology at 1:3: unknown option `foward`
//!          r [foward]
//!             ^^^^^^
//!          help: did you mean `forward`?
//! ```
//!
//! <br>
//!
// The grammar's one text is netns-test-topology/GRAMMAR.md (also that crate's docs and the README's
// section); netns-test/GRAMMAR.md is a symlink to it, which `cargo package` stores as a file.
#![doc = include_str!("../GRAMMAR.md")]
//!
//! The grammar is that of the [`topology`] crate (re-exported here), which parses and validates
//! for the attribute, the runtime and the CLI alike: [`Topology::parse`] gives the same errors
//! at run time.
//!
//! <br>
//!
//! # The node API
//!
//! A [`Net`] is the built topology: its [`Node`]s (each a network namespace), [`Bridge`]s and
//! [`Link`]s. Code runs in a node through [`Node::run`] (a closure on the calling thread, moved
//! into the node for the call), [`Node::spawn`] (a thread of its own there) and
//! [`Node::command`] (a program started there; [`Node::tokio_command`] and [`Node::block_on`]
//! for async code). Sockets keep the namespace they were created in, whichever thread uses them
//! later. Inside a node, `/proc/net`, `/sys/class/net`, the hostname and `/etc/hosts` (every
//! node's name resolves) are the node's.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use netns_test::Net;
//! use std::net::UdpSocket;
//! use std::time::Duration;
//!
//! netns_test::isolate()?;
//! let net = Net::build("a=10.0.0.1/24 -- b=10.0.0.2/24|fd00::2/64".parse()?)?;
//! let b = net.node("b");
//! assert_eq!(b.ipv4(), Some("10.0.0.2".parse()?));
//! assert_eq!(net.nodes().len(), 2);
//!
//! // A UDP echo server on a thread inside b, and a client socket made in a.
//! let server = b.run(|| UdpSocket::bind("10.0.0.2:5353"))?;
//! let echo = b.spawn(move || -> std::io::Result<usize> {
//!     let mut buf = [0; 64];
//!     let (n, from) = server.recv_from(&mut buf)?;
//!     server.send_to(&buf[..n], from)
//! });
//! let client = net.node("a").run(|| UdpSocket::bind("10.0.0.1:0"))?;
//! client.send_to(b"hello", "10.0.0.2:5353")?;
//! let mut buf = [0; 64];
//! assert_eq!(client.recv(&mut buf)?, 5);
//! echo.join().unwrap()?;
//!
//! // Programs see the node as their machine.
//! let out = b.command("cat").arg("/proc/sys/kernel/hostname").output()?;
//! assert_eq!(out.stdout, b"b\n");
//!
//! // ICMP echo without a `ping` binary: one echo (1 s), or resent each second like `ping -w`.
//! let rtt = net.ping("a", "10.0.0.2".parse()?)?;
//! assert!(rtt < Duration::from_secs(1));
//! b.ping("10.0.0.1".parse()?, Duration::from_secs(3))?;
//!
//! // What the kernel chose: index (the scope id), MAC, a link-local address usable at once.
//! let eth0 = b.interface("eth0").unwrap();
//! assert!(eth0.link_local().is_some() && eth0.index() > 0);
//! # Ok(())
//! # }
//! ```
//!
//! [`Net::bridge`] gives the namespace that holds the bridges, with the same `run`, `spawn` and
//! `command` (to capture a whole LAN on `br0`, say). [`Node::firewall_rules`] shows the NAT and
//! firewall rules in force in a node.
//!
//! ## Changes while it runs
//!
//! A [`Link`] goes down and up and takes new conditions; a node gains and loses routes and
//! addresses, and its [`Firewall`] rules. Each change returns a [`Result`] whose error says what is wrong, and is recorded
//! with its time (shown in failure reports, and as it happens with `NETNS_TEST_TRACE=1`).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use netns_test::{ConditionPath, Net};
//! use std::time::Duration;
//!
//! netns_test::isolate()?;
//! let net = Net::build("a=10.0.0.1/24 -- b=10.0.0.2/24".parse()?)?;
//! let (link, b) = (net.link("a", "b"), "10.0.0.2".parse()?);
//!
//! link.down()?; // the cable is cut: both ends go down
//! assert!(net.ping("a", b).is_err());
//! link.up()?; // back, with its addresses and routes, once it passes traffic
//! net.ping("a", b)?;
//!
//! link.set("delay=20ms")?; // the link options of the grammar, each direction
//! assert!(net.ping("a", b)? >= Duration::from_millis(40));
//! assert_ne!(link.path(), ConditionPath::None); // netem, or the userspace forwarder without it
//! link.clear()?;
//! assert!(net.ping("a", b)? < Duration::from_millis(40));
//!
//! let a = net.node("a");
//! a.add_addr("eth0", "10.0.0.9/24")?;
//! assert!(a.addrs().contains(&"10.0.0.9".parse()?));
//! let err = a.add_route("10.2.0.0/24", "10.9.9.9").unwrap_err();
//! assert!(err.to_string().contains("not on any subnet of the node"), "{err}");
//!
//! let fw = net.node("b").firewall(); // rules as in the grammar, the first match deciding
//! fw.add("block icmp echo-request")?;
//! assert!(net.ping("a", b).is_err());
//! fw.remove("block icmp echo-request")?;
//! net.ping("a", b)?;
//! # Ok(())
//! # }
//! ```
//!
//! <br>
//!
//! # Fixtures
//!
//! Topologies can live in `*.topo` files (the same grammar): `#[netns_test(topology_file =
//! "tests/topologies/router.topo")]` reads one at compile time, relative to the crate. A
//! topology may carry `expect` lines, reachability to check with real packets:
//! [`Net::check_expectations`] probes them (in a `#[netns_test]` only when the body asks), and
//! gives a table of what was expected and what happened.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! netns_test::isolate()?;
//! let net = netns_test::Net::build(
//!     "a=10.0.0.1/24 -- b=10.0.0.2/24
//!      b: block tcp/22
//!      expect a -> b
//!      expect a -> b tcp/80
//!      expect a -/-> b tcp/22"
//!         .parse()?,
//! )?;
//! let found = net.check_expectations(Duration::from_millis(300));
//! assert!(found.passed(), "{}", found.table());
//! assert_eq!(found.probes.len(), 3);
//! # Ok(())
//! # }
//! ```
//!
//! The [`fixtures`] harness turns a directory of such files into tests, one trial per file, each
//! in a sandboxed child process as a `#[netns_test]` is, on libtest-mimic (`cargo test` and
//! `cargo nextest run` filter and list them as usual):
//!
//! ```toml
//! [[test]]
//! name = "topologies"
//! harness = false
//! ```
//!
//! ```no_run
//! // tests/topologies.rs
//! fn main() {
//!     netns_test::fixtures::run("tests/topologies")
//! }
//! ```
//!
//! [`fixtures::Fixtures`] adds checks of your own and timeouts; `examples/fixture_dir.rs` uses
//! it. Where user namespaces are unavailable the trials are reported as ignored, with the reason,
//! never as passed. The CLI (`netns-test-cli`: `netns-test check`, `up`, `exec`, `shell`,
//! `graph`) works on the same files.
//!
//! <br>
//!
//! # Debugging a failure
//!
//! A failing test (panic, `Err`, timeout) prints, after its own message, the state of the network
//! at that moment, read over netlink inside every node before anything is torn down: links with
//! their state, MTU, MAC, addresses, counters and conditions; routes; neighbours; sysctls that
//! differ from a new namespace's; NAT and firewall rules; the runtime changes made, timestamped.
//! [`Net::dump`] gives the same text at any point. If the kernel dropped packets for want of room
//! in its machine-wide tables while the test ran, the failure says so, with the sysctl to raise.
//!
//! | variable | effect |
//! |---|---|
//! | `NETNS_TEST_DUMP=0` | no state dump on failure |
//! | `NETNS_TEST_CAPTURE=fail` | capture every interface of every node into pcap files (`target/netns-test/<crate>::<test>/<node>-<iface>.pcap`), kept for failing tests |
//! | `NETNS_TEST_CAPTURE=all` | the same, kept for every test |
//! | `NETNS_TEST_PAUSE_ON_FAIL=1` | keep a failing test's topology up, print an `nsenter` command per node to look around, wait for Enter (run with `--test-threads=1`) |
//! | `NETNS_TEST_TRACE=1` | each topology build's phase timings, each runtime change as it happens, the path each link's conditions took |
//! | `NETNS_TEST_NETEM=off` | link conditions take the userspace forwarder even where the kernel has `sch_netem` |
//! | `NETNS_TEST_UNSUPPORTED=skip` | where user namespaces are unavailable, each test prints `netns-test: SKIPPED <name>: <cause and fix>` and returns instead of failing (it then counts as passed: the line is the record) |
//! | `NETNS_TEST_FIXTURE_TABLE=1` | set by the fixture harness under `--nocapture`: passing trials print their table too |
//!
//! The test child removes every `NETNS_TEST_*` variable from its environment before the body
//! runs, so programs the test starts do not see them. (`NETNS_TEST_CHILD` and
//! `NETNS_TEST_REPORT_FD` are the runtime's own, parent to child.)
//!
//! <br>
//!
//! # Requirements
//!
//! Linux 5.3 or newer with user and network namespaces, veth and bridge support, and
//! unprivileged user namespaces allowed. No binaries at run time (`ip`, `ping`, `tc`, `nft` are
//! not used), no capabilities: CI runs the suite as `nobody`. When user namespaces are refused,
//! every test fails with the cause and the fix, for example:
//!
//! | where | setting | fix |
//! |---|---|---|
//! | Debian, older kernels | `kernel.unprivileged_userns_clone=0` | `sysctl -w kernel.unprivileged_userns_clone=1` |
//! | any | `user.max_user_namespaces=0` | `sysctl -w user.max_user_namespaces=10000` |
//! | Ubuntu 23.10+, GitHub's `ubuntu-24.04` runners | `kernel.apparmor_restrict_unprivileged_userns=1` | `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor profile with `userns,` |
//! | Docker | the default seccomp profile | `--security-opt seccomp=unconfined`, or run on the host |
//!
//! [`Net::build`] refuses to run outside namespaces the process made for itself, so it can never
//! configure the host's network.

mod addressing;
mod api;
mod builder;
mod clock;
mod conditions;
mod core;
#[cfg(feature = "dns")]
mod dns;
mod env;
mod error;
mod expect;
mod firewall;
pub mod fixtures;
mod forensics;
mod journal;
mod kernel;
mod links;
mod logs;
mod names;
mod nat;
mod nat64;
mod out_dir;

mod process;
mod runtime;
mod sandbox;
#[cfg(feature = "tracing")]
pub mod tracing;

#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
mod private;

pub use api::{Bridge, Firewall, Interface, Link, Mapping, Nat, Net, Node, Protocol};
#[cfg(feature = "dns")]
pub use api::{Dns, Query, Rcode};
pub use conditions::{kernel_has_netem, ConditionPath};
pub use error::{Error, Result};
pub use expect::{Expectations, Probed};
pub use netns_test_macros::netns_test;
pub use netns_test_topology as topology;
pub use netns_test_topology::Topology;
pub use sandbox::isolate;
