//! What is in a built topology's namespaces now, as the features keep it: each node's routes
//! and addresses, its firewall rules, and each link's conditions with the path that gives them.
//!
//! ```ignore
//! let mut now = core.lock();
//! now.routes[node].push((None, "10.0.0.1".parse().unwrap())); // a default route added
//! now.links.entry(id).or_default().conditions = conditions;
//! ```

use crate::kernel::netlink::RouteSpec;
use ipnet::IpNet;
use netns_test_topology::{Block, Conditions, LinkId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where a namespace is: a node's, or the test's own (bridges and their ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Place {
    Node(usize),
    Root,
}

/// One end of a link: its namespace, its interface name, and the node interface it is (ports
/// are not node interfaces).
#[derive(Debug, Clone)]
pub(crate) struct End {
    pub place: Place,
    pub name: String,
    pub iface: Option<(usize, usize)>,
}

/// What is in the namespaces now.
#[derive(Debug)]
pub(crate) struct Now {
    /// Per node: the routes it should have (declared, plus added, minus deleted): in the
    /// kernel, or *suspended* (their link is down, or `up()` found their destination taken).
    pub routes: Vec<Vec<RouteSpec>>,
    /// Per node, per interface: the addresses in place.
    pub addrs: Vec<Vec<Vec<IpNet>>>,
    /// The links whose conditions were set (at build or at run time).
    pub links: HashMap<LinkId, LinkNow>,
    /// Per node: the firewall rules in force (declared, then changed at run time), in order.
    pub firewall: Vec<Vec<Block>>,
}

/// What one link has now.
#[derive(Debug, Default, Clone)]
pub(crate) struct LinkNow {
    pub conditions: Conditions,
    pub path: ConditionPath,
    /// What the userspace forwarder did, `[from the first end, from the second]`, when the link
    /// crosses one.
    pub counters: Option<Arc<[Counters; 2]>>,
}

/// How a link gets its conditions; [`Link::path`](crate::Link::path) tells which ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConditionPath {
    /// A plain veth pair: no conditions.
    #[default]
    None,
    /// Only a rate: a `tbf` qdisc on each end.
    Tbf,
    /// The kernel's `netem` on each end (with a `tbf` under it for a rate).
    Netem,
    /// The kernel has no `netem`: frames cross a forwarder thread of the test's own, between two
    /// veth pairs (a rate is still a `tbf` on each end).
    Userspace,
}

impl std::fmt::Display for ConditionPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConditionPath::None => "plain veth",
            ConditionPath::Tbf => "tbf",
            ConditionPath::Netem => "netem",
            ConditionPath::Userspace => "userspace forwarder",
        })
    }
}

/// What one direction of a userspace forwarder did, counted as it happens.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub forwarded: AtomicU64,
    pub lost: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
    /// Dropped because the forwarder's limit of packets was already waiting.
    pub overflow: AtomicU64,
}

/// One direction's [`Counters`] at one moment: `relayed` counts the frames sent on (duplicates
/// included), the others what happened to the frames read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub relayed: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub overflow: u64,
}

impl Counters {
    /// The counts now.
    pub(crate) fn counts(&self) -> Counts {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counts {
            relayed: n(&self.forwarded),
            lost: n(&self.lost),
            duplicated: n(&self.duplicated),
            reordered: n(&self.reordered),
            overflow: n(&self.overflow),
        }
    }

    /// `2000 forwarded, 21 lost, ...`.
    pub(crate) fn summary(&self) -> String {
        let c = self.counts();
        format!(
            "{} forwarded, {} lost, {} duplicated, {} reordered, {} over the limit",
            c.relayed, c.lost, c.duplicated, c.reordered, c.overflow
        )
    }
}
