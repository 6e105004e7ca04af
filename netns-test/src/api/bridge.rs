//! [`Bridge`]: a bridge of the topology, and the namespace that holds the bridges.

use super::{placed, Interface};
use crate::core::Core;
use crate::kernel::view::NsView;
use std::sync::Arc;

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
    pub(crate) core: Arc<Core>,
    pub(crate) index: usize,
    pub(crate) view: Arc<NsView>,
}

impl Bridge {
    /// The bridge's name in the topology.
    pub fn name(&self) -> &str {
        &self.core.topology.bridges[self.index].name
    }

    /// The bridge device itself, then its ports (the bridge's ends of its members' veths).
    pub fn interfaces(&self) -> Vec<Interface<'_>> {
        let br = &self.core.topology.bridges[self.index];
        let bridge = Interface { name: &br.name, addrs: &br.addrs, model: None, view: &self.view };
        let ports = br.ports.iter().map(|p| Interface { name: p, addrs: &[], model: None, view: &self.view });
        std::iter::once(bridge).chain(ports).collect()
    }

    /// The interface called `name` (the bridge or one of its ports).
    pub fn interface(&self, name: &str) -> Option<Interface<'_>> {
        self.interfaces().into_iter().find(|i| i.name == name)
    }

    placed!("br0");
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").field("name", &self.name()).finish()
    }
}
