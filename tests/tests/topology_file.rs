//! `topology_file = ".."`: the workspace's fixture files as test topologies.

use netns_test::{netns_test, Net};

#[netns_test(topology_file = "../fixtures/router.topo", node = "h1")]
fn a_file_topology_is_built(net: &Net) {
    assert_eq!(net.nodes().iter().map(|n| n.name()).collect::<Vec<_>>(), ["h1", "r", "h2"]);
    assert_eq!(net.topology().expects.len(), 3);
    // The body runs in h1, which reaches h2 through the router.
    let to = std::net::SocketAddr::from(([10, 2, 0, 2], 7000));
    assert_eq!(netns_test_e2e::tcp_round_trip(net, "h2", to).ip().to_string(), "10.1.0.2");
}

#[netns_test(topology_file = "../fixtures/routed/two-lans.topo")]
fn its_expectations_hold(net: &Net) {
    let found = net.check_expectations(std::time::Duration::from_secs(2));
    assert!(found.passed(), "{}", found.table());
}

/// Cargo rebuilds this test when a file changes: the macro's `include_str!` made each file a
/// dependency in the dep-info cargo reads (the `.d` file next to this binary).
#[test]
fn the_files_are_build_dependencies() {
    let exe = std::env::current_exe().unwrap();
    let dep_info = std::fs::read_to_string(exe.with_extension("d")).expect("dep-info next to the test binary");
    for file in ["fixtures/router.topo", "fixtures/routed/two-lans.topo"] {
        assert!(dep_info.contains(file), "{file} is not a dependency:\n{dep_info}");
    }
}
