//! Large topologies: more nodes than a default descriptor limit allows, links whose ends are
//! declared far apart (issue 18), random topologies of up to 1,000 nodes: built and reachable.

use netns_test::{netns_test, Net, Topology};
use netns_test_e2e::tcp_round_trip;

/// `n` nodes on one bridge, 10.9.0.1/16 upwards.
fn bridge(n: usize) -> Topology {
    let members: Vec<String> = (1..=n).map(|i| format!("h{i}=10.9.{}.{}/16", i / 256, i % 256)).collect();
    format!("bridge br9 {{ {} }}", members.join(", ")).parse().unwrap()
}

/// 150 nodes hold about 300 descriptors while they are built; with the soft limit at 128 (the
/// hard one untouched) the builder must raise it rather than fail with "Too many open files".
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn a_topology_larger_than_the_soft_descriptor_limit_is_built(_small: &Net) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: get/setrlimit on structs we own; this child process is the test's alone.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = 128;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    let big = Net::build(bridge(150)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(big.nodes().len(), 150);
    let peer = big.node("h1").run(|| tcp_round_trip(&big, "h150", "10.9.0.150:7000".parse().unwrap()));
    assert_eq!(peer.ip().to_string(), "10.9.0.1");
}

/// A second topology built from inside a node that already has links: its bridge and ports are
/// made in that node's namespace, whose interface indices 1 and 2 are taken.
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn a_topology_built_inside_a_node_with_links_avoids_their_indices(_small: &Net) {
    let inner = Net::build(bridge(2)).unwrap_or_else(|e| panic!("{e}"));
    let peer = inner.node("h1").run(|| tcp_round_trip(&inner, "h2", "10.9.0.2:7000".parse().unwrap()));
    assert_eq!(peer.ip().to_string(), "10.9.0.1");
}

// Issue 18: links whose two ends were brought up in different batches of the builder never came
// up, so these topologies failed after 10 s with "`…` is not up (the kernel may be busy…)".
// The builder brings links up a batch of nodes at a time, in declaration order; each shape below
// is declared so that some links have their ends far apart in that order.

/// One bridge `lan` of `x1..x13`, and chains `x_i -- y_i -- z_i`. Together: each chain's
/// statements in turn, the bridge last; apart: the bridge, every `x_i -- y_i`, then every
/// `y_i -- z_i`. Before issue 18's fix neither order built: the 39 nodes make 130 carrier
/// events (two per interface) and the builder's first batch held 128, so its split fell inside
/// a chain whichever way it was declared. Addresses: `x_i` 10.0.0.i on `lan`, 10.1.i.1 --
/// 10.1.i.2 between `x_i` and `y_i`, 10.2.i.1 -- 10.2.i.2 between `y_i` and `z_i`.
fn chains(together: bool) -> String {
    let lan: Vec<String> = (1..=13).map(|i| format!("x{i}:lan=10.0.0.{i}/24")).collect();
    let xy = |i: usize| format!("x{i}=10.1.{i}.1/24 -- y{i}=10.1.{i}.2/24");
    let yz = |i: usize| format!("y{i}=10.2.{i}.1/24 -- z{i}=10.2.{i}.2/24");
    let mut text = Vec::new();
    if together {
        text.extend((1..=13).flat_map(|i| [xy(i), yz(i)]));
        text.push(format!("bridge lan {{ {} }}", lan.join(", ")));
    } else {
        text.push(format!("bridge lan {{ {} }}", lan.join(", ")));
        text.extend((1..=13).map(xy));
        text.extend((1..=13).map(yz));
    }
    text.join("\n")
}

/// Builds `text` from inside the test's namespace and says how long it took.
fn build_timed(text: &str, what: &str) -> Net {
    let topo: Topology = text.parse().unwrap_or_else(|e| panic!("{what} does not validate: {e:?}"));
    let start = std::time::Instant::now();
    let net = Net::build(topo).unwrap_or_else(|e| panic!("{what}: {e}"));
    eprintln!("{what}: {} nodes built in {:.1} ms", net.nodes().len(), start.elapsed().as_secs_f64() * 1e3);
    net
}

/// One echo from `from` to `to`, up to 3 s.
#[track_caller]
fn ping(net: &Net, from: &str, to: &str) {
    let addr: std::net::IpAddr = to.parse().unwrap();
    if let Err(e) = net.node(from).ping(addr, std::time::Duration::from_secs(3)) {
        panic!("{from} -> {to}: {e}");
    }
}

/// Every link of [`chains`] carries packets: each `x_i -- y_i`, each `y_i -- z_i`, the bridge.
fn chains_carry_traffic(net: &Net) {
    for i in 1..=13 {
        ping(net, &format!("x{i}"), &format!("10.1.{i}.2"));
        ping(net, &format!("y{i}"), &format!("10.2.{i}.2"));
        ping(net, "x1", &format!("10.0.0.{i}"));
    }
    let peer = net.node("z13").run(|| tcp_round_trip(net, "y13", "10.2.13.1:7000".parse().unwrap()));
    assert_eq!(peer.ip().to_string(), "10.2.13.2");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn a_bridge_and_thirteen_chains_declared_apart_are_built(_small: &Net) {
    let net = build_timed(&chains(false), "bridge + 13 chains, declared apart");
    chains_carry_traffic(&net);
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn a_bridge_and_thirteen_chains_declared_together_are_built(_small: &Net) {
    let net = build_timed(&chains(true), "bridge + 13 chains, declared together");
    chains_carry_traffic(&net);
}

/// NAT types by uplink wiring: 4 NAT types (`pr`, `ar`, `fc`, `sy`) × 3 uplinks, 44 nodes.
/// Router `r-T-U` has hosts `i-T-U` and `j-T-U` inside (`lan0`, `lan1`) and NATs out of `wan`:
/// - `p`: `wan` is on bridge `pub` with the servers `s1..s3` (203.0.113.0/24);
/// - `l`: `wan` is a link to its own upstream router `up-T-l`, which NATs again onto `pub`;
/// - `b`: `wan` is on bridge `isp` (100.127.0.0/24) behind gateway `gw`, which NATs onto `pub`.
///
/// Apart: the bridges first (routers and upstreams appear first), then the uplinks, and every
/// inside host at the end. Together: each router's statements in a block, router first, the
/// `l` blocks first and the bridges last, so that the builder's batches of nodes (before issue
/// 18's fix: 128 carrier events, two per interface) end between two blocks: the order a user
/// had to find for this to build.
fn nat_matrix(together: bool) -> String {
    const TYPES: [(&str, &str); 4] =
        [("pr", "port-restricted"), ("ar", "address-restricted"), ("fc", "full-cone"), ("sy", "symmetric")];
    let (mut pub_members, mut isp_members) = (Vec::new(), vec!["gw:isp=100.127.0.1/24".to_string()]);
    // Per router: its uplink statements and its inside statements.
    let mut blocks: Vec<(&str, Vec<String>, Vec<String>)> = Vec::new();
    for (t, (ty, kind)) in TYPES.iter().enumerate() {
        for (u, up) in ["p", "l", "b"].into_iter().enumerate() {
            let k = 3 * t + u;
            let r = format!("r-{ty}-{up}");
            let mut uplink = Vec::new();
            match up {
                "p" => pub_members.push(format!("{r}:wan=203.0.113.{}/24", 10 + k)),
                "l" => {
                    uplink.push(format!("{r}:wan=100.64.{k}.2/24 -- up-{ty}-l:down=100.64.{k}.1/24"));
                    uplink.push(format!("{r}: default via 100.64.{k}.1"));
                    uplink.push(format!("up-{ty}-l [nat=pub, nat-type={kind}]"));
                    pub_members.push(format!("up-{ty}-l:pub=203.0.113.{}/24", 10 + k));
                }
                _ => {
                    isp_members.push(format!("{r}:wan=100.127.0.{}/24", 10 + k));
                    uplink.push(format!("{r}: default via 100.127.0.1"));
                }
            }
            uplink.push(format!("{r} [nat=wan, nat-type={kind}]"));
            let inside = vec![
                format!("{r}:lan0=10.{k}.1.1/24 -- i-{ty}-{up}:lan=10.{k}.1.2/24"),
                format!("{r}:lan1=10.{k}.2.1/24 -- j-{ty}-{up}:lan=10.{k}.2.2/24"),
                format!("i-{ty}-{up}: default via 10.{k}.1.1"),
                format!("j-{ty}-{up}: default via 10.{k}.2.1"),
            ];
            blocks.push((up, uplink, inside));
        }
    }
    pub_members.extend(
        ["gw:pub=203.0.113.2/24", "s1=203.0.113.101/24", "s2=203.0.113.102/24", "s3=203.0.113.103/24"]
            .map(String::from),
    );
    let bridges = vec![
        format!("bridge pub {{ {} }}", pub_members.join(", ")),
        format!("bridge isp {{ {} }}", isp_members.join(", ")),
        "gw [nat=pub]".to_string(),
    ];
    let text: Vec<String> = if together {
        blocks.sort_by_key(|(up, ..)| *up != "l");
        let mut text: Vec<String> =
            blocks.into_iter().flat_map(|(_, uplink, inside)| inside.into_iter().chain(uplink)).collect();
        text.extend(bridges);
        text
    } else {
        let (uplinks, inside): (Vec<_>, Vec<_>) = blocks.into_iter().map(|(_, u, i)| (u, i)).unzip();
        bridges.into_iter().chain(uplinks.into_iter().flatten()).chain(inside.into_iter().flatten()).collect()
    };
    text.join("\n")
}

/// Every host inside reaches `s1` through its router and uplink; `gw` reaches the other servers.
fn nat_matrix_carries_traffic(net: &Net) {
    assert_eq!(net.nodes().len(), 44);
    let inside: Vec<String> = net
        .nodes()
        .iter()
        .map(|n| n.name().to_string())
        .filter(|n| n.starts_with("i-") || n.starts_with("j-"))
        .collect();
    assert_eq!(inside.len(), 24);
    for host in &inside {
        ping(net, host, "203.0.113.101");
    }
    ping(net, "gw", "203.0.113.102");
    ping(net, "gw", "203.0.113.103");
    for (port, host) in [(7001, "i-fc-p"), (7002, "j-sy-l"), (7003, "i-ar-b")] {
        let addr = format!("203.0.113.101:{port}").parse().unwrap();
        let seen = net.node(host).run(|| tcp_round_trip(net, "s1", addr));
        assert!(seen.ip().to_string().starts_with("203.0.113."), "{host} reached s1 from {seen}, not through NAT");
    }
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn a_nat_matrix_declared_apart_is_built(_small: &Net) {
    let net = build_timed(&nat_matrix(false), "NAT matrix, declared apart");
    nat_matrix_carries_traffic(&net);
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn a_nat_matrix_declared_together_is_built(_small: &Net) {
    let net = build_timed(&nat_matrix(true), "NAT matrix, declared together");
    nat_matrix_carries_traffic(&net);
}

/// Takes `dev` administratively down in the calling thread's namespace (`SIOCSIFFLAGS`), behind
/// the framework's back.
fn set_down_here(dev: &str) {
    // SAFETY: a zeroed ifreq with a NUL-terminated name, on a socket we own and close.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (d, b) in ifr.ifr_name.iter_mut().zip(dev.bytes()) {
            *d = b as libc::c_char;
        }
        assert_eq!(libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr), 0);
        ifr.ifr_ifru.ifru_flags &= !(libc::IFF_UP as libc::c_short);
        assert_eq!(libc::ioctl(fd, libc::SIOCSIFFLAGS, &mut ifr), 0);
        libc::close(fd);
    }
}

/// A link that does not come up is named, with both its ends' states as the kernel reports them
/// and what was waited for, not blamed on a busy kernel.
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn a_link_that_does_not_come_up_is_named_with_both_ends_states(net: &Net) {
    let wait = |t| netns_test::__private::wait_link_up(net, "a", "b", std::time::Duration::from_millis(t));
    wait(2000).expect("built links are up");
    net.node("b").run(|| set_down_here("eth0"));
    let msg = wait(300).expect_err("b:eth0 is down: the link cannot be up").to_string();
    for part in [
        "link a:eth0 -- b:eth0 did not come up",
        "waited for a:eth0 to be operationally up",
        "a:eth0: admin up, carrier off, operstate DOWN",
        "b:eth0: admin down, carrier off, operstate DOWN",
        "b:eth0 is administratively down",
    ] {
        assert!(msg.contains(part), "no `{part}` in: {msg}");
    }
    assert!(!msg.contains("busy") && !msg.contains("rtnl"), "blames the kernel: {msg}");
    net.link("a", "b").up().unwrap();
    wait(2000).expect("up again");
    ping(net, "a", "10.0.0.2");
}

// Property: every topology that validates builds, whatever its declaration order, and its links
// carry packets. Random chains, stars and bridges of random sizes share nodes (so nodes have
// several interfaces), with random explicit interface names, dual stack, MTUs, and statements
// and bridge members in random order. Each case's seed is printed when it fails; replay it with
// `TOPOLOGY_SEED=<seed> cargo test -p netns-test-e2e --test large <test name>` (not a
// `NETNS_TEST_*` name: the framework removes those from a test child's environment).

/// splitmix64: small, seedable, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.range(0, i));
        }
    }
}

/// A random valid topology of `nodes` nodes: its text.
struct RandomTopology {
    rng: Rng,
    names: Vec<String>,
    /// Interfaces given an explicit name so far, per node (`p0`, `p1`, …; the others are
    /// named `ethN` by the parser).
    named: Vec<usize>,
    budget: usize,
    links: usize,
    bridges: usize,
    statements: Vec<String>,
}

impl RandomTopology {
    fn generate(seed: u64, nodes: usize) -> String {
        let mut g = RandomTopology {
            rng: Rng(seed),
            names: Vec::new(),
            named: Vec::new(),
            budget: nodes,
            links: 0,
            bridges: 0,
            statements: Vec::new(),
        };
        while g.budget > 0 {
            match g.rng.range(0, 9) {
                0..=4 => g.chain(),
                5..=7 => g.star(),
                _ => g.bridge(),
            }
        }
        g.rng.shuffle(&mut g.statements);
        g.statements.join("\n")
    }

    /// A node for a structure: an existing one now and then (never one of `not`), a new one
    /// while the budget lasts.
    fn node(&mut self, not: &[usize]) -> usize {
        let reuse = self.budget == 0 || (!self.names.is_empty() && self.rng.percent(15));
        if reuse {
            for _ in 0..20 {
                let n = self.rng.range(0, self.names.len() - 1);
                if !not.contains(&n) {
                    return n;
                }
            }
        }
        if self.budget == 0 {
            // Rare: every try hit `not`; a new node one over the budget keeps the shape valid.
            self.budget = 1;
        }
        self.budget -= 1;
        let prefix = ["h", "node-", "r_", "x", "n"][self.rng.range(0, 4)];
        self.names.push(format!("{prefix}{}", self.names.len()));
        self.named.push(0);
        self.names.len() - 1
    }

    /// `node`, or `node:pK` (an explicit interface name) one time in four.
    fn end(&mut self, n: usize) -> String {
        if self.rng.percent(25) {
            self.named[n] += 1;
            format!("{}:p{}", self.names[n], self.named[n] - 1)
        } else {
            self.names[n].clone()
        }
    }

    /// A veth between `a` and `b`: its own /30 (link l: 10.(l/64).(l%64*4).1 and .2), an IPv6
    /// /64 one time in three, no address one time in twenty, an MTU one time in ten.
    fn link(&mut self, a: usize, b: usize) {
        let l = self.links;
        self.links += 1;
        let (mut ea, mut eb) = (self.end(a), self.end(b));
        if !self.rng.percent(5) {
            let v6 = self.rng.percent(33);
            for (e, host) in [(&mut ea, 1), (&mut eb, 2)] {
                e.push_str(&format!("=10.{}.{}.{host}/30", l / 64, l % 64 * 4));
                if v6 {
                    e.push_str(&format!("|fd00:{l:x}::{host}/64"));
                }
            }
        }
        let mut s = if self.rng.percent(50) { format!("{ea} -- {eb}") } else { format!("{eb} -- {ea}") };
        if self.rng.percent(10) {
            s.push_str(&format!(" [mtu={}]", self.rng.range(1280, 9000)));
        }
        self.statements.push(s);
    }

    fn chain(&mut self) {
        let len = self.rng.range(2, 8);
        let mut prev = self.node(&[]);
        for _ in 1..len {
            let next = self.node(&[prev]);
            self.link(prev, next);
            prev = next;
        }
    }

    fn star(&mut self) {
        let center = self.node(&[]);
        for _ in 0..self.rng.range(2, 12) {
            let leaf = self.node(&[center]);
            self.link(center, leaf);
        }
    }

    /// A bridge of 2 to 16 members, up to 200 one time in twenty (within the node budget);
    /// bridge b's members in 10.128.0.0/9, a /21 each; dual stack one time in three; an address
    /// of its own one time in four.
    fn bridge(&mut self) {
        let b = self.bridges;
        self.bridges += 1;
        let size = if self.rng.percent(5) { self.rng.range(31, 200) } else { self.rng.range(2, 16) };
        // Mostly new nodes, as many as the budget has left (at least two).
        let size = size.min(self.budget.max(2));
        let v6 = self.rng.percent(33);
        let base = u32::from(std::net::Ipv4Addr::new(10, 128, 0, 0)) + b as u32 * 2048;
        let addr = |host: u32| {
            let v4 = std::net::Ipv4Addr::from(base + host);
            if v6 {
                format!("={v4}/21|fd01:{b:x}::{host:x}/64")
            } else {
                format!("={v4}/21")
            }
        };
        let mut members: Vec<usize> = Vec::new();
        for _ in 0..size {
            let m = self.node(&members);
            if !members.contains(&m) {
                members.push(m);
            }
        }
        if members.len() < 2 {
            let m = self.node(&members);
            members.push(m);
        }
        let mut text: Vec<String> =
            (members.iter().enumerate()).map(|(i, &m)| self.end(m) + &addr(i as u32 + 1)).collect();
        self.rng.shuffle(&mut text);
        let own = if self.rng.percent(25) { addr(2000) } else { String::new() };
        self.statements.push(format!("bridge br{b}{own} {{ {} }}", text.join(", ")));
    }
}

/// Pairs (from, to) across `topo`'s links: for each veth, one end to each address of the other;
/// for each bridge, a member to another member's addresses (and to the bridge's own).
fn probes(topo: &Topology) -> Vec<(String, std::net::IpAddr)> {
    let mut out = Vec::new();
    let name = |r: netns_test::topology::IfaceRef| topo.nodes[r.node].name.clone();
    for link in &topo.links {
        out.extend(topo.iface(link.b).addrs.iter().map(|a| (name(link.a), a.addr())));
    }
    for br in &topo.bridges {
        for w in br.members.windows(2) {
            out.extend(topo.iface(w[1]).addrs.iter().map(|a| (name(w[0]), a.addr())));
        }
        out.extend(br.addrs.iter().map(|a| (name(br.members[0]), a.addr())));
    }
    out
}

/// Prints the seed to replay when the case fails (a panic unwinding through it).
struct Replay(u64, &'static str);

impl Drop for Replay {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("replay: TOPOLOGY_SEED={} cargo test -p netns-test-e2e --test large {}", self.0, self.1);
        }
    }
}

/// Generates, validates, builds and probes one random topology of `nodes` nodes, from the
/// calling thread's namespace; `probes` echoes across a random sample of its links.
fn random_case(test: &'static str, nodes: usize, sample: usize) {
    let seed = match std::env::var("TOPOLOGY_SEED") {
        Ok(s) => s.parse().expect("TOPOLOGY_SEED is a u64"),
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64,
    };
    let _replay = Replay(seed, test);
    let text = RandomTopology::generate(seed, nodes);
    let topo = Topology::parse(&text)
        .unwrap_or_else(|e| panic!("seed {seed}: the generated topology does not validate: {e:?}\n{text}"));
    let what =
        format!("seed {seed}: {} nodes, {} links, {} bridges", topo.nodes.len(), topo.links.len(), topo.bridges.len());
    let mut all = probes(&topo);
    let start = std::time::Instant::now();
    let net = Net::build(topo).unwrap_or_else(|e| panic!("{what}: {e}"));
    let built = start.elapsed();
    let mut rng = Rng(seed ^ 0x5eed);
    rng.shuffle(&mut all);
    all.truncate(sample);
    for (from, to) in &all {
        if let Err(e) = net.node(from).ping(*to, std::time::Duration::from_secs(3)) {
            panic!("{what}: {from} -> {to}: {e}");
        }
    }
    eprintln!("{what}: built in {:.1} ms, {} echoes answered", built.as_secs_f64() * 1e3, all.len());
}

macro_rules! random_topologies {
    ($($(#[$attr:meta])* $name:ident: $nodes:literal nodes, $sample:literal echoes;)*) => {$(
        $(#[$attr])*
        #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "300s")]
        fn $name(_small: &Net) {
            random_case(stringify!($name), $nodes, $sample);
        }
    )*};
}

random_topologies! {
    a_random_topology_of_10_nodes_builds: 10 nodes, 20 echoes;
    a_random_topology_of_40_nodes_builds: 40 nodes, 40 echoes;
    a_random_topology_of_100_nodes_builds: 100 nodes, 40 echoes;
    a_random_topology_of_250_nodes_builds: 250 nodes, 60 echoes;
    a_random_topology_of_1000_nodes_builds: 1000 nodes, 100 echoes;
}
