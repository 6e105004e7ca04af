//! Link conditions in the kernel: `tbf` for the rate, `netem` for the rest where the kernel has
//! it, and the userspace [`forwarder`] where it does not.
//!
//! Both paths give each direction of a link the same treatment, on the egress of each end:
//! `delay=20ms` delays a→b and b→a by 20 ms each.

pub(crate) mod forwarder;
mod splice;
pub(crate) mod tc;

use crate::error::{Error, Result};
use crate::kernel::ns::NetNs;
use crate::live::{self, describe, ends, LinkId, Live};
use netlink_packet_route::link::LinkAttribute;
use netns_test_topology::{Conditions, Topology};
use std::sync::OnceLock;

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

/// Whether link conditions beyond `rate` use the kernel's `netem`: the kernel has it, and
/// `NETNS_TEST_NETEM=off` does not ask for the userspace path. Probed once per process, in a
/// namespace made for the purpose.
pub fn kernel_has_netem() -> bool {
    static NETEM: OnceLock<bool> = OnceLock::new();
    *NETEM.get_or_init(|| {
        if crate::env::netem_off() {
            return false;
        }
        let probe = || -> Result<bool> {
            let ns = std::thread::scope(|s| s.spawn(|| NetNs::new_with(|| Ok(()))).join())
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
                .map_err(Error::io("creating a namespace to probe for netem"))?;
            let c = netns_test_topology::parse_link_options("delay=1ms").expect("valid").conditions;
            live::netlink(&[&ns], |h| async move {
                let msg = tc::qdiscs(1, &c, 1500, true).remove(0);
                Ok(tc::add(&h[0], msg).await.is_ok())
            })
        };
        let has = probe().unwrap_or(false);
        if crate::env::tracing() {
            eprintln!("netns-test: the kernel {} sch_netem", if has { "has" } else { "lacks" });
        }
        has
    })
}

/// Gives link `id` the conditions `c` (replacing what it had); returns the path that applies.
pub(crate) fn apply(topo: &Topology, live: &Live, id: LinkId, c: Conditions) -> Result<ConditionPath> {
    let mut st = live.lock();
    let has_forwarder = st.links.get(&id).is_some_and(|l| l.forwarder.is_some());
    let path = match () {
        _ if has_forwarder => ConditionPath::Userspace,
        _ if c.needs_netem() && kernel_has_netem() => ConditionPath::Netem,
        _ if c.needs_netem() => ConditionPath::Userspace,
        _ if c.rate.is_some() => ConditionPath::Tbf,
        _ => ConditionPath::None,
    };
    if path == ConditionPath::Userspace && !has_forwarder {
        let fw = splice::splice(topo, live, &mut st, id)?;
        st.links.entry(id).or_default().forwarder = Some(fw);
    }
    let state = st.links.entry(id).or_default();
    if let Some(fw) = &state.forwarder {
        fw.set(c);
    }
    let [e1, e2] = ends(topo, id);
    let what = describe(topo, id);
    live::netlink(&[live.ns(e1.place), live.ns(e2.place)], |hs| async move {
        for (h, end) in hs.iter().zip([&e1, &e2]) {
            let link = live::link_by_name(h, &end.name).await?;
            let mtu = link.attributes.iter().find_map(|a| match a {
                LinkAttribute::Mtu(m) => Some(*m),
                _ => None,
            });
            let msgs = tc::qdiscs(link.header.index, &c, mtu.unwrap_or(1500), path == ConditionPath::Netem);
            tc::replace(h, link.header.index, msgs).await.map_err(|e| qdisc_error(&what, &end.name, path, e))?;
        }
        Ok(())
    })?;
    state.conditions = c;
    state.path = path;
    Ok(path)
}

fn qdisc_error(link: &str, end: &str, path: ConditionPath, e: rtnetlink::Error) -> Error {
    let missing = matches!(&e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -libc::ENOENT);
    if missing {
        let (kind, config) =
            if path == ConditionPath::Netem { ("netem", "NET_SCH_NETEM") } else { ("tbf", "NET_SCH_TBF") };
        return Error::Runtime(format!(
            "link {link}: the kernel has no `{kind}` qdisc ({e}); netns-test needs CONFIG_{config} for this \
             condition: load it with `modprobe sch_{kind}` on the host or use a kernel built with it"
        ));
    }
    Error::netlink(format!("setting the qdiscs of {end} (link {link}, {path})"))(e)
}
