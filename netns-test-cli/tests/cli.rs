//! The CLI on the seed fixtures: real namespaces, real ICMP, full reachability.

use std::process::Command;

fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netns-test"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn three_hosts_on_a_bridge_all_reach_each_other() {
    let (ok, text) = cli(&["up", "fixtures/three-hosts-bridge.topo"]);
    assert!(ok, "{text}");
    for needle in ["ns1", "veth-ns1", "192.168.1.1/24", "-> bridge ahao-bridge", "9 of 9 reachable", "torn down"] {
        assert!(text.contains(needle), "missing {needle:?}:\n{text}");
    }
}

#[test]
fn veth_pair_and_dual_stack_fully_reachable() {
    let (ok, text) = cli(&["up", "fixtures/veth-pair.topo"]);
    assert!(ok && text.contains("4 of 4 reachable") && text.contains("-> ns2:veth-test2"), "{text}");
    let (ok, text) = cli(&["up", "fixtures/dual-stack.topo"]);
    assert!(ok && text.contains("8 of 8 reachable") && text.contains("fd00::2/64"), "{text}");
}

#[test]
fn router_forwards_between_its_subnets() {
    let (ok, text) = cli(&["up", "fixtures/router.topo"]);
    assert!(ok && text.contains("12 of 12 reachable") && text.contains("route     default via 10.1.0.1"), "{text}");
}

#[test]
fn without_forwarding_the_matrix_shows_the_gap() {
    let dir = std::env::temp_dir().join(format!("netns-test-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("no-forward.topo");
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/router.topo")).unwrap();
    std::fs::write(&file, src.replace("r [forward]", "")).unwrap();
    let (ok, text) = cli(&["up", file.to_str().unwrap(), "--ping-timeout", "100ms"]);
    std::fs::remove_dir_all(&dir).unwrap();
    // Only h1 <-> h2 is missing: r answers for both its addresses (Linux's weak host model).
    assert!(ok && text.contains("10 of 12 reachable"), "{text}");
    let matrix = &text[text.find("reachability").unwrap()..];
    let row = |node: &str| matrix.lines().find(|l| l.starts_with(node)).unwrap().split_whitespace().collect::<Vec<_>>();
    assert_eq!(row("h1").last(), Some(&"-"), "h1 must not reach 10.2.0.2:\n{text}");
    assert_eq!(row("h2")[1], "-", "h2 must not reach 10.1.0.2:\n{text}");
}

#[test]
fn check_reports_mistakes_with_positions() {
    let dir = std::env::temp_dir().join(format!("netns-test-cli-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.topo");
    std::fs::write(&file, "a=10.0.0.1/24 -- b=10.0.0.2/24\nr [foward]\n").unwrap();
    let (ok, text) = cli(&["check", file.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!ok, "{text}");
    assert!(text.contains("2:4: unknown option `foward`") && text.contains("did you mean `forward`?"), "{text}");
    let (ok, text) = cli(&["check", "fixtures/router.topo"]);
    assert!(ok && text.contains("ok (3 nodes"), "{text}");
}

#[test]
fn ping_timeout_takes_the_attributes_durations() {
    let (ok, text) = cli(&["up", "fixtures/veth-pair.topo", "--ping-timeout", "1s"]);
    assert!(ok && text.contains("4 of 4 reachable"), "{text}");
    let (ok, text) = cli(&["up", "fixtures/veth-pair.topo", "--ping-timeout", "1"]);
    assert!(!ok && text.contains("a duration looks like `500ms`, `30s` or `2m`"), "{text}");
}
