//! Item 1: one whole-process build. `build_once FILE`: isolate, parse, build, exit.
//! The namespaces die with the process, as in a `#[netns_test]` child.

fn main() {
    netns_test::isolate().expect("isolate");
    let path = std::env::args().nth(1).expect("usage: build_once FILE.topo | build_once --isolate-only");
    if path == "--isolate-only" {
        // Baseline for the profile: process start + user/net namespace, no topology.
        std::process::exit(0);
    }
    let src = std::fs::read_to_string(&path).expect("read topology");
    let topo = netns_test::Topology::parse(&src).expect("parse topology");
    let net = netns_test::Net::build(topo).expect("build");
    if std::env::var_os("BUILD_ONCE_CHECK").is_some() {
        // Verification mode (not timed): every node pings every address.
        for node in net.nodes() {
            for (_, addr) in net.topology().all_addrs() {
                let rtt = net.ping(node.name(), addr).expect("ping");
                println!("{} -> {addr}: {:.3} ms", node.name(), rtt.as_secs_f64() * 1e3);
            }
        }
    }
    // Exit without running destructors, as the test child does (std::process::exit).
    std::process::exit(0);
}
