//! The NAT options and `block` statements: what they parse to, and every mistake they reject.

use netns_test_topology::{BlockProto, NatType, Topology};

const ROUTER: &str =
    "c=10.0.1.2/24 -- r:eth0=10.0.1.1/24|fd00::1/64\nr:eth1=203.0.113.1/24|2001:db8::1/64 -- s=203.0.113.10/24\n";

fn parse(extra: &str) -> Topology {
    Topology::parse(&format!("{ROUTER}{extra}")).unwrap_or_else(|e| panic!("{}", e.render(&format!("{ROUTER}{extra}"))))
}

/// The first error's message and help, and the text it points at.
fn err(extra: &str) -> (String, String, String) {
    let src = format!("{ROUTER}{extra}");
    let e = Topology::parse(&src).expect_err(extra).0.remove(0);
    (e.message.clone(), e.help.clone().unwrap_or_default(), src[e.span.clone()].to_string())
}

#[test]
fn nat_options_share_one_bracket() {
    let t = parse("r [nat=eth1, nat-type=full-cone, hairpin]");
    let r = &t.nodes[t.node_index("r").unwrap()];
    let nat = r.nat.as_ref().unwrap();
    let v4 = nat.ipv4.as_ref().unwrap();
    assert_eq!((v4.iface.as_str(), v4.addr.to_string().as_str()), ("eth1", "203.0.113.1"));
    assert_eq!((nat.kind, nat.hairpin), (NatType::FullCone, true));
    assert!(r.forward, "nat= implies forward");
    let t = parse("r [forward, nat=eth1]");
    let nat = t.nodes[1].nat.as_ref().unwrap();
    assert_eq!((nat.kind, nat.hairpin), (NatType::PortRestricted, false), "the default type");
    for (kind, name) in NatType::ALL {
        assert_eq!(parse(&format!("r [nat=eth1, nat-type={name}]")).nodes[1].nat.as_ref().unwrap().kind, kind);
    }
}

#[test]
fn nat_timeouts() {
    use netns_test_topology::Nat;
    use std::time::Duration;
    let nat = |extra: &str| parse(extra).nodes[1].nat.clone().unwrap();
    let d = nat("r [nat=eth1]");
    assert_eq!((d.udp_timeout, d.tcp_timeout), (Nat::DEFAULT_UDP_TIMEOUT, Nat::DEFAULT_TCP_TIMEOUT));
    assert_eq!((d.udp_timeout.as_secs(), d.tcp_timeout.as_secs()), (300, 7440), "RFC 4787 and RFC 5382");
    let n = nat("r [nat=eth1, udp-timeout=30s, tcp-timeout=10m]");
    assert_eq!((n.udp_timeout, n.tcp_timeout), (Duration::from_secs(30), Duration::from_secs(600)));
    let n = nat("r [nat=eth1, timeout=1s]");
    assert_eq!((n.udp_timeout, n.tcp_timeout), (Duration::from_secs(1), Duration::from_secs(1)));
    let n = nat("r [nat=eth1, tcp-timeout=2m, timeout=1s]");
    assert_eq!((n.udp_timeout, n.tcp_timeout), (Duration::from_secs(1), Duration::from_secs(120)), "the specific wins");
    assert_eq!(n.options(), "nat=eth1, udp-timeout=1s, tcp-timeout=2m");
    let (m, h, at) = err("r [nat=eth1, udp-timeout=500ms]");
    assert_eq!((m.as_str(), at.as_str()), ("udp-timeout `500ms` is not a whole number of seconds", "500ms"));
    assert!(h.ends_with("write `1s`"), "{h}");
    let (m, _, at) = err("r [timeout=1s]");
    assert_eq!((m.as_str(), at.as_str()), ("`timeout` needs `nat=IFACE` in the same option list", "1s"));
}

#[test]
fn nat66_and_nptv6() {
    let t = parse("r [nat=eth1, nat66=eth1, nat-type=full-cone]");
    let nat = t.nodes[1].nat.as_ref().unwrap();
    let v6 = nat.ipv6.as_ref().unwrap();
    assert_eq!((v6.iface.as_str(), v6.addr.to_string().as_str()), ("eth1", "2001:db8::1"));
    assert_eq!(nat.options(), "nat=eth1, nat66=eth1, nat-type=full-cone");
    let t = parse("r [nptv6=eth1, nptv6-prefix=2001:db8:1::/64]");
    let nat = t.nodes[1].nat.as_ref().unwrap();
    let npt = nat.nptv6.as_ref().unwrap();
    assert_eq!((npt.inside.to_string(), npt.outside.to_string()), ("fd00::/64".into(), "2001:db8:1::/64".into()));
    assert!(!nat.stateful() && nat.ipv4.is_none() && t.nodes[1].forward);
    let (m, _, at) = err("r [nptv6=eth1, nptv6-prefix=2001:db8:1::/48, hairpin]");
    assert_eq!(
        (m.as_str(), at.as_str()),
        ("`hairpin` needs `nat=IFACE` or `nat66=IFACE`: `nptv6` is stateless", "hairpin")
    );
    let (m, _, _) = err("r [nat66=eth1, nptv6=eth1, nptv6-prefix=2001:db8:1::/48]");
    assert_eq!(m, "`nat66` and `nptv6` both translate IPv6: choose one");
}

#[test]
fn nat_mistakes() {
    let (m, h, at) = err("r [nat=eth9]");
    assert_eq!((m.as_str(), at.as_str()), ("node `r` has no interface `eth9`", "eth9"));
    assert!(h.contains("did you mean `eth0`?") || h.contains("`eth1`"), "{h}");
    let (m, h, at) = err("r [nat=eth1, nat-type=ful-cone]");
    assert_eq!(
        (m.as_str(), h.as_str(), at.as_str()),
        ("unknown nat-type `ful-cone`", "did you mean `full-cone`?", "ful-cone")
    );
    let (m, h, _) = err("r [nat=eth1, nat-type=carrier]");
    assert!(m.contains("unknown nat-type") && h.contains("`symmetric`"), "{h}");
    let (m, _, at) = err("r [nat-type=full-cone]");
    assert_eq!((m.as_str(), at.as_str()), ("`nat-type` needs `nat=IFACE` in the same option list", "full-cone"));
    let (m, _, at) = err("r [hairpin]");
    assert_eq!((m.as_str(), at.as_str()), ("`hairpin` needs `nat=IFACE` in the same option list", "hairpin"));
    let (m, h, _) = err("r [nat=eth1, nat-type=symmetric, hairpin]");
    assert!(m.contains("endpoint-independent") && h.contains("full-cone"), "{m} {h}");
    let (m, _, _) = err("r [nat=eth1]\nr [nat=eth0]");
    assert!(m.starts_with("node `r` has `nat` twice"), "{m}");
    let (m, h, _) = err("r [nat]");
    assert_eq!((m.as_str(), h.as_str()), ("option `nat` needs a value", "e.g. `r [nat=eth1]`"));
    let (m, h, _) = err("r [nta=eth1]");
    assert_eq!((m.as_str(), h.as_str()), ("unknown option `nta`", "did you mean `nat`?"));
    let e = Topology::parse("a=fd00::1/64 -- r:eth1=fd00::2/64\nr [nat=eth1]").unwrap_err();
    assert_eq!(e.0[0].message, "`nat=eth1` needs an IPv4 address on `eth1`");
    let (m, h, _) = err("c -- r [nat=eth1]");
    assert!(m.contains("unknown option `nat`") && h.contains("node option"), "{m} / {h}");
}

#[test]
fn block_statements() {
    let t = parse("s: block tcp/80 from 10.0.1.0/24 reject\ns: block udp\nr: block icmp frag-needed\nr: block icmpv6 packet-too-big to 2001:db8::/64\ns: block from 10.0.1.2 drop");
    let s = &t.nodes[t.node_index("s").unwrap()];
    assert_eq!(s.blocks.len(), 3);
    assert_eq!(s.blocks[0].to_string(), "block tcp/80 from 10.0.1.0/24 reject");
    assert_eq!(s.blocks[0].proto, Some(BlockProto::Tcp(Some(80))));
    assert!(s.blocks[0].reject && !s.blocks[1].reject);
    assert_eq!(s.blocks[1].to_string(), "block udp");
    assert_eq!(s.blocks[2].to_string(), "block from 10.0.1.2/32");
    let r = &t.nodes[t.node_index("r").unwrap()];
    assert_eq!(r.blocks[0].to_string(), "block icmp frag-needed");
    match r.blocks[0].proto {
        Some(BlockProto::Icmp(Some(t))) => assert_eq!((t.ty, t.code), (3, Some(4))),
        p => panic!("{p:?}"),
    }
    assert_eq!(r.blocks[1].to_string(), "block icmpv6 packet-too-big to 2001:db8::/64");
    // An interface called `block` is still an interface.
    assert_eq!(Topology::parse("r:block -- s").unwrap().nodes[0].interfaces[0].name, "block");
}

#[test]
fn block_mistakes() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("s: block", "`block` needs something to match", "s: block", "e.g."),
        ("s: block tpc/80", "unknown word `tpc/80` in a `block` statement", "tpc/80", "did you mean `tcp`?"),
        ("s: block tcp/http", "invalid port `http`", "http", "1..=65535"),
        ("s: block udp/0", "invalid port `0`", "0", "1..=65535"),
        ("s: block udp/70000", "invalid port `70000`", "70000", "1..=65535"),
        ("s: block icmp/3", "icmp has no ports", "3", "icmp frag-needed"),
        ("s: block icmp frag-neded", "unknown icmp type `frag-neded`", "frag-neded", "did you mean `frag-needed`?"),
        ("s: block icmpv6 frag-needed", "unknown icmpv6 type `frag-needed`", "frag-needed", "icmpv6 types:"),
        ("s: block tcp udp", "a `block` statement takes one protocol", "udp", "one `block` per protocol"),
        ("s: block udp from", "expected an address or subnet after `from`, found end of input", "", "e.g."),
        ("s: block udp from 10.0.0.1/33", "prefix length /33 is too long for IPv4 (at most 32)", "/33", ""),
        (
            "s: block udp from 10.0.1.2/24",
            "`10.0.1.2/24` has host bits set",
            "10.0.1.2/24",
            "write the subnet `10.0.1.0/24`",
        ),
        ("s: block udp from 10.0.0.0/8 from 10.0.0.0/8", "`from` is given twice", "from", ""),
        (
            "s: block from 10.0.0.0/8 to fd00::/8",
            "`from` and `to` are of different families (IPv4 and IPv6)",
            "fd00::/8",
            "",
        ),
        ("s: block icmp from fd00::/8", "`icmp` is IPv4's; this address is IPv6", "fd00::/8", "icmpv6"),
        ("s: block icmpv6 to 10.0.0.0/8", "`icmpv6` is IPv6's; this address is IPv4", "10.0.0.0/8", "icmp"),
        ("s: block udp reject drop", "`drop` or `reject` is given twice", "drop", ""),
        ("s: block udp rejct", "unknown word `rejct` in a `block` statement", "rejct", "did you mean `reject`?"),
        ("x: block udp", "unknown node `x`", "x", ""),
    ];
    for (src, msg, at, help) in cases {
        let (m, h, a) = err(src);
        assert_eq!((m.as_str(), a.as_str()), (*msg, *at), "{src}");
        assert!(h.contains(help), "{src}: help {h:?} lacks {help:?}");
    }
}

/// A preset's rules come where its option list is written, among the node's own rules; options
/// after it override it.
#[test]
fn preset_expands_in_place_and_later_options_override_it() {
    let t = netns_test_topology::Topology::parse(
        "lan=10.0.0.2/24 -- r:eth0=10.0.0.1/24\nr:eth1=203.0.113.1/24 -- isp\n\
         r: allow inbound on eth1 tcp/22\nr [preset=hotel, wan=eth1, nat-type=full-cone]\nr: block icmp",
    )
    .unwrap();
    let r = &t.nodes[1];
    let rules: Vec<String> = r.blocks.iter().map(|b| b.to_string()).collect();
    assert_eq!(rules, ["allow inbound on eth1 tcp/22", "allow established", "allow udp/53", "block udp", "block icmp"]);
    let nat = r.nat.as_ref().unwrap();
    assert_eq!((nat.ipv4.as_ref().unwrap().iface.as_str(), nat.kind.to_string().as_str()), ("eth1", "full-cone"));
    assert!(r.forward);
    let public = netns_test_topology::Topology::parse("a -- r; r [preset=public]").unwrap();
    assert!(public.nodes[1].forward && public.nodes[1].nat.is_none() && public.nodes[1].blocks.is_empty());
}
