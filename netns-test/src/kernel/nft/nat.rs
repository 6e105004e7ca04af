//! The rules that make a node a NAT router of a given [`NatType`].
//!
//! ```text
//! table ip netns_test_nat {
//!   map mapped { type inet_service : ipv4_addr . inet_service; timeout 300s }  # EIM types
//!   chain prerouting  { type nat hook prerouting priority -100 }
//!     iifname "eth1" meta l4proto udp dnat to udp dport map @mapped           # EIM types
//!   chain postrouting { type nat hook postrouting priority 100 }
//!     oifname "eth1" meta l4proto udp update @mapped { udp sport : ip saddr . udp sport }
//!     oifname "eth1" snat to 203.0.113.1                                       # symmetric: random-fully
//!   chain forward { type filter hook forward priority 0 }                     # all but full-cone
//!     iifname "eth1" ct state established,related accept
//!     iifname "eth1" drop
//! }
//! ```
//!
//! Why a mapping table rather than plain `masquerade`: an outside packet that arrives before
//! the inside host has sent to its source (a hole-punching peer that starts first) would go to
//! the router itself and leave a conntrack entry there; the inside host's later packet to that
//! peer then clashes with it and gets a new outside port, so the mapping would depend on the
//! endpoint after all. With the table, that early packet is translated to the inside host and
//! dropped by the forward filter before its conntrack entry is confirmed: nothing is left to
//! clash with. The table covers UDP; TCP keeps its port through `snat` whenever it is free.

use super::expr::*;
use super::matches::*;
use super::ruleset::{ChainType, Family, Hook, Set, Table};
use netns_test_topology::{Nat, NatType};

/// The table's name in the node.
pub(crate) const TABLE: &str = "netns_test_nat";
/// How long an unused UDP mapping (or address-restricted permission) lives.
const MAPPING_TIMEOUT_MS: u64 = 300_000;
/// The packet mark of hairpinned connections (ASCII "nat").
const HAIRPIN_MARK: u32 = 0x006e_6174;
const UDP: u8 = 17;

/// The NAT table of a router whose `nat=` interface is `nat.iface`.
pub(crate) fn table(nat: &Nat) -> Table {
    table_with(nat, nat.kind.endpoint_independent_mapping())
}

/// The table with or without the mapping table (without: plain `snat`, the usual `masquerade`
/// setup; only the framework's own tests use it, to show why the table is needed).
pub(crate) fn table_with(nat: &Nat, mapping_table: bool) -> Table {
    let (o, w) = (nat.iface.as_str(), nat.addr);
    let eim = mapping_table;
    let mut t = Table::new(Family::Ip, TABLE);
    if eim {
        t.sets.push(Set {
            name: "mapped".into(),
            key: "inet_service",
            key_len: 2,
            data: Some(("ipv4_addr . inet_service", 8)),
            timeout_ms: MAPPING_TIMEOUT_MS,
        });
    }
    if nat.kind == NatType::AddressRestricted {
        t.sets.push(Set {
            name: "contacted".into(),
            key: "ipv4_addr . ipv4_addr",
            key_len: 8,
            data: None,
            timeout_ms: MAPPING_TIMEOUT_MS,
        });
    }

    let pre = t.chain("prerouting", Hook::Prerouting, -100, ChainType::Nat);
    if eim {
        // Inbound UDP to a mapped port goes to the inside host that owns the mapping; with
        // hairpin, inside hosts sending to the outside address get the same translation.
        let (text, from) = if nat.hairpin {
            let mut m = iifname(o, false);
            m.extend(ip_daddr(w));
            pre.rule(
                format!("iifname != \"{o}\" ip daddr {w} meta mark set {HAIRPIN_MARK:#x}"),
                cat([m, set_mark(HAIRPIN_MARK)]),
            );
            (format!("ip daddr {w}"), ip_daddr(w))
        } else {
            (format!("iifname \"{o}\""), iifname(o, true))
        };
        let lookup = vec![
            Expr::payload(Base::Transport, 2, 2, R0),
            Expr::Lookup { set: "mapped".into(), sreg: R0, dreg: Some(R0) },
            Expr::Nat { kind: NatKind::Dnat, addr: R0, proto: Some(R1), flags: 0 },
        ];
        pre.rule(format!("{text} meta l4proto udp dnat to udp dport map @mapped"), cat([from, l4proto(UDP), lookup]));
    }

    let post = t.chain("postrouting", Hook::Postrouting, 100, ChainType::Nat);
    if nat.hairpin {
        // Hairpinned packets leave towards the inside from the outside address, so the inside
        // host sees (and answers) the sender's mapping, as an outside host would.
        let snat = snat_to(w, 0);
        post.rule(
            format!("oifname != \"{o}\" meta mark {HAIRPIN_MARK:#x} snat to {w}"),
            cat([oifname(o, false), mark(HAIRPIN_MARK), snat]),
        );
    }
    if eim {
        let update = vec![
            Expr::payload(Base::Transport, 0, 2, R0),
            Expr::payload(Base::Network, 12, 4, R1),
            Expr::payload(Base::Transport, 0, 2, R2),
            Expr::Update { set: "mapped".into(), sreg_key: R0, sreg_data: Some(R1), timeout_ms: MAPPING_TIMEOUT_MS },
        ];
        post.rule(
            format!("oifname \"{o}\" meta l4proto udp update @mapped {{ udp sport : ip saddr . udp sport }}"),
            cat([oifname(o, true), l4proto(UDP), update]),
        );
        post.rule(format!("oifname \"{o}\" snat to {w}"), cat([oifname(o, true), snat_to(w, 0)]));
    } else {
        post.rule(
            format!("oifname \"{o}\" snat to {w} random-fully"),
            cat([oifname(o, true), snat_to(w, NAT_RANDOM_FULLY)]),
        );
    }

    if nat.kind == NatType::FullCone {
        return t;
    }
    let fwd = t.chain("forward", Hook::Forward, 0, ChainType::Filter);
    if nat.kind == NatType::AddressRestricted {
        // Before postrouting, the source is still the inside host's.
        let update = vec![
            Expr::payload(Base::Network, 12, 4, R0),
            Expr::payload(Base::Network, 16, 4, R1),
            Expr::Update { set: "contacted".into(), sreg_key: R0, sreg_data: None, timeout_ms: MAPPING_TIMEOUT_MS },
        ];
        fwd.rule(
            format!("oifname \"{o}\" update @contacted {{ ip saddr . ip daddr }}"),
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
            Expr::payload(Base::Network, 16, 4, R0),
            Expr::payload(Base::Network, 12, 4, R1),
            Expr::Lookup { set: "contacted".into(), sreg: R0, dreg: None },
        ];
        fwd.rule(
            format!("iifname \"{o}\" ip daddr . ip saddr @contacted accept"),
            cat([iifname(o, true), seen, accept()]),
        );
    }
    fwd.rule(format!("iifname \"{o}\" drop"), cat([iifname(o, true), vec![Expr::Verdict(Verdict::Drop)]]));
    t
}

fn ip_daddr(a: std::net::Ipv4Addr) -> Vec<Expr> {
    vec![Expr::payload(Base::Network, 16, 4, R0), Expr::eq(R0, &a.octets())]
}

fn snat_to(a: std::net::Ipv4Addr, flags: u32) -> Vec<Expr> {
    vec![
        Expr::Immediate { dreg: R0, data: a.octets().to_vec() },
        Expr::Nat { kind: NatKind::Snat, addr: R0, proto: None, flags },
    ]
}

fn accept() -> Vec<Expr> {
    vec![Expr::Verdict(Verdict::Accept)]
}

pub(crate) fn cat<const N: usize>(parts: [Vec<Expr>; N]) -> Vec<Expr> {
    parts.into_iter().flatten().collect()
}
