//! The link conditions in force, per interface, for the dump: read from the runtime's own state
//! (what `Link::conditions` and `Link::path` report), not from tc: on the userspace path the
//! delay and loss happen in a forwarder thread, which no qdisc shows.
//!
//! ```ignore
//! let shaped = read(topo, live, LOCK_WAIT);
//! let s = shaped.at(Place::Node(0), "eth0"); // the first node's eth0
//! ```

use super::state::Shaping;
use crate::core::{Core, Place};
use std::collections::HashMap;
use std::time::Duration;

/// Every end of a link with conditions (or a forwarder) by namespace and interface name, and
/// why the runtime's state could not be read if it could not.
#[derive(Debug, Default)]
pub(crate) struct Shaped {
    pub(crate) ends: HashMap<(Place, String), Shaping>,
    pub(crate) note: Option<String>,
}

impl Shaped {
    /// The conditions of the link that interface `name` of `place` is an end of.
    pub(crate) fn at(&self, place: Place, name: &str) -> Option<Shaping> {
        self.ends.get(&(place, name.to_string())).cloned()
    }
}

/// Reads the conditions of every link, waiting at most `wait` for the runtime's state: a dump
/// at a timeout may find the body stuck in a link change that holds it. Without it, the
/// conditions the topology declares are given, marked as such.
pub(crate) fn read(core: &Core, wait: Duration) -> Shaped {
    let mut out = Shaped::default();
    match core.try_lock_for(wait) {
        Some(st) => {
            for (&id, l) in &st.links {
                if l.conditions.is_empty() && l.counters.is_none() {
                    continue;
                }
                // The forwarder counts per side: [frames from the first end, from the second].
                let counts = l.counters.as_ref().map(|c| c.each_ref().map(|c| c.counts()));
                for (k, end) in core.ends(id).into_iter().enumerate() {
                    let s = Shaping { conditions: l.conditions, path: Some(l.path), sent: counts.map(|c| c[k]) };
                    out.ends.insert((end.place, end.name), s);
                }
            }
        }
        None => {
            out.note = Some(format!(
                "the runtime's link state stayed locked for {} ms (a link change in progress?): link \
                 conditions are shown as declared, changes made at run time are not",
                wait.as_millis()
            ));
            for id in core.topology.link_ids() {
                let c = core.topology.link_conditions(id);
                if !c.is_empty() {
                    for end in core.ends(id) {
                        out.ends.insert((end.place, end.name), Shaping { conditions: c, path: None, sent: None });
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{ConditionPath, LinkNow};
    use crate::kernel::ns::NetNs;
    use netns_test_topology::{parse_link_options, LinkId, Topology};
    use std::sync::Arc;

    fn setup() -> (Arc<Topology>, Core) {
        let topo = Arc::new(Topology::parse("a -- b [loss=5%]\nbridge br0 { c, d }").unwrap());
        let core = Core::new(topo.clone(), Arc::new(NetNs::current().unwrap()), vec![]);
        (topo, core)
    }

    #[test]
    fn both_ends_of_each_link_with_conditions_from_the_live_state() {
        let (topo, core) = setup();
        let c = parse_link_options("delay=10ms").unwrap().conditions;
        let state = LinkNow { conditions: c, path: ConditionPath::Netem, counters: None };
        core.lock().links.insert(LinkId::Member(0, 1), state);
        // Cleared since: no conditions, no forwarder, nothing to show.
        core.lock().links.insert(LinkId::Veth(0), LinkNow::default());
        let shaped = read(&core, Duration::ZERO);
        assert_eq!(shaped.note, None);
        let want = Shaping { conditions: c, path: Some(ConditionPath::Netem), sent: None };
        let d = topo.node_index("d").unwrap();
        assert_eq!(shaped.at(Place::Node(d), "eth0").as_ref(), Some(&want));
        assert_eq!(shaped.at(Place::Root, "b0p1").as_ref(), Some(&want));
        assert_eq!(shaped.ends.len(), 2, "{:?}", shaped.ends);
    }

    #[test]
    fn the_declared_conditions_and_a_note_when_the_state_is_locked() {
        let (topo, core) = setup();
        let _held = core.lock();
        let start = std::time::Instant::now();
        let shaped = read(&core, Duration::from_millis(50));
        assert!(start.elapsed() >= Duration::from_millis(50), "it waited");
        assert!(shaped.note.as_deref().is_some_and(|n| n.contains("locked for 50 ms")), "{:?}", shaped.note);
        let loss = parse_link_options("loss=5%").unwrap().conditions;
        let want = Shaping { conditions: loss, path: None, sent: None };
        for node in ["a", "b"] {
            let n = topo.node_index(node).unwrap();
            assert_eq!(shaped.at(Place::Node(n), "eth0").as_ref(), Some(&want));
        }
        assert_eq!(shaped.ends.len(), 2, "{:?}", shaped.ends);
    }
}
