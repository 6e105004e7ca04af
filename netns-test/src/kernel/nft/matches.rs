//! Building blocks of rules: each returns the expressions of one `nft` match or statement,
//! using registers from `R0` on (so call them in sequence, not nested).

use super::expr::*;
use ipnet::IpNet;

/// `iifname "eth1"` (or `!=` when `eq` is false).
pub(crate) fn iifname(name: &str, eq: bool) -> Vec<Expr> {
    ifname_cmp(MetaKey::IifName, name, eq)
}

/// `oifname "eth1"` (or `!=`).
pub(crate) fn oifname(name: &str, eq: bool) -> Vec<Expr> {
    ifname_cmp(MetaKey::OifName, name, eq)
}

fn ifname_cmp(key: MetaKey, name: &str, eq: bool) -> Vec<Expr> {
    let cmp = if eq { Expr::eq(R0, &ifname(name)) } else { Expr::neq(R0, &ifname(name)) };
    vec![Expr::meta(key, R0), cmp]
}

/// `meta nfproto ipv4` / `ipv6`: needed before network-header matches in an `inet` table.
pub(crate) fn nfproto(v6: bool) -> Vec<Expr> {
    vec![Expr::meta(MetaKey::NfProto, R0), Expr::eq(R0, &[if v6 { 10 } else { 2 }])]
}

/// `meta l4proto udp` etc. (6 tcp, 17 udp, 1 icmp, 58 icmpv6).
pub(crate) fn l4proto(proto: u8) -> Vec<Expr> {
    vec![Expr::meta(MetaKey::L4Proto, R0), Expr::eq(R0, &[proto])]
}

/// `th dport 80` after an `l4proto` match of TCP or UDP.
pub(crate) fn dport(port: u16) -> Vec<Expr> {
    vec![Expr::payload(Base::Transport, 2, 2, R0), Expr::eq(R0, &port.to_be_bytes())]
}

/// ICMP/ICMPv6 type (and code) after an `l4proto` match.
pub(crate) fn icmp_type(ty: u8, code: Option<u8>) -> Vec<Expr> {
    let mut v = vec![Expr::payload(Base::Transport, 0, 1, R0), Expr::eq(R0, &[ty])];
    if let Some(c) = code {
        v.extend([Expr::payload(Base::Transport, 1, 1, R0), Expr::eq(R0, &[c])]);
    }
    v
}

/// `ip saddr 10.0.0.0/24` (`src`) or `ip daddr ...`, IPv4 or IPv6 by the network's family; an
/// `nfproto` match must come first in an `inet` table.
pub(crate) fn addr_in(net: IpNet, src: bool) -> Vec<Expr> {
    let (offset, addr, mask) = match net {
        IpNet::V4(n) => (if src { 12 } else { 16 }, n.network().octets().to_vec(), n.netmask().octets().to_vec()),
        IpNet::V6(n) => (if src { 8 } else { 24 }, n.network().octets().to_vec(), n.netmask().octets().to_vec()),
    };
    let len = addr.len() as u32;
    let mut v = vec![Expr::payload(Base::Network, offset, len, R0)];
    if net.prefix_len() < net.max_prefix_len() {
        v.push(Expr::Bitwise { sreg: R0, dreg: R0, mask, xor: vec![0; len as usize] });
    }
    v.push(Expr::eq(R0, &addr));
    v
}

/// `ct state established,related`.
pub(crate) fn ct_established() -> Vec<Expr> {
    // Host-order state bits: established 2, related 4.
    ct_bits(CtKey::State, 2 | 4)
}

/// `ct state != established,related`: a packet that starts something (new), or that conntrack
/// could not place (invalid, untracked).
pub(crate) fn ct_not_established() -> Vec<Expr> {
    vec![
        Expr::Ct { key: CtKey::State, dir: None, dreg: R0 },
        Expr::Bitwise { sreg: R0, dreg: R0, mask: (2u32 | 4).to_ne_bytes().to_vec(), xor: vec![0; 4] },
        Expr::eq(R0, &[0; 4]),
    ]
}

fn ct_bits(key: CtKey, bits: u32) -> Vec<Expr> {
    vec![
        Expr::Ct { key, dir: None, dreg: R0 },
        Expr::Bitwise { sreg: R0, dreg: R0, mask: bits.to_ne_bytes().to_vec(), xor: vec![0; 4] },
        Expr::neq(R0, &[0; 4]),
    ]
}

/// `meta mark set MARK`.
pub(crate) fn set_mark(mark: u32) -> Vec<Expr> {
    vec![
        Expr::Immediate { dreg: R0, data: mark.to_ne_bytes().to_vec() },
        Expr::MetaSet { key: MetaKey::Mark, sreg: R0 },
    ]
}

/// `meta mark MARK`.
pub(crate) fn mark(mark: u32) -> Vec<Expr> {
    vec![Expr::meta(MetaKey::Mark, R0), Expr::eq(R0, &mark.to_ne_bytes())]
}
