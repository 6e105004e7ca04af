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

use crate::core::Core;
use crate::error::{Error, Result};
use crate::journal;
use crate::kernel::conntrack::{self, Translated};
use crate::kernel::nfnl::NfSocket;
use crate::kernel::nft::nat::{Held, FIRST_PORT};
use crate::kernel::nft::{self, Installed};
use netns_test_topology::parse_nat_options;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// The transport of a translated flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Udp,
    Tcp,
    /// ICMP or ICMPv6 echo: the "port" of its endpoints is the echo identifier.
    Icmp,
}

/// One translated flow through a NAT router, as its connection tracking has it now. Flows of
/// one inside endpoint to several peers share one outside endpoint unless the NAT is symmetric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mapping {
    pub protocol: Protocol,
    /// The inside host's address and port.
    pub inside: SocketAddr,
    /// The address and port the outside sees it as.
    pub outside: SocketAddr,
    /// How long until it is forgotten without more packets (whole seconds, rounded down).
    pub expires_in: Duration,
}

/// This room's state for one network.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The NAT of each router turned off, by node index: what `on()` puts back.
    off: HashMap<usize, Installed>,
    /// A netfilter socket in each router changed so far, kept for the next change: closing one
    /// right after a change that deleted rules waits for the kernel to free them (see
    /// [`NfSocket`]).
    sockets: HashMap<usize, NfSocket>,
}

impl State {
    /// The socket of node `i`, opened in it on first use.
    fn socket(&mut self, core: &Core, i: usize) -> Result<&NfSocket> {
        if !self.sockets.contains_key(&i) {
            let name = &core.topology.nodes[i].name;
            let s = in_node(core, i, "to open a netfilter socket", || {
                NfSocket::open().map_err(Error::io(format!("node `{name}`: opening a netfilter netlink socket")))
            })?;
            self.sockets.insert(i, s);
        }
        Ok(&self.sockets[&i])
    }
}

/// Forgets every mapping and conntrack entry of node `i` at once: the next packet of a live
/// flow leaves on a new outside port.
pub(crate) fn rebind(core: &Core, i: usize) -> Result<()> {
    let state = core.feature::<State>();
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let name = &core.topology.nodes[i].name;
    let installed = core
        .nat(i)
        .ok_or_else(|| Error::Runtime(format!("node `{name}`: rebind(): its NAT is off; call on() first")))?;
    let socket = st.socket(core, i)?;
    // The tables first: flows still alive find no live pair then, so they cannot write their old
    // mapping back; then conntrack, which the next packet of each flow misses.
    let flush = nft::flush_mappings(&installed);
    if !flush.flush.is_empty() {
        nft::install_on(socket, name, &flush)?;
    }
    conntrack::flush(socket).map_err(Error::io(format!("node `{name}`")))?;
    journal::record(format!("node {name}: NAT rebind: every mapping and conntrack entry forgotten"));
    Ok(())
}

/// Gives node `i`'s NAT the options `text` (as in a topology; what it does not name takes its
/// default, the interfaces stay unless named). Flows alive keep their mappings (conntrack), and
/// the mapping tables are carried into the new rules where both have them. While the NAT is
/// off, changes what `on()` puts back.
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
    let socket = st.socket(core, i)?;
    let held = held(socket, name, &now)?;
    let installed = Installed { first_port: next_port(now.first_port, &held), nat };
    set_timeouts(core, i, &installed)?;
    nft::install_on(socket, name, &nft::replace_nat(Some(&installed), &held))?;
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
    let socket = st.socket(core, i)?;
    let held = held(socket, name, &now)?;
    nft::install_on(socket, name, &nft::replace_nat(None, &Held::default()))?;
    conntrack::flush(socket).map_err(Error::io(format!("node `{name}`")))?;
    set_installed(core, i, None);
    st.off.insert(i, Installed { first_port: next_port(now.first_port, &held), ..now });
    journal::record(format!("node {name}: NAT off"));
    Ok(())
}

/// Puts back node `i`'s NAT as it was before `off()` (or as `set` made it since), with no
/// mappings. Conntrack is flushed too: the kernel never translates a flow it already tracks
/// untranslated (`nf_nat_setup_info` leaves confirmed entries alone), so flows that crossed
/// while the NAT was off would otherwise stay untranslated.
pub(crate) fn on(core: &Core, i: usize) -> Result<()> {
    let state = core.feature::<State>();
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let name = &core.topology.nodes[i].name;
    let Some(installed) = st.off.get(&i).cloned() else { return Ok(()) };
    set_timeouts(core, i, &installed)?;
    let socket = st.socket(core, i)?;
    nft::install_on(socket, name, &nft::replace_nat(Some(&installed), &Held::default()))?;
    conntrack::flush(socket).map_err(Error::io(format!("node `{name}`")))?;
    st.off.remove(&i);
    journal::record(format!("node {name}: NAT on (`{}`)", installed.nat.options()));
    set_installed(core, i, Some(installed));
    Ok(())
}

/// Node `i`'s translated flows now, by protocol, inside and outside endpoint.
pub(crate) fn mappings(core: &Core, i: usize) -> Result<Vec<Mapping>> {
    let state = core.feature::<State>();
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let name = &core.topology.nodes[i].name;
    let entries = conntrack::dump(st.socket(core, i)?).map_err(Error::io(format!("node `{name}`")))?;
    let mut out: Vec<Mapping> = entries
        .iter()
        .filter_map(|e| e.translated())
        .filter_map(|t: Translated| {
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

/// The router's conntrack timeouts, as `installed` has them (nothing for NPTv6 alone, which
/// keeps no state).
fn set_timeouts(core: &Core, i: usize, installed: &Installed) -> Result<()> {
    let name = &core.topology.nodes[i].name;
    if !installed.nat.stateful() {
        return Ok(());
    }
    in_node(core, i, "to set its NAT timeouts", || {
        conntrack::set_timeouts(installed.nat.udp_timeout, installed.nat.tcp_timeout)
            .map_err(Error::io(format!("node `{name}`: setting its NAT timeouts")))
    })
}

/// Runs `f` in node `i` (`why` says what for, in the error if it cannot be entered).
fn in_node<R>(core: &Core, i: usize, why: &str, f: impl FnOnce() -> Result<R>) -> Result<R> {
    let name = &core.topology.nodes[i].name;
    core.nodes[i].run(f).map_err(Error::io(format!("entering node `{name}` {why}")))?
}

/// The mappings the tables of `now` hold.
fn held(socket: &NfSocket, name: &str, now: &Installed) -> Result<Held> {
    nft::nat::held(socket, now).map_err(Error::io(format!("node `{name}`: reading its mapping tables")))
}

/// Where the port counter of new rules starts: after every outside port of a mapping (and not
/// before where it started), back at the start near the top of the range.
fn next_port(first: u16, held: &Held) -> u16 {
    let used = held.max_port().map_or(0, |p| p.saturating_add(1));
    match first.max(used) {
        p if p > 60_000 => FIRST_PORT,
        p => p,
    }
}

fn set_installed(core: &Core, i: usize, nat: Option<Installed>) {
    core.nat.lock().unwrap_or_else(|p| p.into_inner())[i] = nat;
}
