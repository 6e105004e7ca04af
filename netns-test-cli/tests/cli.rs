//! The CLI on the seed fixtures: real namespaces, real ICMP, full reachability.

use std::process::Command;

fn cli(args: &[&str]) -> (bool, String) {
    let (code, stdout, stderr) = run(args, None);
    (code == Some(0), format!("{stdout}{stderr}"))
}

/// Exit code, stdout and stderr, with `stdin` fed to the process.
fn run(args: &[&str], stdin: Option<&str>) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_netns-test"))
        .args(args)
        .env("SHELL", "/bin/sh")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// A topology file in a fresh temporary directory, removed on drop.
struct TempTopo(std::path::PathBuf);

impl TempTopo {
    fn new(name: &str, src: &str) -> TempTopo {
        let dir = std::env::temp_dir().join(format!("netns-test-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), src).unwrap();
        TempTopo(dir.join(name))
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempTopo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
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
    // Without its expect lines, which would now fail the command.
    let src: Vec<&str> = src.lines().filter(|l| !l.starts_with("expect")).collect();
    std::fs::write(&file, src.join("\n").replace("r [forward]", "")).unwrap();
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
fn check_takes_several_files_and_fails_if_any_is_bad() {
    let bad = TempTopo::new("bad-expect.topo", "a=10.0.0.1/24 -- b=10.0.0.2/24\nexpect a -> c\n");
    let (code, out, err) = run(&["check", "fixtures/router.topo", bad.path(), "fixtures/lan/star-8.topo"], None);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("router.topo: ok (3 nodes") && out.contains("star-8.topo: ok (8 nodes"), "{out}");
    assert!(
        err.contains("bad-expect.topo:2:13: unknown node `c`") && err.contains("1 of 3 files have errors"),
        "{err}"
    );
    let (code, _, err) = run(&["check"], None);
    assert_eq!(code, Some(2), "usage error: {err}");
}

#[test]
fn every_fixture_is_valid() {
    let (ok, text) =
        cli(&["check", "fixtures/veth-pair.topo", "fixtures/router.topo", "fixtures/routed/two-lans.topo"]);
    assert!(ok, "{text}");
}

#[test]
fn up_checks_expectations_and_fails_with_a_table() {
    let (code, out, err) = run(&["up", "fixtures/routed/no-forwarding.topo"], None);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("h1 -/-> h2") && out.contains("5 of 5 expectation probes as expected"), "{out}");
    // The same file claiming h1 reaches h2 through the router that does not forward.
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/routed/no-forwarding.topo")).unwrap();
    let wrong = TempTopo::new("wrong.topo", &src.replace("expect h1 -/-> h2", "expect h1 -> h2"));
    let (code, out, err) = run(&["up", wrong.path(), "--expect-timeout", "500ms"], None);
    assert_eq!(code, Some(1), "{out}{err}");
    let row = out.lines().find(|l| l.contains("h1 -> h2 ")).unwrap_or_else(|| panic!("no row:\n{out}"));
    assert!(row.contains("10.2.0.2") && row.contains("no answer within 500ms") && row.ends_with("FAILED"), "{row}");
    assert!(err.contains("an expectation failed (4 of 5"), "{err}");
}

#[test]
fn up_json_is_only_json_on_stdout() {
    let (code, out, err) = run(&["up", "fixtures/router.topo", "--json"], None);
    assert_eq!(code, Some(0), "{out}{err}");
    let doc = out.trim();
    assert!(doc.starts_with('{') && doc.ends_with('}'), "{out}");
    for needle in [
        r#""name": "r""#,
        r#""forward": true"#,
        r#""destination": "default""#,
        r#""via": "10.1.0.1""#,
        r#""addresses": ["#,
        r#""reachability": ["#,
        r#""expectation": "h2 -> h1 tcp/80""#,
        r#""passed": true"#,
    ] {
        assert!(doc.contains(needle), "missing {needle}:\n{doc}");
    }
    assert_eq!(doc.matches(r#""reachable": true"#).count(), 12 + 3, "{doc}");
}

#[test]
fn exec_runs_in_the_node_and_passes_the_status_through() {
    let (code, out, err) = run(
        &[
            "exec",
            "fixtures/router.topo",
            "h2",
            "--",
            "sh",
            "-c",
            "cat /proc/net/dev; echo node=$NETNS_TEST_NODE; exit 7",
        ],
        None,
    );
    assert_eq!(code, Some(7), "{out}{err}");
    assert!(out.contains("eth0:") && !out.contains("eth1:") && out.contains("node=h2"), "{out}");
    let (code, _, err) = run(&["exec", "fixtures/router.topo", "r", "--", "sh", "-c", "kill -TERM $$"], None);
    assert_eq!(code, Some(128 + 15), "{err}");
    let (code, _, err) = run(&["exec", "fixtures/router.topo", "nope", "--", "true"], None);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("no node `nope`; the nodes are `h1`, `r`, `h2`"), "{err}");
    let (code, _, err) = run(&["exec", "fixtures/router.topo", "h1", "--", "/nonexistent/program"], None);
    assert_eq!(code, Some(127), "{err}");
}

#[test]
fn shell_runs_the_shell_inside_the_node_with_the_topology_live() {
    // A non-interactive shell reading commands from stdin: it sees r's interfaces and reaches h2
    // through the live topology.
    let script = "cat /proc/net/dev; echo node=$NETNS_TEST_NODE; exit 3\n";
    let (code, out, err) = run(&["shell", "fixtures/router.topo", "r"], Some(script));
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(out.contains("eth0:") && out.contains("eth1:") && out.contains("node=r"), "{out}");
    assert!(err.contains("in node `r` of fixtures/router.topo (nodes: h1, r, h2)"), "{err}");
}

#[test]
fn graph_draws_svg_and_dot() {
    let (code, svg, err) = run(&["graph", "fixtures/routed/two-lans.topo"], None);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    for needle in [">bridge lan1<", ">bridge lan2<", ">r<", ">10.2.0.13/24<", ">eth1<", ">default via 10.1.0.1<"] {
        assert!(svg.contains(needle), "missing {needle}:\n{svg}");
    }
    assert_eq!(svg.matches("<line ").count(), 6, "one line per bridge member");
    let (code, dot, _) = run(&["graph", "fixtures/router.topo", "--dot"], None);
    assert_eq!(code, Some(0));
    assert!(
        dot.starts_with("graph topology {")
            && dot.contains(r#"v0 -- v1 [taillabel="eth0\n10.1.0.2/24", headlabel="eth0\n10.1.0.1/24"]"#),
        "{dot}"
    );
    let (code, _, err) = run(&["graph", "/nonexistent.topo"], None);
    assert_eq!(code, Some(1), "{err}");
}

#[test]
fn help_has_examples_and_exit_codes() {
    let (ok, text) = cli(&["--help"]);
    assert!(ok && text.contains("Exit status:") && text.contains("125") && text.contains("netns-test graph"), "{text}");
    for cmd in ["check", "up", "exec", "shell", "graph"] {
        let (ok, text) = cli(&[cmd, "--help"]);
        assert!(ok && text.contains("Examples:") && text.contains(&format!("netns-test {cmd} ")), "{cmd}:\n{text}");
    }
}

#[test]
fn a_slow_build_prints_a_progress_line() {
    // 500 hosts on one bridge take over a second to build on any machine.
    let members: Vec<String> = (0..500).map(|i| format!("h{i}=10.0.{}.{}/16", i / 250, i % 250 + 1)).collect();
    let big = TempTopo::new("big.topo", &format!("bridge br0 {{ {} }}\n", members.join(", ")));
    let (code, out, err) = run(&["exec", big.path(), "h499", "--", "true"], None);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.contains("netns-test: building 500 nodes, 1 bridges, 0 links... 1 s"), "{err}");
    assert!(err.contains("netns-test: built 500 nodes"), "{err}");
}

#[test]
fn ping_timeout_takes_the_attributes_durations() {
    let (ok, text) = cli(&["up", "fixtures/veth-pair.topo", "--ping-timeout", "1s"]);
    assert!(ok && text.contains("4 of 4 reachable"), "{text}");
    let (ok, text) = cli(&["up", "fixtures/veth-pair.topo", "--ping-timeout", "1"]);
    assert!(!ok && text.contains("a duration looks like `500ms`, `30s` or `2m`"), "{text}");
}

#[test]
fn without_user_namespaces_the_cause_and_fix_are_named_with_their_own_exit_status() {
    let cli = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_netns-test"));
        cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        netns_test_e2e::forbid_user_namespaces(&mut cmd);
        cmd
    };
    let out = cli().args(["up", "fixtures/router.topo"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("unshare(CLONE_NEWUSER") && err.contains("user.max_user_namespaces"), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let out = cli().args(["exec", "fixtures/router.topo", "h1", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", String::from_utf8_lossy(&out.stderr));
    // check needs no namespace at all.
    let out = cli().args(["check", "fixtures/router.topo"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_closed_stdout_ends_it_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_netns-test"))
        .args(["up", "fixtures/lan/star-8.topo"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `| head -0`
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
