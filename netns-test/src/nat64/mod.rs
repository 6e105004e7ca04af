//! Stateful NAT64 (`r [nat64=eth1]`, RFC 6146) without a TUN device: `/dev/net/tun` is root's
//! alone on common machines, so the translator reads and writes Ethernet frames with an
//! `AF_PACKET` socket, as the link-condition forwarder does.
//!
//! ```text
//!   h (IPv6 only) ── r:eth0 ─┐                         ┌─ r:eth1 (203.0.113.1) ── s (IPv4)
//!                            │  r's kernel: routes,    │
//!                            │  forwarding, nf_tables  │  snat 100.64.0.0/16 -> 203.0.113.1
//!      64:ff9b::/96 via fe80::6464 ─┐        ┌─ 100.64.0.0/16 via 169.254.64.2
//!                               nat64a (in r)  ⇄  nat64b (in r, no address)
//!                                                  └─ translator thread: AF_PACKET on nat64b
//! ```
//!
//! The router sends what goes to the prefix (IPv6) or to the pool (IPv4) out of `nat64a`, to a
//! gateway whose MAC is no interface's: the frames reach `nat64b`, whose own stack drops them
//! (not for its address), and the translator turns each into the other family (`translate.rs`:
//! SIIT, each IPv6 client one pool address) and sends it back through `nat64b`, so it enters the
//! router on `nat64a` and is routed on. The stateful part, many clients behind one address with
//! port translation, is the router's own nf_tables `snat` and conntrack: what leaves the IPv4
//! side carries `eth1`'s address. The socket reads and writes a virtio-net header with each
//! frame (`PACKET_VNET_HDR`): a TCP super-packet (up to 64 KiB, GSO) is translated as one, and
//! the kernel cuts it into segments afterwards, as it would for a real interface.

mod translate;

use crate::core::Core;
use crate::core::Place;
use crate::error::{Error, Result};
use crate::kernel::nft::expr::{ifname, Base, Expr, MetaKey, NatKind, R0};
use crate::kernel::nft::ruleset::{ChainType, Family, Hook, Table};
use crate::kernel::nft::Ruleset;
use crate::kernel::ns::NetNs;
use crate::kernel::packet;
use ipnet::Ipv4Net;
use netlink_packet_route::neighbour::NeighbourState;
use rtnetlink::{LinkUnspec, LinkVeth, RouteMessageBuilder};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The router's side of the translator's link, and the translator's.
const ROUTER_END: &str = "nat64a";
const TRANSLATOR_END: &str = "nat64b";
const ROUTER_MAC: [u8; 6] = [0x02, 0x64, 0x64, 0, 0, 0x01];
/// The gateway's MAC: no interface has it, so `nat64b`'s stack ignores what is sent to it.
const GATEWAY_MAC: [u8; 6] = [0x02, 0x64, 0x64, 0, 0, 0x02];
const ROUTER_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 64, 1);
const GATEWAY_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 64, 2);
const GATEWAY_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x6464);
/// The IPv4 addresses IPv6 clients get inside the router, before its `snat`.
const POOL: Ipv4Net = match Ipv4Net::new(Ipv4Addr::new(100, 64, 0, 0), 16) {
    Ok(n) => n,
    Err(_) => panic!("a valid prefix"),
};
const MTU: u32 = 65_535;
/// A frame with its virtio-net header: up to 64 KiB (GSO), and what translation adds.
const BUF: usize = translate::VNET_HDR + 65_536 + 64;

/// The translators of one network.
#[derive(Default)]
pub(crate) struct State {
    translators: Vec<Translator>,
}

struct Translator {
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Translator {
    fn drop(&mut self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writing 8 bytes to our eventfd.
        unsafe { libc::write(self.stop.as_raw_fd(), one.as_ptr().cast(), 8) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the NAT64 of every `[nat64=..]` node of `core`'s topology.
pub(crate) fn start(core: &Core) -> Result<()> {
    let t = &core.topology;
    let nodes: Vec<usize> = (0..t.nodes.len()).filter(|&i| t.nodes[i].nat64.is_some()).collect();
    if nodes.is_empty() {
        return Ok(());
    }
    if let Some((at, a)) = t.all_addrs().into_iter().find(|(_, a)| matches!(a, IpAddr::V4(v4) if POOL.contains(v4))) {
        return Err(Error::Runtime(format!(
            "NAT64 gives IPv6 clients addresses of {POOL} inside the router, and `{at}` has {a}: \
             use other addresses there"
        )));
    }
    let state = core.feature::<State>();
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    for i in nodes {
        let node = &t.nodes[i];
        let nat64 = node.nat64.as_ref().expect("filtered");
        let ns = core.ns(Place::Node(i));
        let what = |e: Error| Error::Runtime(format!("the NAT64 of node `{}`: {e}", node.name));
        let prefix = nat64.prefix;
        let index = crate::kernel::netlink::netlink(&[ns], |h| async move {
            let h = &h[0];
            let veth = LinkVeth::new(ROUTER_END, TRANSLATOR_END).mtu(MTU).address(ROUTER_MAC.to_vec()).up().build();
            h.link().add(veth).execute().await.map_err(Error::netlink("creating its link"))?;
            let a = crate::kernel::netlink::link_by_name(h, ROUTER_END).await?.header.index;
            let b = crate::kernel::netlink::link_by_name(h, TRANSLATOR_END).await?.header.index;
            let up = LinkUnspec::new_with_index(b).mtu(MTU).up().build();
            h.link().set(up).execute().await.map_err(Error::netlink("bringing up its link"))?;
            let err = |what: &'static str| Error::netlink(what);
            h.address().add(a, IpAddr::V4(ROUTER_V4), 30).execute().await.map_err(err("addressing its link"))?;
            for gw in [IpAddr::V4(GATEWAY_V4), IpAddr::V6(GATEWAY_V6)] {
                h.neighbours()
                    .add(a, gw)
                    .link_layer_address(&GATEWAY_MAC)
                    .state(NeighbourState::Permanent)
                    .execute()
                    .await
                    .map_err(err("adding its gateway"))?;
            }
            let v6 = RouteMessageBuilder::<Ipv6Addr>::new()
                .destination_prefix(prefix.network(), prefix.prefix_len())
                .gateway(GATEWAY_V6)
                .output_interface(a)
                .build();
            h.route().add(v6).execute().await.map_err(err("routing the NAT64 prefix"))?;
            let v4 = RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(POOL.network(), POOL.prefix_len())
                .gateway(GATEWAY_V4)
                .output_interface(a)
                .build();
            h.route().add(v4).execute().await.map_err(err("routing the NAT64 pool"))?;
            Ok(b)
        })
        .map_err(what)?;
        let rules = Ruleset { tables: vec![snat_table(&nat64.iface, nat64.addr)], ..Default::default() };
        ns.run(|| crate::kernel::nft::install_here(&node.name, &rules))
            .map_err(Error::io(format!("entering node `{}` to install its NAT64 rules", node.name)))??;
        // What the failure dump shows in the router.
        let notes = core.feature::<crate::core::DumpNotes>();
        let mut notes = notes.lock().unwrap_or_else(|e| e.into_inner());
        let lines = notes.lines(i, "nat64 (installed by netns-test)");
        lines.push_back(format!(
            "{prefix} -> IPv4 from {} ({}); clients get {POOL} inside, {ROUTER_END} <-> {TRANSLATOR_END} (translator thread)",
            nat64.addr, nat64.iface
        ));
        lines.push_back(format!(
            "ip route {POOL} via {GATEWAY_V4} dev {ROUTER_END}; ip -6 route {prefix} via {GATEWAY_V6} dev {ROUTER_END}"
        ));
        lines.extend(rules.render().lines().map(str::to_string));
        drop(notes);
        let shown = Shown { notes: core.feature::<crate::core::DumpNotes>(), node: i };
        shown.show(&Counts::default(), 0);
        let (stop, thread) = spawn(ns, index, prefix, shown, &node.name)
            .map_err(|e| Error::Runtime(format!("the NAT64 of node `{}` cannot start: {e}", node.name)))?;
        state.translators.push(Translator { stop, thread: Some(thread) });
    }
    Ok(())
}

/// `table ip netns_test_nat64 { chain postrouting { type nat hook postrouting priority 100;
/// ip saddr 100.64.0.0/16 oifname "eth1" snat to 203.0.113.1 } }`
fn snat_table(iface: &str, addr: Ipv4Addr) -> Table {
    let mut t = Table::new(Family::Ip, "netns_test_nat64");
    let snat = vec![
        Expr::Immediate { dreg: R0, data: addr.octets().to_vec() },
        Expr::Nat { kind: NatKind::Snat, addr: R0, proto: None, flags: 0, v6: false },
    ];
    let saddr = vec![
        Expr::payload(Base::Network, 12, 4, R0),
        Expr::Bitwise { sreg: R0, dreg: R0, mask: POOL.netmask().octets().to_vec(), xor: vec![0; 4] },
        Expr::eq(R0, &POOL.network().octets()),
    ];
    let oif = vec![Expr::meta(MetaKey::OifName, R0), Expr::eq(R0, &ifname(iface))];
    let rule = [saddr, oif, snat].concat();
    t.chain("postrouting", Hook::Postrouting, 100, ChainType::Nat)
        .rule(format!("ip saddr {POOL} oifname \"{iface}\" snat to {addr}"), rule);
    t
}

/// The translator thread on interface `index` (`nat64b`) of `ns`.
fn spawn(
    ns: &NetNs,
    index: u32,
    prefix: ipnet::Ipv6Net,
    shown: Shown,
    node: &str,
) -> io::Result<(OwnedFd, JoinHandle<()>)> {
    let sock = ns.run(|| {
        crate::kernel::packet::bound_socket(index, 0, |fd| {
            packet::set_int_option(fd, libc::SOL_PACKET, libc::PACKET_VNET_HDR, 1)?;
            packet::set_int_option(fd, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, 1)?;
            packet::set_int_option(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 4 << 20)
        })
    })??;
    // SAFETY: eventfd returns a new descriptor or -1.
    let stop = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if stop < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nothing else.
    let stop = unsafe { OwnedFd::from_raw_fd(stop) };
    let stop_fd = stop.as_raw_fd();
    let thread = std::thread::Builder::new()
        .name(format!("netns-nat64-{node}"))
        .spawn(move || run(&sock, stop_fd, translate::Mapping::new(prefix, POOL), &shown))?;
    Ok((stop, thread))
}

/// What a translator did so far.
#[derive(Default, Clone, Copy, PartialEq)]
struct Counts {
    to_ipv4: u64,
    to_ipv6: u64,
    /// Frames to the gateway not translated (not for the prefix or the pool, a protocol it
    /// does not translate, a UDP segmentation-offload frame) or not sent.
    dropped: u64,
}

/// Where a translator shows its counts: a line of the router's failure dump.
struct Shown {
    notes: Arc<std::sync::Mutex<crate::core::DumpNotes>>,
    node: usize,
}

/// How stale the counts in the dump may be.
const SHOW_EVERY: Duration = Duration::from_millis(50);

impl Shown {
    fn show(&self, c: &Counts, clients: usize) {
        let line = format!(
            "translated {} packets to IPv4, {} to IPv6; {} not translated; {clients} IPv6 client(s) with a pool address",
            c.to_ipv4, c.to_ipv6, c.dropped
        );
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        *notes.lines(self.node, "nat64 translator (counts at most 50 ms old)") = [line].into();
    }
}

fn run(sock: &OwnedFd, stop: RawFd, mut mapping: translate::Mapping, shown: &Shown) {
    let mut buf = vec![0u8; BUF];
    let mut out = Vec::with_capacity(BUF + 20);
    let mut fds = [
        libc::pollfd { fd: sock.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: stop, events: libc::POLLIN, revents: 0 },
    ];
    let (mut counts, mut shown_counts) = (Counts::default(), Counts::default());
    let mut shown_at = Instant::now();
    loop {
        // Counts not shown yet: wake up in time to show them.
        let timeout = if counts == shown_counts { -1 } else { SHOW_EVERY.as_millis() as i32 };
        // SAFETY: two valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
        if fds[1].revents != 0 {
            return;
        }
        loop {
            // SAFETY: a buffer of BUF bytes we own.
            let len = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), BUF, libc::MSG_DONTWAIT) };
            if len <= 0 {
                break;
            }
            let frame = &buf[..len as usize];
            // Only what the router sends to the gateway is for the translator (not the
            // router's own neighbour and multicast listener traffic on nat64a).
            let to = translate::VNET_HDR;
            if frame.get(to..to + 6) != Some(&GATEWAY_MAC[..]) {
                continue;
            }
            let at = translate::VNET_HDR + 12;
            let to_v4 = frame.get(at..at + 2) == Some(&translate::ETH_IPV6.to_be_bytes());
            let sent =
                translate::vnet_frame(&mut mapping, frame, ROUTER_MAC, GATEWAY_MAC, &mut out).is_some_and(|()| {
                    // SAFETY: sending a buffer we own on our socket.
                    unsafe { libc::send(sock.as_raw_fd(), out.as_ptr().cast(), out.len(), 0) >= 0 }
                });
            match (sent, to_v4) {
                (false, _) => counts.dropped += 1,
                (true, true) => counts.to_ipv4 += 1,
                (true, false) => counts.to_ipv6 += 1,
            }
        }
        if counts != shown_counts && (n == 0 || shown_at.elapsed() >= SHOW_EVERY) {
            shown.show(&counts, mapping.clients());
            (shown_counts, shown_at) = (counts, Instant::now());
        }
    }
}
