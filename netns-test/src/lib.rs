//! Rootless per-test network namespaces with declared topologies, for `cargo test`.
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
//!     let mut buf = [0; 2];
//!     listener.accept().unwrap().0.read_exact(&mut buf).unwrap();
//!     assert_eq!(&buf, b"hi");
//! }
//! ```
//!
//! Each test runs in its own child process, in a fresh user + network namespace: no root, no
//! setup script, nothing left on the host whether the test passes, panics, times out or is
//! killed. The topology language is described in the README; mistakes in it are compile errors.

mod api;
mod builder;
mod changes;
mod conditions;
mod core;
mod env;
mod error;
mod expect;
pub mod fixtures;
mod forensics;
mod journal;
mod kernel;
mod link;
mod live;
mod names;
mod nat;

mod process;
mod runtime;
mod sandbox;

#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
mod private;

pub use api::{Bridge, Interface, Mapping, Nat, Net, Node, Protocol};
pub use conditions::{kernel_has_netem, ConditionPath};
pub use error::{Error, Result};
pub use expect::{Expectations, Probed};
pub use link::Link;
pub use netns_test_macros::netns_test;
pub use netns_test_topology as topology;
pub use netns_test_topology::Topology;
pub use sandbox::isolate;
