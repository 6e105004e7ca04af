//! Starting the test child in its sandbox: three processes, made in one `pre_exec` hook.
//!
//! ```text
//! runner's test thread --spawn--> I --fork--> INIT (PID 1) --fork--> TEST (PID 2) --exec--> test binary
//! ```
//!
//! - I (the spawned process) enters fresh user, network, mount, UTS and PID namespaces. After
//!   `unshare(CLONE_NEWPID)` its *children* are in the new PID namespace, and it may not create
//!   threads, so it forks INIT, waits for it and exits.
//! - INIT, PID 1 of the namespace, makes "/" private, mounts a procfs of its namespace on /proc
//!   (when the kernel allows: a container's masked /proc refuses, and the host's stays), forks
//!   TEST and reaps every process until TEST exits; then it writes TEST's wait status to the
//!   status pipe and exits. The kernel then kills every process left in the namespace (own
//!   process group, `setsid`, `daemon()`, SIGTERM ignored: all) and waits for them, so when I
//!   exits, nothing the test started is alive and every pipe the runner reads is at its end.
//! - TEST execs the test binary. It is not PID 1 because PID 1 ignores signals it has no handler
//!   for, even a SIGKILL it sends itself: `raise(SIGKILL)` in a body would be ignored.
//!
//! Each process has a parent-death signal (SIGKILL), so a runner killed mid-test takes the chain
//! down: I dies, INIT dies, the namespace dies. I and INIT close every descriptor they inherited
//! (std's spawn waits until every copy of its error pipe is closed); TEST starts with only 0–2 and
//! its report pipe (every other descriptor the runner had is marked close-on-exec).

use super::diagnose::{self, Step};
use crate::userns::IdMaps;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The namespaces each test gets.
const NAMESPACES: libc::c_int =
    libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWPID;

/// A started test child and the parent's ends of its pipes.
pub(super) struct Started {
    /// I, the process spawned; its end means the whole namespace has ended.
    pub(super) child: Child,
    /// The test's stdout and stderr, interleaved.
    pub(super) output: OwnedFd,
    /// [`super::report::Report`]s, written by TEST only.
    pub(super) report: OwnedFd,
    /// TEST's raw wait status (4 bytes, native endian), written by INIT.
    pub(super) status: OwnedFd,
}

/// Why a sandbox could not be started.
#[derive(Debug)]
pub(super) enum Refused {
    /// Its user namespace was refused (`unshare(CLONE_NEWUSER)`, `setgroups` or an id map):
    /// user namespaces are unavailable to this process, or their limit is reached. Explained.
    UserNamespace(crate::Error),
    /// Any other step, or the spawn itself: the message, with the cause and fix.
    Other(String),
}

/// Starts the test binary for the one test `name` in a fresh sandbox.
pub(super) fn start(name: &str) -> Result<Started, Refused> {
    let pipes = (|| Ok::<_, io::Error>((pipe()?, pipe()?, pipe()?)))();
    let ((out_r, out_w), (rep_r, rep_w), (st_r, st_w)) =
        pipes.map_err(|e| Refused::Other(format!("netns-test: {}: {e}", diagnose::resource("creating pipes", &e))))?;

    let (arg0, exe) = test_binary();
    // Through /proc/self/exe (TEST is a fork of this process, so that is the binary running now):
    // a binary deleted or replaced since (cargo rebuilt it) still runs, as the one that started.
    let mut cmd = Command::new(exe);
    cmd.arg0(arg0)
        .args([name, "--exact", "--nocapture", "--test-threads=1", "--include-ignored"])
        .env(crate::env::CHILD, name)
        .env(crate::env::REPORT_FD, rep_w.as_raw_fd().to_string())
        .stdin(Stdio::null())
        // libtest's own chatter goes nowhere; the child points stdout at stderr when it starts.
        .stdout(Stdio::null())
        .stderr(out_w)
        .process_group(0);
    let chain = Chain {
        maps: IdMaps::for_current_user(),
        runner: std::process::id() as libc::pid_t,
        report: rep_w.as_raw_fd(),
        status: st_w.as_raw_fd(),
    };
    // SAFETY: `Chain::run` is async-signal-safe: raw syscalls only, no allocation, no locks.
    unsafe { cmd.pre_exec(move || chain.run()) };
    let child = cmd.spawn().map_err(|e| match diagnose::user_namespace_refused(&e) {
        Some(why) => Refused::UserNamespace(why),
        None => Refused::Other(diagnose::spawn_error(&e, &arg0_display())),
    })?;
    drop((rep_w, st_w, cmd));
    Ok(Started { child, output: out_r, report: rep_r, status: st_r })
}

/// What the three processes need, prepared before the fork.
struct Chain {
    maps: IdMaps,
    runner: libc::pid_t,
    report: libc::c_int,
    status: libc::c_int,
}

impl Chain {
    /// Runs in I, right after std's fork; returns in TEST, which std then execs. An `Err` from
    /// any of the three reaches `spawn()` through std's error pipe, which each holds until it
    /// has nothing more to report.
    ///
    /// # Safety
    /// Only in a freshly forked (single-threaded) child.
    unsafe fn run(&self) -> io::Result<()> {
        // I. A runner that ignores SIGCHLD would make I's and INIT's children vanish unwaited.
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        die_with_parent(Some(self.runner))?;
        self.maps.enter(NAMESPACES).map_err(|(step, errno)| {
            let (step, errno) = match step {
                Step::Unshare => diagnose::which_step(&self.maps, NAMESPACES, errno),
                _ => (step, errno),
            };
            diagnose::encode(step, errno)
        })?;
        // A pipe whose far end only I holds: INIT checks I is alive after arming its own
        // parent-death signal (its view of its parent's pid is 0: I is outside its namespace).
        let mut alive = [0; 2];
        if libc::pipe2(alive.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(diagnose::encode(Step::Pipe, errno()));
        }
        match libc::fork() {
            -1 => return Err(diagnose::encode(Step::ForkInit, errno())),
            0 => {}
            init => {
                close_all_except(alive[1]);
                let status = wait_for(init);
                libc::_exit(if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 });
            }
        }

        // INIT, PID 1 of the new PID namespace.
        die_with_parent(None)?;
        libc::close(alive[1]);
        let mut pfd = libc::pollfd { fd: alive[0], events: libc::POLLIN, revents: 0 };
        if libc::poll(&mut pfd, 1, 0) != 0 {
            libc::_exit(1); // I is gone already: so is the runner
        }
        libc::close(alive[0]);
        // Mounts made here never propagate back to the host.
        let private = libc::MS_REC | libc::MS_PRIVATE;
        if libc::mount(std::ptr::null(), c"/".as_ptr(), std::ptr::null(), private, std::ptr::null()) != 0 {
            return Err(diagnose::encode(Step::MountPrivate, errno()));
        }
        // A procfs of this PID namespace, so /proc shows the test's processes only. Refused in
        // some containers (a masked /proc): then the host's stays, which is fine.
        let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        libc::mount(c"proc".as_ptr(), c"/proc".as_ptr(), c"proc".as_ptr(), flags, std::ptr::null());
        let test = match libc::fork() {
            -1 => return Err(diagnose::encode(Step::ForkTest, errno())),
            0 => 0,
            test => test,
        };
        if test > 0 {
            close_all_except(self.status);
            let status = reap_until(test);
            libc::write(self.status, (&status as *const libc::c_int).cast(), 4);
            libc::_exit(0); // the kernel now kills whatever is left in the namespace
        }

        // TEST, PID 2.
        die_with_parent(Some(1))?;
        cloexec_from(3);
        // The report pipe is the one descriptor passed on; the status pipe is INIT's alone.
        if libc::fcntl(self.report, libc::F_SETFD, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Arms SIGKILL on the parent thread's death, then checks the parent is still the one expected
/// (`None`: cannot be checked by pid).
unsafe fn die_with_parent(parent: Option<libc::pid_t>) -> io::Result<()> {
    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
        return Err(io::Error::last_os_error());
    }
    if parent.is_some_and(|p| libc::getppid() != p) {
        libc::_exit(1);
    }
    Ok(())
}

/// Waits for `pid`, through signals; its raw wait status.
unsafe fn wait_for(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    while libc::waitpid(pid, &mut status, libc::__WALL) < 0 && errno() == libc::EINTR {}
    status
}

/// As PID 1: reaps every process (orphans are reparented here) until `test` exits.
unsafe fn reap_until(test: libc::pid_t) -> libc::c_int {
    loop {
        let mut status = 0;
        let pid = libc::waitpid(-1, &mut status, libc::__WALL);
        if pid == test {
            return status;
        }
        if pid < 0 && errno() != libc::EINTR {
            return libc::W_EXITCODE(127, 0) as libc::c_int;
        }
    }
}

/// Closes every descriptor from 3 up but `keep`.
unsafe fn close_all_except(keep: libc::c_int) {
    close_range(3, keep as libc::c_uint - 1, 0);
    close_range(keep as libc::c_uint + 1, libc::c_uint::MAX, 0);
}

/// Marks every descriptor from `first` up close-on-exec.
unsafe fn cloexec_from(first: libc::c_uint) {
    close_range(first, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int);
}

/// `close_range(2)`, with a descriptor-by-descriptor fallback for kernels before 5.11.
unsafe fn close_range(first: libc::c_uint, last: libc::c_uint, flags: libc::c_int) {
    if first > last || libc::syscall(libc::SYS_close_range, first, last, flags) == 0 {
        return;
    }
    for fd in first..=last.min(65_535) {
        if flags == 0 {
            libc::close(fd as libc::c_int);
        } else {
            libc::fcntl(fd as libc::c_int, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

/// The test binary's path (for argv[0] and messages) and what to execute: /proc/self/exe.
fn test_binary() -> (&'static PathBuf, &'static str) {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    let path = PATH.get_or_init(|| {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("the test binary"));
        // After a deletion the kernel's link reads "<path> (deleted)".
        let s = exe.to_string_lossy();
        PathBuf::from(s.strip_suffix(" (deleted)").unwrap_or(&s).to_string())
    });
    (path, "/proc/self/exe")
}

fn arg0_display() -> String {
    test_binary().0.display().to_string()
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
