//! Checking a topology's `expect` lines against the built network, with real packets.
//!
//! ```no_run
//! # fn f(net: &netns_test::Net) {
//! let report = net.check_expectations(std::time::Duration::from_secs(1));
//! assert!(report.passed(), "{}", report.table());
//! # }
//! ```
//!
//! Every expectation is probed once per target address, all probes at once (each on its own
//! thread, inside its node): ICMP echo with the existing ping, a TCP connect to a listener
//! opened in the target node, or a UDP datagram that the target node echoes back. Listeners use
//! `SO_REUSEPORT`, so two expectations may probe the same port at the same time.

use crate::core::Core;
use crate::core::Place;
use crate::kernel::ns::NetNs;
use netns_test_topology::{Expect, Probe, Target};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What every probe of every expectation found.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub probes: Vec<Probed>,
}

/// One probe: an expectation towards one address.
#[derive(Debug, Clone)]
pub struct Probed {
    /// The statement as written, without `expect` (`a -> b tcp/80`).
    pub expectation: String,
    /// Its line in the topology text.
    pub line: usize,
    /// The address probed (unspecified when a name could not be resolved).
    pub addr: IpAddr,
    /// The name `addr` was resolved from (`expect a -> www.example.com`), through the DNS
    /// server of the probing node.
    pub name: Option<String>,
    /// `->` (true) or `-/->` (false).
    pub expected: bool,
    /// The round trip (or connect) time, or what happened instead.
    pub got: Result<Duration, String>,
}

impl Probed {
    /// Whether what happened is what was expected. A name that could not be resolved fails
    /// either way: `-/->` promises a blocked path, not a broken DNS.
    pub fn ok(&self) -> bool {
        if self.name.is_some() && self.addr.is_unspecified() {
            return false;
        }
        self.got.is_ok() == self.expected
    }
}

impl Expectations {
    /// Whether every probe found what its expectation says.
    pub fn passed(&self) -> bool {
        self.probes.iter().all(Probed::ok)
    }

    /// A table of every probe: line, expectation, address, expected, what happened, verdict.
    ///
    /// ```text
    /// line  expectation      address   expected     got                        result
    /// 4     h1 -> h2         10.2.0.2  reachable    no reply within 1s         FAILED
    /// 5     h1 -/-> r tcp/22 10.1.0.1  unreachable  connected in 0.08 ms       FAILED
    /// ```
    pub fn table(&self) -> String {
        let rows: Vec<[String; 6]> = self
            .probes
            .iter()
            .map(|p| {
                let got = match &p.got {
                    Ok(d) => format!("reachable ({:.2} ms)", d.as_secs_f64() * 1e3),
                    Err(e) => e.clone(),
                };
                [
                    p.line.to_string(),
                    p.expectation.clone(),
                    match (&p.name, p.addr.is_unspecified()) {
                        (Some(_), true) => "-".into(),
                        _ => p.addr.to_string(),
                    },
                    if p.expected { "reachable" } else { "unreachable" }.into(),
                    got,
                    if p.ok() { "ok" } else { "FAILED" }.into(),
                ]
            })
            .collect();
        let header = ["line", "expectation", "address", "expected", "got", "result"].map(String::from);
        let mut widths = header.clone().map(|h| h.len());
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |r: &[String; 6]| {
            let cells: Vec<String> = r.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
            cells.join("  ").trim_end().to_string()
        };
        std::iter::once(&header).chain(&rows).map(line).collect::<Vec<_>>().join("\n")
    }

    /// How many probes found what was expected, of how many.
    pub fn summary(&self) -> String {
        let ok = self.probes.iter().filter(|p| p.ok()).count();
        format!("{ok} of {} expectation probes as expected", self.probes.len())
    }
}

/// Probes every `expect` line of `core`'s topology; `timeout` bounds each probe (and so the
/// wait for a `-/->` expectation to hold). See [`Net::check_expectations`](crate::Net::check_expectations).
pub(crate) fn check(core: &Core, timeout: Duration) -> Expectations {
    let t = &core.topology;
    let mut jobs = Vec::new();
    let mut unresolved = Vec::new();
    for e in &t.expects {
        let addrs = match &e.to {
            // The topology's expectations are about the addresses it declares.
            Target::Node(n) => t.nodes[*n].interfaces.iter().flat_map(|i| i.addrs.iter().map(|a| a.addr())).collect(),
            Target::Addr(a) => vec![*a],
            Target::Name(name) => match resolve(core, e.from, name, timeout) {
                // The addresses of a family the probing node has: a client would use those
                // (an IPv6-only node behind NAT64 gets the A record too).
                Ok(addrs) => {
                    let mine = t.nodes[e.from].interfaces.iter().flat_map(|i| &i.addrs).map(|a| a.addr().is_ipv4());
                    let families: Vec<bool> = mine.collect();
                    let usable: Vec<IpAddr> =
                        addrs.iter().copied().filter(|a| families.contains(&a.is_ipv4())).collect();
                    if usable.is_empty() {
                        addrs
                    } else {
                        usable
                    }
                }
                Err(why) => {
                    let any = IpAddr::from([0, 0, 0, 0]);
                    let got = Err(format!("cannot resolve {name}: {why}"));
                    let name = Some(name.clone());
                    unresolved.push(Probed {
                        expectation: e.describe(t),
                        line: e.line,
                        addr: any,
                        name,
                        expected: e.reachable,
                        got,
                    });
                    continue;
                }
            },
        };
        jobs.extend(addrs.into_iter().map(|a| (e, a)));
    }
    let mut probes: Vec<Probed> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs.iter().map(|&(e, addr)| s.spawn(move || probe(core, e, addr, timeout))).collect();
        handles.into_iter().map(|h| h.join().expect("netns-test: a probe thread panicked")).collect()
    });
    probes.extend(unresolved);
    probes.sort_by_key(|p| p.line);
    Expectations { probes }
}

/// The addresses of `name` for node `from`, from its DNS server.
#[cfg(feature = "dns")]
fn resolve(core: &Core, from: usize, name: &str, timeout: Duration) -> io::Result<Vec<IpAddr>> {
    crate::dns::resolve(core, from, name, timeout)
}

#[cfg(not(feature = "dns"))]
fn resolve(_: &Core, _: usize, name: &str, _: Duration) -> io::Result<Vec<IpAddr>> {
    Err(io::Error::other(format!("`{name}` needs netns-test's `dns` feature")))
}

/// A node's name and namespace, for a probe.
type At<'a> = (&'a str, &'a NetNs);

fn probe(core: &Core, e: &Expect, addr: IpAddr, timeout: Duration) -> Probed {
    let t = &core.topology;
    let at = |n: usize| (t.nodes[n].name.as_str(), core.ns(Place::Node(n)));
    let from = at(e.from);
    // Validation made sure a TCP or UDP target address belongs to a node; a name may resolve to
    // any address.
    // An address inside a NAT64 prefix is the IPv4 address it embeds, where the listener goes.
    let listen = t
        .nodes
        .iter()
        .filter_map(|n| n.nat64.as_ref())
        .find_map(|n| match addr {
            IpAddr::V6(v6) if n.prefix.contains(&v6) => {
                let o = v6.octets();
                Some(IpAddr::from([o[12], o[13], o[14], o[15]]))
            }
            _ => None,
        })
        .unwrap_or(addr);
    let owner = || {
        t.node_with_addr(listen).map(at).ok_or_else(|| format!("{addr} belongs to no node: nothing can listen there"))
    };
    let got = match e.probe {
        Probe::Icmp => icmp(from, addr, timeout),
        Probe::Tcp(port) => {
            owner().and_then(|o| tcp(from, o, SocketAddr::new(listen, port), SocketAddr::new(addr, port), timeout))
        }
        Probe::Udp(port) => {
            owner().and_then(|o| udp(from, o, SocketAddr::new(listen, port), SocketAddr::new(addr, port), timeout))
        }
    };
    let name = match &e.to {
        Target::Name(n) => Some(n.clone()),
        _ => None,
    };
    Probed { expectation: e.describe(t), line: e.line, addr, name, expected: e.reachable, got }
}

/// Runs `f` inside the node `at`.
fn inside<R>(at: At<'_>, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
    at.1.run(f).and_then(|r| r)
}

fn what_happened(e: &io::Error, timeout: Duration) -> String {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => format!("no answer within {timeout:?}"),
        _ => e.to_string(),
    }
}

/// ICMP echo, repeated every half second within `timeout` (a first packet may be lost while
/// a neighbour is resolved).
fn icmp(from: At<'_>, to: IpAddr, timeout: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        match inside(from, || crate::kernel::ping::ping(to, left.min(Duration::from_millis(500)))) {
            Ok(_) => return Ok(start.elapsed()),
            Err(e) if e.kind() == io::ErrorKind::TimedOut && start.elapsed() < timeout => {}
            Err(e) => return Err(what_happened(&e, timeout)),
        }
    }
}

/// A socket bound in `node` to `addr`, shareable with other probes of the same port.
fn bound(node: At<'_>, ty: Type, addr: SocketAddr) -> io::Result<Socket> {
    inside(node, || {
        let proto = if ty == Type::STREAM { Protocol::TCP } else { Protocol::UDP };
        let s = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
        s.set_reuse_port(true)?;
        s.bind(&SockAddr::from(addr))?;
        if ty == Type::STREAM {
            s.listen(16)?;
        }
        Ok(s)
    })
}

/// A TCP connection from `from` to `to`, a listener opened in `owner` on `listen` (the same
/// address, or the IPv4 address a NAT64 address embeds; the kernel completes the handshake,
/// nothing needs to accept).
fn tcp(from: At<'_>, owner: At<'_>, listen: SocketAddr, to: SocketAddr, timeout: Duration) -> Result<Duration, String> {
    let _listener =
        bound(owner, Type::STREAM, listen).map_err(|e| format!("cannot listen on {listen} in {}: {e}", owner.0))?;
    let start = Instant::now();
    inside(from, || TcpStream::connect_timeout(&to, timeout))
        .map(|_| start.elapsed())
        .map_err(|e| what_happened(&e, timeout))
}

/// A datagram from `from` to `to`, received in `owner` on `listen` and echoed back; sent three
/// times within `timeout`.
fn udp(from: At<'_>, owner: At<'_>, listen: SocketAddr, to: SocketAddr, timeout: Duration) -> Result<Duration, String> {
    let server: UdpSocket =
        bound(owner, Type::DGRAM, listen).map_err(|e| format!("cannot listen on {listen} in {}: {e}", owner.0))?.into();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| echo(&server, &done));
        let result = (|| {
            let any: SocketAddr = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().unwrap();
            let client = inside(from, || UdpSocket::bind(any)).map_err(|e| e.to_string())?;
            client.connect(to).map_err(|e| e.to_string())?;
            client.set_read_timeout(Some(timeout / 3)).map_err(|e| e.to_string())?;
            let start = Instant::now();
            let mut buf = [0u8; 32];
            for _ in 0..3 {
                client.send(b"netns-test udp probe").map_err(|e| e.to_string())?;
                match client.recv(&mut buf) {
                    Ok(_) => return Ok(start.elapsed()),
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Err(format!("no echo within {timeout:?}"))
        })();
        done.store(true, Ordering::SeqCst);
        result
    })
}

fn echo(server: &UdpSocket, done: &AtomicBool) {
    let _ = server.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 64];
    while !done.load(Ordering::SeqCst) {
        if let Ok((n, peer)) = server.recv_from(&mut buf) {
            let _ = server.send_to(&buf[..n], peer);
        }
    }
}
