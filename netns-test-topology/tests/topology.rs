//! Accepted topologies and their models, rejected ones and their errors.

use netns_test_topology::{Errors, IfaceRef, Peer, Topology};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn ok(src: &str) -> Topology {
    match Topology::parse(src) {
        Ok(t) => t,
        Err(e) => panic!("{src:?} should parse:\n{}", e.render(src)),
    }
}

fn errs(src: &str) -> Errors {
    match Topology::parse(src) {
        Ok(t) => panic!("{src:?} should fail, got {t:#?}"),
        Err(e) => e,
    }
}

/// Exactly one error, whose message contains `msg` and whose span covers `text`.
#[track_caller]
fn err1(src: &str, msg: &str, text: &str) -> netns_test_topology::Error {
    let e = errs(src);
    assert_eq!(e.0.len(), 1, "{src:?}: expected one error, got:\n{}", e.render(src));
    check(src, &e.0[0], msg, text);
    e.0[0].clone()
}

#[track_caller]
fn check(src: &str, e: &netns_test_topology::Error, msg: &str, text: &str) {
    assert!(e.message.contains(msg), "{src:?}: message {:?} lacks {msg:?}", e.message);
    assert_eq!(&src[e.span.clone()], text, "{src:?}: wrong span for {:?}", e.message);
}

fn names(t: &Topology, node: usize) -> Vec<&str> {
    t.nodes[node].interfaces.iter().map(|i| i.name.as_str()).collect()
}

fn routes(t: &Topology, node: usize) -> Vec<(Option<ipnet::IpNet>, IpAddr)> {
    t.nodes[node].routes.iter().map(|r| (r.dest, r.via)).collect()
}

fn addrs(t: &Topology, node: usize, iface: usize) -> Vec<String> {
    t.nodes[node].interfaces[iface].addrs.iter().map(|a| a.to_string()).collect()
}

// ---------------------------------------------------------------- accepted

#[test]
fn link_with_names() {
    let t = ok("ns1:veth-test1=192.168.1.1/24 -- ns2:veth-test2=192.168.1.2/24");
    assert_eq!(t.nodes.len(), 2);
    assert_eq!(t.nodes[0].name, "ns1");
    assert_eq!(t.nodes[1].name, "ns2");
    assert_eq!(names(&t, 0), ["veth-test1"]);
    assert_eq!(names(&t, 1), ["veth-test2"]);
    assert_eq!(addrs(&t, 0, 0), ["192.168.1.1/24"]);
    assert_eq!(addrs(&t, 1, 0), ["192.168.1.2/24"]);
    assert_eq!(t.links.len(), 1);
    assert_eq!(t.links[0].a, IfaceRef { node: 0, iface: 0 });
    assert_eq!(t.links[0].b, IfaceRef { node: 1, iface: 0 });
    assert_eq!(t.links[0].mtu, None);
    assert_eq!(t.nodes[0].interfaces[0].peer, Peer::Link { link: 0, peer: IfaceRef { node: 1, iface: 0 } });
    assert_eq!(t.nodes[1].interfaces[0].peer, Peer::Link { link: 0, peer: IfaceRef { node: 0, iface: 0 } });
    assert!(t.bridges.is_empty());
}

#[test]
fn bridge_with_names() {
    let t = ok(
        "bridge ahao-bridge { ns1:veth-ns1=192.168.1.1/24, ns2:veth-ns2=192.168.1.2/24, ns3:veth-ns3=192.168.1.3/24 }",
    );
    assert_eq!(t.bridges.len(), 1);
    let b = &t.bridges[0];
    assert_eq!(b.name, "ahao-bridge");
    assert!(b.addrs.is_empty());
    assert_eq!(b.ports, ["b0p0", "b0p1", "b0p2"]);
    assert_eq!(b.members, [0, 1, 2].map(|node| IfaceRef { node, iface: 0 }));
    for (i, n) in t.nodes.iter().enumerate() {
        assert_eq!(n.name, format!("ns{}", i + 1));
        assert_eq!(n.interfaces.len(), 1);
        assert_eq!(n.interfaces[0].name, format!("veth-ns{}", i + 1));
        assert_eq!(n.interfaces[0].peer, Peer::Bridge(0));
        assert_eq!(addrs(&t, i, 0), [format!("192.168.1.{}/24", i + 1)]);
    }
    assert!(t.links.is_empty());
}

#[test]
fn bridge_default_names() {
    let one = ok("bridge br0 { ns1=192.168.1.1/24, ns2=192.168.1.2/24, ns3=192.168.1.3/24 }");
    assert_eq!(one.bridges[0].name, "br0");
    for (i, n) in one.nodes.iter().enumerate() {
        assert_eq!(n.interfaces[0].name, "eth0");
        assert_eq!(addrs(&one, i, 0), [format!("192.168.1.{}/24", i + 1)]);
    }
    let lines = ok("\n    bridge br0 { ns1=192.168.1.1/24, ns2=192.168.1.2/24, ns3=192.168.1.3/24 }\n");
    assert_eq!(one, lines);
    let spread = ok("\n    bridge br0 {\n        ns1=192.168.1.1/24,   # first\n        ns2=192.168.1.2/24,\n\n        ns3=192.168.1.3/24,\n    }\n");
    assert_eq!(one, spread);
}

#[test]
fn default_interface_names() {
    let t = ok("a=10.0.0.1/24 -- b=10.0.0.2/24");
    assert_eq!(names(&t, 0), ["eth0"]);
    assert_eq!(names(&t, 1), ["eth0"]);
    assert_eq!(addrs(&t, 0, 0), ["10.0.0.1/24"]);
    assert_eq!(addrs(&t, 1, 0), ["10.0.0.2/24"]);
}

#[test]
fn dual_stack() {
    let t = ok("a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64");
    assert_eq!(addrs(&t, 0, 0), ["10.0.0.1/24", "fd00::1/64"]);
    assert_eq!(addrs(&t, 1, 0), ["10.0.0.2/24", "fd00::2/64"]);
    // Whitespace around `=` and `|` is free.
    assert_eq!(t, ok("a = 10.0.0.1/24 | fd00::1/64 -- b =10.0.0.2/24 |fd00::2/64"));
}

#[test]
fn router() {
    let t = ok("h1=10.1.0.2/24 -- r:eth0=10.1.0.1/24; r:eth1=10.2.0.1/24 -- h2=10.2.0.2/24; r [forward]; h1: default via 10.1.0.1; h2: default via 10.2.0.1");
    let n: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(n, ["h1", "r", "h2"]);
    assert_eq!(names(&t, 1), ["eth0", "eth1"]);
    assert!(t.nodes[1].forward);
    assert!(!t.nodes[0].forward);
    assert_eq!(routes(&t, 0), [(None, "10.1.0.1".parse().unwrap())]);
    assert_eq!(routes(&t, 2), [(None, "10.2.0.1".parse().unwrap())]);
    assert_eq!(t.links.len(), 2);
    assert_eq!(t.links[1].a, IfaceRef { node: 1, iface: 1 });
    assert_eq!(t.links[1].b, IfaceRef { node: 2, iface: 0 });
    // The same on separate lines, options and routes first, with comments.
    let u = ok("# a router\nr [forward]\nh1: default via 10.1.0.1\nh2 :default via 10.2.0.1 # gw\nh1=10.1.0.2/24 -- r:eth0=10.1.0.1/24\nr:eth1=10.2.0.1/24 -- h2=10.2.0.2/24\n");
    assert_eq!(u.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["h1", "r", "h2"]);
    assert_eq!(t, u);
}

#[test]
fn route_to_subnet() {
    let t = ok("h1=10.1.0.2/24|fd01::2/64 -- r=10.1.0.1/24|fd01::1/64; h1: 10.2.0.0/24 via 10.1.0.1; h1: fd02::/64 via fd01::1; h1:default via fd01::1");
    let r = &t.nodes[0].routes;
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].dest, Some("10.2.0.0/24".parse().unwrap()));
    assert_eq!(r[1].dest, Some("fd02::/64".parse().unwrap()));
    assert_eq!((r[2].dest, r[2].via), (None, "fd01::1".parse().unwrap()));
}

#[test]
fn bridge_with_address() {
    let t = ok("bridge br0=10.0.0.254/24 { a=10.0.0.1/24, b=10.0.0.2/24 }");
    assert_eq!(t.bridges[0].addrs, ["10.0.0.254/24".parse().unwrap()]);
    assert_eq!(t.bridges[0].members.len(), 2);
    assert_eq!(t.all_addrs().len(), 3);
}

#[test]
fn no_addresses() {
    let t = ok("a -- b");
    assert!(t.nodes.iter().all(|n| n.interfaces.len() == 1 && n.interfaces[0].addrs.is_empty()));
    assert_eq!(ok("a--b"), t);
    assert_eq!(ok("a:x -- b").nodes[0].interfaces[0].name, "x");
    assert_eq!(ok("r: eth1 = 10.0.0.1/24 -- b").nodes[0].interfaces[0].name, "eth1");
    assert_eq!(ok("bridge br0 { a, b }").nodes.len(), 2);
}

#[test]
fn no_spaces_around_dashes() {
    let t = ok("a=10.0.0.1/24--b=10.0.0.2/24");
    assert_eq!(t, ok("a=10.0.0.1/24 -- b=10.0.0.2/24"));
    assert_eq!(ok("a:e-1--b:e-2").nodes[1].interfaces[0].name, "e-2");
}

#[test]
fn default_names_skip_explicit_ones() {
    let t = ok("r -- a; r:eth0 -- b; r -- c; r:eth2 -- d; r -- e");
    assert_eq!(names(&t, 0), ["eth1", "eth0", "eth3", "eth2", "eth4"]);
}

#[test]
fn mtu() {
    let t = ok("a -- b [mtu=1400]; bridge br0 { a, c } [ mtu = 9000 ]");
    assert_eq!(t.links[0].mtu, Some(1400));
    assert_eq!(t.nodes[0].interfaces[0].mtu, Some(1400));
    assert_eq!(t.bridges[0].mtu, Some(9000));
    assert_eq!(t.nodes[0].interfaces[1].mtu, Some(9000));
    assert_eq!(t.nodes[2].interfaces[0].mtu, Some(9000));
}

#[test]
fn bridge_indices_and_ports() {
    let t = ok("bridge br0 { a, b }\nbridge br1 { a, c, d }");
    assert_eq!(t.bridges[1].ports, ["b1p0", "b1p1", "b1p2"]);
    assert_eq!(t.nodes[0].interfaces[1].peer, Peer::Bridge(1));
    assert_eq!(t.nodes[0].interfaces[1].name, "eth1");
    assert_eq!(t.bridges[1].members[0], IfaceRef { node: 0, iface: 1 });
}

#[test]
fn separators_and_comments() {
    let t = ok(";;\n  a -- b ;; # comment ; not a statement\n\n\tc -- d;");
    assert_eq!(t.links.len(), 2);
    ok("a -- b\r\nc -- d\r\n");
}

// ---------------------------------------------------------------- syntax errors

#[test]
fn unknown_keyword() {
    let e = err1("brige br0 { a, b }", "unknown keyword `brige`", "brige");
    assert_eq!(e.help.as_deref(), Some("did you mean `bridge`?"));
    let e = err1("a -- b\nfoo bar", "unknown keyword `foo`", "foo");
    assert!(!e.help.unwrap().contains("did you mean"));
}

#[test]
fn keywords_ignore_case_in_suggestions() {
    for kw in ["BRIDGE", "Bridge", "BRIDG", "bRiDgE"] {
        let e = err1(&format!("{kw} br0 {{ a, b }}"), &format!("unknown keyword `{kw}`"), kw);
        assert_eq!(e.help.as_deref(), Some("did you mean `bridge`?"), "{kw}");
    }
    let e = err1("a -- r; r [FORWARD]", "unknown option `FORWARD`", "FORWARD");
    assert_eq!(e.help.as_deref(), Some("did you mean `forward`?"));
    let e = err1("a -- b [MTU=1400]", "unknown option `MTU`", "MTU");
    assert_eq!(e.help.as_deref(), Some("did you mean `mtu`?"));
    let e = err1("a=10.0.0.2/24 -- r; a: default VIA 10.0.0.1", "expected `via`, found `VIA`", "VIA");
    assert_eq!(e.help.as_deref(), Some("did you mean `via`?"));
    let e = err1("a=10.0.0.2/24 -- r; a: DEFAULT via 10.0.0.1", "invalid IP address `DEFAULT`", "DEFAULT");
    assert_eq!(e.help.as_deref(), Some("did you mean `default`?"));
    let e = err1("h1 -- h2; H1 [forward]", "unknown node `H1`", "H1");
    assert_eq!(e.help.as_deref(), Some("did you mean `h1`? known nodes: `h1`, `h2`"));
}

#[test]
fn unknown_options() {
    let e = err1("a -- r; r [foward]", "unknown option `foward`", "foward");
    assert_eq!(e.help.as_deref(), Some("did you mean `forward`?"));
    let e = err1("a -- b [mut=1400]", "unknown option `mut`", "mut");
    assert_eq!(e.help.as_deref(), Some("did you mean `mtu`?"));
    let e = err1("a -- r; r [frowrad]", "unknown option `frowrad`", "frowrad");
    assert_eq!(e.help.as_deref(), Some("did you mean `forward`?"));
    let e = err1("a -- b [xyz=1]", "unknown option `xyz`", "xyz");
    assert_eq!(
        e.help.as_deref(),
        Some(
            "link options: `mtu=N`, `rate=10mbit`, `delay=20ms`, `jitter=5ms`, `loss=1%`, `duplicate=1%`, `reorder=5%`"
        )
    );
    err1("a -- b [forward]", "unknown option `forward`", "forward");
    err1("a -- b; a [mtu=1400]", "unknown option `mtu`", "mtu");
}

#[test]
fn option_values() {
    err1("a -- b [mtu=abc]", "invalid mtu `abc`", "abc");
    err1("a -- b [mtu=+1400]", "invalid mtu `+1400`", "+1400");
    err1("a -- b [mtu=67]", "mtu 67 is out of range", "67");
    err1("a -- b [mtu=65536]", "mtu 65536 is out of range", "65536");
    err1("a -- b [mtu=99999999999]", "mtu 99999999999 is out of range", "99999999999");
    err1("a -- b [mtu]", "option `mtu` needs a value", "mtu");
    err1("a -- b [mtu=]", "option `mtu` needs a value", "mtu");
    err1("a -- b; a [forward=1]", "option `forward` takes no value", "forward=1");
    err1("a -- b [mtu=1400, mtu=1500]", "duplicate option `mtu`", "mtu");
    let src = "a -- b; a [forward, forward]";
    let e = err1(src, "duplicate option `forward`", "forward");
    assert_eq!(e.span.start, src.rfind("forward").unwrap());
    err1("a -- b []", "empty option list", "[]");
    err1("a -- b [mtu=1400 x]", "expected `,` or `]`, found `x`", "x");
}

#[test]
fn malformed_addresses() {
    let e = err1("a=10.0.0.1 -- b=10.0.0.2/24", "missing prefix length in `10.0.0.1`", "10.0.0.1");
    assert_eq!(e.help.as_deref(), Some("write e.g. `10.0.0.1/24`"));
    err1("a=fd00::1 -- b", "missing prefix length", "fd00::1");
    err1("a=10.0.0.300/24 -- b", "invalid IP address `10.0.0.300`", "10.0.0.300");
    err1("a=10.0.0.1/33 -- b", "prefix length /33 is too long for IPv4 (at most 32)", "/33");
    err1("a=fd00::1/129 -- b", "prefix length /129 is too long for IPv6 (at most 128)", "/129");
    err1("a=10.0.0.1/x -- b", "invalid prefix length `/x`", "/x");
    err1("a=10.0.0.1/ -- b", "invalid prefix length `/`", "/");
    err1("a=hello -- b", "invalid IP address `hello`", "hello");
    err1("a=10.0.0.1/24| -- b", "expected an address after `|`", "|");
    err1("a= -- b", "expected an address after `=`", "=");
    // Each bad address of a list is reported.
    let src = "a=1.2.3.4|fd00::1/64|x/3 -- b";
    let e = errs(src);
    assert_eq!(e.0.len(), 2);
    check(src, &e.0[0], "missing prefix length", "1.2.3.4");
    check(src, &e.0[1], "invalid IP address `x`", "x");
}

#[test]
fn bad_interface_names() {
    err1(
        "a:averyveryverylongname -- b",
        "interface name `averyveryverylongname` is 21 bytes; Linux allows at most 15",
        "averyveryverylongname",
    );
    ok("a:exactly15bytes -- b");
    err1("a:eth0:1 -- b", "invalid character `:` in interface name `eth0:1`", ":");
    err1("a:eth/0 -- b", "invalid character `/` in interface name", "/");
    err1("a:ethä -- b", "invalid character `ä` in interface name `ethä`", "ä");
    err1("a:. -- b", "interface name `.` is not allowed", ".");
    err1("a:.. -- b", "interface name `..` is not allowed", "..");
    err1("a:lo -- b", "interface name `lo` is reserved", "lo");
    err1("a: -- b", "expected an interface name after `:`", ":");
    err1(
        "bridge averyveryverylongbridge { a, b }",
        "bridge name `averyveryverylongbridge` is 23 bytes",
        "averyveryverylongbridge",
    );
    err1("bridge br:0 { a, b }", "invalid character `:` in bridge name", ":");
    err1("bridge lo { a, b }", "bridge name `lo` is reserved", "lo");
}

#[test]
fn bad_node_names() {
    err1("ä=10.0.0.1/24 -- b", "invalid character `ä` in node name `ä`", "ä");
    err1("a -- 1b", "node name `1b` must start with a letter or `_`", "1b");
    err1("a- -- b", "node name `a-` must not end with `-`", "a-");
    err1("a.b -- c", "invalid character `.` in node name `a.b`", ".");
    err1("a -- bridge", "`bridge` is a keyword, not a node name", "bridge");
    err1("a\0 -- b", "invalid character `\\u{0}` in node name", "\0");
    err1("\u{feff}a -- b", "invalid character `\\u{feff}` in node name", "\u{feff}");
}

#[test]
fn unbalanced() {
    let e = err1("bridge br0 { a, b", "unclosed `{`", "{");
    assert!(e.help.is_some());
    err1("a -- b }", "unmatched `}`", "}");
    err1("a -- b\n}", "unmatched `}`", "}");
    err1("bridge br0 { a, b }}", "unmatched `}`", "}");
    err1("a -- b [mtu=1400", "unclosed `[`", "[");
    err1("a -- b; r [forward", "unclosed `[`", "[");
    err1("a -- b ]", "unmatched `]`", "]");
    err1("{ a, b }", "unexpected `{`", "{");
    // An unclosed bridge does not swallow the next lines.
    let src = "bridge br0 { a, b\nc -- d\nc:lo -- e";
    let e = errs(src);
    assert_eq!(e.0.len(), 2, "{}", e.render(src));
    check(src, &e.0[0], "unclosed `{`", "{");
    check(src, &e.0[1], "interface name `lo` is reserved", "lo");
}

#[test]
fn dangling_dashes() {
    err1("a=10.0.0.1/24 --", "expected an endpoint after `--`", "--");
    err1("a=10.0.0.1/24 -- # nothing", "expected an endpoint after `--`", "--");
    err1("-- b", "missing endpoint before `--`", "--");
    err1("a=10.0.0.1/24", "expected `--` and a second endpoint after `a=10.0.0.1/24`", "a=10.0.0.1/24");
    err1("a", "expected `--` and a second endpoint after `a`", "a");
    err1("a -- b -- c", "unexpected `--`", "--");
    err1("a -- =10.0.0.1/24", "expected a node name, found `=`", "=");
}

#[test]
fn bridge_errors() {
    err1("bridge br0 { }", "bridge `br0` has no members", "{ }");
    err1("bridge br0 {\n}", "bridge `br0` has no members", "{\n}");
    err1("bridge", "expected a bridge name after `bridge`", "bridge");
    err1("bridge { a, b }", "expected a bridge name, found `{`", "{");
    err1("bridge br0 a, b", "expected `{`, found `a`", "a");
    err1("bridge br0 { a b }", "expected `,` or `}`, found `b`", "b");
    err1("bridge br0 { a, , b }", "expected a node name, found `,`", ",");
    err1("bridge br0 { a -- b }", "expected `,` or `}`, found `--`", "--");
    // Several bad members in one bridge are all reported.
    let src = "bridge br0 { a=1.2.3.4, b:lo, c }";
    let e = errs(src);
    assert_eq!(e.0.len(), 2, "{}", e.render(src));
    check(src, &e.0[0], "missing prefix length", "1.2.3.4");
    check(src, &e.0[1], "reserved", "lo");
}

#[test]
fn route_syntax() {
    let e = err1("a -- h1; h1: default 10.0.0.1", "expected `via`, found `10.0.0.1`", "10.0.0.1");
    assert!(e.help.is_some());
    err1("a -- h1; h1: default", "route is missing `via GATEWAY`", "default");
    err1("a -- h1; h1: 10.2.0.0/24", "route is missing `via GATEWAY`", "10.2.0.0/24");
    err1("a -- h1; h1: default via", "expected a gateway address after `via`", "via");
    err1("a -- h1; h1: default via 10.0.0.1/24", "gateway `10.0.0.1/24` must be a plain address", "10.0.0.1/24");
    err1("a -- h1; h1: default via 10.0.0.x", "invalid IP address `10.0.0.x`", "10.0.0.x");
    err1("a -- h1; h1: 10.2.0.0 via 10.0.0.1", "missing prefix length in `10.2.0.0`", "10.2.0.0");
    let e = err1(
        "a -- h1; h1: 10.2.0.1/24 via 10.0.0.1",
        "route destination `10.2.0.1/24` has host bits set",
        "10.2.0.1/24",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `10.2.0.0/24`?"));
    err1("a -- h1; h1: via 10.0.0.1", "route is missing a destination", "h1: via");
    let e = err1("a -- h1; h1 default via 10.0.0.1", "unknown keyword `h1`", "h1");
    assert!(e.help.unwrap().contains("route"));
}

#[test]
fn empty_topology() {
    for src in ["", "   ", "\n\n", "# just a comment\n  # another", ";;;"] {
        let e = err1(src, "empty topology", src);
        assert_eq!(e.span, 0..src.len());
    }
}

#[test]
fn two_bad_statements_two_errors() {
    let src = "a=10.0.0.1/33 -- b\nr [foward]\nbrige br0 { c, d }\nc -- d";
    let e = errs(src);
    assert_eq!(e.0.len(), 3, "{}", e.render(src));
    check(src, &e.0[0], "prefix length /33", "/33");
    check(src, &e.0[1], "unknown option `foward`", "foward");
    check(src, &e.0[2], "unknown keyword `brige`", "brige");
    let src = "a -- ; b -- c -- d";
    let e = errs(src);
    assert_eq!(e.0.len(), 2);
    check(src, &e.0[0], "expected an endpoint after `--`", "--");
    check(src, &e.0[1], "unexpected `--`", "--");
}

#[test]
fn syntax_errors_do_not_hide_semantic_ones() {
    // `a -- a` is a self-link, reported along with the bad mtu of the next statement.
    let src = "a -- a; b -- c [mtu=1]";
    let e = errs(src);
    assert_eq!(e.0.len(), 2, "{}", e.render(src));
    check(src, &e.0[0], "link from node `a` to itself", "a");
    check(src, &e.0[1], "mtu 1 is out of range", "1");
}

#[test]
fn syntax_and_semantic_errors_together() {
    let src = "a=10.0.0.1/24 -- b=10.0.0.1/24 [mut=1400]\nc=10.0.0.3/33 -- c\nh1: default via 10.9.0.1\nx [forward]";
    let e = errs(src);
    assert_eq!(e.0.len(), 4, "{}", e.render(src));
    check(src, &e.0[0], "address `10.0.0.1` is used twice (first at 1:3)", "10.0.0.1/24");
    assert_eq!(e.0[0].span.start, 19);
    check(src, &e.0[1], "unknown option `mut`", "mut");
    check(src, &e.0[2], "prefix length /33", "/33");
    check(src, &e.0[3], "link from node `c` to itself", "c");
    // `h1` and `x` are unknown nodes, and the gateway is unreachable, but with syntax errors
    // around those are left out: the failed part may be what declares them.
}

#[test]
fn syntax_errors_drop_knock_on_errors() {
    // Without the syntax error: an unknown node and an unreachable gateway.
    let good = "a -- b=10.0.0.2/24\nb: default via 10.9.0.1\nc [forward]";
    let e = errs(good);
    assert_eq!(e.0.len(), 2, "{}", e.render(good));
    check(good, &e.0[0], "gateway `10.9.0.1` is not reachable from node `b`", "10.9.0.1");
    check(good, &e.0[1], "unknown node `c`", "c");
    // The statement that failed declares `c`, and `b`'s address in the subnet of the gateway.
    let src = "a -- b=10.0.0.2/24\nc -- b=10.9.0.2/33\nb: default via 10.9.0.1\nc [forward]";
    err1(src, "prefix length /33", "/33");
    let src = "a -- b=10.0.0.2/24\nc -- \nb: default via 10.9.0.1\nc [forward]";
    err1(src, "expected an endpoint after `--`", "--");
    // Duplicates are reported whatever else is wrong.
    let src = "r:eth0=10.0.0.1/24 -- a\nr:eth0 -- b [mtu=1]\nbridge br0 { c, c }\nbridge br0 { d, e=10.0.0.1/24 }";
    let e = errs(src);
    assert_eq!(e.0.len(), 5, "{}", e.render(src));
    check(src, &e.0[0], "interface `eth0` is defined twice", "eth0");
    check(src, &e.0[1], "mtu 1 is out of range", "1");
    check(src, &e.0[2], "node `c` is in bridge `br0` twice", "c");
    check(src, &e.0[3], "bridge `br0` is defined twice", "br0");
    check(src, &e.0[4], "address `10.0.0.1` is used twice", "10.0.0.1/24");
}

#[test]
fn statement_with_trailing_text_is_still_validated() {
    // `a -- b` is complete before the extra `-- c`; its addresses count.
    let src = "a=10.0.0.1/24 -- b -- c\nd=10.0.0.1/24 -- e";
    let e = errs(src);
    assert_eq!(e.0.len(), 2, "{}", e.render(src));
    check(src, &e.0[0], "unexpected `--`", "--");
    check(src, &e.0[1], "address `10.0.0.1` is used twice", "10.0.0.1/24");
}

#[test]
fn malformed_route_parts_cause_no_more_errors() {
    // The bad gateway is not taken for an IPv4 one of the wrong family.
    err1("h1=fd00::2/64 -- r; h1: fd02::/64 via 10.0.0.x", "invalid IP address `10.0.0.x`", "10.0.0.x");
    err1("h1=fd00::2/64 -- r; h1: fd02::/64 via fd00::1/64", "must be a plain address", "fd00::1/64");
    // A destination with host bits is not taken for a second default route.
    err1(
        "h1=10.1.0.2/24 -- r; h1: default via 10.1.0.1; h1: 10.2.0.1/24 via 10.1.0.1",
        "has host bits set",
        "10.2.0.1/24",
    );
    // ... but counts as what was meant.
    let src = "h1=10.1.0.2/24 -- r; h1: 10.2.0.0/24 via 10.1.0.1; h1: 10.2.0.1/24 via 10.1.0.3";
    let e = errs(src);
    assert_eq!(e.0.len(), 2, "{}", e.render(src));
    check(src, &e.0[1], "route to `10.2.0.0/24` is defined twice", "10.2.0.1/24");
    err1("h1=10.1.0.2/24 -- r; h1: 10.2.0.0 via 10.1.0.1", "missing prefix length", "10.2.0.0");
}

// ---------------------------------------------------------------- semantic errors

#[test]
fn duplicate_interface_name() {
    let src = "r:eth0 -- a\nr:eth0 -- b";
    let e = err1(src, "interface `eth0` is defined twice in node `r` (first at 1:3)", "eth0");
    assert_eq!(e.span.start, src.rfind("eth0").unwrap());
}

#[test]
fn duplicate_address() {
    let src = "a=10.0.0.1/24 -- b=10.0.0.1/24";
    let e = err1(src, "address `10.0.0.1` is used twice (first at 1:3)", "10.0.0.1/24");
    assert_eq!(e.span.start, 19);
    err1("bridge br0=10.0.0.1/24 { a=10.0.0.1/16, b }", "address `10.0.0.1` is used twice", "10.0.0.1/16");
    err1("a=fd00::1/64 -- b=fd00:0::1/64", "address `fd00::1` is used twice", "fd00:0::1/64");
}

#[test]
fn duplicate_bridge() {
    let src = "bridge br0 { a, b }\nbridge br0 { c, d }";
    let e = err1(src, "bridge `br0` is defined twice (first at 1:8)", "br0");
    assert_eq!(e.span.start, src.rfind("br0").unwrap());
}

/// `n` members on one bridge, one per line: `bridge br1 {\n  n0=10.1.0.1/16,\n …}`.
fn lan(name: &str, n: usize) -> String {
    let members: Vec<String> = (0..n).map(|i| format!("  n{i}=10.1.{}.{}/16", i / 250, i % 250 + 1)).collect();
    format!("a -- b\nbridge {name} {{\n{}\n}}", members.join(",\n"))
}

#[test]
fn a_bridge_takes_at_most_1023_members() {
    // The kernel's BR_MAX_PORTS is 1024 and port number 0 is reserved.
    let t = ok(&lan("br1", 1023));
    assert_eq!(t.bridges[0].members.len(), 1023);
    let src = lan("br1", 1024);
    let e = err1(&src, "bridge `br1` has 1024 members, but a Linux bridge takes at most 1,023 ports", "br1");
    assert!(e.render(&src).starts_with("2:8: "), "{}", e.render(&src));
    let help = e.help.unwrap();
    assert!(help.contains("split") && help.contains("several bridges") && help.contains("fewer members"), "{help}");
    // Each bridge on its own: two of 1,000 are fine; of a small and a big one, the big one is reported.
    let pair: Vec<String> =
        (0..2000).map(|i| format!("m{i}=10.{}.{}.{}/16", 2 + i / 1000, i % 1000 / 250, i % 250 + 1)).collect();
    ok(&format!("bridge x {{ {} }}\nbridge y {{ {} }}", pair[..1000].join(", "), pair[1000..].join(", ")));
    let src = format!("bridge x {{ {} }}\n{}", pair[..10].join(", "), lan("y", 1500));
    err1(&src, "bridge `y` has 1500 members", "y");
}

#[test]
fn bridge_name_reserved_for_ports() {
    let e = err1("bridge b0p1 { a, b }", "bridge name `b0p1` is reserved for bridge ports", "b0p1");
    assert!(e.help.unwrap().contains("pick another name"));
    err1("bridge br0 { a, b }; bridge b12p345 { a, b }", "bridge name `b12p345` is reserved", "b12p345");
    for name in ["b0p", "bp0", "b0p1x", "xb0p1", "br0p1", "B0P1", "b0q1", "b-1p1"] {
        let t = ok(&format!("bridge {name} {{ a, b }}"));
        assert_eq!(t.bridges[0].name, name);
    }
}

#[test]
fn addresses_must_be_unicast_hosts() {
    for (addr, msg) in [
        ("0.0.0.0/24", "`0.0.0.0` is the unspecified address; an interface needs a unicast address"),
        ("::/64", "`::` is the unspecified address"),
        ("224.0.0.1/24", "`224.0.0.1` is a multicast address; an interface needs a unicast address"),
        ("239.255.255.250/8", "is a multicast address"),
        ("ff02::1/64", "`ff02::1` is a multicast address"),
        ("127.0.0.1/8", "`127.0.0.1` is a loopback address"),
        ("127.1.2.3/32", "is a loopback address"),
        ("::1/128", "`::1` is a loopback address"),
        ("255.255.255.255/32", "`255.255.255.255` is the broadcast address"),
        ("10.0.0.255/24", "`10.0.0.255` is the broadcast address of `10.0.0.0/24`"),
        ("10.0.1.255/23", "`10.0.1.255` is the broadcast address of `10.0.0.0/23`"),
        ("10.0.0.3/30", "`10.0.0.3` is the broadcast address of `10.0.0.0/30`"),
        ("10.0.0.0/24", "`10.0.0.0` is the network address of `10.0.0.0/24`"),
        ("10.0.0.4/30", "`10.0.0.4` is the network address of `10.0.0.4/30`"),
    ] {
        let src = format!("a=10.9.0.1/24|{addr} -- b");
        let e = err1(&src, msg, addr);
        assert!(e.help.is_some());
    }
    let e = err1("a=10.0.0.255/24 -- b", "broadcast", "10.0.0.255/24");
    assert_eq!(e.help.as_deref(), Some("use a host address of the subnet, e.g. `10.0.0.1/24`"));
    err1(
        "bridge br0=224.0.0.1/24 { a, b }",
        "`224.0.0.1` is a multicast address; a bridge needs a unicast address",
        "224.0.0.1/24",
    );
    err1("bridge br0 { a=10.0.0.0/24, b }", "network address", "10.0.0.0/24");
    // Host addresses near the edges are fine: /31 and /32 have no network or broadcast address.
    ok("a=10.0.0.0/31 -- b=10.0.0.1/31");
    ok("a=10.0.0.255/32 -- b=10.0.0.0/32");
    ok("a=10.0.0.255/23 -- b=10.0.1.0/23");
    ok("a=10.0.0.254/24|fd00::/64 -- b=10.0.0.1/24|fe80::1/64");
    ok("a=223.255.255.1/24 -- b=128.0.0.1/8");
}

#[test]
fn gateways_must_be_unicast_hosts() {
    for (via, msg) in [
        ("224.0.0.1", "gateway `224.0.0.1` is a multicast address; a gateway must be a unicast address"),
        ("127.0.0.1", "gateway `127.0.0.1` is a loopback address"),
        ("0.0.0.0", "gateway `0.0.0.0` is the unspecified address"),
        ("255.255.255.255", "gateway `255.255.255.255` is the broadcast address"),
        ("ff02::1", "gateway `ff02::1` is a multicast address"),
        ("::", "gateway `::` is the unspecified address"),
        ("::1", "gateway `::1` is a loopback address"),
        ("10.1.0.255", "gateway `10.1.0.255` is the broadcast address of `10.1.0.0/24`"),
        ("10.1.0.0", "gateway `10.1.0.0` is the network address of `10.1.0.0/24`"),
    ] {
        err1(&format!("h1=10.1.0.2/24|fd00::2/64 -- r; h1: default via {via}"), msg, via);
    }
    ok("h1=10.1.0.0/31 -- r=10.1.0.1/31; h1: default via 10.1.0.1; r: default via 10.1.0.0");
}

#[test]
fn unknown_node() {
    let e = err1("a -- b; h3: default via 10.0.0.1", "unknown node `h3`", "h3");
    assert_eq!(e.help.as_deref(), Some("nodes are declared by links and bridges; known nodes: `a`, `b`"));
    let e = err1("h1 -- h2; h3 [forward]", "unknown node `h3`", "h3");
    assert_eq!(e.help.as_deref(), Some("did you mean `h1`? known nodes: `h1`, `h2`"));
    let e = err1("a [forward]", "unknown node `a`", "a");
    assert_eq!(e.help.as_deref(), Some("nodes are declared by links and bridges"));
}

#[test]
fn gateways() {
    err1(
        "h1=10.1.0.2/24 -- r; h1: default via 10.9.0.1",
        "gateway `10.9.0.1` is not reachable from node `h1`",
        "10.9.0.1",
    );
    err1(
        "h1=10.1.0.2/24 -- r; h1: default via 10.1.0.2",
        "gateway `10.1.0.2` is an address of node `h1` itself",
        "10.1.0.2",
    );
    let e = err1("h1=10.1.0.2/24 -- r; h1: default via fd00::1", "not reachable", "fd00::1");
    assert_eq!(e.help.as_deref(), Some("node `h1` has no IPv6 address"));
    err1(
        "h1=10.1.0.2/24 -- r; h1: fd02::/64 via 10.1.0.1",
        "gateway `10.1.0.1` is IPv4 but destination `fd02::/64` is IPv6",
        "10.1.0.1",
    );
    // Reachability is per node: the peer's subnet does not count.
    err1("h1=10.1.0.2/24 -- r=10.2.0.1/24; h1: default via 10.2.0.2", "not reachable", "10.2.0.2");
    let e = err1("h1 -- r; h1:default via 10.1.0.1", "not reachable", "10.1.0.1");
    assert_eq!(e.help.as_deref(), Some("node `h1` has no IPv4 address"));
}

#[test]
fn duplicate_route() {
    let src =
        "h1=10.1.0.2/24|fd00::2/64 -- r; h1: default via 10.1.0.1; h1: default via fd00::1; h1: default via 10.1.0.3";
    let e = err1(src, "route to `default` is defined twice in node `h1`", "default");
    assert_eq!(e.span.start, src.rfind("default").unwrap());
}

#[test]
fn self_link() {
    let src = "a=10.0.0.1/24 -- a=10.0.0.2/24";
    let e = err1(src, "link from node `a` to itself", "a");
    assert_eq!(e.span.start, 17);
}

#[test]
fn node_twice_in_bridge() {
    let src = "bridge br0 { a=10.0.0.1/24, b, a=10.0.0.3/24 }";
    let e = err1(src, "node `a` is in bridge `br0` twice (first at 1:14)", "a");
    assert_eq!(e.span.start, 31);
    // In two different bridges is fine.
    ok("bridge br0 { a, b }; bridge br1 { a, b }");
}

#[test]
fn all_semantic_errors_reported() {
    let src = "a=10.0.0.1/24 -- b=10.0.0.1/24\na -- a\nx [forward]";
    let e = errs(src);
    assert_eq!(e.0.len(), 3, "{}", e.render(src));
    check(src, &e.0[0], "used twice", "10.0.0.1/24");
    check(src, &e.0[1], "to itself", "a");
    check(src, &e.0[2], "unknown node `x`", "x");
}

#[test]
fn render_points_into_source() {
    let src = "a -- r\nr [foward]";
    let r = errs(src).render(src);
    assert_eq!(r, "2:4: unknown option `foward`\n  r [foward]\n     ^^^^^^\n  help: did you mean `forward`?");
}

#[test]
fn render_without_anything_to_point_at() {
    let help = "\n  help: write at least one link or bridge, e.g. `a=10.0.0.1/24 -- b=10.0.0.2/24`";
    for src in ["", "   ", "\n\n", "# just a comment\n  # another", "\n    # just a comment\n    # and another\n"] {
        assert_eq!(errs(src).render(src), format!("1:1: empty topology{help}"), "{src:?}");
    }
    // `;;;` is not blank: the separators are shown.
    assert_eq!(errs(";;;").render(";;;"), format!("1:1: empty topology\n  ;;;\n  ^^^{help}"));
}

#[test]
fn render_escapes_invisible_characters() {
    // The tab is shown as `\t` and the caret moves with it.
    let src = "a -- r\nr\t[foward]";
    let r = errs(src).render(src);
    assert_eq!(r, "2:4: unknown option `foward`\n  r\\t[foward]\n      ^^^^^^\n  help: did you mean `forward`?");
    let src = "\u{feff}a -- b";
    let r = errs(src).render(src);
    assert_eq!(
        r,
        "1:1: invalid character `\\u{feff}` in node name `\\u{feff}a`\n  \\u{feff}a -- b\n  ^^^^^^^^\n  help: node names may contain ASCII letters, digits, `_` and `-`"
    );
    let src = "a\u{200b}b -- c:x\u{0}";
    let r = errs(src).render(src);
    let lines: Vec<&str> = r.split("\n\n").collect();
    assert_eq!(lines.len(), 2, "{r}");
    assert!(lines[0].contains("\n  a\\u{200b}b -- c:x\\u{0}\n   ^^^^^^^^\n"), "{r}");
    assert!(lines[1].contains(&format!("\n  a\\u{{200b}}b -- c:x\\u{{0}}\n  {}^^^^^\n", " ".repeat(17))), "{r}");
    // Multi-byte but visible characters are shown as they are, one column each.
    let src = "a -- b\nä:ö=10.0.0.300/24 -- c";
    let r = errs(src).render(src);
    assert!(r.contains("2:1: invalid character `ä`"), "{r}");
    assert!(r.ends_with("2:5: invalid IP address `10.0.0.300`\n  ä:ö=10.0.0.300/24 -- c\n      ^^^^^^^^^^"), "{r}");
}

#[test]
fn render_trims_only_what_the_parser_skips() {
    // NBSP is text to the parser: the quote keeps it, escaped, with the caret under it.
    let src = "a=10.0.0.1/24 --\u{a0}b=10.0.0.2/24";
    let r = errs(src).render(src);
    assert_eq!(
        r,
        "1:17: invalid character `\\u{a0}` in node name `\\u{a0}b`\n  a=10.0.0.1/24 --\\u{a0}b=10.0.0.2/24\n                  ^^^^^^\n  help: node names may contain ASCII letters, digits, `_` and `-`"
    );
    // At the start of a line, and U+2028 alone: still quoted, not taken for blank.
    let src = "\u{a0}a -- b";
    let r = errs(src).render(src);
    assert!(r.starts_with("1:1: invalid character `\\u{a0}`"), "{r}");
    assert!(r.contains("\n  \\u{a0}a -- b\n  ^^^^^^\n"), "{r}");
    let src = "a -- b\u{2028}c -- d";
    let r = errs(src).render(src);
    assert!(r.starts_with("1:7: invalid character `\\u{2028}`"), "{r}");
    assert!(r.contains("\n  a -- b\\u{2028}c -- d\n        ^^^^^^^^\n"), "{r}");
    // ASCII space, tab and CR are still trimmed.
    let src = " \t a -- r\r\n\tr [foward] \r";
    let r = errs(src).render(src);
    assert_eq!(r, "2:5: unknown option `foward`\n  r [foward]\n     ^^^^^^\n  help: did you mean `forward`?");
}

#[test]
fn combining_marks_are_escaped() {
    let src = "a\u{301}=10.0.0.1/24 -- b=10.0.0.2/24";
    let e = err1(src, "invalid character `\\u{301}` in node name `a\\u{301}`", "\u{301}");
    assert!(e.render(src).contains("\n  a\\u{301}=10.0.0.1/24 -- b=10.0.0.2/24\n   ^^^^^^^\n"), "{}", e.render(src));
    err1("a=10.0.0.1/24 -- b=10.0.0.2\u{20dd}/24", "invalid IP address `10.0.0.2\\u{20dd}`", "10.0.0.2\u{20dd}");
    err1("a -- b:e\u{fe20}", "invalid character `\\u{fe20}` in interface name", "\u{fe20}");
}

#[test]
fn mtu_overflowing_u32_is_out_of_range() {
    for (src, shown) in [
        ("a -- b [mtu=99999999999999]", "99999999999999"),
        ("a -- b [mtu=4294967296]", "4294967296"),
        ("a -- b [mtu=0004294967296]", "4294967296"),
    ] {
        let v = &src[src.find('=').unwrap() + 1..src.len() - 1];
        let e = err1(src, &format!("mtu {shown} is out of range"), v);
        assert_eq!(e.help.as_deref(), Some("the MTU must be in 68..=65535"));
    }
    err1("a -- b [mtu=-1]", "invalid mtu `-1`: expected a number", "-1");
    err1("a -- b [mtu=+1400]", "invalid mtu `+1400`: expected a number", "+1400");
}

#[test]
fn single_dash_without_addresses() {
    for (src, dash) in [
        ("a - b", "-"),
        ("a – b", "–"),
        ("a — b", "—"),
        ("a=10.0.0.1/24 - b=10.0.0.2/24", "-"),
        ("a=10.0.0.1/24 – b=10.0.0.2/24", "–"),
    ] {
        let e = err1(src, &format!("expected `--`, found `{dash}`"), dash);
        assert_eq!(e.help.as_deref(), Some("a link is written `a -- b`"), "{src:?}");
    }
    // Two words are still an unknown keyword.
    err1("brige br0 { a, b }", "unknown keyword `brige`", "brige");
}

#[test]
fn bridge_double_open_brace() {
    let src = "bridge br0 {{ a, b }";
    let e = err1(src, "unexpected `{`", "{");
    assert_eq!(e.span.start, 12);
    let src = "bridge br0 {\n  a,\n  { b }\n}\nc -- d:lo";
    let e = errs(src);
    assert_eq!(e.0.len(), 2, "{}", e.render(src));
    check(src, &e.0[0], "unexpected `{`", "{");
    assert_eq!(e.0[0].span.start, src.rfind('{').unwrap());
    check(src, &e.0[1], "interface name `lo` is reserved", "lo");
    // The next bridge's `{` means the first one is unclosed.
    for src in ["bridge br0 { a, b\nbridge br1 { c, d }", "bridge br0 { a, b; bridge br1 { c, d }"] {
        let e = errs(src);
        check(src, &e.0[0], "unclosed `{`", "{");
        assert_eq!(e.0[0].span.start, 11, "{}", e.render(src));
    }
}

#[test]
fn overlapping_subnets_in_a_node() {
    let src = "r:eth0=10.0.0.1/24 -- a=10.0.0.2/24; r:eth1=10.0.0.3/24 -- b=10.0.0.4/24";
    let e = err1(
        src,
        "node `r` has two interfaces in overlapping subnets 10.0.0.0/24 (eth0) and 10.0.0.0/24 (eth1): routes would be ambiguous",
        "10.0.0.3/24",
    );
    assert!(e.help.unwrap().contains("bridge"));
    // Nested, either way round, and IPv6; the default interface names are used.
    err1(
        "r=10.0.0.1/16 -- a=10.0.5.2/24; r=10.0.5.1/24 -- b",
        "node `r` has two interfaces in overlapping subnets 10.0.0.0/16 (eth0) and 10.0.5.0/24 (eth1)",
        "10.0.5.1/24",
    );
    err1(
        "r=10.0.5.1/24 -- a; r=10.0.0.1/16 -- b",
        "overlapping subnets 10.0.5.0/24 (eth0) and 10.0.0.0/16 (eth1)",
        "10.0.0.1/16",
    );
    err1(
        "r=10.0.0.1/24|fd00::1/64 -- a; b -- r=10.1.0.1/24|fd00::2/64",
        "overlapping subnets fd00::/64 (eth0) and fd00::/64 (eth1)",
        "fd00::2/64",
    );
    // Through a bridge too: the member interface is the node's.
    err1(
        "r=10.0.0.1/24 -- a=10.0.0.2/24\nbridge br0 { r=10.0.0.3/24, b=10.0.0.4/24 }",
        "node `r` has two interfaces in overlapping subnets",
        "10.0.0.3/24",
    );
    // Distinct subnets, two addresses of one subnet on one interface, and different nodes
    // in one subnet are fine.
    ok("r:eth0=10.0.0.1/24 -- a=10.0.0.2/24; r:eth1=10.0.1.1/24 -- b=10.0.1.2/24");
    ok("r=10.0.0.1/24|10.0.0.5/24 -- a=10.0.0.2/24");
    ok("r=10.0.0.1/31 -- a=10.0.0.0/31; r=10.0.0.2/31 -- b=10.0.0.3/31");
    ok("r=10.0.0.1/24|fd00::1/64 -- a; r=10.0.1.1/24|fd01::1/64 -- b");
    // Reported once per address, against the first interface it overlaps.
    let src = "r=10.0.0.1/24 -- a; r=10.0.0.2/24 -- b; r=10.0.0.3/24 -- c";
    let e = errs(src);
    assert_eq!(e.0.len(), 2, "{}", e.render(src));
    check(src, &e.0[0], "10.0.0.0/24 (eth0) and 10.0.0.0/24 (eth1)", "10.0.0.2/24");
    check(src, &e.0[1], "10.0.0.0/24 (eth0) and 10.0.0.0/24 (eth2)", "10.0.0.3/24");
}

#[test]
fn overlapping_subnets_of_bridges() {
    let src = "bridge br0=10.0.0.254/24 { a, b }\nbridge br1=10.0.0.253/16 { c, d }";
    let e = err1(
        src,
        "bridges `br0` and `br1` have addresses in overlapping subnets 10.0.0.0/24 and 10.0.0.0/16: routes would be ambiguous",
        "10.0.0.253/16",
    );
    assert!(e.help.is_some());
    ok("bridge br0=10.0.0.254/24 { a, b }\nbridge br1=10.0.1.254/24 { c, d }");
    // A bridge and a node are in different namespaces.
    ok("bridge br0=10.0.0.254/24 { a=10.0.0.1/24, b=10.0.0.2/24 }");
}

#[test]
fn default_route_written_two_ways() {
    let src = "a=10.0.0.1/24 -- b=10.0.0.2/24|fd00::2/64; a: 0.0.0.0/0 via 10.0.0.2; a: default via 10.0.0.3";
    let e = err1(src, "route to `default` is defined twice in node `a` (first at 1:47)", "default");
    assert_eq!(e.help.as_deref(), Some("`0.0.0.0/0` is the default route"));
    let src = "a=fd00::1/64 -- b; a: default via fd00::2\na: ::/0 via fd00::3";
    let e = err1(src, "route to `default` is defined twice in node `a` (first at 1:23)", "::/0");
    assert_eq!(e.help.as_deref(), Some("`::/0` is the default route"));
    err1(
        "a=10.0.0.1/24 -- b; a: 0.0.0.0/0 via 10.0.0.2; a: 0.0.0.0/0 via 10.0.0.3",
        "route to `0.0.0.0/0` is defined twice",
        "0.0.0.0/0",
    );
    // `default`'s family is the gateway's.
    ok("a=10.0.0.1/24|fd00::1/64 -- b; a: 0.0.0.0/0 via 10.0.0.2; a: default via fd00::2");
    ok("a=10.0.0.1/24|fd00::1/64 -- b; a: default via 10.0.0.2; a: ::/0 via fd00::2");
}

#[test]
fn route_onto_own_subnet() {
    let src = "a=10.0.0.1/24 -- b=10.0.0.2/24; a: 10.0.0.0/24 via 10.0.0.2";
    let e = err1(src, "route to `10.0.0.0/24` clashes with node `a`'s own subnet on eth0", "10.0.0.0/24");
    assert!(e.help.unwrap().contains("remove this route"));
    err1(
        "a:e1=fd00::1/64 -- b; a: fd00::/64 via fd00::2",
        "route to `fd00::/64` clashes with node `a`'s own subnet on e1",
        "fd00::/64",
    );
    // Larger or smaller destinations are routes like any other.
    ok("a=10.0.0.1/24 -- b=10.0.0.2/24; a: 10.0.0.0/16 via 10.0.0.2; a: 10.0.0.128/25 via 10.0.0.2");
}

#[test]
fn ipv4_mapped_addresses() {
    let e = err1(
        "a=::ffff:10.0.0.1/120 -- b",
        "`::ffff:10.0.0.1` is an IPv4-mapped address; write the IPv4 address `10.0.0.1`",
        "::ffff:10.0.0.1/120",
    );
    assert_eq!(e.help.as_deref(), Some("e.g. `10.0.0.1/24`"));
    err1("bridge br0=::ffff:10.0.0.1/64 { a, b }", "`::ffff:10.0.0.1` is an IPv4-mapped address", "::ffff:10.0.0.1/64");
    err1(
        "a=fd00::1/64 -- b; a: default via ::ffff:10.0.0.2",
        "`::ffff:10.0.0.2` is an IPv4-mapped address; write the IPv4 address `10.0.0.2`",
        "::ffff:10.0.0.2",
    );
    // IPv4-compatible and other IPv6 addresses are not mapped.
    ok("a=fd00::ffff:a00:1/64 -- b");
}

#[test]
fn node_name_length() {
    let long = "n".repeat(65);
    let src = format!("{long} -- b");
    err1(&src, &format!("node name `{long}` is 65 bytes; at most 64"), &long);
    let t = ok(&format!("{} -- b", "n".repeat(64)));
    assert_eq!(t.nodes[0].name.len(), 64);
}

// ---------------------------------------------------------------- robustness

#[test]
fn never_panics() {
    let nasty = [
        "",
        "--",
        "---",
        "----",
        "a---b",
        "{{{{",
        "}}}}",
        "[[[[",
        "]]]]",
        "{",
        "}",
        "[",
        "]",
        ":",
        "=",
        "|",
        ",",
        ";",
        "#",
        "\0",
        "\0\0 -- \0",
        "bridge",
        "bridge ",
        "bridge br0",
        "bridge br0 {",
        "bridge br0 }",
        "bridge br0=",
        "bridge br0 { a=",
        "bridge br0 { a: }",
        "bridge { } [",
        "a:",
        "a=",
        "a=|",
        "a=||",
        "a:=",
        "a -- b [",
        "a -- b [mtu=",
        "a -- b [,]",
        "a -- b [=]",
        "a [",
        "a []",
        "a: default",
        "a: via",
        "a: default via",
        "a: default via |",
        ": default via 1.1.1.1",
        "ä=10.0.0.1/24 -- b",
        "ä",
        "ä:ö=ü -- 日本",
        "a:日本語の名前 -- b",
        "a=::/0 -- b=::1/128",
        "a=1.1.1.1/4294967296 -- b",
        "a=/24 -- b",
        "a=1.1.1.1/24/24 -- b",
        "a--",
        "--a",
        "a -- -- b",
        "a:eth0:eth1 -- b",
        "bridge bridge { bridge }",
        "a -- bridge { }",
        "\u{feff}a -- b",
        "a\u{a0}-- b",
        "a -- b\u{2028}",
        "# only\n#comments",
        "\r\r\r",
        "\t",
        "a -- b # {",
        "bridge br0 { # }\n a, b }",
        "h: 1.1.1.1/32 via",
        "h: ::/0 via ::",
        "a -- b; a: default via 0.0.0.0",
        "a -- b [mtu=68,mtu=65535]",
        "bridge b0p0=224.0.0.1/4 { a=0.0.0.0/0, a=::/0 }",
        "a=255.255.255.255/0 -- b=0.0.0.0/32; a: ::/0 via ::ffff:1.2.3.4",
        "BRIDGE",
        "a -- b -- a -- b",
        "a\t\u{feff}\u{0}",
        "  \u{a0}a -- b",
    ];
    for src in nasty {
        let r = std::panic::catch_unwind(|| {
            if let Err(e) = Topology::parse(src) {
                let _ = e.render(src);
                for err in &e.0 {
                    assert!(err.span.start <= err.span.end && err.span.end <= src.len(), "{src:?}: {err:?}");
                    assert!(src.is_char_boundary(err.span.start) && src.is_char_boundary(err.span.end), "{src:?}");
                    assert!(!err.message.is_empty());
                }
            }
        });
        assert!(r.is_ok(), "parse panicked on {src:?}");
    }
    // Every prefix of a realistic topology, which cuts tokens everywhere.
    let full = "h1=10.1.0.2/24|fd00::2/64 -- r:eth0=10.1.0.1/24 [mtu=1400]\nbridge br0=10.2.0.254/24 { r=10.2.0.1/24,\n h2=10.2.0.2/24, } # c\nr [forward]; h1: default via 10.1.0.1; h2: 10.1.0.0/24 via 10.2.0.1";
    ok(full);
    for (i, _) in full.char_indices() {
        let _ = Topology::parse(&full[..i]).map_err(|e| e.render(&full[..i]));
    }
}

#[test]
fn large_bridge_is_fast() {
    // 10,000 members on ten bridges (a Linux bridge takes at most 1,023 ports).
    let members: Vec<String> =
        (0..10_000).map(|i| format!("n{i}=10.{}.{}.{}/16", i / 1000, i % 1000 / 250, i % 250 + 1)).collect();
    let src: String =
        members.chunks(1000).enumerate().map(|(b, m)| format!("bridge br{b} {{ {} }}\n", m.join(", "))).collect();
    let start = Instant::now();
    let t = ok(&src);
    let took = start.elapsed();
    assert_eq!(t.nodes.len(), 10_000);
    assert_eq!(t.bridges[9].ports[999], "b9p999");
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // Many bad statements are fast too.
    let bad = "a=1.2.3.4 -- b\n".repeat(5_000);
    let start = Instant::now();
    assert_eq!(errs(&bad).0.len(), 5_000);
    assert!(start.elapsed() < Duration::from_secs(1));
}
