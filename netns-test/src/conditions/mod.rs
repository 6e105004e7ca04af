//! Link conditions in the kernel: `tbf` for the rate, `netem` for the rest where the kernel has
//! it, and the userspace [`forwarder`] where it does not.
//!
//! Both paths give each direction of a link the same treatment, on the egress of each end:
//! `delay=20ms` delays a→b and b→a by 20 ms each.

pub(crate) mod forwarder;
mod splice;
pub(crate) mod tc;

pub use crate::core::ConditionPath;

use crate::core::Core;
use crate::error::{Error, Result};
use crate::kernel::netlink::{link_by_name, link_mtu, netlink};
use crate::kernel::ns::NetNs;
use forwarder::Forwarder;
use netns_test_topology::{Conditions, LinkId};
use std::collections::HashMap;
use std::sync::OnceLock;

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
            netlink(&[&ns], |h| async move {
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

/// The forwarders of one network, the conditions feature's own state (in
/// [`Core::feature`](crate::core::Core::feature)): their namespace, made on first use, and one
/// forwarder per link that crosses one.
#[derive(Debug, Default)]
pub(crate) struct Forwarders {
    pub(crate) ns: Option<NetNs>,
    /// Names the next forwarder's interfaces (`fw0x`, `fw0y`, ...).
    pub(crate) next: u32,
    pub(crate) by_link: HashMap<LinkId, Forwarder>,
}

/// Gives link `id` the conditions `c` (replacing what it had); returns the path that applies.
pub(crate) fn apply(core: &Core, id: LinkId, c: Conditions) -> Result<ConditionPath> {
    // Held for the whole change: conditions change one link at a time.
    let fws = core.feature::<Forwarders>();
    let mut fws = fws.lock().unwrap_or_else(|p| p.into_inner());
    let has_forwarder = fws.by_link.contains_key(&id);
    let path = match () {
        _ if has_forwarder => ConditionPath::Userspace,
        _ if c.needs_netem() && kernel_has_netem() => ConditionPath::Netem,
        _ if c.needs_netem() => ConditionPath::Userspace,
        _ if c.rate.is_some() => ConditionPath::Tbf,
        _ => ConditionPath::None,
    };
    if path == ConditionPath::Userspace && !has_forwarder {
        let fw = splice::splice(core, &mut fws, id)?;
        core.lock().links.entry(id).or_default().counters = Some(fw.counters());
        fws.by_link.insert(id, fw);
    }
    if let Some(fw) = fws.by_link.get(&id) {
        fw.set(c);
    }
    let [e1, e2] = core.ends(id);
    let what = core.link_name(id);
    netlink(&[core.ns(e1.place), core.ns(e2.place)], |hs| async move {
        for (h, end) in hs.iter().zip([&e1, &e2]) {
            let link = link_by_name(h, &end.name).await?;
            let mtu = link_mtu(&link).unwrap_or(1500);
            let msgs = tc::qdiscs(link.header.index, &c, mtu, path == ConditionPath::Netem);
            tc::replace(h, link.header.index, msgs).await.map_err(|e| qdisc_error(&what, &end.name, path, e))?;
        }
        Ok(())
    })?;
    let mut now = core.lock();
    let link = now.links.entry(id).or_default();
    link.conditions = c;
    link.path = path;
    Ok(path)
}

/// Gives every link the conditions its topology declares; run once after building.
pub(crate) fn apply_declared(core: &Core) -> Result<()> {
    for id in core.topology.link_ids() {
        let c = core.topology.link_conditions(id);
        if !c.is_empty() {
            let path = apply(core, id, c)?;
            if crate::env::tracing() {
                eprintln!("netns-test: link {}: {c} ({path})", core.link_name(id));
            }
        }
    }
    Ok(())
}

/// Sets `mtu` on the forwarder ends of link `id`, if it crosses a forwarder: they pass nothing
/// larger than their own MTU.
pub(crate) fn set_forwarder_mtu(core: &Core, id: LinkId, mtu: u32) -> Result<()> {
    let fws = core.feature::<Forwarders>();
    let fws = fws.lock().unwrap_or_else(|p| p.into_inner());
    let (Some(fw), Some(ns)) = (fws.by_link.get(&id), &fws.ns) else { return Ok(()) };
    let ends = fw.ends;
    netlink(&[ns], |h| async move {
        for i in ends {
            let req = h[0].link().set(rtnetlink::LinkUnspec::new_with_index(i).mtu(mtu).build()).execute();
            req.await.map_err(Error::netlink(format!("setting mtu {mtu} on a forwarder end")))?;
        }
        Ok(())
    })
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
