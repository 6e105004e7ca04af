//! Reading a namespace's state over netlink (links, addresses, routes, neighbours) and its
//! non-default sysctls from `/proc/sys`, for the failure dump.
//!
//! ```ignore
//! let state = node_ns.run(read_here)??; // the calling thread's namespace
//! ```
//!
//! Synchronous on purpose: the dump runs when a test has failed, maybe inside a panicking async
//! body, and must not need a runtime. Each reply waits at most `REPLY_TIMEOUT`.

use super::state::{Counters, LinkState, Neighbour, NsState, RouteState};
use ipnet::IpNet;
use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Sysctls a topology or the framework may set, with a new namespace's default. Only those that
/// differ are shown. (`ping_group_range` is left out: netns-test sets it in every node.)
const SYSCTLS: &[(&str, &str)] = &[
    ("net/ipv4/ip_forward", "0"),
    ("net/ipv6/conf/all/forwarding", "0"),
    ("net/ipv6/conf/all/accept_dad", "0"),
    ("net/ipv6/conf/default/accept_dad", "1"),
    ("net/ipv4/conf/all/rp_filter", "0"),
    ("net/ipv4/conf/all/proxy_arp", "0"),
];

/// The state of the calling thread's network namespace.
pub(crate) fn read_here() -> io::Result<NsState> {
    let nl = Netlink::open()?;
    let (mut links, masters): (Vec<LinkState>, Vec<Option<u32>>) =
        nl.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?.into_iter().filter_map(link).unzip();
    let names: HashMap<u32, String> = links.iter().map(|l| (l.index, l.name.clone())).collect();
    for (l, m) in links.iter_mut().zip(masters) {
        l.master = m.map(|i| names.get(&i).cloned().unwrap_or_else(|| format!("#{i}")));
    }
    for msg in nl.dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))? {
        if let Some((index, addr)) = address(msg) {
            if let Some(l) = links.iter_mut().find(|l| l.index == index) {
                l.addrs.push(addr);
            }
        }
    }
    for l in &mut links {
        if l.name == "lo" {
            // Always there; only something else on `lo` is news.
            l.addrs.retain(|a| !matches!(a.to_string().as_str(), "127.0.0.1/8" | "::1/128"));
        }
    }
    let routes = nl
        .dump(RouteNetlinkMessage::GetRoute(RouteMessage::default()))?
        .into_iter()
        .filter_map(|m| route(m, &names))
        .collect();
    let neighbours = nl
        .dump(RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()))?
        .into_iter()
        .filter_map(|m| neighbour(m, &names))
        .collect();
    Ok(NsState { links, routes, neighbours, sysctls: sysctls(), extra: Vec::new() })
}

/// The sysctls of `SYSCTLS` that differ from their default, as `net.ipv4.ip_forward`.
fn sysctls() -> Vec<(String, String)> {
    SYSCTLS
        .iter()
        .filter_map(|(key, default)| {
            let value = std::fs::read_to_string(format!("/proc/sys/{key}")).ok()?;
            let value = value.trim();
            (value != *default).then(|| (key.replace('/', "."), value.to_string()))
        })
        .collect()
}

/// A link, and the index of the bridge it is a port of.
fn link(msg: RouteNetlinkMessage) -> Option<(LinkState, Option<u32>)> {
    let RouteNetlinkMessage::NewLink(m) = msg else { return None };
    let mut l =
        LinkState { index: m.header.index, admin_up: m.header.flags.contains(LinkFlags::Up), ..Default::default() };
    let mut master = None;
    for a in m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name = n,
            LinkAttribute::OperState(s) => l.oper = oper(s),
            LinkAttribute::Mtu(mtu) => l.mtu = Some(mtu),
            LinkAttribute::Address(mac) => l.mac = Some(mac),
            LinkAttribute::Controller(i) => master = Some(i),
            LinkAttribute::Stats64(s) => {
                l.counters = Some(Counters {
                    rx_packets: s.rx_packets,
                    rx_bytes: s.rx_bytes,
                    tx_packets: s.tx_packets,
                    tx_bytes: s.tx_bytes,
                    dropped: s.rx_dropped + s.tx_dropped,
                    errors: s.rx_errors + s.tx_errors,
                })
            }
            _ => {}
        }
    }
    Some((l, master))
}

fn oper(s: State) -> String {
    match s {
        State::Up => "UP".into(),
        State::Down => "DOWN".into(),
        State::LowerLayerDown => "LOWERLAYERDOWN".into(),
        State::Unknown => "UNKNOWN".into(),
        State::NotPresent => "NOTPRESENT".into(),
        State::Testing => "TESTING".into(),
        State::Dormant => "DORMANT".into(),
        other => format!("{other:?}").to_uppercase(),
    }
}

/// An address with its link index; kernel-made IPv6 link-local addresses are left out.
fn address(msg: RouteNetlinkMessage) -> Option<(u32, IpNet)> {
    let RouteNetlinkMessage::NewAddress(m) = msg else { return None };
    let (mut local, mut addr) = (None, None);
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => addr = Some(*ip),
            _ => {}
        }
    }
    let ip = local.or(addr)?;
    if let IpAddr::V6(v6) = ip {
        if v6.segments()[0] & 0xffc0 == 0xfe80 {
            return None;
        }
    }
    Some((m.header.index, IpNet::new(ip, m.header.prefix_len).ok()?))
}

/// A route of any table but `local` (the kernel's own), without kernel-made IPv6 link-local
/// and multicast routes.
fn route(msg: RouteNetlinkMessage, names: &HashMap<u32, String>) -> Option<RouteState> {
    let RouteNetlinkMessage::NewRoute(m) = msg else { return None };
    let mut table = u32::from(m.header.table);
    let (mut dest, mut via, mut dev) = (None, None, None);
    for a in &m.attributes {
        match a {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => dest = ip(d),
            RouteAttribute::Gateway(g) => via = ip(g),
            RouteAttribute::Oif(i) => dev = Some(names.get(i).cloned().unwrap_or_else(|| format!("#{i}"))),
            _ => {}
        }
    }
    const RT_TABLE_LOCAL: u32 = 255;
    if table == RT_TABLE_LOCAL {
        return None;
    }
    let kind = match m.header.kind {
        RouteType::Unicast => None,
        RouteType::Unreachable => Some("unreachable"),
        RouteType::BlackHole => Some("blackhole"),
        RouteType::Prohibit => Some("prohibit"),
        RouteType::Throw => Some("throw"),
        _ => return None, // multicast, broadcast, ...: the kernel's own
    };
    // Without a destination: the default route.
    let dest = match dest {
        Some(d) => Some(IpNet::new(d, m.header.destination_prefix_length).ok()?),
        None => None,
    };
    if let Some(IpNet::V6(d)) = dest {
        if d.addr().segments()[0] & 0xffc0 == 0xfe80 || d.addr().is_multicast() {
            return None;
        }
    }
    let table = (table != u32::from(RouteHeader::RT_TABLE_MAIN)).then_some(table);
    Some(RouteState { dest, via, dev, kind, table })
}

fn ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some((*v4).into()),
        RouteAddress::Inet6(v6) => Some((*v6).into()),
        _ => None,
    }
}

/// A neighbour entry, without `lo`'s and the kernel's fixed (NOARP) multicast entries.
fn neighbour(msg: RouteNetlinkMessage, names: &HashMap<u32, String>) -> Option<Neighbour> {
    let RouteNetlinkMessage::NewNeighbour(m) = msg else { return None };
    if matches!(m.header.state, NeighbourState::Noarp) {
        return None;
    }
    let (mut addr, mut mac) = (None, None);
    for a in m.attributes {
        match a {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => addr = Some(IpAddr::V4(v4)),
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => addr = Some(IpAddr::V6(v6)),
            NeighbourAttribute::LinkLayerAddress(l) => mac = Some(l),
            _ => {}
        }
    }
    let dev = names.get(&m.header.ifindex)?.clone();
    let state = match m.header.state {
        NeighbourState::Incomplete => "INCOMPLETE".into(),
        NeighbourState::Reachable => "REACHABLE".into(),
        NeighbourState::Stale => "STALE".into(),
        NeighbourState::Delay => "DELAY".into(),
        NeighbourState::Probe => "PROBE".into(),
        NeighbourState::Failed => "FAILED".into(),
        NeighbourState::Permanent => "PERMANENT".into(),
        NeighbourState::None => "NONE".into(),
        other => format!("{:?}", other).to_uppercase(),
    };
    Some(Neighbour { addr: addr?, dev, mac, state })
}

/// A blocking rtnetlink socket in the namespace of the thread that opened it.
pub(crate) struct Netlink(Socket);

impl Netlink {
    pub(crate) fn open() -> io::Result<Netlink> {
        let mut s = Socket::new(NETLINK_ROUTE)?;
        s.bind_auto()?;
        s.connect(&SocketAddr::new(0, 0))?;
        let tv = libc::timeval { tv_sec: REPLY_TIMEOUT.as_secs() as _, tv_usec: 0 };
        // SAFETY: setsockopt on our own socket with a valid timeval.
        let r = unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Netlink(s))
    }

    /// Sends one dump request and collects every message of the reply.
    pub(crate) fn dump(&self, req: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(req));
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.0.send(&buf, 0)?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.0.recv_from_full()?;
            let mut rest = &data[..];
            while !rest.is_empty() {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("netlink reply: {e}")))?;
                let len = (msg.header.length as usize).min(rest.len());
                rest = &rest[len.max(1)..];
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => return Err(e.to_io()),
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    _ => {}
                }
            }
        }
    }
}
