//! `expect` statements: parsing, resolution and the pointed errors.

use netns_test_topology::{Probe, Target, Topology};

const BASE: &str = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64\nbridge br0=10.9.0.254/24 { c=10.9.0.1/24 }\n";

fn parse(expects: &str) -> Result<Topology, String> {
    let src = format!("{BASE}{expects}");
    Topology::parse(&src).map_err(|e| e.render(&src))
}

#[test]
fn every_form_parses() {
    let t = parse("expect a -> b\nexpect a -/-> c; expect b -> a tcp/80 # web\nexpect a -> fd00::2 udp/53\nexpect c -> 10.9.0.254").unwrap();
    let e = &t.expects;
    assert_eq!(e.len(), 5);
    assert_eq!(
        (e[0].from, e[0].to.clone(), e[0].probe, e[0].reachable, e[0].line),
        (0, Target::Node(1), Probe::Icmp, true, 3)
    );
    assert_eq!((e[1].to.clone(), e[1].reachable, e[1].line), (Target::Node(2), false, 4));
    assert_eq!((e[2].from, e[2].probe, e[2].line), (1, Probe::Tcp(80), 4));
    assert_eq!((e[3].to.clone(), e[3].probe), (Target::Addr("fd00::2".parse().unwrap()), Probe::Udp(53)));
    assert_eq!(e[4].to, Target::Addr("10.9.0.254".parse().unwrap()));
    let written: Vec<_> = e.iter().map(|x| x.describe(&t)).collect();
    assert_eq!(written, ["a -> b", "a -/-> c", "b -> a tcp/80", "a -> fd00::2 udp/53", "c -> 10.9.0.254"]);
}

#[test]
fn a_node_called_expect_still_links() {
    let t = Topology::parse("expect -- b").unwrap();
    assert_eq!(t.nodes[0].name, "expect");
    assert!(t.expects.is_empty());
}

#[test]
fn mistakes_are_pointed_at() {
    let cases = [
        ("expect a => b", "3:10: expected `->` or `-/->`, found `=>`"),
        ("expect a -> z", "3:13: unknown node `z`"),
        ("expect y -> b", "3:8: unknown node `y`"),
        ("expect a -> 10.0.0.9", "3:13: no node or bridge of this topology has the address 10.0.0.9"),
        ("expect a -> 10.0.0.2/24", "3:13: `10.0.0.2/24`: write a single address, without a prefix length"),
        ("expect a -> b tcp/0", "3:15: `0` is not a port (1..65535)"),
        ("expect a -> b tcp/99999", "3:15: `99999` is not a port (1..65535)"),
        ("expect a -> b sctp/9", "3:15: expected `tcp/PORT` or `udp/PORT`, found `sctp/9`"),
        ("expect a -> b tcp/80 now", "3:22: unexpected text after the expectation"),
        ("expect a ->", "3:12: expected a node or an address"),
        ("expect a -> 10.9.0.254 tcp/80", "3:13: 10.9.0.254 is a bridge's address: tcp/80 needs a node to listen in"),
    ];
    for (line, want) in cases {
        let err = parse(line).expect_err(line);
        assert!(err.contains(want), "{line}: want {want:?}, got:\n{err}");
    }
}

#[test]
fn unknown_nodes_are_not_reported_over_a_syntax_error() {
    // `d` may be the node the broken link would have declared.
    let err = Topology::parse("a=10.0.0.1/24 -- d=10.0.0.300/24\nexpect a -> d").unwrap_err();
    assert_eq!(err.0.len(), 1, "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Whatever follows `expect`, parsing reports errors with spans inside the text, never panics.
    #[test]
    fn any_expect_line_parses_or_errs_within_the_text(rest in r"[ab12:./\-> \t#;tcpud0-9é\u{200b}/]{0,40}") {
        let src = format!("{BASE}expect {rest}");
        if let Err(errs) = Topology::parse(&src) {
            for e in &errs.0 {
                proptest::prop_assert!(e.span.end <= src.len() && e.span.start <= e.span.end, "{e:?} in {src:?}");
                let _ = e.render(&src);
            }
        }
    }
}
