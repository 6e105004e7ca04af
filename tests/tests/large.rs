//! Large topologies: more nodes than a default descriptor limit allows, built and reachable.

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
