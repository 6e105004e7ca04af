//! How tests end, seen from outside as a user sees it: this binary re-runs its own ignored
//! fixtures (`fixture::*`) in a subprocess and checks the exit status and what was printed.
//!
//! The fixtures fail on purpose; they are `#[ignore]`d so a normal run skips them (and reports
//! them as ignored, never as passed).

use netns_test::netns_test;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod fixture {
    use netns_test::{netns_test, Net};

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture for outcomes::panic_surfaces"]
    fn panics(_net: &Net) {
        println!("output before the panic");
        panic!("boom from inside the namespace");
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture for outcomes::result_error_surfaces"]
    fn returns_err() -> Result<(), String> {
        Err("the result said no".into())
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "1s")]
    #[ignore = "fixture for outcomes::timeout_kills_the_test"]
    fn sleeps_past_its_timeout(net: &Net) {
        // A background program too: it must die with the test.
        #[allow(clippy::zombie_processes)] // the point: nothing waits, the test's end kills it
        net.node("b").command("sleep").arg("913").spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_secs(30));
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture for outcomes::background_programs_die_with_the_test"]
    fn leaves_a_program_running(net: &Net) {
        #[allow(clippy::zombie_processes)] // the point: nothing waits, the test's end kills it
        net.node("b").command("sleep").arg("917").spawn().unwrap();
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture for outcomes::killed_child_fails"]
    fn kills_itself(_net: &Net) {
        // SAFETY: raising a signal on ourselves.
        unsafe { libc_kill_self() };
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture for outcomes::passing_output_is_captured"]
    fn passes_quietly(_net: &Net) {
        println!("only shown with --nocapture");
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture for outcomes::killing_the_runner_kills_the_test_and_its_programs"]
    fn runs_a_program_and_waits(net: &Net) {
        #[allow(clippy::zombie_processes)] // the point: the runner is killed while this runs
        net.node("b").command("sleep").arg("919").spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_secs(30));
    }

    unsafe fn libc_kill_self() {
        extern "C" {
            fn raise(sig: i32) -> i32;
        }
        raise(9);
    }
}

/// Runs one fixture of this binary the way `cargo test` would.
fn run_fixture(name: &str, extra: &[&str]) -> (Output, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([&format!("fixture::{name}"), "--exact", "--ignored"])
        .args(extra)
        .env_remove("NETNS_TEST_CHILD")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

#[track_caller]
fn assert_failed(out: &Output, text: &str, needles: &[&str]) {
    assert!(!out.status.success(), "the fixture must fail:\n{text}");
    assert!(text.contains("1 failed"), "libtest must count one failure:\n{text}");
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in:\n{text}");
    }
}

/// Processes whose command line is exactly `argv`.
fn processes_running(argv: &[&str]) -> usize {
    let want = argv.join("\0") + "\0";
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| c == want.as_bytes())
        .count()
}

#[test]
fn panic_surfaces_with_message_location_and_output() {
    let (out, text) = run_fixture("panics", &[]);
    assert_failed(
        &out,
        &text,
        &["output before the panic", "boom from inside the namespace", "panicked at tests/tests/outcomes.rs"],
    );
}

#[test]
fn result_error_surfaces() {
    let (out, text) = run_fixture("returns_err", &[]);
    assert_failed(&out, &text, &["Error: \"the result said no\""]);
}

#[test]
fn timeout_kills_the_test_and_its_programs() {
    let start = Instant::now();
    let (out, text) = run_fixture("sleeps_past_its_timeout", &[]);
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert_failed(&out, &text, &["timed out after", "timeout = 1s"]);
    assert_eq!(processes_running(&["sleep", "913"]), 0, "the node's program outlived the test");
}

#[test]
fn background_programs_die_with_the_test() {
    let (out, text) = run_fixture("leaves_a_program_running", &[]);
    assert!(out.status.success(), "{text}");
    assert_eq!(processes_running(&["sleep", "917"]), 0, "the node's program outlived the test");
}

#[test]
fn killed_child_fails_and_names_the_signal() {
    let (out, text) = run_fixture("kills_itself", &[]);
    assert_failed(&out, &text, &["died during the test", "SIGKILL"]);
}

#[test]
fn passing_output_is_captured_unless_nocapture() {
    let (out, text) = run_fixture("passes_quietly", &[]);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    assert!(!text.contains("only shown with --nocapture"), "{text}");
    let (out, text) = run_fixture("passes_quietly", &["--nocapture"]);
    assert!(out.status.success() && text.contains("only shown with --nocapture"), "{text}");
}

/// The false-pass guard: a child that matches no test runs nothing and exits 0; the parent
/// must fail rather than report a pass.
#[test]
fn a_child_that_ran_no_test_is_a_failure() {
    let spec = netns_test::__private::Spec {
        path: "outcomes::there_is_no_such_test",
        topology: "a=10.0.0.1/24 -- b=10.0.0.2/24",
        node: "a",
        timeout: Duration::from_secs(10),
    };
    let err = std::panic::catch_unwind(|| netns_test::__private::run(&spec, |_| Ok(()))).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("ran no test") && msg.contains("refusing to report a pass"), "{msg}");
}

/// Tests with identical topologies (same names, addresses and ports) run at the same time.
macro_rules! identical {
    ($($name:ident),*) => {$(
        #[netns_test(topology = "bridge br0 { a=10.0.0.1/24|fd00::1/64, b=10.0.0.2/24|fd00::2/64 }")]
        fn $name(net: &netns_test::Net) {
            let peer = netns_test_e2e::tcp_round_trip(net, "b", "[fd00::2]:7000".parse().unwrap());
            assert_eq!(peer.ip(), "fd00::1".parse::<std::net::IpAddr>().unwrap());
            netns_test_e2e::tcp_round_trip(net, "b", "10.0.0.2:7000".parse().unwrap());
        }
    )*};
}
identical!(identical_1, identical_2, identical_3, identical_4, identical_5, identical_6);

/// What a test could conceivably leave on the host: links, addresses, routes, mounts, named
/// namespaces. Read from `/proc/self/...`: the main thread of this process is on the host.
fn host_state() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_else(|e| format!("{p}: {e}"));
    let links: Vec<_> = read("/proc/self/net/dev").lines().skip(2).filter_map(|l| l.split(':').next()).map(str::trim).map(String::from).collect();
    let run_netns = std::fs::read_dir("/run/netns")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default();
    format!(
        "links {links:?}\naddrs6 {}\nroutes {}\nroutes6 {}\nmounts {}\nrun/netns {run_netns:?}",
        read("/proc/self/net/if_inet6"),
        read("/proc/self/net/route"),
        read("/proc/self/net/ipv6_route"),
        read("/proc/self/mountinfo"),
    )
}

#[test]
fn host_is_unchanged_however_tests_end() {
    let before = host_state();
    for f in ["panics", "returns_err", "sleeps_past_its_timeout", "leaves_a_program_running", "kills_itself", "passes_quietly"] {
        run_fixture(f, &[]);
    }
    assert_eq!(host_state(), before);
}

/// With user namespaces unavailable (here: a limit of 0 set inside an outer user namespace),
/// a test fails and names the cause and the fix.
#[test]
fn no_user_namespaces_is_a_clear_failure() {
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec '{}' fixture::passes_quietly --exact --ignored",
        exe.display()
    );
    let out = Command::new("unshare").args(["-Ur", "sh", "-c", &script]).env("RUST_BACKTRACE", "0").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_failed(&out, &text, &["cannot create a user namespace", "sysctl -w user.max_user_namespaces="]);
}

/// Polls `cond` every 20 ms for at most `limit`.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// The test runner itself is SIGKILLed mid-test: its child test process and the program that
/// test started in a node must die too (nothing is left holding the namespaces).
#[test]
fn killing_the_runner_kills_the_test_and_its_programs() {
    let mut runner = Command::new(std::env::current_exe().unwrap())
        .args(["fixture::runs_a_program_and_waits", "--exact", "--ignored"])
        .env_remove("NETNS_TEST_CHILD")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(eventually(Duration::from_secs(10), || processes_running(&["sleep", "919"]) == 1), "the program never started");
    runner.kill().unwrap(); // SIGKILL: no destructor, no cleanup code of the runner runs
    runner.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(5), || processes_running(&["sleep", "919"]) == 0),
        "the node's program outlived the killed runner"
    );
}
