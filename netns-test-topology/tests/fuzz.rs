//! Property-based fuzzing of the topology parser and validator with proptest.
//!
//! Four input families: (a) arbitrary strings (any Unicode, and a grammar-dense alphabet),
//! (b) token soups built from the grammar's pieces, (c) random but well-formed-looking
//! statements that often validate, and (d) mutations (delete / insert / swap / duplicate) of
//! valid topologies. For every input:
//!
//! - `Topology::parse` never panics, and gives the same answer twice;
//! - every error span is inside the input, on char boundaries, with a message;
//! - errors come in source order, and `Error::render` / `Errors::render` never panic and start
//!   with the right `line:col` (1-based, columns in chars);
//! - a successful parse gives a consistent model: every `IfaceRef` and `Peer` in range and
//!   pointing back, interface names valid kernel names (1..=15 bytes, unique per node), node
//!   names valid and unique, no bridge of more than 1,023 members, no address twice, MTUs in
//!   range, gateways of the route's family, no two interfaces of a node (nor two bridges) in
//!   overlapping subnets, no IPv4-mapped address, no route twice (`default` = `0.0.0.0/0`) nor
//!   onto the node's own subnet.
//!
//! `fuzz_parser` runs `NETNS_FUZZ_CASES` cases per family (default 5,000); `fuzz_parser_long`
//! (ignored) runs `NETNS_FUZZ_CASES` or 200,000 per family:
//!
//! ```sh
//! cargo test -p netns-test-topology --test fuzz -- --ignored fuzz_parser_long
//! NETNS_FUZZ_CASES=1000000 cargo test --release -p netns-test-topology --test fuzz -- --ignored
//! ```
//!
//! Each run prints its seed and the number of executions to stderr (also without
//! `--nocapture`); `NETNS_FUZZ_SEED=<64 hex digits>` replays a run.

use ipnet::IpNet;
use netns_test_topology::{Errors, IfaceRef, Peer, Topology};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::collections::HashSet;
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Inputs checked, over all families (shrinking included).
static EXECUTIONS: AtomicU64 = AtomicU64::new(0);

// ------------------------------------------------------------------------------ the oracle

/// Every property of one input; `Err` (or a panic, which proptest catches) is a failure.
fn check(src: &str) -> Result<(), TestCaseError> {
    EXECUTIONS.fetch_add(1, Ordering::Relaxed);
    let first = Topology::parse(src);
    let again = Topology::parse(src);
    prop_assert_eq!(&first, &again, "parse is not deterministic");
    match first {
        Ok(t) => check_model(src, &t),
        Err(e) => check_errors(src, &e),
    }
}

fn check_errors(src: &str, errs: &Errors) -> Result<(), TestCaseError> {
    prop_assert!(!errs.0.is_empty(), "Err with no errors");
    for e in &errs.0 {
        let s = e.span.clone();
        prop_assert!(s.start <= s.end && s.end <= src.len(), "span {:?} outside 0..{}: {:?}", s, src.len(), e);
        prop_assert!(
            src.is_char_boundary(s.start) && src.is_char_boundary(s.end),
            "span {:?} not on char boundaries: {:?}",
            s,
            e
        );
        prop_assert!(!e.message.trim().is_empty(), "empty message: {:?}", e);
        prop_assert!(!e.message.contains('\n'), "multi-line message: {:?}", e);
        // The rendering starts with line:col of the span start, computed independently.
        let before = &src[..s.start];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        let r = e.render(src);
        let want = format!("{line}:{col}: {}", e.message);
        prop_assert!(r.starts_with(&want), "render starts {:?}, expected {:?}", r.lines().next(), want);
        if let Some(h) = &e.help {
            prop_assert!(r.ends_with(h.as_str()), "render lacks the help: {:?}", r);
        }
        let _ = e.to_string();
    }
    for w in errs.0.windows(2) {
        prop_assert!(w[0].span.start <= w[1].span.start, "errors out of order: {:?} then {:?}", w[0], w[1]);
    }
    let all = errs.render(src);
    prop_assert_eq!(all.matches("\n\n").count() + 1 >= errs.0.len(), true);
    let _ = errs.to_string();
    Ok(())
}

fn valid_ifname(n: &str) -> bool {
    (1..=15).contains(&n.len())
        && n.bytes().all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
        && !matches!(n, "." | ".." | "lo")
}

fn valid_node_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        && !n.ends_with('-')
        && n != "bridge"
        && n.len() <= 64
}

/// Same or nested subnets (of the same family).
fn overlap(a: IpNet, b: IpNet) -> bool {
    let (a, b) = (a.trunc(), b.trunc());
    a.contains(&b) || b.contains(&a)
}

fn check_model(src: &str, t: &Topology) -> Result<(), TestCaseError> {
    prop_assert!(!t.nodes.is_empty(), "accepted {:?} with no nodes", src);
    prop_assert_eq!(t.check_references(), Ok(()), "accepted {:?}", src);
    let in_range = |r: IfaceRef| r.node < t.nodes.len() && r.iface < t.nodes[r.node].interfaces.len();
    let mut names = HashSet::new();
    for (ni, n) in t.nodes.iter().enumerate() {
        prop_assert!(valid_node_name(&n.name), "bad node name {:?}", n.name);
        prop_assert!(names.insert(n.name.as_str()), "node {:?} twice", n.name);
        prop_assert!(!n.interfaces.is_empty(), "node {:?} without interfaces", n.name);
        let mut ifnames = HashSet::new();
        for (ii, i) in n.interfaces.iter().enumerate() {
            prop_assert!(valid_ifname(&i.name), "bad interface name {:?}", i.name);
            prop_assert!(ifnames.insert(i.name.as_str()), "interface {:?} twice in {:?}", i.name, n.name);
            if let Some(m) = i.mtu {
                prop_assert!((68..=65535).contains(&m), "mtu {}", m);
            }
            let me = IfaceRef { node: ni, iface: ii };
            match i.peer {
                Peer::Link { link: l, peer } => {
                    prop_assert!(l < t.links.len(), "link {} out of range", l);
                    let (a, b) = (t.links[l].a, t.links[l].b);
                    prop_assert!((a, b) == (me, peer) || (b, a) == (me, peer), "link {} does not point back", l);
                    prop_assert_eq!(t.links[l].mtu, i.mtu);
                }
                Peer::Bridge(b) => {
                    prop_assert!(b < t.bridges.len(), "bridge {} out of range", b);
                    prop_assert!(t.bridges[b].members.contains(&me), "bridge {} does not point back", b);
                    prop_assert_eq!(t.bridges[b].mtu, i.mtu);
                }
            }
        }
        for (i, x) in n.interfaces.iter().enumerate() {
            for y in &n.interfaces[i + 1..] {
                for (a, b) in x.addrs.iter().flat_map(|a| y.addrs.iter().map(move |b| (*a, *b))) {
                    prop_assert!(!overlap(a, b), "{:?}: {} and {} overlap in {:?}", n.name, a, b, src);
                }
            }
            prop_assert!(
                x.addrs.iter().all(|a| !matches!(a.addr(), IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())),
                "IPv4-mapped address in {:?}",
                n.name
            );
        }
        let mut route_keys = HashSet::new();
        for r in &n.routes {
            // `0.0.0.0/0`, `::/0` and `default` of the gateway's family are one destination.
            let key = (r.dest.filter(|d| d.prefix_len() > 0), r.via.is_ipv4());
            prop_assert!(route_keys.insert(key), "route to {:?} twice in {:?}", r.dest, n.name);
            if let Some(d) = r.dest {
                prop_assert!(
                    !n.interfaces
                        .iter()
                        .flat_map(|i| &i.addrs)
                        .any(|a| a.trunc() == d && a.prefix_len() < a.max_prefix_len()),
                    "route to {} clashes with a subnet of {:?}",
                    d,
                    n.name
                );
            }
            if let Some(d) = r.dest {
                prop_assert_eq!(d.addr().is_ipv4(), r.via.is_ipv4(), "route family");
                prop_assert_eq!(d, d.trunc(), "route destination with host bits");
            }
            prop_assert!(
                n.interfaces.iter().flat_map(|i| &i.addrs).any(|a| a.contains(&r.via) && a.addr() != r.via),
                "gateway {} not reachable from {:?}",
                r.via,
                n.name
            );
        }
    }
    for (li, l) in t.links.iter().enumerate() {
        prop_assert!(in_range(l.a) && in_range(l.b), "link {} has a dangling end", li);
        prop_assert!(l.a.node != l.b.node, "link {} joins a node to itself", li);
        prop_assert_eq!(t.iface(l.a).peer, Peer::Link { link: li, peer: l.b });
        prop_assert_eq!(t.iface(l.b).peer, Peer::Link { link: li, peer: l.a });
    }
    let mut bridge_names = HashSet::new();
    for (bi, b) in t.bridges.iter().enumerate() {
        prop_assert!(valid_ifname(&b.name), "bad bridge name {:?}", b.name);
        prop_assert!(bridge_names.insert(b.name.as_str()), "bridge {:?} twice", b.name);
        prop_assert!(!b.members.is_empty(), "bridge {:?} without members", b.name);
        prop_assert!(b.members.len() <= 1023, "bridge {:?} beyond the kernel's 1,023 ports", b.name);
        prop_assert_eq!(b.ports.len(), b.members.len());
        for other in &t.bridges[..bi] {
            for (x, y) in b.addrs.iter().flat_map(|x| other.addrs.iter().map(move |y| (*x, *y))) {
                prop_assert!(!overlap(x, y), "bridges {:?} and {:?}: {} and {} overlap", other.name, b.name, x, y);
            }
        }
        let mut member_nodes = HashSet::new();
        for (k, &m) in b.members.iter().enumerate() {
            prop_assert!(in_range(m), "bridge {} member {:?} out of range", bi, m);
            prop_assert_eq!(t.iface(m).peer, Peer::Bridge(bi));
            prop_assert!(member_nodes.insert(m.node), "node twice in bridge {:?}", b.name);
            prop_assert!(valid_ifname(&b.ports[k]), "bad port name {:?}", b.ports[k]);
        }
    }
    let mut seen: HashSet<IpAddr> = HashSet::new();
    for (owner, a) in t.all_addrs() {
        prop_assert!(seen.insert(a), "address {} twice (again in {:?})", a, owner);
        prop_assert!(!a.is_unspecified() && !a.is_loopback() && !a.is_multicast(), "non-unicast {}", a);
    }
    Ok(())
}

// ------------------------------------------------------------------------------ generators

/// (a) Arbitrary text: any Unicode, and a dense alphabet of the grammar's characters with a
/// few troublesome non-ASCII ones (NBSP, combining accent, BOM, RTL mark, line separator,
/// full-width digit, emoji).
fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(?s).{0,200}",
        "[a-z0-9:=|/.\\-\\[\\]{},; \n\t#_ä😀\u{a0}\u{301}\u{feff}\u{200f}\u{2028}１]{0,160}",
        vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

const TOKENS: &[&str] = &[
    // names
    "a",
    "b",
    "c",
    "r",
    "h1",
    "_x",
    "n-1",
    "1a",
    "a-",
    "a.b",
    "é",
    "😀",
    "日本",
    "x\u{301}",
    "eth0",
    "eth1",
    "veth-test1",
    "lo",
    ".",
    "..",
    "abcdefghijklmnop",
    "b0p0",
    "br0",
    // punctuation
    ":",
    "=",
    "|",
    "--",
    "-",
    "---",
    "{",
    "}",
    ",",
    "[",
    "]",
    ";",
    "\n",
    "\r\n",
    "/",
    "%",
    // keywords and options
    "bridge",
    "BRIDGE",
    "brige",
    "forward",
    "foward",
    "mtu",
    "mtu=",
    "mtu=1400",
    "mtu=67",
    "mtu=65536",
    "mtu=99999999999",
    "forward=1",
    "via",
    "VIA",
    "default",
    "DEFAULT",
    // addresses, valid and broken
    "10.0.0.1/24",
    "10.0.0.2/24",
    "10.0.0.2",
    "10.0.0.255/24",
    "10.0.0.0/24",
    "10.1.0.0/24",
    "10.1.0.1/24",
    "0.0.0.0/0",
    "224.0.0.1/4",
    "127.0.0.1/8",
    "10.0.0.1/33",
    "10.0.0.1/-1",
    "10.0.0.1/abc",
    "10.0.0.1.5/24",
    "010.0.0.1/24",
    "１０.0.0.1/24",
    "fd00::1/64",
    "fd00::2/64",
    "fd00::2",
    "fd00::1::2/64",
    "fd00::/64",
    "::/0",
    "::1/128",
    "::ffff:10.0.0.1/120",
    "fd00::1%eth0/64",
    "fd00::1/129",
    "10.0.0.1/4294967296",
    // trivia
    " ",
    "  ",
    "\t",
    "# comment",
    "#{[",
    "\u{a0}",
    "\u{feff}",
    "\u{200f}",
    "\u{2028}",
];

/// (b) Token soup: grammar pieces in any order, with or without spaces between.
fn token_soup() -> impl Strategy<Value = String> {
    vec((prop::sample::select(TOKENS), prop::sample::select(&["", " ", " ", "\n"][..])), 0..40).prop_map(|toks| {
        let mut s = String::new();
        for (t, sep) in toks {
            s.push_str(t);
            s.push_str(sep);
        }
        s
    })
}

/// (c) Statements shaped like the grammar, from small pools of names and addresses so that
/// duplicates, routes and reachable gateways are common; now and then one piece is broken.
fn statements() -> impl Strategy<Value = String> {
    let node = prop_oneof![
        12 => prop::sample::select(&["a", "b", "c", "r", "h1"][..]),
        1 => prop::sample::select(&["1x", "bridge", "a-", "é"][..]),
    ];
    let ifname = prop::option::weighted(
        0.3,
        prop_oneof![
            8 => prop::sample::select(&["eth0", "eth1", "e", "veth-x.1"][..]),
            1 => prop::sample::select(&["lo", "x/y", "abcdefghijklmnop", ".."][..]),
        ],
    );
    let v4 = (0u8..3, 1u8..=254, prop::sample::select(&[24u8, 24, 24, 24, 24, 30, 31, 32, 16, 33][..]))
        .prop_map(|(n, h, p)| format!("10.0.{n}.{h}/{p}"));
    let v6 = (0u8..3, 1u16..=0xfff, prop::sample::select(&[64u8, 64, 64, 64, 128, 127, 129][..]))
        .prop_map(|(n, h, p)| format!("fd00:{n}::{h:x}/{p}"));
    let addr = prop_oneof![12 => v4, 6 => v6, 1 => prop::sample::select(TOKENS).prop_map(str::to_string)];
    let addrs = vec(addr, 0..3).prop_map(|a| if a.is_empty() { String::new() } else { format!("={}", a.join("|")) });
    let endpoint = (node.clone(), ifname, addrs).prop_map(|(n, i, a)| match i {
        Some(i) => format!("{n}:{i}{a}"),
        None => format!("{n}{a}"),
    });
    let opts = prop::option::weighted(
        0.2,
        prop::sample::select(
            &["[mtu=1400]", "[mtu=68]", "[mtu=65535]", "[mtu=9000]", "[mtu=67]", "[mtu]", "[ ]", "[forward]"][..],
        ),
    )
    .prop_map(|o| o.map(|o| format!(" {o}")).unwrap_or_default());
    let gw = (0u8..3, 1u8..=254).prop_map(|(n, h)| format!("10.0.{n}.{h}"));
    let gw6 = (0u8..3, 1u16..=0xfff).prop_map(|(n, h)| format!("fd00:{n}::{h:x}"));
    let dest = prop::sample::select(
        &["default", "default", "10.9.0.0/16", "fd09::/64", "0.0.0.0/0", "10.9.0.1/16", "DEFAULT", ""][..],
    );
    let bridge_name = prop::sample::select(&["br0", "br1", "br2", "b0p1", "lo"][..]);
    let bridge_addr =
        prop::option::weighted(0.3, prop::sample::select(&["10.0.2.254/24", "fd00:2::fe/64", "10.0.9.9"][..]));
    let stmt = prop_oneof![
        6 => (endpoint.clone(), endpoint.clone(), opts.clone()).prop_map(|(a, b, o)| format!("{a} -- {b}{o}")),
        2 => (bridge_name, bridge_addr, vec(endpoint, 0..4), any::<bool>(), opts).prop_map(|(n, a, m, trailing, o)| {
            let a = a.map(|a| format!("={a}")).unwrap_or_default();
            format!("bridge {n}{a} {{ {}{} }}{o}", m.join(", "), if trailing && !m.is_empty() { "," } else { "" })
        }),
        1 => (node.clone(), prop::sample::select(&["[forward]", "[forward]", "[forward, forward]", "[foward]", "[mtu=1400]"][..]))
            .prop_map(|(n, o)| format!("{n} {o}")),
        2 => (node, dest, prop_oneof![gw, gw6]).prop_map(|(n, d, g)| format!("{n}: {d} via {g}")),
    ];
    vec((stmt, prop::sample::select(&["\n", "; ", "\n\n  ", " # c\n"][..])), 1..6)
        .prop_map(|v| v.into_iter().map(|(s, sep)| format!("{s}{sep}")).collect::<String>())
}

const SEEDS: &[&str] = &[
    "a=10.0.0.1/24 -- b=10.0.0.2/24",
    "ns1:veth-test1=192.168.1.1/24 -- ns2:veth-test2=192.168.1.2/24",
    "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64",
    "a -- b",
    "a=10.0.0.1/24 -- b=10.0.0.2/24 [mtu=1400]",
    "bridge br0 { ns1=192.168.1.1/24, ns2=192.168.1.2/24, ns3=192.168.1.3/24 }",
    "bridge br0=10.0.0.254/24 { a=10.0.0.1/24, b=10.0.0.2/24 }",
    "h1=10.1.0.2/24 -- r:eth0=10.1.0.1/24\nr:eth1=10.2.0.1/24 -- h2=10.2.0.2/24\nr [forward]\nh1: default via 10.1.0.1\nh2: 10.1.0.0/24 via 10.2.0.1",
    "h1=10.1.0.2/24|fd00::2/64 -- r:eth0=10.1.0.1/24 [mtu=1400]\nbridge br0=10.2.0.254/24 { r=10.2.0.1/24,\n h2=10.2.0.2/24, } # c\nr [forward]; h1: default via 10.1.0.1; h2: 10.1.0.0/24 via 10.2.0.1",
    "bridge br0 {\n  a=fd00::1/64, # first\n  b=fd00::2/64\n} [mtu=9000]\na: fd01::/64 via fd00::2",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Insert(usize, char),
    Swap(usize),
    Duplicate(usize, usize),
    Replace(usize, char),
}

fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(&[':', '=', '|', '-', '{', '}', ',', '[', ']', ';', '\n', '#', '/', ' ', '.', '0', '9', 'a', 'f'][..]),
        1 => prop::sample::select(&['\u{a0}', '\u{301}', '\u{feff}', '\u{200f}', '\u{2028}', '１', 'é', '😀', '\0', '\t', '\r'][..]),
        1 => any::<char>(),
    ]
}

/// (d) A valid topology with 1..=5 random edits.
fn mutated() -> impl Strategy<Value = String> {
    let m = prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), interesting_char()).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Swap),
        (any::<usize>(), 1usize..12).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        (any::<usize>(), interesting_char()).prop_map(|(i, c)| Mutation::Replace(i, c)),
    ];
    (prop::sample::select(SEEDS), vec(m, 1..6)).prop_map(|(seed, ms)| {
        let mut chars: Vec<char> = seed.chars().collect();
        for m in ms {
            let n = chars.len();
            match m {
                Mutation::Delete(i) if n > 0 => {
                    chars.remove(i % n);
                }
                Mutation::Insert(i, c) => chars.insert(i % (n + 1), c),
                Mutation::Swap(i) if n > 1 => chars.swap(i % (n - 1), i % (n - 1) + 1),
                Mutation::Duplicate(i, len) if n > 0 => {
                    let at = i % n;
                    let piece: Vec<char> = chars[at..(at + len).min(n)].to_vec();
                    chars.splice(at..at, piece);
                }
                Mutation::Replace(i, c) if n > 0 => chars[i % n] = c,
                _ => {}
            }
        }
        chars.into_iter().collect()
    })
}

// ------------------------------------------------------------------------------ the runs

fn env_cases(default: u32) -> u32 {
    std::env::var("NETNS_FUZZ_CASES").ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn seed() -> [u8; 32] {
    if let Ok(hex) = std::env::var("NETNS_FUZZ_SEED") {
        let mut s = [0u8; 32];
        for (i, b) in s.iter_mut().enumerate() {
            *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).expect("NETNS_FUZZ_SEED: 64 hex digits"), 16)
                .expect("NETNS_FUZZ_SEED: 64 hex digits");
        }
        return s;
    }
    // Fresh every run, from std's per-process random hasher keys and the clock.
    use std::hash::{BuildHasher, Hasher};
    let mut s = [0u8; 32];
    for (i, chunk) in s.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    s
}

fn run_family<S: Strategy<Value = String>>(name: &str, cases: u32, seed: &[u8; 32], strategy: S) -> u64 {
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 20_000, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, seed));
    let before = EXECUTIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    let result = runner.run(&strategy, |src| check(&src));
    let n = EXECUTIONS.load(Ordering::Relaxed) - before;
    let _ = writeln!(std::io::stderr(), "fuzz: {name:<12} {n:>9} executions in {:.2?}", start.elapsed());
    match result {
        Ok(()) => n,
        Err(TestError::Fail(why, src)) => panic!("{name}: {why}\nminimal input: {src:?}"),
        Err(e) => panic!("{name}: {e}"),
    }
}

fn fuzz_all(cases: u32) {
    let seed = seed();
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let _ = writeln!(std::io::stderr(), "fuzz: {cases} cases per family, NETNS_FUZZ_SEED={hex}");
    let start = Instant::now();
    let total = run_family("arbitrary", cases, &seed, arbitrary_text())
        + run_family("token soup", cases, &seed, token_soup())
        + run_family("statements", cases, &seed, statements())
        + run_family("mutations", cases, &seed, mutated());
    let _ = writeln!(std::io::stderr(), "fuzz: total {total} executions in {:.2?}, no panic", start.elapsed());
    assert!(total >= 4 * u64::from(cases));
}

#[test]
fn fuzz_parser() {
    fuzz_all(env_cases(5_000));
}

#[test]
#[ignore = "long: run by hand, see the module doc"]
fn fuzz_parser_long() {
    fuzz_all(env_cases(200_000));
}

/// The generators do reach both outcomes: a fuzzer that only ever sees errors would not check
/// the model invariants at all.
#[test]
fn generators_reach_accepted_and_rejected_topologies() {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    for (name, ok_min) in [("statements", 50), ("mutations", 30)] {
        let (mut ok, mut err) = (0, 0);
        for _ in 0..1_000 {
            let src = match name {
                "statements" => statements().new_tree(&mut runner).unwrap().current(),
                _ => mutated().new_tree(&mut runner).unwrap().current(),
            };
            if Topology::parse(&src).is_ok() {
                ok += 1
            } else {
                err += 1
            }
        }
        eprintln!("{name}: {ok} accepted, {err} rejected of 1,000");
        assert!(ok >= ok_min && err >= 100, "{name}: {ok} accepted, {err} rejected of 1,000");
    }
}
