//! The rules that make a node a NAT router of a given [`NatType`], for IPv4 (`nat=`) and IPv6
//! (`nat66=`): one table per family, built the same way.
//!
//! ```text
//! table ip netns_test_nat {
//!   map outbound_udp { type ipv4_addr . inet_service : inet_service; timeout 300s }   # EIM types;
//!   map mapped_udp { type inet_service : ipv4_addr . inet_service; timeout 300s }     # the same
//!   set live_udp { type ipv4_addr . inet_service . inet_service; timeout 300s }       # for tcp
//!   chain prerouting { type nat hook prerouting priority -100 }
//!     iifname "eth1" meta l4proto udp dnat to udp dport map @mapped_udp
//!   chain postrouting { type nat hook postrouting priority 100 }
//!     oifname "eth1" meta l4proto udp snat to 203.0.113.1 : ip saddr . udp sport map @outbound_udp
//!     oifname "eth1" meta l4proto udp snat to 203.0.113.1 : numgen inc mod 64512 offset 1024  # new
//!     oifname "eth1" snat to 203.0.113.1                                 # symmetric: random-fully
//!   chain mappings { type filter hook postrouting priority 200 }
//!     meta l4proto udp ct direction original ... @live_udp refresh       # outbound packets refresh
//!   chain forward { type filter hook forward priority 0 }                # all but full-cone
//!     iifname "eth1" ct state established,related accept
//!     iifname "eth1" drop
//! }
//! ```
//!
//! A mapping is an inside address and port and the outside port it got. The endpoint-independent
//! types keep them in three tables per protocol (UDP, TCP): `outbound` (inside → outside port,
//! so a new flow from a mapped inside endpoint reuses its port whatever the destination),
//! `mapped` (outside port → inside, so inbound packets to a mapped port reach their owner) and
//! `live` (the pairs themselves). A new mapping takes the next port of a counter (`numgen`), so
//! a mapping that expired or was forgotten is never given its old port again; the `mappings`
//! chain refreshes all three from every outbound packet of a flow whose pair is live, reading
//! the pair from conntrack after the translation. Entries expire after the protocol's timeout
//! without outbound packets, as the router's conntrack entries do (its timeouts are set to the
//! same values: see [`crate::kernel::conntrack`]). A rebind flushes the tables: flows still
//! alive in conntrack then find no live pair, so they cannot write their old port back.
//!
//! Why a mapping table rather than plain `masquerade`: an outside packet that arrives before
//! the inside host has sent to its source (a hole-punching peer that starts first) would go to
//! the router itself and leave a conntrack entry there; the inside host's later packet to that
//! peer then clashes with it and gets a new outside port, so the mapping would depend on the
//! endpoint after all. With the table, that early packet is translated to the inside host and
//! dropped by the forward filter before its conntrack entry is confirmed: nothing is left to
//! clash with. ICMP (and any other protocol) keeps its id through `snat` whenever it is free.

use super::expr::*;
use super::matches::*;
use super::read::{elements, Element};
use super::ruleset::{Chain, ChainType, Elements, Family, Hook, Set, Table};
use crate::kernel::nfnl::NfSocket;
use netns_test_topology::{Nat, NatType};
use std::net::IpAddr;

/// The IPv4 table's name in the node.
pub(crate) const TABLE: &str = "netns_test_nat";
/// The IPv6 table's name (`nat66=`).
pub(crate) const TABLE6: &str = "netns_test_nat6";
/// The first port new mappings get, unless the router's NAT changed at run time.
pub(crate) const FIRST_PORT: u16 = 1024;
/// The packet mark of hairpinned connections (ASCII "nat").
const HAIRPIN_MARK: u32 = 0x006e_6174;
const UDP: u8 = 17;
const TCP: u8 = 6;

/// A router's NAT as installed: the model, and where the port counter of new mappings starts
/// (after the ports in use when the rules were last replaced at run time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Installed {
    pub(crate) nat: Nat,
    pub(crate) first_port: u16,
}

impl Installed {
    pub(crate) fn new(nat: Nat) -> Installed {
        Installed { nat, first_port: FIRST_PORT }
    }
}

/// The NAT tables of a router: IPv4, IPv6, NPTv6 as the model has them.
pub(crate) fn tables(i: &Installed) -> Vec<Table> {
    let mut t = Vec::new();
    if let Some(v4) = &i.nat.ipv4 {
        t.push(table_with(Fam::V4, &v4.iface, IpAddr::V4(v4.addr), &i.nat, i.first_port, true));
    }
    if let Some(v6) = &i.nat.ipv6 {
        t.push(table_with(Fam::V6, &v6.iface, IpAddr::V6(v6.addr), &i.nat, i.first_port, true));
    }
    if let Some(npt) = &i.nat.nptv6 {
        t.push(npt_table(npt));
    }
    t
}

/// The table xtables' SNPT and DNPT targets must be in (they check the table's name).
pub(crate) const NPT_TABLE: &str = "mangle";

/// NPTv6 (RFC 6296) with the kernel's own `ip6t_NPT` targets through `nft_compat`: stateless,
/// checksum-neutral, in both directions.
///
/// ```text
/// table ip6 mangle {
///   chain prerouting { type filter hook prerouting priority -150 }
///     iifname "eth1" ip6 daddr 2001:db8:1::/48 dnpt to fd00:1::/48
///   chain postrouting { type filter hook postrouting priority -150 }
///     oifname "eth1" ip6 saddr fd00:1::/48 snpt to 2001:db8:1::/48
/// }
/// ```
fn npt_table(npt: &netns_test_topology::Nptv6) -> Table {
    let (o, inside, outside) = (npt.iface.as_str(), npt.inside, npt.outside);
    let mut t = Table::new(Family::Ip6, NPT_TABLE);
    let pre = t.chain("prerouting", Hook::Prerouting, -150, ChainType::Filter);
    pre.rule(
        format!("iifname \"{o}\" ip6 daddr {outside} dnpt to {inside}  # RFC 6296, xt DNPT"),
        cat([iifname(o, true), addr_in(ipnet::IpNet::V6(outside), false), vec![npt_target("DNPT", outside, inside)]]),
    );
    let post = t.chain("postrouting", Hook::Postrouting, -150, ChainType::Filter);
    post.rule(
        format!("oifname \"{o}\" ip6 saddr {inside} snpt to {outside}  # RFC 6296, xt SNPT"),
        cat([oifname(o, true), addr_in(ipnet::IpNet::V6(inside), true), vec![npt_target("SNPT", inside, outside)]]),
    );
    t
}

/// `struct ip6t_npt_tginfo { src_pfx, dst_pfx (16 bytes each), src_pfx_len, dst_pfx_len, u16
/// adjustment (the kernel computes it) }`, padded to `XT_ALIGN` (8).
fn npt_target(name: &'static str, from: ipnet::Ipv6Net, to: ipnet::Ipv6Net) -> Expr {
    let mut info = Vec::with_capacity(40);
    info.extend_from_slice(&from.network().octets());
    info.extend_from_slice(&to.network().octets());
    info.extend_from_slice(&[from.prefix_len(), to.prefix_len(), 0, 0]);
    info.resize(40, 0);
    Expr::XtTarget { name, info }
}

/// The IPv4 table with or without the mapping tables (without: plain `snat`, the usual
/// `masquerade` setup; only the framework's own tests use it, to show why the tables are
/// needed).
pub(crate) fn table_v4(nat: &Nat, mapping_table: bool) -> Option<Table> {
    let v4 = nat.ipv4.as_ref()?;
    Some(table_with(Fam::V4, &v4.iface, IpAddr::V4(v4.addr), nat, FIRST_PORT, mapping_table))
}

/// The mappings a router's tables hold: per table (family and outside address), the elements
/// of `outbound_udp`, `outbound_tcp` and `contacted`. The other tables follow from these.
#[derive(Debug, Clone, Default)]
pub(crate) struct Held {
    tables: Vec<(Fam, IpAddr, Vec<(&'static str, Element)>, Vec<Element>)>,
}

impl Held {
    /// The highest outside port of a mapping.
    pub(crate) fn max_port(&self) -> Option<u16> {
        let ports =
            self.tables.iter().flat_map(|t| &t.2).filter_map(|(_, e)| e.data.as_ref()?.get(..2).map(|p| [p[0], p[1]]));
        ports.map(u16::from_be_bytes).max()
    }
}

/// What the mapping tables of `i` hold now, in the namespace of `socket` (nothing for a
/// symmetric NAT, which has none).
pub(crate) fn held(socket: &NfSocket, i: &Installed) -> std::io::Result<Held> {
    let mut h = Held::default();
    for t in tables(i) {
        let Some((f, w)) = outside(i, t.family, &t.name) else { continue };
        let has = |name: &str| t.sets.iter().any(|s| s.name == name);
        let mut outbound = Vec::new();
        for p in ["udp", "tcp"] {
            if has(&format!("outbound_{p}")) {
                outbound
                    .extend(elements(socket, t.family, &t.name, &format!("outbound_{p}"))?.into_iter().map(|e| (p, e)));
            }
        }
        let contacted = if has("contacted") { elements(socket, t.family, &t.name, "contacted")? } else { Vec::new() };
        h.tables.push((f, w, outbound, contacted));
    }
    Ok(h)
}

/// The mapping tables' elements for the mappings `held` (read from the rules `i` replaces), as
/// the packet path would have made them: so rules replaced at run time keep the mappings in use.
/// Only into a table of the same family and outside address, of a type that has the table.
pub(crate) fn restore(i: &Installed, held: &Held) -> Vec<Elements> {
    let mut out = Vec::new();
    let nat = &i.nat;
    for t in tables(i) {
        let has = |name: &str| t.sets.iter().any(|s| s.name == name);
        let Some((_, w)) = outside(i, t.family, &t.name) else { continue };
        let Some((_, _, outbound, contacted)) = held.tables.iter().find(|h| h.1 == w) else { continue };
        let elements = |set: String, elems| Elements { family: t.family, table: t.name.clone(), set, elems };
        for (_, p, timeout) in protocols(nat) {
            if !has(&format!("outbound_{p}")) {
                continue;
            }
            let (mut ob, mut mapped, mut live) = (Vec::new(), Vec::new(), Vec::new());
            for (_, e) in outbound.iter().filter(|(q, _)| *q == p) {
                let Some(port) = e.data.clone() else { continue };
                let ms = e.expires_in_ms.clamp(1, timeout);
                let padded = cat_bytes(&[&port, &[0, 0]]);
                live.push((cat_bytes(&[&e.key, &padded]), None, ms));
                mapped.push((port.clone(), Some(e.key.clone()), ms));
                ob.push((e.key.clone(), Some(port), ms));
            }
            out.push(elements(format!("outbound_{p}"), ob));
            out.push(elements(format!("mapped_{p}"), mapped));
            out.push(elements(format!("live_{p}"), live));
        }
        if has("contacted") {
            let limit = nat.udp_timeout.max(nat.tcp_timeout).as_millis() as u64;
            let elems = contacted.iter().map(|e| (e.key.clone(), None, e.expires_in_ms.clamp(1, limit))).collect();
            out.push(elements("contacted".into(), elems));
        }
    }
    out
}

/// The family and outside address of NAT table `name` of `i` (not the NPTv6 table).
fn outside(i: &Installed, family: Family, name: &str) -> Option<(Fam, IpAddr)> {
    match (family, name) {
        (Family::Ip, TABLE) => i.nat.ipv4.as_ref().map(|m| (Fam::V4, IpAddr::V4(m.addr))),
        (Family::Ip6, TABLE6) => i.nat.ipv6.as_ref().map(|m| (Fam::V6, IpAddr::V6(m.addr))),
        _ => None,
    }
}

fn cat_bytes(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// What differs between the IPv4 and the IPv6 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fam {
    V4,
    V6,
}

impl Fam {
    fn v6(self) -> bool {
        self == Fam::V6
    }
    /// Bytes of an address.
    fn len(self) -> u32 {
        if self.v6() {
            16
        } else {
            4
        }
    }
    /// Registers of an address.
    fn regs(self) -> u32 {
        self.len() / 4
    }
    fn saddr(self) -> u32 {
        if self.v6() {
            8
        } else {
            12
        }
    }
    fn daddr(self) -> u32 {
        if self.v6() {
            24
        } else {
            16
        }
    }
    fn kw(self) -> &'static str {
        if self.v6() {
            "ip6"
        } else {
            "ip"
        }
    }
    fn ct_src(self) -> CtKey {
        if self.v6() {
            CtKey::SrcIp6
        } else {
            CtKey::SrcIp
        }
    }
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `(protocol number, name, timeout)` of the protocols with mapping tables.
fn protocols(nat: &Nat) -> [(u8, &'static str, u64); 2] {
    [(UDP, "udp", nat.udp_timeout.as_millis() as u64), (TCP, "tcp", nat.tcp_timeout.as_millis() as u64)]
}

fn table_with(f: Fam, o: &str, w: IpAddr, nat: &Nat, first_port: u16, mapping_table: bool) -> Table {
    let eim = mapping_table && nat.kind.endpoint_independent_mapping();
    let kw = f.kw();
    let a = f.len();
    let mut t = Table::new(if f.v6() { Family::Ip6 } else { Family::Ip }, if f.v6() { TABLE6 } else { TABLE });
    if eim {
        for (_, p, timeout_ms) in protocols(nat) {
            let set = |name: String, key, key_len, data| Set { name, key, key_len, data, timeout_ms };
            let (inside, pair) = if f.v6() {
                ("ipv6_addr . inet_service", "ipv6_addr . inet_service . inet_service")
            } else {
                ("ipv4_addr . inet_service", "ipv4_addr . inet_service . inet_service")
            };
            t.sets.push(set(format!("outbound_{p}"), inside, a + 4, Some(("inet_service", 2))));
            t.sets.push(set(format!("mapped_{p}"), "inet_service", 2, Some((inside, a + 4))));
            t.sets.push(set(format!("live_{p}"), pair, a + 8, None));
        }
    }
    if nat.kind == NatType::AddressRestricted {
        let key = if f.v6() { "ipv6_addr . ipv6_addr" } else { "ipv4_addr . ipv4_addr" };
        let timeout_ms = nat.udp_timeout.max(nat.tcp_timeout).as_millis() as u64;
        t.sets.push(Set { name: "contacted".into(), key, key_len: 2 * a, data: None, timeout_ms });
    }

    let pre = t.chain("prerouting", Hook::Prerouting, -100, ChainType::Nat);
    if eim {
        // Inbound UDP and TCP to a mapped port go to the inside host that owns the mapping; with
        // hairpin, inside hosts sending to the outside address get the same translation.
        let (text, from) = if nat.hairpin {
            let mut m = iifname(o, false);
            m.extend(daddr(f, w));
            pre.rule(
                format!("iifname != \"{o}\" {kw} daddr {w} meta mark set {HAIRPIN_MARK:#x}"),
                cat([m, set_mark(HAIRPIN_MARK)]),
            );
            (format!("{kw} daddr {w}"), daddr(f, w))
        } else {
            (format!("iifname \"{o}\""), iifname(o, true))
        };
        for (num, p, _) in protocols(nat) {
            let lookup = vec![
                Expr::payload(Base::Transport, 2, 2, R0),
                Expr::Lookup { set: format!("mapped_{p}"), sreg: R0, dreg: Some(R0) },
                Expr::Nat { kind: NatKind::Dnat, v6: f.v6(), addr: R0, proto: Some(reg(f.regs())), flags: 0 },
            ];
            pre.rule(
                format!("{text} meta l4proto {p} dnat to {p} dport map @mapped_{p}"),
                cat([from.clone(), l4proto(num), lookup]),
            );
        }
    }

    let post = t.chain("postrouting", Hook::Postrouting, 100, ChainType::Nat);
    // What is translated on its way out: packets leaving through the outside interface, and
    // (hairpin) inside packets sent to the outside address, which leave towards the inside from
    // the outside address, so the inside host sees (and answers) the sender's mapping, as an
    // outside host would.
    let mut outbound = vec![(format!("oifname \"{o}\""), oifname(o, true))];
    if nat.hairpin {
        outbound.push((
            format!("oifname != \"{o}\" meta mark {HAIRPIN_MARK:#x}"),
            cat([oifname(o, false), mark(HAIRPIN_MARK)]),
        ));
    }
    for (text, m) in &outbound {
        if eim {
            for (num, p, _) in protocols(nat) {
                reuse_or_allocate(post, f, w, text, m, (num, p), first_port);
            }
            post.rule(format!("{text} snat to {w}"), cat([m.clone(), snat_to(f, w, 0)]));
        } else if nat.kind == NatType::Symmetric && mapping_table {
            post.rule(format!("{text} snat to {w} random-fully"), cat([m.clone(), snat_to(f, w, NAT_RANDOM_FULLY)]));
        } else {
            post.rule(format!("{text} snat to {w}"), cat([m.clone(), snat_to(f, w, 0)]));
        }
    }

    if eim {
        let refresh = t.chain("mappings", Hook::Postrouting, 200, ChainType::Filter);
        for (num, p, _) in protocols(nat) {
            for dir in [CtDir::Original, CtDir::Reply] {
                refresh_rule(refresh, f, (num, p), dir);
            }
        }
    }

    if nat.kind == NatType::FullCone {
        return t;
    }
    let fwd = t.chain("forward", Hook::Forward, 0, ChainType::Filter);
    let r = reg(f.regs());
    if nat.kind == NatType::AddressRestricted {
        // Before postrouting, the source is still the inside host's.
        let update = vec![
            Expr::payload(Base::Network, f.saddr(), a, R0),
            Expr::payload(Base::Network, f.daddr(), a, r),
            Expr::Update {
                set: "contacted".into(),
                sreg_key: R0,
                sreg_data: None,
                timeout_ms: nat.udp_timeout.max(nat.tcp_timeout).as_millis() as u64,
            },
        ];
        fwd.rule(
            format!("oifname \"{o}\" update @contacted {{ {kw} saddr . {kw} daddr }}"),
            cat([oifname(o, true), update]),
        );
    }
    fwd.rule(
        format!("iifname \"{o}\" ct state established,related accept"),
        cat([iifname(o, true), ct_established(), accept()]),
    );
    if nat.kind == NatType::AddressRestricted {
        // After prerouting, the destination is already the inside host's.
        let seen = vec![
            Expr::payload(Base::Network, f.daddr(), a, R0),
            Expr::payload(Base::Network, f.saddr(), a, r),
            Expr::Lookup { set: "contacted".into(), sreg: R0, dreg: None },
        ];
        fwd.rule(
            format!("iifname \"{o}\" {kw} daddr . {kw} saddr @contacted accept"),
            cat([iifname(o, true), seen, accept()]),
        );
    }
    fwd.rule(format!("iifname \"{o}\" drop"), cat([iifname(o, true), vec![Expr::Verdict(Verdict::Drop)]]));
    t
}

/// The two rules translating protocol `p` for the packets `m` matches: a mapped inside endpoint
/// keeps its outside port; another gets the counter's next port, recorded in the three tables.
///
/// Registers: the inside address from `R0`, then its port, the outside port, the outside address.
fn reuse_or_allocate(post: &mut Chain, f: Fam, w: IpAddr, text: &str, m: &[Expr], (num, p): (u8, &str), first: u16) {
    let kw = f.kw();
    let (port_in, port_out, addr_out) = (reg(f.regs()), reg(f.regs() + 1), reg(f.regs() + 2));
    let inside =
        vec![Expr::payload(Base::Network, f.saddr(), f.len(), R0), Expr::payload(Base::Transport, 0, 2, port_in)];
    let snat = vec![
        Expr::Immediate { dreg: addr_out, data: octets(w) },
        Expr::Nat { kind: NatKind::Snat, v6: f.v6(), addr: addr_out, proto: Some(port_out), flags: 0 },
    ];
    let reuse = vec![Expr::Lookup { set: format!("outbound_{p}"), sreg: R0, dreg: Some(port_out) }];
    post.rule(
        format!("{text} meta l4proto {p} snat to {w} : {kw} saddr . {p} sport map @outbound_{p}"),
        cat([m.to_vec(), l4proto(num), inside.clone(), reuse, snat.clone()]),
    );
    let modulus = 65536 - u32::from(first);
    let mut next = vec![Expr::NumgenInc { dreg: port_out, modulus, offset: u32::from(first) }];
    // The counter is a host-order u32; the NAT reads a network-order u16 from the register's
    // first two bytes.
    if cfg!(target_endian = "little") {
        next.push(Expr::Hton { sreg: port_out, dreg: port_out, len: 2, size: 2 });
    } else {
        next.push(Expr::Lshift { sreg: port_out, dreg: port_out, len: 4, bits: 16 });
    }
    post.rule(
        format!(
            "{text} meta l4proto {p} snat to {w} : numgen inc mod {modulus} offset {first}  \
             # a new mapping, added to @outbound_{p}, @mapped_{p}, @live_{p}"
        ),
        cat([m.to_vec(), l4proto(num), inside, next, record(p, port_out), snat]),
    );
}

/// Adds or refreshes the mapping whose inside address starts at `R0` (its port next) and whose
/// outside port is in `port_out`, in the three tables of protocol `p`.
fn record(p: &str, port_out: Reg) -> Vec<Expr> {
    let update = |set: String, sreg_key, sreg_data| Expr::Update { set, sreg_key, sreg_data, timeout_ms: 0 };
    vec![
        update(format!("outbound_{p}"), R0, Some(port_out)),
        update(format!("mapped_{p}"), port_out, Some(R0)),
        update(format!("live_{p}"), R0, None),
    ]
}

/// Refreshes the mapping of each packet of protocol `p` whose (inside address, inside port,
/// outside port), read from its conntrack entry, is a live pair. `Original`: a flow the inside
/// host started; `Reply`: one an outside host started through a mapped port (the inside host's
/// answers).
fn refresh_rule(c: &mut Chain, f: Fam, (num, p): (u8, &str), dir: CtDir) {
    let (port_in, port_out) = (reg(f.regs()), reg(f.regs() + 1));
    let (d, other, dname, oname) = match dir {
        CtDir::Original => (CtDir::Original, CtDir::Reply, "original", "reply"),
        CtDir::Reply => (CtDir::Reply, CtDir::Original, "reply", "original"),
    };
    let exprs = vec![
        Expr::Ct { key: CtKey::Direction, dir: None, dreg: R0 },
        Expr::eq(R0, &[d as u8]),
        Expr::Ct { key: f.ct_src(), dir: Some(d), dreg: R0 },
        Expr::Ct { key: CtKey::ProtoSrc, dir: Some(d), dreg: port_in },
        Expr::Ct { key: CtKey::ProtoDst, dir: Some(other), dreg: port_out },
        Expr::Lookup { set: format!("live_{p}"), sreg: R0, dreg: None },
    ];
    let kw = f.kw();
    c.rule(
        format!(
            "meta l4proto {p} ct direction {dname} ct {dname} {kw} saddr . ct {dname} proto-src . ct {oname} proto-dst \
             @live_{p}  # refresh @outbound_{p}, @mapped_{p}, @live_{p}"
        ),
        cat([l4proto(num), exprs, record(p, port_out)]),
    );
}

fn daddr(f: Fam, a: IpAddr) -> Vec<Expr> {
    vec![Expr::payload(Base::Network, f.daddr(), f.len(), R0), Expr::eq(R0, &octets(a))]
}

fn snat_to(f: Fam, a: IpAddr, flags: u32) -> Vec<Expr> {
    vec![
        Expr::Immediate { dreg: R0, data: octets(a) },
        Expr::Nat { kind: NatKind::Snat, v6: f.v6(), addr: R0, proto: None, flags },
    ]
}

fn accept() -> Vec<Expr> {
    vec![Expr::Verdict(Verdict::Accept)]
}

pub(crate) fn cat<const N: usize>(parts: [Vec<Expr>; N]) -> Vec<Expr> {
    parts.into_iter().flatten().collect()
}
