//! Which link is which: every link of a topology has a [`LinkId`], two ends, a name for
//! messages, and the conditions the topology declares for it.
//!
//! ```
//! use netns_test_topology::{LinkEnd, LinkId, Topology};
//!
//! let t = Topology::parse("a -- b [delay=5ms]; bridge br0 { a, c }").unwrap();
//! let ids: Vec<LinkId> = t.link_ids().collect();
//! assert_eq!(ids, [LinkId::Veth(0), LinkId::Member(0, 0), LinkId::Member(0, 1)]);
//! assert_eq!(t.link_name(ids[0]), "a:eth0 -- b:eth0");
//! assert_eq!(t.link_name(ids[2]), "c:eth0 -- br0");
//! assert_eq!(t.find_link("b", "a"), Some(LinkId::Veth(0)));
//! assert_eq!(t.find_link("a:eth1", "br0"), Some(LinkId::Member(0, 0)));
//! assert!(matches!(t.link_ends(ids[1])[1], LinkEnd::Port { bridge: 0, member: 0 }));
//! assert_eq!(t.link_conditions(ids[0]).to_string(), "delay=5ms");
//! ```

use crate::{Conditions, IfaceRef, Topology};

/// One link: `Topology::links[i]`, or member `m` of bridge `b` (its veth to the bridge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkId {
    /// A veth pair between two nodes: index into [`Topology::links`].
    Veth(usize),
    /// Member `member` of bridge `bridge` (indices into [`Topology::bridges`] and its members).
    Member(usize, usize),
}

/// One end of a link: a node's interface, or a bridge's port (in the bridges' namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkEnd {
    /// A node's interface.
    Iface(IfaceRef),
    /// The bridge side of a member's veth, named `Bridge::ports[member]`.
    Port {
        /// Index into [`Topology::bridges`].
        bridge: usize,
        /// Index into that bridge's members.
        member: usize,
    },
}

impl Topology {
    /// Every link: the veth pairs in order, then each bridge's members in order.
    pub fn link_ids(&self) -> impl Iterator<Item = LinkId> + '_ {
        let veths = (0..self.links.len()).map(LinkId::Veth);
        let members = self
            .bridges
            .iter()
            .enumerate()
            .flat_map(|(b, br)| (0..br.members.len()).map(move |m| LinkId::Member(b, m)));
        veths.chain(members)
    }

    /// The two ends of link `id`: a veth's as written, a member's node end then its port.
    pub fn link_ends(&self, id: LinkId) -> [LinkEnd; 2] {
        match id {
            LinkId::Veth(l) => [LinkEnd::Iface(self.links[l].a), LinkEnd::Iface(self.links[l].b)],
            LinkId::Member(b, m) => {
                [LinkEnd::Iface(self.bridges[b].members[m]), LinkEnd::Port { bridge: b, member: m }]
            }
        }
    }

    /// The kernel name of an end's interface (`eth0`, or a port's `b0p1`).
    pub fn end_name(&self, end: LinkEnd) -> &str {
        match end {
            LinkEnd::Iface(r) => &self.iface(r).name,
            LinkEnd::Port { bridge, member } => &self.bridges[bridge].ports[member],
        }
    }

    /// `a:eth0 -- b:eth0` or `h1:eth0 -- br0`, for messages.
    pub fn link_name(&self, id: LinkId) -> String {
        let end = |r: IfaceRef| format!("{}:{}", self.nodes[r.node].name, self.iface(r).name);
        match id {
            LinkId::Veth(l) => format!("{} -- {}", end(self.links[l].a), end(self.links[l].b)),
            LinkId::Member(b, m) => format!("{} -- {}", end(self.bridges[b].members[m]), self.bridges[b].name),
        }
    }

    /// The conditions the topology declares for link `id`.
    pub fn link_conditions(&self, id: LinkId) -> Conditions {
        match id {
            LinkId::Veth(l) => self.links[l].conditions,
            LinkId::Member(b, m) => self.bridges[b].conditions[m],
        }
    }

    /// The link between `a` and `b`, in either order: `a` is `node` or `node:iface`, `b` a
    /// node (also `node:iface`) or a bridge name.
    pub fn find_link(&self, a: &str, b: &str) -> Option<LinkId> {
        self.find_link_from(a, b).or_else(|| self.find_link_from(b, a))
    }

    fn find_link_from(&self, a: &str, b: &str) -> Option<LinkId> {
        let (node, iface) = a.split_once(':').map_or((a, None), |(n, i)| (n, Some(i)));
        let n = self.node_index(node)?;
        let matches = |r: IfaceRef| r.node == n && iface.is_none_or(|i| self.iface(r).name == i);
        if let Some(bi) = self.bridges.iter().position(|br| br.name == b) {
            let m = self.bridges[bi].members.iter().position(|&r| matches(r))?;
            return Some(LinkId::Member(bi, m));
        }
        let (other, other_iface) = b.split_once(':').map_or((b, None), |(n, i)| (n, Some(i)));
        let o = self.node_index(other)?;
        let other_matches = |r: IfaceRef| r.node == o && other_iface.is_none_or(|i| self.iface(r).name == i);
        self.links.iter().position(|l| matches(l.a) && other_matches(l.b)).map(LinkId::Veth)
    }
}
