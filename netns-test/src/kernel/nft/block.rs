//! `allow` and `block` statements: one filter chain per hook a packet can meet in a node (input,
//! forward, output), each with one rule per statement, in order, so the first that matches
//! decides (`accept` ends the chain; a packet no rule matches is accepted by the chain's policy).
//! `inbound on IFACE` rules are in input and forward only (nothing sent arrives on an interface).
//!
//! ```text
//! table inet netns_test_fw {
//!   chain input   { type filter hook input priority 0 }     # the same rules in forward, output
//!     meta l4proto tcp th dport 443 accept                  # allow tcp/443
//!     meta nfproto ipv4 meta l4proto icmp icmp type 3 icmp code 4 drop   # block icmp frag-needed
//!     meta nfproto ipv4 ip saddr 10.0.0.0/24 meta l4proto tcp th dport 80 reject with tcp reset
//!     iifname "eth1" ct state != established,related drop  # block inbound on eth1
//! }
//! ```

use super::expr::*;
use super::matches::*;
use super::nat::cat;
use super::ruleset::{Chain, ChainType, Family, Hook, Table};
use netns_test_topology::{Action, Block, BlockProto};

pub(crate) const TABLE: &str = "netns_test_fw";

/// The firewall table of a node with these `allow` and `block` statements.
pub(crate) fn table(blocks: &[Block]) -> Table {
    let mut t = Table::new(Family::Inet, TABLE);
    for (name, hook) in [("input", Hook::Input), ("forward", Hook::Forward), ("output", Hook::Output)] {
        let chain = t.chain(name, hook, 0, ChainType::Filter);
        for b in blocks {
            if b.inbound.is_none() || hook != Hook::Output {
                rule(chain, b);
            }
        }
    }
    t
}

/// The firewall table with these rules in place of those the node has, in one transaction; with
/// no rules, chains without rules (nothing filtered).
pub(crate) fn replacement(blocks: &[Block]) -> Table {
    let mut t = table(blocks);
    t.replace = true;
    t
}

fn rule(chain: &mut Chain, b: &Block) {
    // The family: fixed by an address or by the protocol, if either says.
    let v6 = match (b.from.or(b.to), b.proto) {
        (Some(net), _) => Some(matches!(net, ipnet::IpNet::V6(_))),
        (None, Some(BlockProto::Icmp(_))) => Some(false),
        (None, Some(BlockProto::Icmpv6(_))) => Some(true),
        _ => None,
    };
    let mut text = Vec::new();
    let mut exprs = Vec::new();
    if let Some(i) = &b.inbound {
        text.push(format!("iifname \"{i}\""));
        exprs.extend(iifname(i, true));
    }
    if b.established {
        text.push("ct state established,related".into());
        exprs.extend(ct_established());
    }
    if let Some(v6) = v6 {
        text.push(format!("meta nfproto {}", if v6 { "ipv6" } else { "ipv4" }));
        exprs.extend(nfproto(v6));
    }
    let ip = if v6 == Some(true) { "ip6" } else { "ip" };
    for (net, src) in [(b.from, true), (b.to, false)] {
        if let Some(net) = net {
            text.push(format!("{ip} {} {net}", if src { "saddr" } else { "daddr" }));
            exprs.extend(addr_in(net, src));
        }
    }
    match b.proto {
        None => {}
        Some(BlockProto::Tcp(port)) | Some(BlockProto::Udp(port)) => {
            let (name, num) = if matches!(b.proto, Some(BlockProto::Tcp(_))) { ("tcp", 6) } else { ("udp", 17) };
            text.push(format!("meta l4proto {name}"));
            exprs.extend(l4proto(num));
            if let Some(p) = port {
                text.push(format!("th dport {p}"));
                exprs.extend(dport(p));
            }
        }
        Some(BlockProto::Icmp(ty)) | Some(BlockProto::Icmpv6(ty)) => {
            let (name, num) = if matches!(b.proto, Some(BlockProto::Icmp(_))) { ("icmp", 1) } else { ("icmpv6", 58) };
            text.push(format!("meta l4proto {name}"));
            exprs.extend(l4proto(num));
            if let Some(t) = ty {
                text.push(format!("{name} type {}", t.ty));
                if let Some(c) = t.code {
                    text.push(format!("{name} code {c}"));
                }
                exprs.extend(icmp_type(t.ty, t.code));
            }
        }
    }
    if b.inbound.is_some() && b.action == Action::Block {
        // Stateful: replies and related ICMP errors pass (RFC 6092's customer edge).
        text.push("ct state != established,related".into());
        exprs.extend(ct_not_established());
    }
    exprs.push(Expr::Counter);
    let verdict = match (b.reject, b.proto) {
        _ if b.action == Action::Allow => {
            text.push("accept".into());
            vec![Expr::Verdict(Verdict::Accept)]
        }
        (false, _) => {
            text.push("drop".into());
            vec![Expr::Verdict(Verdict::Drop)]
        }
        (true, Some(BlockProto::Tcp(_))) => {
            text.push("reject with tcp reset".into());
            vec![Expr::Reject(Reject::TcpReset)]
        }
        (true, _) => {
            text.push("reject with icmpx port-unreachable".into());
            vec![Expr::Reject(Reject::PortUnreachable)]
        }
    };
    chain.rule(format!("{}  # {b}", text.join(" ")), cat([exprs, verdict]));
}
