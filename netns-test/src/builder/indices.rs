//! Interface indices chosen before anything is created, so no request waits on a lookup.

use netns_test_topology::{IfaceRef, Topology};

/// The index of every interface the builder creates, unique across the whole topology and above
/// every index already taken in the namespace the bridges go to (`lo` is 1 in every namespace,
/// so in fresh ones numbering starts at 2).
///
/// ```ignore
/// let ix = IfIndices::new(&topo, 2);
/// let eth0_of_node_1 = ix.iface(IfaceRef { node: 1, iface: 0 });
/// ```
///
/// Unique matters: a veth whose index equals its peer's looks like a plain device to the
/// kernel's link watcher, which then delays its carrier event by a second instead of handling it
/// at once.
#[derive(Debug)]
pub(crate) struct IfIndices {
    bridges: Vec<u32>,
    /// `ports[b][m]`: the bridge-side veth end of member `m` of bridge `b`.
    ports: Vec<Vec<u32>>,
    /// `ifaces[n][i]`: interface `i` of node `n`.
    ifaces: Vec<Vec<u32>>,
}

impl IfIndices {
    /// Numbers from `first` (at least 2) upwards.
    pub(crate) fn new(topo: &Topology, first: u32) -> IfIndices {
        let mut next = first.max(2)..;
        let mut take = |n: usize| next.by_ref().take(n).collect::<Vec<_>>();
        let bridges = take(topo.bridges.len());
        let ports = topo.bridges.iter().map(|b| take(b.members.len())).collect();
        let ifaces = topo.nodes.iter().map(|n| take(n.interfaces.len())).collect();
        IfIndices { bridges, ports, ifaces }
    }

    /// Bridge `b` of `Topology::bridges`.
    pub(crate) fn bridge(&self, b: usize) -> u32 {
        self.bridges[b]
    }

    /// The bridge-side end of member `m` of bridge `b`.
    pub(crate) fn port(&self, b: usize, m: usize) -> u32 {
        self.ports[b][m]
    }

    /// A node's interface.
    pub(crate) fn iface(&self, r: IfaceRef) -> u32 {
        self.ifaces[r.node][r.iface]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_unique_and_never_lo() {
        let topo = Topology::parse("bridge br0 { a=10.0.0.1/24, b=10.0.0.2/24 }\n a:x -- c:y").unwrap();
        let ix = IfIndices::new(&topo, 0);
        let mut all = vec![ix.bridge(0), ix.port(0, 0), ix.port(0, 1)];
        for (n, node) in topo.nodes.iter().enumerate() {
            all.extend((0..node.interfaces.len()).map(|iface| ix.iface(IfaceRef { node: n, iface })));
        }
        assert_eq!(all.len(), 7, "{all:?}");
        assert!(all.iter().all(|&i| i >= 2), "{all:?}");
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len(), "{all:?}");
    }

    #[test]
    fn numbering_starts_above_the_indices_already_taken() {
        let topo = Topology::parse("bridge br0 { a=10.0.0.1/24 }").unwrap();
        let ix = IfIndices::new(&topo, 7);
        assert_eq!((ix.bridge(0), ix.port(0, 0), ix.iface(IfaceRef { node: 0, iface: 0 })), (7, 8, 9));
    }
}
