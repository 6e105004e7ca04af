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
    /// Each feature's own machinery (a NAT's timers, a DNS server's handle), keyed by its type:
    /// see [`Core::feature`].
    features: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Core {
    pub(crate) fn new(topology: Arc<Topology>, live: Live) -> Core {
        Core { topology, live, features: Mutex::new(HashMap::new()) }
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

    /// The namespace the bridges and their ports live in, if the topology has bridges.
    pub(crate) fn bridges_ns(&self) -> Option<&NetNs> {
        (!self.topology.bridges.is_empty()).then_some(&*self.live.root)
    }

    /// Each node's name and namespace, in order.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = (&str, &NetNs)> {
        self.topology.nodes.iter().zip(&self.live.nodes).map(|(n, ns)| (n.name.as_str(), &**ns))
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
