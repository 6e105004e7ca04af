//! The per-test process model.
//!
//! The parent (the ordinary libtest or nextest run) re-executes the test binary for exactly one
//! test, in a child that a `pre_exec` hook has moved into a fresh user + network namespace (the
//! test thread itself cannot: `unshare(CLONE_NEWUSER)` refuses multi-threaded processes). The
//! child builds the topology, runs the body inside its node and reports over a pipe. Everything
//! the test made belongs to the child's namespaces, so the kernel frees it when the child's
//! process group dies, and the parent kills that group whatever way the test ends.
//!
//! The report pipe is also the guard against false passes: a child that matched no test, or died
//! before reporting, never produced `ok`, and the parent fails the test.

use crate::net::Net;
use crate::userns::{self, IdMaps};
use netns_test_topology::Topology;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Set in the child to the name of the one test it must run.
const CHILD_ENV: &str = "NETNS_TEST_CHILD";
/// Set in the child to the descriptor of the report pipe.
const REPORT_ENV: &str = "NETNS_TEST_REPORT_FD";
/// Set to `skip` (by a CI that cannot have namespaces) to skip, loudly, instead of failing.
pub(crate) const UNSUPPORTED_ENV: &str = "NETNS_TEST_UNSUPPORTED";

/// What the macro knows about one test.
#[doc(hidden)]
pub struct Spec {
    /// `module_path!()::fn_name`, the crate name included.
    pub path: &'static str,
    pub topology: &'static str,
    /// Where the body runs.
    pub node: &'static str,
    pub timeout: Duration,
}

impl Spec {
    /// The test's name as libtest knows it: the path without the crate name.
    fn test_name(&self) -> &'static str {
        self.path.split_once("::").map_or(self.path, |(_, rest)| rest)
    }
}

/// The outcome of a body, as the child reports it.
pub(crate) type Outcome = Result<(), String>;

/// Runs one `#[netns_test]`: as the parent, spawn and supervise the child; as the child, run.
pub fn run(spec: &Spec, body: impl FnOnce(&Net) -> Outcome) {
    match std::env::var(CHILD_ENV) {
        Ok(name) if name == spec.test_name() => child(spec, body),
        Ok(name) => {
            panic!("netns-test: this child process was started for `{name}` but is running `{}`", spec.test_name())
        }
        Err(_) => parent(spec),
    }
}

// ---------------------------------------------------------------------------------------------
// Parent

fn parent(spec: &Spec) {
    let name = spec.test_name();
    if let Err(e) = userns::probe() {
        if std::env::var(UNSUPPORTED_ENV).as_deref() == Ok("skip") {
            // Straight to the terminal, past libtest's capture: a skip must never look like a pass.
            let _ = writeln!(io::stderr(), "netns-test: SKIPPED `{name}` ({UNSUPPORTED_ENV}=skip): {e}");
            return;
        }
        panic!("netns-test: cannot isolate `{name}`: {e}\n(A CI that cannot have user namespaces may set {UNSUPPORTED_ENV}=skip to skip these tests loudly instead.)");
    }
    let exe = std::env::current_exe().expect("netns-test: cannot find the test binary");
    let (out_r, out_w) = pipe().expect("netns-test: cannot create a pipe");
    let (rep_r, rep_w) = pipe().expect("netns-test: cannot create a pipe");

    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1", "--include-ignored"])
        .env(CHILD_ENV, name)
        .env(REPORT_ENV, rep_w.as_raw_fd().to_string())
        .stdin(Stdio::null())
        // libtest's own chatter goes nowhere; the child points stdout at stderr when it starts.
        .stdout(Stdio::null())
        .stderr(out_w)
        .process_group(0);
    let maps = IdMaps::for_current_user();
    let report_fd = rep_w.as_raw_fd();
    let parent_pid = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe syscalls, no allocation.
    unsafe {
        cmd.pre_exec(move || {
            // Hear of the parent's death (its test thread lives until this child is reaped):
            // the child then kills its whole group (see `kill_group_on_parent_death`).
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent_pid {
                libc::_exit(1); // the parent is already gone
            }
            maps.enter(true).map_err(|(step, errno)| userns::encode(step, errno))?;
            // Let the report pipe survive exec.
            if libc::fcntl(report_fd, libc::F_SETFD, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    };

    let start = Instant::now();
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => match userns::decode(&e) {
            Some(err) => panic!("netns-test: cannot isolate `{name}`: {err}"),
            None => panic!("netns-test: cannot start the child process for `{name}`: {e}"),
        },
    };
    let spawned = start.elapsed();
    drop((rep_w, cmd));
    let mut guard = Group { pgid: child.id() as i32, child: Some(child) };

    let (status, timed_out) = supervise(&mut guard, &out_r, spec.timeout);
    let elapsed = start.elapsed();
    guard.kill(); // leftovers: programs started in nodes
    drain(&out_r, Duration::from_secs(1));
    if crate::builder::tracing() {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        // Past libtest's capture, so it shows for passing tests too.
        let _ = writeln!(
            io::stderr(),
            "netns-test: `{name}`: child spawned in {:.2} ms, exited after {:.2} ms, reaped after {:.2} ms",
            ms(spawned),
            ms(elapsed),
            ms(start.elapsed())
        );
    }
    let report = read_report(rep_r);
    judge(name, spec, report, status, timed_out, elapsed);
}

/// Replays the child's output until it exits or the timeout passes; returns its exit status.
fn supervise(group: &mut Group, out: &OwnedFd, timeout: Duration) -> (ExitStatus, bool) {
    let deadline = Instant::now() + timeout;
    let pidfd = pidfd_open(group.pgid).expect("netns-test: pidfd_open failed (Linux 5.3+ is needed)");
    let mut line = LineReplay::default();
    let mut out_open = true;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            group.kill();
            return (group.wait(), true);
        }
        let mut fds = [
            libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: if out_open { out.as_raw_fd() } else { -1 }, events: libc::POLLIN, revents: 0 },
        ];
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: valid pollfd array.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if n < 0 {
            continue; // EINTR
        }
        if fds[1].revents != 0 {
            out_open = line.read_from(out);
        }
        if fds[0].revents != 0 {
            line.finish();
            return (group.wait(), false);
        }
    }
}

/// Copies what is left in the pipe once the group is dead, bounded in time in case a process
/// escaped the group and still holds the pipe.
fn drain(out: &OwnedFd, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut line = LineReplay::default();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [libc::pollfd { fd: out.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        // SAFETY: valid pollfd array.
        if left.is_zero() || unsafe { libc::poll(fds.as_mut_ptr(), 1, left.as_millis() as i32) } <= 0 {
            break;
        }
        if !line.read_from(out) {
            break;
        }
    }
    line.finish();
}

/// Prints the child's output through `print!` so libtest's capture holds it, whole lines at a
/// time so multi-byte characters are never split.
#[derive(Default)]
struct LineReplay(Vec<u8>);

impl LineReplay {
    /// Reads once; false at end of file.
    fn read_from(&mut self, fd: &OwnedFd) -> bool {
        let mut buf = [0u8; 8192];
        // SAFETY: reading into a buffer we own.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return false;
        }
        let n = n as usize;
        self.0.extend_from_slice(&buf[..n]);
        if let Some(end) = self.0.iter().rposition(|&b| b == b'\n') {
            let rest = self.0.split_off(end + 1);
            print!("{}", String::from_utf8_lossy(&self.0));
            self.0 = rest;
        }
        true
    }

    fn finish(&mut self) {
        if !self.0.is_empty() {
            println!("{}", String::from_utf8_lossy(&self.0));
            self.0.clear();
        }
    }
}

/// The child's process group; killed on drop, so an abandoned parent leaves nothing behind.
struct Group {
    pgid: i32,
    child: Option<std::process::Child>,
}

impl Group {
    fn kill(&self) {
        // SAFETY: signals only our own child's group; ESRCH when it is already gone is fine.
        unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
    }

    fn wait(&mut self) -> ExitStatus {
        self.child.take().expect("waited twice").wait().expect("netns-test: waitpid failed")
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}

fn read_report(rep: OwnedFd) -> String {
    let mut s = String::new();
    // Every writer is dead (the child closes its copy on exec of anything else), so this ends.
    let _ = File::from(rep).read_to_string(&mut s);
    s
}

/// Turns what the parent saw into a pass or a failure with a message that says what happened.
fn judge(name: &str, spec: &Spec, report: String, status: ExitStatus, timed_out: bool, elapsed: Duration) {
    let mut lines = report.splitn(2, '\n');
    let started = lines.next() == Some("started");
    let verdict = lines.next().unwrap_or("");
    if timed_out {
        panic!(
            "netns-test: `{name}` timed out after {:?} (timeout = {:?}); its processes were killed",
            elapsed, spec.timeout
        );
    }
    if !started {
        panic!(
            "netns-test: the child process for `{name}` ran no test ({}). The test binary did not \
             run this test when re-executed with `{name} --exact`; refusing to report a pass.",
            describe(status)
        );
    }
    if let Some(msg) = verdict.strip_prefix("failed\n") {
        // The child already printed the panic with its location; carry the message so
        // `#[should_panic(expected = ..)]` matches it.
        std::panic::resume_unwind(Box::new(msg.to_string()));
    }
    if verdict.starts_with("ok") && status.success() {
        return;
    }
    panic!("netns-test: the child process for `{name}` died during the test ({})", describe(status));
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s} ({})", signal_name(s)),
        _ => status.to_string(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: a plain syscall; the returned descriptor is ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

// ---------------------------------------------------------------------------------------------
// Child

fn child(spec: &Spec, body: impl FnOnce(&Net) -> Outcome) -> ! {
    let mut report = take_report_pipe();
    // stdout was /dev/null so that libtest's lines stay out of the replay; from here on the
    // test's stdout and stderr both go to the parent, interleaved as written.
    // SAFETY: dup2 on descriptors this process owns.
    unsafe { libc::dup2(2, 1) };
    let _ = report.write_all(b"started\n");
    kill_group_on_parent_death();
    userns::mark_isolated();

    let outcome = setup(spec).and_then(|(net, node)| {
        node.run(|| match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&net))) {
            Ok(outcome) => outcome,
            Err(payload) => Err(panic_message(&*payload)),
        })
    });
    let verdict = match &outcome {
        Ok(()) => "ok".to_string(),
        Err(msg) => format!("failed\n{msg}"),
    };
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    let _ = report.write_all(verdict.as_bytes());
    drop(report);
    // Exit now: nothing of libtest's would reach the parent, and the kernel frees the topology.
    std::process::exit(if outcome.is_ok() { 0 } else { 101 });
}

/// When the parent dies (a killed test runner), the kernel sends SIGTERM here; the handler
/// kills this process's whole group, so programs the test started die with it.
fn kill_group_on_parent_death() {
    extern "C" fn on_parent_death(_: libc::c_int) {
        // SAFETY: kill is async-signal-safe; group 0 is this process's own group.
        unsafe { libc::kill(0, libc::SIGKILL) };
    }
    // SAFETY: installs an async-signal-safe handler.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_parent_death as *const () as usize;
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
    }
}

fn setup(spec: &Spec) -> Result<(Net, crate::net::Node), String> {
    let topology = Topology::parse(spec.topology)
        .map_err(|e| format!("netns-test: invalid topology (the macro should have caught this): {e}"))?;
    // The child's own namespace is fresh and unused: node 0 may live in it.
    let net = Net::build_with(topology, crate::builder::Node0::CallersIfNoBridges).map_err(|e| {
        let msg = format!("netns-test: building the topology failed: {e}");
        eprintln!("{msg}");
        msg
    })?;
    let node = net.node(spec.node).clone();
    Ok((net, node))
}

fn take_report_pipe() -> File {
    let fd: RawFd = std::env::var(REPORT_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("netns-test: the child has no report pipe (NETNS_TEST_REPORT_FD)");
    // SAFETY: the parent passed us this descriptor and nothing else in the child owns it.
    let file = unsafe { File::from_raw_fd(fd) };
    // Programs the test starts must not hold the report pipe open.
    let _ = nix::fcntl::fcntl(file.as_fd(), nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC));
    file
}

/// The text of a panic payload (`panic!("..")` carries a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}
