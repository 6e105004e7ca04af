//! The core: one built topology at run time. The model it was built from, the namespaces it
//! lives in, and what the features have changed since. Everything below the public handles
//! (`Net`, `Node`, `Link`, `Bridge`) takes a `&Core`; diagnostics read it and never call back.
//!
//! ```ignore
//! let core: &Core = net.core();
//! for (i, node) in core.topology.nodes.iter().enumerate() {
//!     core.live.ns(Place::Node(i)).run(|| /* inside node `node.name` */ ());
//! }
//! ```

use crate::kernel::nft::Installed;
use crate::kernel::ns::NetNs;
use crate::live::Live;
use netns_test_topology::Topology;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub(crate) struct Core {
    /// What was declared.
    pub(crate) topology: Arc<Topology>,
    /// The namespaces, and the state the features keep of what is in them now.
    pub(crate) live: Live,
    /// Per node: its NAT as installed now (the declared one until the test changes it, `None`
    /// while it is off). Plain data, so diagnostics show what is in the kernel without knowing
    /// the NAT feature that keeps it.
    pub(crate) nat: Mutex<Vec<Option<Installed>>>,
    /// Each feature's own machinery (a NAT's timers, a DNS server's handle), keyed by its type:
    /// see [`Core::feature`].
    features: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Core {
    pub(crate) fn new(topology: Arc<Topology>, live: Live) -> Core {
        let nat = topology.nodes.iter().map(|n| n.nat.clone().map(Installed::new)).collect();
        Core { topology, live, nat: Mutex::new(nat), features: Mutex::new(HashMap::new()) }
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

    /// Node `i`'s NAT and `block` rules as installed now, as `nft list ruleset`-style text.
    pub(crate) fn rules_text(&self, i: usize) -> Option<String> {
        crate::kernel::nft::rules_text(self.nat(i).as_ref(), &self.topology.nodes[i].blocks)
    }

    /// The namespace the bridges and their ports live in, if the topology has bridges.
    pub(crate) fn bridges_ns(&self) -> Option<&NetNs> {
        (!self.topology.bridges.is_empty()).then_some(&*self.live.root)
    }

    /// Each node's name and namespace, in order.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = (&str, &NetNs)> {
        self.topology.nodes.iter().zip(&self.live.nodes).map(|(n, ns)| (n.name.as_str(), &**ns))
    }
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").field("nodes", &self.topology.nodes.len()).finish()
    }
}
