//! NAT while the test runs: a router's NAT forgotten (`rebind`), changed (`set`), turned off and
//! on, and its mappings read. Behind the public [`crate::Nat`] handle.
//!
//! ```ignore
//! nat::rebind(&core, i)?;                              // every mapping and conntrack entry forgotten
//! nat::set(&core, i, "nat-type=symmetric")?;           // the grammar's options, same messages
//! let flows = nat::mappings(&core, i)?;                // the translated conntrack entries
//! ```
//!
//! The NAT as installed now is plain data in the core (`Core::nat`), which the failure dump and
//! `Node::firewall_rules` render; this room updates it with every change, and keeps in its own
//! state ([`State`], from `Core::feature`) what the core need not know: the NAT of routers
//! turned off, to put back on. Every change goes to the journal. Talks to the kernel only
//! through [`crate::kernel`]: nf_tables for the rules, ctnetlink and sysctls for conntrack.

use crate::api::{Mapping, Protocol};
use crate::core::Core;
use crate::error::{Error, Result};
use crate::journal;
use crate::kernel::conntrack::{self, Translated};
use crate::kernel::nft::{self, nat::FIRST_PORT, Installed};
use netns_test_topology::parse_nat_options;
use std::collections::HashMap;
use std::net::SocketAddr;

/// This room's state for one network.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The NAT of each router turned off, by node index: what `on()` puts back.
    off: HashMap<usize, Installed>,
}

/// Forgets every mapping and conntrack entry of node `i` at once: the next packet of a live
/// flow leaves on a new outside port.
pub(crate) fn rebind(core: &Core, i: usize) -> Result<()> {
    let state = core.feature::<State>();
    let _changing = state.lock().unwrap_or_else(|p| p.into_inner());
    let name = &core.topology.nodes[i].name;
    let installed = core
        .nat(i)
        .ok_or_else(|| Error::Runtime(format!("node `{name}`: rebind(): its NAT is off; call on() first")))?;
    in_node(core, i, "to forget its mappings", || {
        // The tables first: flows still alive find no live pair then, so they cannot write their
        // old mapping back; then conntrack, which the next packet of each flow misses.
        let flush = nft::flush_mappings(&installed);
        if !flush.flush.is_empty() {
            nft::install_here(name, &flush)?;
        }
        conntrack::flush().map_err(Error::io(format!("node `{name}`: flushing its conntrack table")))
    })?;
    journal::record(format!("node {name}: NAT rebind: every mapping and conntrack entry forgotten"));
    Ok(())
}

/// Gives node `i`'s NAT the options `text` (as in a topology; what it does not name takes its
/// default, the interfaces stay unless named). Flows alive keep their mappings. While the NAT
/// is off, changes what `on()` puts back.
pub(crate) fn set(core: &Core, i: usize, text: &str) -> Result<()> {
    let state = core.feature::<State>();
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let model = &core.topology.nodes[i];
    let name = &model.name;
    let now = core.nat(i);
    let current = now.as_ref().or(st.off.get(&i)).map(|n| &n.nat);
    let nat = parse_nat_options(model, current, text).map_err(|e| Error::InvalidNatOptions {
        node: name.clone(),
        text: text.to_string(),
        rendered: e.render(text),
    })?;
    let Some(now) = now else {
        let first_port = st.off.get(&i).map_or(FIRST_PORT, |n| n.first_port);
        journal::record(format!("node {name}: NAT set to `{}` (off: applies at on())", nat.options()));
        st.off.insert(i, Installed { nat, first_port });
        return Ok(());
    };
    let options = nat.options();
    let installed = in_node(core, i, "to change its NAT", || {
        let live = translated(name)?;
        let installed = Installed { first_port: next_port(now.first_port, &live), nat };
        conntrack::set_timeouts(installed.nat.udp_timeout, installed.nat.tcp_timeout)
            .map_err(Error::io(format!("node `{name}`: setting its NAT timeouts")))?;
        nft::install_here(name, &nft::replace_nat(Some(&installed), &live))?;
        Ok(installed)
    })?;
    set_installed(core, i, Some(installed));
    journal::record(format!("node {name}: NAT set to `{options}`"));
    Ok(())
}

/// Removes node `i`'s NAT (its `block` rules stay) and forgets its conntrack entries: from now
/// on it routes untranslated.
pub(crate) fn off(core: &Core, i: usize) -> Result<()> {
    let state = core.feature::<State>();
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let name = &core.topology.nodes[i].name;
    let Some(now) = core.nat(i) else { return Ok(()) };
    let next = in_node(core, i, "to remove its NAT", || {
        let live = translated(name)?;
        nft::install_here(name, &nft::replace_nat(None, &[]))?;
        conntrack::flush().map_err(Error::io(format!("node `{name}`: flushing its conntrack table")))?;
        Ok(next_port(now.first_port, &live))
    })?;
    set_installed(core, i, None);
    st.off.insert(i, Installed { first_port: next, ..now });
    journal::record(format!("node {name}: NAT off"));
    Ok(())
}

/// Puts back node `i`'s NAT as it was before `off()` (or as `set` made it since), with no
/// mappings.
pub(crate) fn on(core: &Core, i: usize) -> Result<()> {
    let state = core.feature::<State>();
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let name = &core.topology.nodes[i].name;
    let Some(installed) = st.off.remove(&i) else { return Ok(()) };
    let done = in_node(core, i, "to put its NAT back", || {
        conntrack::set_timeouts(installed.nat.udp_timeout, installed.nat.tcp_timeout)
            .map_err(Error::io(format!("node `{name}`: setting its NAT timeouts")))?;
        nft::install_here(name, &nft::replace_nat(Some(&installed), &[]))
    });
    if let Err(e) = done {
        st.off.insert(i, installed);
        return Err(e);
    }
    journal::record(format!("node {name}: NAT on (`{}`)", installed.nat.options()));
    set_installed(core, i, Some(installed));
    Ok(())
}

/// Node `i`'s translated flows now, by protocol, inside and outside endpoint.
pub(crate) fn mappings(core: &Core, i: usize) -> Result<Vec<Mapping>> {
    let name = &core.topology.nodes[i].name;
    let live = in_node(core, i, "to read its mappings", || translated(name))?;
    let mut out: Vec<Mapping> = live
        .into_iter()
        .filter_map(|t| {
            let protocol = match t.proto {
                17 => Protocol::Udp,
                6 => Protocol::Tcp,
                1 | 58 => Protocol::Icmp,
                _ => return None,
            };
            let at = |(a, p)| SocketAddr::new(a, p);
            Some(Mapping { protocol, inside: at(t.inside), outside: at(t.outside), expires_in: t.expires_in })
        })
        .collect();
    out.sort_by_key(|m| (m.protocol, m.inside, m.outside));
    Ok(out)
}

/// Whether node `i`'s NAT is on, and its options now (or those `on()` would put back).
pub(crate) fn config(core: &Core, i: usize) -> (bool, Option<netns_test_topology::Nat>) {
    if let Some(n) = core.nat(i) {
        return (true, Some(n.nat));
    }
    let state = core.feature::<State>();
    let st = state.lock().unwrap_or_else(|p| p.into_inner());
    (false, st.off.get(&i).map(|n| n.nat.clone()))
}

/// Runs `f` in node `i` (`why` says what for, in the error if it cannot be entered).
fn in_node<R>(core: &Core, i: usize, why: &str, f: impl FnOnce() -> Result<R>) -> Result<R> {
    let name = &core.topology.nodes[i].name;
    core.live.nodes[i].run(f).map_err(Error::io(format!("entering node `{name}` {why}")))?
}

/// The translated flows of the calling thread's namespace.
fn translated(name: &str) -> Result<Vec<Translated>> {
    let entries = conntrack::dump().map_err(Error::io(format!("node `{name}`: reading its conntrack table")))?;
    Ok(entries.iter().filter_map(|e| e.translated()).collect())
}

/// Where the port counter of new rules starts: after every outside port in use (and not before
/// where it started), back at the start near the top of the range.
fn next_port(first: u16, live: &[Translated]) -> u16 {
    let used = live.iter().map(|t| t.outside.1).max().map_or(0, |p| p.saturating_add(1));
    match first.max(used) {
        p if p > 60_000 => FIRST_PORT,
        p => p,
    }
}

fn set_installed(core: &Core, i: usize, nat: Option<Installed>) {
    core.nat.lock().unwrap_or_else(|p| p.into_inner())[i] = nat;
}
