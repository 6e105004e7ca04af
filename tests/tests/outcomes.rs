//! The fault suite: how tests end, seen from outside as a user sees it. This binary re-runs its
//! own ignored fixtures (`fixture::*`) as a test runner would, each in a session of its own, and
//! checks the exit status, what was printed, that no process of that session is left, and that
//! the host's network state (links, addresses, routes, neighbours, sysctls, namespaces, mounts)
//! is exactly as before.
//!
//! The fixtures fail on purpose; they are `#[ignore]`d so a normal run skips them (and reports
//! them as ignored, never as passed).

use netns_test::netns_test;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod fixture {
    use netns_test::{netns_test, Net};
    use std::time::Duration;

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn passes_quietly(_net: &Net) {
        println!("only shown with --nocapture");
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn panics(_net: &Net) {
        println!("output before the panic");
        panic!("boom from inside the namespace");
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn returns_err() -> Result<(), String> {
        Err("the result said no".into())
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn aborts() {
        std::process::abort();
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn segfaults() {
        // SAFETY: none; the point is a real invalid memory access.
        unsafe { std::ptr::null_mut::<u64>().write_volatile(7) };
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn is_killed() {
        // SAFETY: sends a signal to this process.
        unsafe { libc::raise(libc::SIGKILL) };
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "1s")]
    #[ignore = "fixture of the fault suite"]
    fn sleeps_past_its_timeout(net: &Net) {
        #[allow(clippy::zombie_processes)] // the point: the timeout kills it
        net.node("b").command("sleep").arg("913").spawn().unwrap();
        std::thread::sleep(Duration::from_secs(30));
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "1s")]
    #[ignore = "fixture of the fault suite"]
    #[allow(clippy::empty_loop)]
    fn loops_forever() {
        loop {}
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn leaves_a_program_running(net: &Net) {
        #[allow(clippy::zombie_processes)] // the point: nothing waits, the test's end kills it
        net.node("b").command("sleep").arg("917").spawn().unwrap();
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite (its runner is killed)"]
    fn runs_a_program_and_waits(net: &Net) {
        #[allow(clippy::zombie_processes)] // the point: the runner is killed while this runs
        net.node("b").command("sleep").arg("919").spawn().unwrap();
        std::thread::sleep(Duration::from_secs(30));
    }
}

/// A runner for one fixture, in a new session so everything it starts can be found later.
fn runner(name: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([&format!("fixture::{name}"), "--exact", "--ignored"])
        .args(extra)
        .env_remove("NETNS_TEST_CHILD")
        .env("RUST_BACKTRACE", "0");
    // SAFETY: setsid is async-signal-safe.
    unsafe { cmd.pre_exec(|| if libc::setsid() < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }) };
    cmd
}

/// Runs one fixture the way `cargo test` would, then checks nothing of it is left anywhere.
fn run_fixture(name: &str, extra: &[&str]) -> (Output, String) {
    let before = host_state();
    let child = runner(name, extra).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let session = child.id() as i32;
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_session_gone(session, &text);
    assert_eq!(host_state(), before, "fixture {name} changed the host");
    (out, text)
}

#[track_caller]
fn assert_session_gone(session: i32, context: &str) {
    let left = || session_processes(session);
    assert!(eventually(Duration::from_secs(5), || left().is_empty()), "left running: {:?}\n{context}", left());
}

#[track_caller]
fn assert_failed(out: &Output, text: &str, needles: &[&str]) {
    assert!(!out.status.success(), "the fixture must fail:\n{text}");
    assert!(text.contains("1 failed"), "libtest must count one failure:\n{text}");
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in:\n{text}");
    }
}

/// Command lines of the live (not zombie) processes of a session.
fn session_processes(session: i32) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // pid (comm) state ppid pgrp session ...; comm may contain spaces: split after ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 3 && f[0] != "Z" && f[3] == session.to_string() {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            found.push(String::from_utf8_lossy(&cmd).replace('\0', " "));
        }
    }
    found
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

/// The host's network state as `ci/host-snapshot.sh` prints it, plus this process's mounts.
fn host_state() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../ci/host-snapshot.sh");
    let out = Command::new("bash").arg(script).output().expect("run ci/host-snapshot.sh");
    assert!(out.status.success(), "host snapshot failed");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    format!("{}\n{mounts}", String::from_utf8_lossy(&out.stdout))
}

#[test]
fn a_pass_leaves_nothing_and_output_is_captured_unless_nocapture() {
    let (out, text) = run_fixture("passes_quietly", &[]);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    assert!(!text.contains("only shown with --nocapture"), "{text}");
    let (out, text) = run_fixture("passes_quietly", &["--nocapture"]);
    assert!(out.status.success() && text.contains("only shown with --nocapture"), "{text}");
}

#[test]
fn a_panic_surfaces_with_message_location_and_output() {
    let (out, text) = run_fixture("panics", &[]);
    assert_failed(
        &out,
        &text,
        &["output before the panic", "boom from inside the namespace", "panicked at tests/tests/outcomes.rs"],
    );
}

#[test]
fn a_result_error_surfaces() {
    let (out, text) = run_fixture("returns_err", &[]);
    assert_failed(&out, &text, &["Error: \"the result said no\""]);
}

#[test]
fn an_abort_is_a_failure() {
    let (out, text) = run_fixture("aborts", &[]);
    assert_failed(&out, &text, &["died during the test", "SIGABRT"]);
}

#[test]
fn a_segfault_is_a_failure() {
    let (out, text) = run_fixture("segfaults", &[]);
    assert_failed(&out, &text, &["died during the test", "SIGSEGV"]);
}

#[test]
fn a_killed_child_is_a_failure_naming_the_signal() {
    let (out, text) = run_fixture("is_killed", &[]);
    assert_failed(&out, &text, &["died during the test", "SIGKILL"]);
}

#[test]
fn a_timeout_kills_the_test_and_its_programs() {
    let start = Instant::now();
    let (out, text) = run_fixture("sleeps_past_its_timeout", &[]);
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert_failed(&out, &text, &["timed out after", "timeout = 1s"]);
    assert_eq!(processes_running(&["sleep", "913"]), 0, "the node's program outlived the test");
}

#[test]
fn an_endless_loop_times_out() {
    let (out, text) = run_fixture("loops_forever", &[]);
    assert_failed(&out, &text, &["timed out after"]);
}

#[test]
fn background_programs_die_with_a_passing_test() {
    let (out, text) = run_fixture("leaves_a_program_running", &[]);
    assert!(out.status.success(), "{text}");
    assert_eq!(processes_running(&["sleep", "917"]), 0, "the node's program outlived the test");
}

/// The test runner itself is SIGKILLed mid-test: its child test process and the program that
/// test started in a node must die too (nothing is left holding the namespaces).
#[test]
fn killing_the_runner_kills_the_test_and_its_programs() {
    let before = host_state();
    let mut runner: Child =
        runner("runs_a_program_and_waits", &[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let session = runner.id() as i32;
    assert!(
        eventually(Duration::from_secs(10), || processes_running(&["sleep", "919"]) == 1),
        "the program never started"
    );
    runner.kill().unwrap(); // SIGKILL: no destructor, no cleanup code of the runner runs
    runner.wait().unwrap();
    assert_session_gone(session, "after SIGKILL of the runner");
    assert_eq!(processes_running(&["sleep", "919"]), 0, "the node's program outlived the killed runner");
    assert_eq!(host_state(), before);
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

/// Runs the passing fixture where user namespaces cannot be made: inside an outer user
/// namespace (made by `unshare`) whose `setup` shell line takes the possibility away.
fn run_without_user_namespaces(unshare_args: &[&str], setup: &str, env: &[(&str, &str)]) -> (Output, String) {
    let exe = std::env::current_exe().unwrap();
    let script = format!("{setup} exec '{}' fixture::passes_quietly --exact --ignored", exe.display());
    let out = Command::new("unshare")
        .args(unshare_args)
        .args(["sh", "-c", &script])
        .env("RUST_BACKTRACE", "0")
        .env_remove("NETNS_TEST_CHILD")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

const LIMIT_ZERO: &str = "echo 0 > /proc/sys/user/max_user_namespaces &&";

#[test]
fn no_user_namespaces_is_a_clear_failure() {
    let (out, text) = run_without_user_namespaces(&["-Ur"], LIMIT_ZERO, &[]);
    assert_failed(
        &out,
        &text,
        &["cannot create a user namespace", "sysctl -w user.max_user_namespaces=", "NETNS_TEST_UNSUPPORTED=skip"],
    );
}

#[test]
fn an_unmapped_user_is_a_clear_failure() {
    // An outer user namespace without an id map: our uid is unmapped, so no map can be written.
    let (out, text) = run_without_user_namespaces(&["-U"], "", &[]);
    assert_failed(&out, &text, &["cannot create a user namespace", "has no mapping in its own user namespace"]);
}

#[test]
fn opting_in_skips_loudly_instead_of_failing() {
    let (out, text) = run_without_user_namespaces(&["-Ur"], LIMIT_ZERO, &[("NETNS_TEST_UNSUPPORTED", "skip")]);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("netns-test: SKIPPED `fixture::passes_quietly`") && text.contains("max_user_namespaces"),
        "{text}"
    );
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
