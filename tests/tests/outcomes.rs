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

    // ---- issue 7: verdicts that cannot lie ----

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "1s")]
    #[ignore = "fixture of the fault suite"]
    #[should_panic]
    fn should_panic_but_times_out() {
        std::thread::sleep(Duration::from_secs(30));
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    #[should_panic]
    fn should_panic_but_is_killed() {
        // SAFETY: sends a signal to this process.
        unsafe { libc::raise(libc::SIGKILL) };
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    #[should_panic]
    fn should_panic_but_exits() {
        std::process::exit(0);
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    #[should_panic]
    fn should_panic_but_returns() {}

    // 64 nodes need 64 namespace descriptors: under `ulimit -n 40` the build itself fails.
    #[netns_test(
        topology = "bridge br0 { n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29, n30, n31, n32, n33, n34, n35, n36, n37, n38, n39, n40, n41, n42, n43, n44, n45, n46, n47, n48, n49, n50, n51, n52, n53, n54, n55, n56, n57, n58, n59, n60, n61, n62, n63 }"
    )]
    #[ignore = "fixture of the fault suite"]
    #[should_panic]
    fn should_panic_but_the_build_fails() {}

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "1s")]
    #[ignore = "fixture of the fault suite"]
    fn stops_itself() {
        // SAFETY: sends a signal to this process.
        unsafe { libc::raise(libc::SIGSTOP) };
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    #[should_panic(expected = "boom from")]
    fn should_panic_and_panics() {
        panic!("boom from the body");
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    #[should_panic(expected = "another message")]
    fn should_panic_with_the_wrong_message() {
        panic!("boom from the body");
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    #[should_panic(expected = "boom")]
    fn should_panic_expected_for_skip() {
        panic!("boom");
    }

    /// `daemon(1, 1)`: the original exits at once, the copy returns from the body late.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "2s")]
    #[ignore = "fixture of the fault suite"]
    fn daemonizes_and_returns_late() {
        // SAFETY: daemon forks; the copy continues with only this thread.
        assert_eq!(unsafe { libc::daemon(1, 1) }, 0);
        std::thread::sleep(Duration::from_secs(4));
    }

    /// A forked copy passes while the original fails.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn forked_copy_passes_original_fails() {
        // SAFETY: the copy only leaves the group and returns from the body.
        if unsafe { libc::fork() } == 0 {
            // SAFETY: plain syscall.
            unsafe { libc::setsid() };
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
        panic!("the original failed");
    }

    /// A forked copy in a session of its own keeps every descriptor (report pipe included) for
    /// 20 s, then returns from the body.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "2s")]
    #[ignore = "fixture of the fault suite"]
    fn forked_copy_lingers() {
        // SAFETY: the copy only calls setsid and sleeps.
        if unsafe { libc::fork() } == 0 {
            // SAFETY: plain syscalls.
            unsafe { libc::setsid() };
            std::thread::sleep(Duration::from_secs(20));
        }
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "10s")]
    #[ignore = "fixture of the fault suite"]
    fn big_assertion() {
        assert_eq!(vec![0u32; 20_000], vec![1u32; 20_000], "BIG-ASSERT-TAIL");
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "10s")]
    #[ignore = "fixture of the fault suite"]
    fn big_err() -> Result<(), String> {
        Err("x".repeat(200_000) + "BIG-ERR-TAIL")
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "10s")]
    #[ignore = "fixture of the fault suite"]
    #[should_panic(expected = "BIG-PANIC-TAIL")]
    fn big_panic_expected() {
        panic!("{}BIG-PANIC-TAIL", "y".repeat(1 << 20));
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn prints_16mb_without_newline() {
        use std::io::Write;
        let chunk = vec![b'.'; 1 << 16];
        let mut out = std::io::stdout().lock();
        for _ in 0..256 {
            out.write_all(&chunk).unwrap();
        }
        out.write_all(b"END-OF-16MB").unwrap();
    }

    // Long enough for the body to start on a loaded machine.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "3s")]
    #[ignore = "fixture of the fault suite"]
    fn partial_line_then_timeout() {
        use std::io::Write;
        print!("partial line before the timeout");
        std::io::stdout().flush().unwrap();
        std::thread::sleep(Duration::from_secs(30));
    }

    /// Programs in their own process group or session, and a double-forked daemon.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    #[allow(clippy::zombie_processes)] // never waited for, on purpose: they must not outlive the sandbox
    fn starts_escaping_programs() {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("sleep").arg("921").process_group(0).spawn().unwrap();
        let mut setsid = std::process::Command::new("sleep");
        setsid.arg("922");
        // SAFETY: setsid is async-signal-safe.
        unsafe { setsid.pre_exec(|| (libc::setsid() >= 0).then_some(()).ok_or_else(std::io::Error::last_os_error)) };
        setsid.spawn().unwrap();
        std::process::Command::new("sh").args(["-c", "(setsid sleep 923 &) ; exit 0"]).status().unwrap();
        assert!(std::process::Command::new("true").status().unwrap().success());
    }

    /// Ignores SIGTERM and runs an escaping program until its runner is SIGKILLed.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite (its runner is killed)"]
    #[allow(clippy::zombie_processes)] // never waited for, on purpose: they must not outlive the sandbox
    fn ignores_sigterm_and_waits() {
        use std::os::unix::process::CommandExt;
        // SAFETY: plain signal disposition change.
        unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
        std::process::Command::new("sleep").arg("924").process_group(0).spawn().unwrap();
        std::thread::sleep(Duration::from_secs(30));
    }

    /// Would leave a bridge and a sysctl behind if it ran in the caller's own namespace.
    #[netns_test(topology = "bridge br7 { a=10.0.0.1/24, b=10.0.0.2/24 }\na [forward]")]
    #[ignore = "fixture of the fault suite"]
    fn builds_a_bridge() {}

    /// Starts programs: no NETNS_TEST_* reaches them, and another netns test binary works.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn runs_a_netns_test_binary() {
        let env = std::process::Command::new("env").output().unwrap();
        let env = String::from_utf8_lossy(&env.stdout);
        assert!(!env.contains("NETNS_TEST_"), "leaked into a program: {env}");
        let nested = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["fixture::passes_quietly", "--exact", "--ignored"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&nested.stdout).to_string() + &String::from_utf8_lossy(&nested.stderr);
        assert!(nested.status.success() && text.contains("1 passed"), "nested run failed: {text}");
    }

    /// Descriptor `FAULT_FD` (a UDP socket to a host listener the runner inherited) is not open.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn inherited_fd_is_closed() {
        let fd: i32 = std::env::var("FAULT_FD").unwrap().parse().unwrap();
        let ino: u64 = std::env::var("FAULT_INO").unwrap().parse().unwrap();
        // The number may be reused by a descriptor the test made itself (a netlink socket, a
        // namespace file): what must not be here is the runner's socket, known by its inode.
        // SAFETY: fstat into a zeroed struct we own; EBADF is fine.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let open = unsafe { libc::fstat(fd, &mut st) } == 0;
        assert!(!(open && st.st_ino == ino), "the runner's socket (descriptor {fd}) was open in the test");
        // SAFETY: send on a descriptor number; EBADF is what the test expects.
        if !open {
            assert!(unsafe { libc::send(fd, b"leak".as_ptr().cast(), 4, 0) } < 0);
        }
        let fds: Vec<_> = std::fs::read_dir("/proc/self/fd").unwrap().collect();
        assert!(fds.len() < 64, "{} descriptors open", fds.len());
    }

    /// With `FAULT_DELETE` set: deletes that file (the runner's test binary, as a rebuild does).
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn deleted_1_binary_is_removed() {
        std::fs::remove_file(std::env::var("FAULT_DELETE").unwrap()).unwrap();
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the fault suite"]
    fn deleted_2_test_runs_after() {}
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
    let (out, text, _) = timed_fixture(name, extra);
    (out, text)
}

/// [`run_fixture`], also returning how long the runner took (host checks excluded).
fn timed_fixture(name: &str, extra: &[&str]) -> (Output, String, Duration) {
    let before = host_state();
    let start = Instant::now();
    let child = runner(name, extra).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let session = child.id() as i32;
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_session_gone(session, &text);
    assert_eq!(host_state(), before, "fixture {name} changed the host");
    (out, text, took)
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
    let (out, text, took) = timed_fixture("sleeps_past_its_timeout", &[]);
    assert!(took < Duration::from_secs(10), "took {took:?}");
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
        should_panic: netns_test::__private::ShouldPanic::No,
    };
    let err = std::panic::catch_unwind(|| netns_test::__private::run(&spec, |_| Ok(()))).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("ran no test") && msg.contains("refusing to report a pass"), "{msg}");
}

/// Runs the passing fixture where user namespaces cannot be made: inside an outer user
/// namespace (made by `unshare`) whose `setup` shell line takes the possibility away.
fn run_without_user_namespaces(
    fixture: &str,
    unshare_args: &[&str],
    setup: &str,
    env: &[(&str, &str)],
) -> (Output, String) {
    let exe = std::env::current_exe().unwrap();
    let script = format!("{setup} exec '{}' fixture::{fixture} --exact --ignored", exe.display());
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
    let (out, text) = run_without_user_namespaces("passes_quietly", &["-Ur"], LIMIT_ZERO, &[]);
    assert_failed(
        &out,
        &text,
        &["cannot create a user namespace", "sysctl -w user.max_user_namespaces=", "NETNS_TEST_UNSUPPORTED=skip"],
    );
}

#[test]
fn an_unmapped_user_is_a_clear_failure() {
    // An outer user namespace without an id map: our uid is unmapped, so no map can be written.
    let (out, text) = run_without_user_namespaces("passes_quietly", &["-U"], "", &[]);
    assert_failed(&out, &text, &["cannot create a user namespace", "has no mapping in its own user namespace"]);
}

/// Under nextest every test is a process of its own: the sandbox's own first step tells whether
/// user namespaces work (with the diagnosis above), so no test pays for a separate probe (a fork
/// and a user namespace, 0.3–0.6 ms).
#[test]
fn a_test_is_not_preceded_by_a_probe_of_user_namespaces() {
    let out = runner("passes_quietly", &[]).env("NETNS_TEST_TRACE", "1").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed") && text.contains("child spawned in"), "{text}");
    assert!(!text.contains("user namespaces probed"), "{text}");
}

#[test]
fn opting_in_skips_loudly_instead_of_failing() {
    let (out, text) =
        run_without_user_namespaces("passes_quietly", &["-Ur"], LIMIT_ZERO, &[("NETNS_TEST_UNSUPPORTED", "skip")]);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("netns-test: SKIPPED `fixture::passes_quietly`") && text.contains("max_user_namespaces"),
        "{text}"
    );
}

// ---- issue 7: verdicts that cannot lie (each failed before the fix) ----

#[test]
fn should_panic_is_not_satisfied_by_the_frameworks_failures() {
    for (name, needle) in [
        ("should_panic_but_times_out", "timed out after"),
        ("should_panic_but_is_killed", "SIGKILL"),
        ("should_panic_but_exits", "exit code 0"),
        ("should_panic_but_returns", "did not panic"),
        ("should_panic_with_the_wrong_message", "another message"),
    ] {
        let (out, text) = run_fixture(name, &[]);
        assert_failed(&out, &text, &[needle]);
    }
}

#[test]
fn should_panic_is_not_satisfied_by_a_failed_build() {
    let mut cmd = runner("should_panic_but_the_build_fails", &[]);
    let limit = libc::rlimit { rlim_cur: 40, rlim_max: 40 };
    // SAFETY: setrlimit is async-signal-safe; it limits the runner (and so the test child) only.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        })
    };
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_failed(&out, &text, &["building the topology failed"]);
}

#[test]
fn a_body_that_stops_itself_times_out_on_time() {
    let (out, text, took) = timed_fixture("stops_itself", &[]);
    assert_failed(&out, &text, &["timed out after"]);
    // 1 s of timeout; the grace period (3 s) is for a body that can still show its state.
    assert!(took < Duration::from_millis(2500), "the verdict took {took:?}:\n{text}");
}

#[test]
fn should_panic_is_satisfied_by_the_bodys_panic() {
    let (out, text) = run_fixture("should_panic_and_panics", &[]);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[test]
fn a_skipped_should_panic_test_skips() {
    let (out, text) = run_without_user_namespaces(
        "should_panic_expected_for_skip",
        &["-Ur"],
        LIMIT_ZERO,
        &[("NETNS_TEST_UNSUPPORTED", "skip")],
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("netns-test: SKIPPED `fixture::should_panic_expected_for_skip`"), "{text}");
}

#[test]
fn a_daemonized_copy_cannot_end_supervision_or_pass() {
    let (out, text, took) = timed_fixture("daemonizes_and_returns_late", &[]);
    // The process the framework started exited (inside daemon()) without a verdict: a failure,
    // at once; the copy is killed with the sandbox and can report nothing.
    assert_failed(&out, &text, &["died during the test", "exit code 0"]);
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_forked_copy_cannot_deliver_the_verdict() {
    let (out, text) = run_fixture("forked_copy_passes_original_fails", &[]);
    assert_failed(&out, &text, &["the original failed"]);
}

#[test]
fn a_lingering_forked_copy_neither_hangs_nor_survives() {
    let (out, text, took) = timed_fixture("forked_copy_lingers", &[]);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn big_failure_messages_arrive_whole_and_promptly() {
    for (name, tail) in [("big_assertion", "BIG-ASSERT-TAIL"), ("big_err", "BIG-ERR-TAIL")] {
        let (out, text, took) = timed_fixture(name, &[]);
        assert_failed(&out, &text, &[tail]);
        assert!(!text.contains("timed out"), "{name}: {}", &text[text.len().saturating_sub(2000)..]);
        assert!(took < Duration::from_secs(5), "{name} took {took:?}");
    }
    // 1 MB: about 0.3 s here.
    let (out, text, took) = timed_fixture("big_panic_expected", &[]);
    assert!(out.status.success() && text.contains("1 passed"), "{}", &text[text.len().saturating_sub(2000)..]);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn output_without_newlines_is_replayed_in_linear_time() {
    let (out, text, took) = timed_fixture("prints_16mb_without_newline", &["--nocapture"]);
    assert!(out.status.success() && text.contains("END-OF-16MB"), "{}", &text[text.len().saturating_sub(500)..]);
    // About 0.3 s over a passing test here; quadratic replay took over 60 s. Generous for
    // loaded CI machines.
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_partial_last_line_is_shown_on_timeout() {
    let (out, text) = run_fixture("partial_line_then_timeout", &[]);
    assert_failed(&out, &text, &["timed out after", "partial line before the timeout"]);
}

#[test]
fn programs_in_their_own_group_or_session_die_with_the_test() {
    let (out, text) = run_fixture("starts_escaping_programs", &[]);
    assert!(out.status.success(), "{text}");
    for arg in ["921", "922", "923"] {
        assert!(
            eventually(Duration::from_secs(1), || processes_running(&["sleep", arg]) == 0),
            "sleep {arg} outlived the test"
        );
    }
}

#[test]
fn killing_the_runner_kills_a_body_that_ignores_sigterm() {
    let before = host_state();
    let mut runner: Child =
        runner("ignores_sigterm_and_waits", &[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    assert!(
        eventually(Duration::from_secs(10), || processes_running(&["sleep", "924"]) == 1),
        "the program never started"
    );
    runner.kill().unwrap();
    runner.wait().unwrap();
    let gone = || processes_running(&["sleep", "924"]) == 0 && children_of_exe() == 0;
    assert!(eventually(Duration::from_secs(1), gone), "the body or its program outlived the killed runner");
    assert_eq!(host_state(), before);
}

/// Processes running this test binary with the fixture name (the test child).
fn children_of_exe() -> usize {
    processes_running(&[&std::env::current_exe().unwrap().to_string_lossy(), "ignores_sigterm_and_waits"])
        + std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .filter(|c| String::from_utf8_lossy(c).contains("ignores_sigterm_and_waits\0--exact\0--nocapture"))
            .count()
}

/// As root in a network namespace standing in for the host (or rootless, in `unshare -Urn`),
/// the test binary run by hand with the child's variables must configure nothing.
#[test]
fn environment_variables_cannot_make_it_configure_the_callers_namespace() {
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "NETNS_TEST_CHILD=fixture::builds_a_bridge NETNS_TEST_REPORT_FD=2 \
         '{}' fixture::builds_a_bridge --exact --ignored --nocapture; echo; echo LINKS; ip -o link show; \
         echo FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)",
        exe.display()
    );
    // SAFETY: geteuid cannot fail.
    let flags: &[&str] = if unsafe { libc::geteuid() } == 0 { &["-n"] } else { &["-Urn"] };
    let out = Command::new("unshare").args(flags).args(["sh", "-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let links = text.split_once("LINKS").map(|(_, l)| l).unwrap_or("");
    assert!(!links.contains("br7") && !links.contains("veth"), "configured the caller's namespace:\n{text}");
    assert!(links.contains("FORWARD=0"), "changed the caller's sysctl:\n{text}");
}

#[test]
fn programs_started_by_the_body_see_no_netns_test_variables() {
    let (out, text) = run_fixture("runs_a_netns_test_binary", &[]);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[test]
fn descriptors_inherited_by_the_runner_do_not_reach_the_test() {
    use std::os::fd::AsRawFd;
    let listener = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    listener.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(listener.local_addr().unwrap()).unwrap();
    let fd = sock.as_raw_fd();
    let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(format!("/proc/self/fd/{fd}")).unwrap());
    let mut cmd = runner("inherited_fd_is_closed", &[]);
    cmd.env("FAULT_FD", fd.to_string()).env("FAULT_INO", ino.to_string());
    // SAFETY: fcntl is async-signal-safe; only the runner's copy becomes inheritable.
    unsafe {
        cmd.pre_exec(move || {
            (libc::fcntl(fd, libc::F_SETFD, 0) == 0).then_some(()).ok_or_else(std::io::Error::last_os_error)
        })
    };
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    let mut buf = [0u8; 16];
    assert!(listener.recv(&mut buf).is_err(), "a datagram from the test reached the host");
}

/// The runner's test binary is deleted (as a rebuild does) between two tests: the second runs.
#[test]
fn a_test_binary_deleted_mid_run_still_runs_its_tests() {
    let dir = std::env::temp_dir().join(format!("netns-test-deleted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("outcomes-copy");
    std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
    let out = Command::new(&copy)
        .args(["fixture::deleted_", "--ignored", "--test-threads=1"])
        .env("FAULT_DELETE", &copy)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("2 passed"), "{text}");
}

#[test]
fn a_runner_ignoring_sigchld_still_works() {
    let mut cmd = runner("passes_quietly", &[]);
    // SAFETY: signal is async-signal-safe; SIG_IGN survives exec, as a careless wrapper leaves it.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGCHLD, libc::SIG_IGN);
            Ok(())
        })
    };
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

/// Each namespace limit exhausted is named with its sysctl.
#[test]
fn an_exhausted_namespace_limit_is_named() {
    for limit in ["max_net_namespaces", "max_pid_namespaces", "max_mnt_namespaces"] {
        let setup = format!("echo 0 > /proc/sys/user/{limit} &&");
        let (out, text) = run_without_user_namespaces("passes_quietly", &["-Ur"], &setup, &[]);
        assert_failed(&out, &text, &[&format!("user.{limit}")]);
    }
}

/// RLIMIT_NPROC binds only users without CAP_SYS_RESOURCE: as root, run the fixture as a uid
/// that has no other process, allowed 4 (the runner's threads fit; the sandbox's three processes
/// do not).
#[test]
fn running_out_of_processes_is_named() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("running_out_of_processes_is_named: needs root to switch to an idle uid; not run");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let idle = ["--reuid=64999", "--regid=64999", "--clear-groups"];
    if !Command::new("setpriv").args(idle).arg("test").arg("-x").arg(&exe).status().unwrap().success() {
        eprintln!("running_out_of_processes_is_named: {} is not executable by others; not run", exe.display());
        return;
    }
    let out = Command::new("setpriv")
        .args(idle)
        .args(["prlimit", "--nproc=4"])
        .arg(&exe)
        .args(["fixture::passes_quietly", "--exact", "--ignored"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_failed(&out, &text, &["RLIMIT_NPROC", "ulimit -u"]);
}

#[test]
fn running_out_of_descriptors_is_named() {
    let exe = std::env::current_exe().unwrap();
    let script = format!("ulimit -n 12 && exec '{}' fixture::passes_quietly --exact --ignored", exe.display());
    let out = Command::new("sh").args(["-c", &script]).env("RUST_BACKTRACE", "0").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_failed(&out, &text, &["ulimit -n"]);
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
