//! The core: one built topology at run time. The model it was built from, the namespaces it
//! lives in, what is in them now ([`Now`]: routes, addresses, firewall rules, each link's conditions), and each
//! feature's own state. Everything below the public handles (`Net`, `Node`, `Link`, `Bridge`)
//! takes a `&Core`; diagnostics read it and never call back.
//!
//! ```ignore
//! let core: &Core = net.core();
//! for (i, node) in core.topology.nodes.iter().enumerate() {
//!     core.ns(Place::Node(i)).run(|| /* inside node `node.name` */ ());
//! }
//! let routes_of_a = core.lock().routes[0].clone();
//! ```
//!
//! Features keep it true: a link that goes down takes its routes (and IPv6 addresses) with it
//! in the kernel, and `up()` restores them from here (what is in place is read from the kernel
//! each time).

mod now;

pub use now::ConditionPath;
#[cfg(test)]
pub(crate) use now::LinkNow;
pub(crate) use now::{Counters, Counts, End, Now, Place};

use crate::kernel::nft::Installed;
use crate::kernel::ns::NetNs;
use netns_test_topology::{LinkEnd, LinkId, Topology};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(crate) struct Core {
    /// What was declared.
    pub(crate) topology: Arc<Topology>,
    /// The namespace the topology was built from: bridges and their ports live there.
    pub(crate) root: Arc<NetNs>,
    /// Each node's namespace, in the topology's order.
    pub(crate) nodes: Vec<Arc<NetNs>>,
    /// What is in the namespaces now.
    now: Mutex<Now>,
    /// Per node: its NAT as installed now (the declared one until the test changes it, `None`
    /// while it is off). Plain data, so diagnostics show what is in the kernel without knowing
    /// the NAT feature that keeps it.
    pub(crate) nat: Mutex<Vec<Option<Installed>>>,
    /// Each feature's own machinery (a forwarder, a NAT's timers, a DNS server), keyed by its
    /// type: see [`Core::feature`].
    features: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Core {
    /// The core of `topology`, just built into `root` and `nodes`: what is there now is what it
    /// declares.
    pub(crate) fn new(topology: Arc<Topology>, root: Arc<NetNs>, nodes: Vec<Arc<NetNs>>) -> Core {
        let now = Now {
            routes: topology.nodes.iter().map(|n| n.routes.iter().map(|r| (r.dest, r.via)).collect()).collect(),
            addrs: topology.nodes.iter().map(|n| n.interfaces.iter().map(|i| i.addrs.clone()).collect()).collect(),
            links: HashMap::new(),
            firewall: topology.nodes.iter().map(|n| n.blocks.clone()).collect(),
        };
        let nat = topology.nodes.iter().map(|n| n.nat.clone().map(Installed::new)).collect();
        Core { topology, root, nodes, now: Mutex::new(now), nat: Mutex::new(nat), features: Mutex::new(HashMap::new()) }
    }

    /// What is in the namespaces now, locked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Now> {
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// [`lock`](Self::lock) if it can be had within `wait` (the failure dump must not wait on a
    /// body stuck while holding it).
    pub(crate) fn try_lock_for(&self, wait: Duration) -> Option<MutexGuard<'_, Now>> {
        let start = Instant::now();
        loop {
            match self.now.try_lock() {
                Ok(st) => return Some(st),
                Err(std::sync::TryLockError::Poisoned(p)) => return Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(std::sync::TryLockError::WouldBlock) => return None,
            }
        }
    }

    /// The namespace at `place`.
    pub(crate) fn ns(&self, place: Place) -> &NetNs {
        match place {
            Place::Node(n) => &self.nodes[n],
            Place::Root => &self.root,
        }
    }

    /// The two ends of link `id`, each with its namespace and interface name.
    pub(crate) fn ends(&self, id: LinkId) -> [End; 2] {
        self.topology.link_ends(id).map(|e| End {
            place: match e {
                LinkEnd::Iface(r) => Place::Node(r.node),
                LinkEnd::Port { .. } => Place::Root,
            },
            name: self.topology.end_name(e).to_string(),
            iface: match e {
                LinkEnd::Iface(r) => Some((r.node, r.iface)),
                LinkEnd::Port { .. } => None,
            },
        })
    }

    /// `a:eth0`, or `bridge port b0p1`, for messages.
    pub(crate) fn end_name(&self, end: &End) -> String {
        match end.iface {
            Some((n, _)) => format!("{}:{}", self.topology.nodes[n].name, end.name),
            None => format!("bridge port {}", end.name),
        }
    }

    /// `a:eth0 -- b:eth0` or `h1:eth0 -- br0`, for messages.
    pub(crate) fn link_name(&self, id: LinkId) -> String {
        self.topology.link_name(id)
    }

    /// The state feature `T` keeps for this network, made with `T::default()` on first use: a
    /// feature room owns its type, and the core holds it without knowing what it is.
    ///
    /// ```ignore
    /// #[derive(Default)]
    /// struct Rebinds(u32);
    /// core.feature::<Rebinds>().lock().unwrap().0 += 1;
    /// ```
    pub(crate) fn feature<T: Default + Send + 'static>(&self) -> Arc<Mutex<T>> {
        let mut map = self.features.lock().unwrap_or_else(|p| p.into_inner());
        let any = map.entry(TypeId::of::<T>()).or_insert_with(|| Arc::new(Mutex::new(T::default())));
        any.clone().downcast::<Mutex<T>>().expect("keyed by its own type")
    }

    /// Node `i`'s NAT as installed now.
    pub(crate) fn nat(&self, i: usize) -> Option<Installed> {
        self.nat.lock().unwrap_or_else(|p| p.into_inner())[i].clone()
    }

    /// Node `i`'s NAT and firewall rules as installed now, as `nft list ruleset`-style text.
    pub(crate) fn rules_text(&self, i: usize) -> Option<String> {
        let rules = self.lock().firewall[i].clone();
        crate::kernel::nft::rules_text(self.nat(i).as_ref(), &rules)
    }

    /// The namespace the bridges and their ports live in, if the topology has bridges.
    pub(crate) fn bridges_ns(&self) -> Option<&NetNs> {
        (!self.topology.bridges.is_empty()).then_some(&*self.root)
    }

    /// Each node's name and namespace, in order.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = (&str, &NetNs)> {
        self.topology.nodes.iter().zip(&self.nodes).map(|(n, ns)| (n.name.as_str(), &**ns))
    }
}

/// Sections a feature adds to the failure dump of a node, as plain text it keeps current (a DNS
/// server: its records and its last queries). The dump reads them through
/// `core.feature::<DumpNotes>()` without knowing the feature.
#[derive(Debug, Default)]
pub(crate) struct DumpNotes {
    /// (node, title, lines), in the order first set.
    pub(crate) sections: Vec<(usize, String, std::collections::VecDeque<String>)>,
}

impl DumpNotes {
    /// The lines of section `title` of node `node`, made empty on first use.
    pub(crate) fn lines(&mut self, node: usize, title: &str) -> &mut std::collections::VecDeque<String> {
        let i = match self.sections.iter().position(|(n, t, _)| *n == node && t == title) {
            Some(i) => i,
            None => {
                self.sections.push((node, title.to_string(), Default::default()));
                self.sections.len() - 1
            }
        };
        &mut self.sections[i].2
    }
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").field("nodes", &self.topology.nodes.len()).finish()
    }
}
