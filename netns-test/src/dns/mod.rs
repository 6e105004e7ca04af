//! The DNS server feature (`d [dns]`): a server thread inside each DNS node's namespace, on UDP
//! and TCP port 53 of each of its addresses, answering from a [`Zone`] the test can change,
//! fail, delay or truncate while it runs; every query is logged.
//!
//! ```text
//! Net::build_with ── dns::start(core) ── per DNS node: thread "netns-dns-d" (setns into d)
//!                                          └ current-thread tokio runtime, hickory Server
//!                                            └ Handler::handle_request ── Shared (zone, fails, log)
//! Net::dns() ── api::Dns ── dns::server_of(core, node) ── the same Shared
//! ```
//!
//! The run-time state lives in `core.feature::<State>()`; dropping the core stops the servers.
//! The failure dump shows each server's records and last queries through
//! [`DumpNotes`](crate::core::DumpNotes), plain text this module keeps current.

mod resolve;
mod server;
mod zone;

use crate::core::Place;
use crate::core::{Core, DumpNotes};
use crate::error::{Error, Result};
use ipnet::Ipv6Net;
pub(crate) use resolve::resolve;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zone::Zone;

/// How [`Dns::fail`](crate::Dns::fail) makes a name fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rcode {
    /// SERVFAIL: glibc's `getaddrinfo` reports `EAI_AGAIN` ("Temporary failure in name resolution").
    ServFail,
    /// REFUSED: glibc tries its other servers, then reports `EAI_AGAIN`.
    Refused,
    /// NXDOMAIN: the name does not exist (`EAI_NONAME`).
    NxDomain,
    /// No answer at all: the client waits for its timeout (1 s per try with the generated
    /// `/etc/resolv.conf`, 2 tries).
    Timeout,
}

/// One query the server received, as [`Dns::queries`](crate::Dns::queries) lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Query {
    /// When it arrived, since the test body started.
    pub at: Duration,
    /// Who asked.
    pub client: SocketAddr,
    /// Over TCP (else UDP).
    pub tcp: bool,
    /// The name asked for, in lower case, without the trailing dot.
    pub name: String,
    /// `"A"`, `"AAAA"`, `"SRV"`, ...
    pub qtype: String,
    /// What it got: `"NOERROR"`, `"NXDOMAIN"`, `"SERVFAIL"`, `"REFUSED"`, or `"TIMEOUT"` when no
    /// answer was sent.
    pub rcode: String,
}

/// How many queries the failure dump shows.
const DUMP_QUERIES: usize = 20;
/// Dump section titles.
const RECORDS_TITLE: &str = "dns records (served by netns-test)";
const QUERIES_TITLE: &str = "dns queries received (last 20)";

/// Every DNS server of one network.
#[derive(Default)]
pub(crate) struct State {
    servers: Vec<Server>,
}

/// One node's server: its state, and the way to stop its thread.
struct Server {
    node: usize,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // The thread's runtime ends, closing its sockets (and releasing the namespace).
        drop(self.stop.take());
    }
}

/// What a server answers from and what it has seen: shared by its thread and the handle.
pub(crate) struct Shared {
    pub(crate) node: usize,
    /// The node's name, for messages.
    pub(crate) name: String,
    pub(crate) dns64: Option<Ipv6Net>,
    inner: Mutex<Inner>,
    notes: Arc<Mutex<DumpNotes>>,
}

#[derive(Default)]
struct Inner {
    zone: Zone,
    /// By name (`*`: every name).
    fails: HashMap<String, Rcode>,
    delays: HashMap<String, Duration>,
    truncate_udp: bool,
    log: Vec<Query>,
}

/// What to do with one query, decided when it arrives.
pub(crate) struct Decision {
    pub(crate) fail: Option<Rcode>,
    pub(crate) delay: Duration,
    pub(crate) truncate: bool,
    pub(crate) answer: zone::Answer,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides the fate of a query and logs it (with the rcode it will get).
    pub(crate) fn decide(&self, client: std::net::SocketAddr, tcp: bool, name: &str, qtype: &str) -> Decision {
        let mut inner = self.lock();
        let fail = inner.fails.get(name).or_else(|| inner.fails.get("*")).copied();
        let delay = inner.delays.get(name).or_else(|| inner.delays.get("*")).copied().unwrap_or_default();
        let answer = inner.zone.answer(name, qtype, self.dns64);
        let truncate = inner.truncate_udp && !tcp && fail.is_none();
        let rcode = match fail {
            Some(Rcode::Timeout) => "TIMEOUT",
            Some(Rcode::ServFail) => "SERVFAIL",
            Some(Rcode::Refused) => "REFUSED",
            Some(Rcode::NxDomain) => "NXDOMAIN",
            None if answer.broken => "SERVFAIL",
            None if answer.nxdomain => "NXDOMAIN",
            None => "NOERROR",
        };
        let q = Query {
            at: crate::clock::since_body_start(),
            client,
            tcp,
            name: name.to_string(),
            qtype: qtype.to_string(),
            rcode: rcode.to_string(),
        };
        let line = format!(
            "{} {} {} {name} {qtype} -> {rcode}{}",
            crate::journal::stamp(q.at),
            if tcp { "tcp" } else { "udp" },
            client,
            if truncate { " (truncated)" } else { "" }
        );
        inner.log.push(q);
        drop(inner);
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        let lines = notes.lines(self.node, QUERIES_TITLE);
        if lines.len() == DUMP_QUERIES {
            lines.pop_front();
        }
        lines.push_back(line);
        Decision { fail, delay, truncate, answer }
    }

    /// Changes the zone, then shows its records in the dump again.
    fn zone<R>(&self, f: impl FnOnce(&mut Zone) -> R) -> R {
        let mut inner = self.lock();
        let r = f(&mut inner.zone);
        let lines = inner.zone.lines();
        drop(inner);
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        *notes.lines(self.node, RECORDS_TITLE) = lines.into();
        r
    }

    pub(crate) fn add(&self, r: netns_test_topology::Record) -> Result<()> {
        let what = format!("dns {}: added {r}", self.name);
        self.zone(|z| z.add(r)).map_err(|e| Error::Runtime(format!("dns {}: {e}", self.name)))?;
        crate::journal::record(what);
        Ok(())
    }

    pub(crate) fn remove(&self, name: &str, rtype: &str) -> Result<()> {
        match self.zone(|z| z.remove(name, rtype)) {
            0 => Err(Error::Runtime(format!("dns {}: `{name}` has no {rtype} record to remove", self.name))),
            n => {
                crate::journal::record(format!("dns {}: removed {name} {rtype} ({n} record{})", self.name, plural(n)));
                Ok(())
            }
        }
    }

    pub(crate) fn set_ttl(&self, name: &str, ttl: u32) -> Result<()> {
        match self.zone(|z| z.set_ttl(name, ttl)) {
            0 => Err(Error::Runtime(format!("dns {}: `{name}` has no record to set a TTL on", self.name))),
            n => {
                crate::journal::record(format!(
                    "dns {}: ttl of {name} ({n} record{}) set to {ttl}s",
                    self.name,
                    plural(n)
                ));
                Ok(())
            }
        }
    }

    pub(crate) fn fail(&self, name: &str, rcode: Option<Rcode>) {
        let mut inner = self.lock();
        let what = match rcode {
            Some(r) => {
                inner.fails.insert(name.to_string(), r);
                format!("dns {}: {name} fails with {r:?}", self.name)
            }
            None => {
                inner.fails.remove(name);
                format!("dns {}: {name} answers again", self.name)
            }
        };
        drop(inner);
        crate::journal::record(what);
    }

    pub(crate) fn delay(&self, name: &str, delay: Duration) {
        let mut inner = self.lock();
        if delay.is_zero() {
            inner.delays.remove(name);
        } else {
            inner.delays.insert(name.to_string(), delay);
        }
        drop(inner);
        crate::journal::record(format!("dns {}: answers for {name} delayed by {delay:?}", self.name));
    }

    pub(crate) fn truncate_udp(&self, on: bool) {
        self.lock().truncate_udp = on;
        crate::journal::record(format!(
            "dns {}: UDP answers {}truncated",
            self.name,
            if on { "" } else { "no longer " }
        ));
    }

    pub(crate) fn queries(&self) -> Vec<Query> {
        self.lock().log.clone()
    }

    pub(crate) fn records(&self) -> Vec<String> {
        self.lock().zone.lines()
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Starts a server in every DNS node of `core`'s topology and waits until each listens.
pub(crate) fn start(core: &Core) -> Result<()> {
    let t = &core.topology;
    let dns_nodes = t.dns_nodes();
    if dns_nodes.is_empty() {
        return Ok(());
    }
    let notes = core.feature::<DumpNotes>();
    let zone = Zone::of(t);
    let state = core.feature::<State>();
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    for node in dns_nodes {
        let n = &t.nodes[node];
        let shared = Arc::new(Shared {
            node,
            name: n.name.clone(),
            dns64: n.dns.and_then(|d| d.dns64),
            inner: Mutex::new(Inner { zone: zone.clone(), ..Inner::default() }),
            notes: notes.clone(),
        });
        shared.zone(|_| ());
        let addrs = n.interfaces.iter().flat_map(|i| i.addrs.iter().map(|a| a.addr())).collect();
        let ns = core.ns(Place::Node(node)).try_clone().map_err(Error::io("opening a DNS node's namespace"))?;
        let stop = server::spawn(ns, addrs, shared.clone())
            .map_err(|e| Error::Runtime(format!("the DNS server of node `{}` cannot start: {e}", n.name)))?;
        state.servers.push(Server { node, shared, stop: Some(stop) });
    }
    Ok(())
}

/// The server of DNS node `node`, if it runs one.
pub(crate) fn server_of(core: &Core, node: usize) -> Option<Arc<Shared>> {
    let state = core.feature::<State>();
    let state = state.lock().unwrap_or_else(|e| e.into_inner());
    state.servers.iter().find(|s| s.node == node).map(|s| s.shared.clone())
}
