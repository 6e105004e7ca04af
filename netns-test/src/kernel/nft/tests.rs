//! Encodings checked byte for byte against what `nft` itself sends (captured with strace by the
//! google/nftables project for its tests: `TestConfigureNAT`).

use super::expr::*;
use super::wire::*;

/// The `nfgenmsg` + attributes of each message of a batch (headers stripped, as in the dumps).
fn bodies(buf: &[u8]) -> Vec<Vec<u8>> {
    messages(buf).into_iter().map(|(_, _, _, body)| body.to_vec()).collect()
}

/// `nft add table ip nat; add chain nat prerouting {type nat hook prerouting priority 0;};
/// add chain nat postrouting {type nat hook postrouting priority 100;};
/// add rule nat postrouting oif wlp4s0 masquerade` (wlp4s0 was ifindex 3).
#[test]
fn nat_table_chains_and_masquerade_rule_match_nft() {
    let mut b = Batch::new();
    b.push(NFT_MSG_NEWTABLE, NFPROTO_IPV4, FLAGS_CREATE, "table", |a| {
        a.str(NFTA_TABLE_NAME, "nat").u32(NFTA_TABLE_FLAGS, 0);
    });
    for (name, hook, prio) in [("prerouting", 0, 0), ("postrouting", 4, 100)] {
        b.push(NFT_MSG_NEWCHAIN, NFPROTO_IPV4, FLAGS_CREATE, "chain", |a| {
            a.str(NFTA_CHAIN_TABLE, "nat").str(NFTA_CHAIN_NAME, name);
            a.nested(NFTA_CHAIN_HOOK, |h| {
                h.u32(NFTA_HOOK_HOOKNUM, hook).u32(NFTA_HOOK_PRIORITY, prio);
            });
            a.str(NFTA_CHAIN_TYPE, "nat");
        });
    }
    let rule = [Expr::meta(MetaKey::Oif, REG_1), Expr::eq(REG_1, &3u32.to_ne_bytes())];
    b.push(NFT_MSG_NEWRULE, NFPROTO_IPV4, FLAGS_APPEND, "rule", |a| {
        a.str(NFTA_RULE_TABLE, "nat").str(NFTA_RULE_CHAIN, "postrouting");
        a.nested(NFTA_RULE_EXPRESSIONS, |l| {
            rule.iter().for_each(|e| e.encode(l));
            // `masq` without options (netns-test itself translates with `snat to`).
            l.nested(NFTA_LIST_ELEM, |e| {
                e.str(NFTA_EXPR_NAME, "masq").nested(NFTA_EXPR_DATA, |_| {});
            });
        });
    });
    let (buf, acked) = b.finish();

    let want: [&[u8]; 6] = [
        b"\x00\x00\x00\x0a",
        b"\x02\x00\x00\x00\x08\x00\x01\x00\x6e\x61\x74\x00\x08\x00\x02\x00\x00\x00\x00\x00",
        b"\x02\x00\x00\x00\x08\x00\x01\x00\x6e\x61\x74\x00\x0f\x00\x03\x00\x70\x72\x65\x72\x6f\x75\x74\x69\x6e\x67\x00\x00\x14\x00\x04\x80\x08\x00\x01\x00\x00\x00\x00\x00\x08\x00\x02\x00\x00\x00\x00\x00\x08\x00\x07\x00\x6e\x61\x74\x00",
        b"\x02\x00\x00\x00\x08\x00\x01\x00\x6e\x61\x74\x00\x10\x00\x03\x00\x70\x6f\x73\x74\x72\x6f\x75\x74\x69\x6e\x67\x00\x14\x00\x04\x80\x08\x00\x01\x00\x00\x00\x00\x04\x08\x00\x02\x00\x00\x00\x00\x64\x08\x00\x07\x00\x6e\x61\x74\x00",
        b"\x02\x00\x00\x00\x08\x00\x01\x00\x6e\x61\x74\x00\x10\x00\x02\x00\x70\x6f\x73\x74\x72\x6f\x75\x74\x69\x6e\x67\x00\x68\x00\x04\x80\x24\x00\x01\x80\x09\x00\x01\x00\x6d\x65\x74\x61\x00\x00\x00\x00\x14\x00\x02\x80\x08\x00\x02\x00\x00\x00\x00\x05\x08\x00\x01\x00\x00\x00\x00\x01\x2c\x00\x01\x80\x08\x00\x01\x00\x63\x6d\x70\x00\x20\x00\x02\x80\x08\x00\x01\x00\x00\x00\x00\x01\x08\x00\x02\x00\x00\x00\x00\x00\x0c\x00\x03\x80\x08\x00\x01\x00\x03\x00\x00\x00\x14\x00\x01\x80\x09\x00\x01\x00\x6d\x61\x73\x71\x00\x00\x00\x00\x04\x00\x02\x80",
        b"\x00\x00\x00\x0a",
    ];
    let got = bodies(&buf);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.as_slice(), w, "message {i}");
    }
    // Every message but the batch markers asks for an ACK, with increasing sequence numbers.
    assert_eq!(acked.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let headers = messages(&buf);
    assert_eq!(headers[0].0, NFNL_MSG_BATCH_BEGIN);
    assert_eq!(headers[4].0, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE);
    assert_eq!(headers[4].1, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND);
}

/// `accept` as an immediate into the verdict register: `[ immediate reg 0 accept ]`.
#[test]
fn verdicts_are_immediates_into_the_verdict_register() {
    let mut a = Attrs::default();
    Expr::Verdict(Verdict::Accept).encode(&mut a);
    let want: &[u8] = b"\x30\x00\x01\x80\x0e\x00\x01\x00immediate\x00\x00\x00\x1c\x00\x02\x80\
        \x08\x00\x01\x00\x00\x00\x00\x00\x10\x00\x02\x80\x0c\x00\x02\x80\x08\x00\x01\x00\x00\x00\x00\x01";
    assert_eq!(a.as_bytes(), want);
}

/// Attribute lengths exclude padding; strings are NUL-terminated; nested ones carry NLA_F_NESTED.
#[test]
fn attributes_are_padded_and_nested() {
    let mut a = Attrs::default();
    a.str(1, "eth1").u8(2, 7).nested(3, |n| {
        n.u64(1, 300_000);
    });
    assert_eq!(
        a.as_bytes(),
        [
            9, 0, 1, 0, b'e', b't', b'h', b'1', 0, 0, 0, 0, // "eth1\0" + 3 bytes padding
            5, 0, 2, 0, 7, 0, 0, 0, // u8 + padding
            16, 0, 3, 0x80, 12, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0x93, 0xe0, // nested u64, big endian
        ]
    );
}

mod rulesets {
    use super::super::{rules_text, ruleset, Installed};
    use netns_test_topology::{NatType, Topology};

    /// The rules of node `r` with these extra statements.
    fn rules(extra: &str) -> Option<String> {
        let t = Topology::parse(&format!("c=10.0.0.1/24 -- r:eth0=10.0.0.2/24\nr:eth1=203.0.113.1/24 -- s\n{extra}"))
            .unwrap();
        rules_text(t.nodes[1].nat.clone().map(Installed::new).as_ref(), &t.nodes[1].blocks)
    }

    fn nat(kind: NatType, hairpin: bool) -> String {
        rules(&format!("r [nat=eth1, nat-type={kind}{}]", if hairpin { ", hairpin" } else { "" })).unwrap()
    }

    #[test]
    fn each_nat_type_installs_its_mapping_and_filter() {
        let pr = nat(NatType::PortRestricted, false);
        for p in ["udp", "tcp"] {
            assert!(
                pr.contains(&format!("iifname \"eth1\" meta l4proto {p} dnat to {p} dport map @mapped_{p}")),
                "{pr}"
            );
            assert!(
                pr.contains(&format!(
                    "oifname \"eth1\" meta l4proto {p} snat to 203.0.113.1 : ip saddr . {p} sport map @outbound_{p}"
                )),
                "{pr}"
            );
            assert!(
                pr.contains(&format!(
                    "oifname \"eth1\" meta l4proto {p} snat to 203.0.113.1 : numgen inc mod 64512 offset 1024"
                )),
                "{pr}"
            );
            assert!(
                pr.contains(&format!(
                    "map outbound_{p} {{ type ipv4_addr . inet_service : inet_service; timeout {}s }}",
                    if p == "udp" { 300 } else { 7440 }
                )),
                "{pr}"
            );
        }
        assert!(pr.contains("oifname \"eth1\" snat to 203.0.113.1\n"), "{pr}");
        assert!(pr.contains("chain mappings { type filter hook postrouting priority 200 }"), "{pr}");
        assert!(pr.contains("iifname \"eth1\" ct state established,related accept"), "{pr}");
        assert!(pr.contains("iifname \"eth1\" drop"), "{pr}");
        assert!(!pr.contains("contacted"), "{pr}");

        let ar = nat(NatType::AddressRestricted, false);
        assert!(ar.contains("oifname \"eth1\" update @contacted { ip saddr . ip daddr }"), "{ar}");
        assert!(ar.contains("iifname \"eth1\" ip daddr . ip saddr @contacted accept"), "{ar}");

        let fc = nat(NatType::FullCone, false);
        assert!(fc.contains("@mapped_udp") && !fc.contains("chain forward"), "{fc}");

        let sy = nat(NatType::Symmetric, false);
        assert!(
            sy.contains("snat to 203.0.113.1 random-fully") && !sy.contains("@mapped") && !sy.contains("numgen"),
            "{sy}"
        );
        assert!(sy.contains("iifname \"eth1\" drop"), "{sy}");
    }

    #[test]
    fn hairpin_translates_inside_packets_to_the_outside_address() {
        let h = nat(NatType::PortRestricted, true);
        assert!(h.contains("ip daddr 203.0.113.1 meta l4proto udp dnat to udp dport map @mapped_udp"), "{h}");
        assert!(h.contains("oifname != \"eth1\" meta mark 0x6e6174 meta l4proto udp snat to 203.0.113.1 : ip saddr . udp sport map @outbound_udp"), "{h}");
        assert!(h.contains("oifname != \"eth1\" meta mark 0x6e6174 snat to 203.0.113.1\n"), "{h}");
    }

    /// The rules of node `r` of a dual-stack router with these options.
    fn rules6(opts: &str) -> String {
        let t = Topology::parse(&format!(
            "c=10.0.1.2/24|fd00:1:0:1::2/64 -- r:eth0=10.0.1.1/24|fd00:1:0:1::1/64\n\
             r:eth1=203.0.113.1/24|2001:db8:ff::1/64 -- s\nr [{opts}]"
        ))
        .unwrap();
        rules_text(t.nodes[1].nat.clone().map(Installed::new).as_ref(), &[]).unwrap()
    }

    #[test]
    fn nat66_is_the_same_table_for_ipv6() {
        let r = rules6("nat=eth1, nat66=eth1, hairpin");
        assert!(r.contains("table ip netns_test_nat {") && r.contains("table ip6 netns_test_nat6 {"), "{r}");
        assert!(r.contains("map outbound_udp { type ipv6_addr . inet_service : inet_service; timeout 300s }"), "{r}");
        assert!(
            r.contains(
                "oifname \"eth1\" meta l4proto udp snat to 2001:db8:ff::1 : ip6 saddr . udp sport map @outbound_udp"
            ),
            "{r}"
        );
        assert!(r.contains("iifname != \"eth1\" ip6 daddr 2001:db8:ff::1 meta mark set 0x6e6174"), "{r}");
        assert!(r.contains("ct original ip6 saddr . ct original proto-src . ct reply proto-dst @live_udp"), "{r}");
    }

    #[test]
    fn nptv6_uses_the_kernels_npt_targets_in_a_mangle_table() {
        let r = rules6("nat=eth1, nptv6=eth1, nptv6-prefix=2001:db8:1::/48");
        assert!(r.contains("table ip6 mangle {"), "{r}");
        assert!(r.contains("iifname \"eth1\" ip6 daddr 2001:db8:1::/48 dnpt to fd00:1::/48"), "{r}");
        assert!(r.contains("oifname \"eth1\" ip6 saddr fd00:1::/48 snpt to 2001:db8:1::/48"), "{r}");
        assert!(!r.contains("netns_test_nat6"), "{r}");
        let t = Topology::parse(
            "c=fd00:1:0:1::2/64 -- r:eth0=fd00:1:0:1::1/64\nr:eth1=2001:db8:ff::1/64 -- s\n\
             r [nptv6=eth1, nptv6-prefix=2001:db8:1::/48]",
        )
        .unwrap();
        let rules = ruleset(t.nodes[1].nat.clone().map(Installed::new).as_ref(), &[]);
        let snpt = rules.tables[0].chains[1].rules[0].exprs.last().unwrap().clone();
        let mut info = vec![0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        info.extend([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        info.extend([48, 48, 0, 0, 0, 0, 0, 0]); // lengths, the kernel's adjustment, XT_ALIGN padding
        assert_eq!(snpt, crate::kernel::nft::expr::Expr::XtTarget { name: "SNPT", info });
    }

    #[test]
    fn block_rules_go_to_input_forward_and_output() {
        let text = rules("r: block tcp/80 from 10.0.0.0/24 reject").unwrap();
        let rule = "meta nfproto ipv4 ip saddr 10.0.0.0/24 meta l4proto tcp th dport 80 reject with tcp reset  \
                    # block tcp/80 from 10.0.0.0/24 reject";
        assert_eq!(text.matches(rule).count(), 3, "{text}");
        for hook in ["input", "forward", "output"] {
            assert!(text.contains(&format!("hook {hook} priority 0")), "{text}");
        }
        assert!(ruleset(None, &[]).tables.is_empty());
        let timeouts = rules("r [nat=eth1, udp-timeout=1s, tcp-timeout=2m]").unwrap();
        assert!(
            timeouts.contains("map mapped_udp { type inet_service : ipv4_addr . inet_service; timeout 1s }"),
            "{timeouts}"
        );
        assert!(
            timeouts.contains("set live_tcp { type ipv4_addr . inet_service . inet_service; timeout 120s }"),
            "{timeouts}"
        );
        assert_eq!(rules("r [forward]"), None);
    }
}

/// A refused rule names the expressions it uses and the kernel options providing them.
#[test]
fn refusals_name_the_rule_and_the_likely_missing_kernel_option() {
    let t = netns_test_topology::Topology::parse("r:eth1=203.0.113.1/24 -- s\nr [nat=eth1]").unwrap();
    let rules = super::ruleset(t.nodes[0].nat.clone().map(super::Installed::new).as_ref(), &[]);
    let (_, acked) = rules.encode();
    let (_, what) = acked.iter().find(|(_, w)| w.contains("snat to 203.0.113.1`")).unwrap();
    assert_eq!(
        what,
        "adding rule `oifname \"eth1\" snat to 203.0.113.1` to chain postrouting of table ip netns_test_nat"
    );
    let hint = super::send::hint(&rules, what, libc::ENOENT);
    assert!(hint.contains("`nat` (CONFIG_NFT_NAT)") && hint.contains("`meta` (CONFIG_NF_TABLES)"), "{hint}");
    assert!(super::send::hint(&rules, what, libc::EPERM).contains("CAP_NET_ADMIN"));
    assert_eq!(super::send::hint(&rules, what, libc::EINVAL), "");
}

/// A replacement table and its chains are created if missing, each chain flushed then given
/// its rules, in one batch: the old rules are never in force together with the new ones, and an
/// absent table is no error.
#[test]
fn firewall_replacement_flushes_each_chain_in_one_batch() {
    let t = netns_test_topology::Topology::parse("a=10.0.0.1/24 -- r:eth1=10.0.0.2/24").unwrap();
    let rules = ["allow established", "block inbound on eth1"]
        .map(|r| netns_test_topology::parse_rule(&t.nodes[1], r).unwrap());
    let set = super::Ruleset { tables: vec![super::block::replacement(&rules)], ..Default::default() };
    let (buf, _) = set.encode();
    let types: Vec<u16> = messages(&buf).iter().map(|m| m.0 & 0xff).collect();
    // begin, table, then per chain: chain, flush, its rules (2, 2, and none in output), end.
    let (t, c, f, r) = (NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_DELRULE, NFT_MSG_NEWRULE);
    assert_eq!(types[1..types.len() - 1], [t, c, f, r, r, c, f, r, r, c, f, r], "no inbound rule in output");
    let text = set.render();
    assert!(text.contains("iifname \"eth1\" ct state != established,related drop  # block inbound on eth1"), "{text}");
    assert!(text.contains("ct state established,related accept  # allow established"), "{text}");
    // No rules: every chain flushed, nothing filtered.
    let empty = super::Ruleset { tables: vec![super::block::replacement(&[])], ..Default::default() };
    let types: Vec<u16> = messages(&empty.encode().0).iter().map(|m| m.0 & 0xff).collect();
    assert_eq!(types[1..types.len() - 1], [t, c, f, c, f, c, f]);
}
