//! Starting the test child in its sandbox: three processes, made in one `pre_exec` hook.
//!
//! ```text
//! runner's test thread --spawn--> I --clone(VM)--> INIT (PID 1) --clone(VM, VFORK)--> TEST (PID 2) --exec--> test binary
//! ```
//!
//! - I (the spawned process, a fork of the runner) enters fresh user, network, mount, UTS and
//!   PID namespaces. After `unshare(CLONE_NEWPID)` its *children* are in the new PID namespace,
//!   and it may not create threads, so it makes INIT, waits for it and exits.
//! - INIT, PID 1 of the namespace, makes "/" private, mounts a procfs of its namespace on /proc
//!   (when the kernel allows: a container's masked /proc refuses, and the host's stays), makes
//!   TEST and reaps every process until TEST exits; then it writes TEST's wait status to the
//!   status pipe and exits. The kernel then kills every process left in the namespace (own
//!   process group, `setsid`, `daemon()`, SIGTERM ignored: all) and waits for them, so when I
//!   exits, nothing the test started is alive and every pipe the runner reads is at its end.
//! - TEST execs the test binary. It is not PID 1 because PID 1 ignores signals it has no handler
//!   for, even a SIGKILL it sends itself: `raise(SIGKILL)` in a body would be ignored.
//!
//! INIT and TEST share I's memory (`CLONE_VM`, each on a stack of its own; TEST with
//! `CLONE_VFORK`, so INIT waits until TEST runs the test binary): the runner's address space is
//! copied once per test, for I, not three times (each copy is a fork's page tables and the
//! copy-on-write faults after it, ~0.15 ms here). They run only async-signal-safe code on memory
//! prepared before the fork.
//!
//! Each process has a parent-death signal (SIGKILL), so a runner killed mid-test takes the chain
//! down: I dies, INIT dies, the namespace dies. I and INIT close every descriptor they inherited
//! (std's spawn waits until every copy of its error pipe is closed: I's, once INIT says TEST runs); TEST starts with only 0–2 and
//! its report pipe (every other descriptor the runner had is marked close-on-exec).

use crate::sandbox::diagnose;
use crate::sandbox::idmap::IdMaps;
use crate::sandbox::step::Step;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
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
    UserNamespace(crate::error::Error),
    /// Any other step, or the spawn itself: the message, with the cause and fix.
    Other(String),
}

/// Starts the test binary for the one test `name` in a fresh sandbox.
pub(super) fn start(name: &str) -> Result<Started, Refused> {
    let pipes = (|| Ok::<_, io::Error>((pipe()?, pipe()?, pipe()?)))();
    let ((out_r, out_w), (rep_r, rep_w), (st_r, st_w)) =
        pipes.map_err(|e| Refused::Other(format!("netns-test: {}: {e}", diagnose::resource("creating pipes", &e))))?;

    let (arg0, exe) = test_binary();
    // Through /proc/self/exe (TEST is made from this process, so that is the binary running
    // now): a binary deleted or replaced since (cargo rebuilt it) still runs, as the one that
    // started. TEST runs it itself (see `Chain::run`); `cmd` makes I.
    let report = rep_w.as_raw_fd().to_string();
    let exec = Exec::new(
        exe,
        &[
            arg0.as_os_str(),
            name.as_ref(),
            "--exact".as_ref(),
            "--nocapture".as_ref(),
            "--test-threads=1".as_ref(),
            "--include-ignored".as_ref(),
        ],
        &[(crate::env::CHILD, name), (crate::env::REPORT_FD, &report)],
    );
    let mut cmd = Command::new(exe);
    cmd.arg0(arg0)
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
        exec,
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
    exec: Exec,
}

/// An `execve(2)` prepared before the fork: the program, its arguments, and this process's
/// environment with `extra` set.
struct Exec {
    program: CString,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    /// What `argv` and `envp` point into.
    _strings: Vec<CString>,
}

// SAFETY: the pointers point into `_strings`, owned by the same value and never changed.
unsafe impl Send for Exec {}
unsafe impl Sync for Exec {}

impl Exec {
    fn new(program: &str, args: &[&OsStr], extra: &[(&str, &str)]) -> Exec {
        let c = |b: &[u8]| CString::new(b.to_vec()).unwrap_or_default();
        let mut env: Vec<CString> = std::env::vars_os()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| k == e))
            .map(|(k, v)| c(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
            .collect();
        env.extend(extra.iter().map(|(k, v)| c(format!("{k}={v}").as_bytes())));
        let args: Vec<CString> = args.iter().map(|a| c(a.as_bytes())).collect();
        let ptrs = |v: &[CString]| v.iter().map(|s| s.as_ptr()).chain([std::ptr::null()]).collect();
        let (argv, envp) = (ptrs(&args), ptrs(&env));
        Exec { program: c(program.as_bytes()), argv, envp, _strings: args.into_iter().chain(env).collect() }
    }
}

impl Chain {
    /// Runs in I, right after std's fork, and never returns `Ok`: I makes INIT and INIT makes
    /// TEST, both sharing I's memory (no copy of the runner's address space), and TEST runs the
    /// test binary itself. An `Err` (I's own, or INIT's or TEST's passed on by INIT) reaches
    /// `spawn()` through std's error pipe, which I holds until TEST runs the test binary.
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
        // INIT tells I here how TEST's start went: 0 once TEST runs the test binary, or the error.
        let mut started = [0; 2];
        if libc::pipe2(alive.as_mut_ptr(), libc::O_CLOEXEC) != 0
            || libc::pipe2(started.as_mut_ptr(), libc::O_CLOEXEC) != 0
        {
            return Err(diagnose::encode(Step::Pipe, errno()));
        }
        let init_stack = stack_top(STACK)?;
        let test_stack = stack_top(STACK)?;
        let init = Init { chain: self, alive, started: started[1], test_stack, exec_errno: AtomicI32::new(0) };
        let arg = (&raw const init).cast_mut().cast();
        let pid = libc::clone(init_main, init_stack, libc::CLONE_VM | libc::SIGCHLD, arg);
        if pid < 0 {
            return Err(diagnose::encode(Step::ForkInit, errno()));
        }
        libc::close(started[1]);
        let mut code = [0u8; 4];
        let mut got = -1;
        while got < 0 {
            got = libc::read(started[0], code.as_mut_ptr().cast(), 4);
            if got < 0 && errno() != libc::EINTR {
                break;
            }
        }
        let code = i32::from_ne_bytes(code);
        if got != 4 || code != 0 {
            // INIT reported an error (or died first); it is ending, and takes TEST with it.
            wait_for(pid);
            return Err(if got == 4 {
                io::Error::from_raw_os_error(code)
            } else {
                diagnose::encode(Step::ForkInit, 0)
            });
        }
        // TEST runs the test binary: std's error pipe closes here, and `spawn()` returns.
        close_all_except(alive[1]);
        let status = wait_for(pid);
        libc::_exit(if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 });
    }
}

/// The stack size of INIT and TEST until it runs the test binary (both share I's memory).
const STACK: usize = 256 * 1024;

/// What INIT gets from I (on I's stack, which outlives INIT: I waits for it). I, INIT and, until
/// it execs, TEST share this memory, so it is only ever read through shared references, and the
/// one field written after the clone is atomic. (They also share the C library's thread state,
/// `errno` included: while INIT and TEST run, I is blocked in `read` or `waitpid`, whose errno
/// it reads only on failure, and INIT is suspended while TEST runs.)
struct Init<'a> {
    chain: &'a Chain,
    alive: [libc::c_int; 2],
    /// Where INIT writes 0 or the error for I.
    started: libc::c_int,
    test_stack: *mut libc::c_void,
    /// TEST's errno if it could not run the test binary (0 if it did), written by TEST before it
    /// ends: it shares this memory until `execve` succeeds.
    exec_errno: AtomicI32,
}

/// A stack for a process cloned with `CLONE_VM` (it grows down from the returned address).
unsafe fn stack_top(len: usize) -> io::Result<*mut libc::c_void> {
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK;
    let base = libc::mmap(std::ptr::null_mut(), len, prot, flags, -1, 0);
    if base == libc::MAP_FAILED {
        return Err(diagnose::encode(Step::ForkInit, errno()));
    }
    Ok(base.cast::<u8>().add(len).cast())
}

/// INIT, PID 1 of the new PID namespace: a process sharing I's memory (no copy of the runner's
/// address space), on its own stack. Starts TEST, tells I how that went, reaps every process
/// until TEST exits, writes TEST's status and exits: the kernel then kills whatever is left in
/// the namespace.
extern "C" fn init_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is I's `Init`, alive until INIT ends; only async-signal-safe calls follow.
    unsafe {
        let init = &*arg.cast::<Init>();
        let started = init.started;
        let tell = |code: i32| {
            libc::write(started, code.to_ne_bytes().as_ptr().cast(), 4);
        };
        let status_fd = init.chain.status;
        match init.start_test() {
            Ok(test) => {
                tell(0);
                close_all_except(status_fd);
                let status = reap_until(test);
                libc::write(status_fd, (&status as *const libc::c_int).cast(), 4);
                0
            }
            Err(e) => {
                tell(e.raw_os_error().unwrap_or(libc::EIO));
                1
            }
        }
    }
}

impl Init<'_> {
    /// INIT's setup, then TEST: cloned with `CLONE_VM | CLONE_VFORK`, so INIT resumes only once
    /// TEST runs the test binary (or failed to); nothing is copied.
    unsafe fn start_test(&self) -> io::Result<libc::pid_t> {
        die_with_parent(None)?;
        libc::close(self.alive[1]);
        let mut pfd = libc::pollfd { fd: self.alive[0], events: libc::POLLIN, revents: 0 };
        if libc::poll(&mut pfd, 1, 0) != 0 {
            libc::_exit(1); // I is gone already: so is the runner
        }
        libc::close(self.alive[0]);
        // Mounts made here never propagate back to the host.
        let private = libc::MS_REC | libc::MS_PRIVATE;
        if libc::mount(std::ptr::null(), c"/".as_ptr(), std::ptr::null(), private, std::ptr::null()) != 0 {
            return Err(diagnose::encode(Step::MountPrivate, errno()));
        }
        // A procfs of this PID namespace, so /proc shows the test's processes only. Refused in
        // some containers (a masked /proc): then the host's stays, which is fine.
        let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        libc::mount(c"proc".as_ptr(), c"/proc".as_ptr(), c"proc".as_ptr(), flags, std::ptr::null());
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
        let test = libc::clone(test_main, self.test_stack, flags, (self as *const Self).cast_mut().cast());
        if test < 0 {
            return Err(diagnose::encode(Step::ForkTest, errno()));
        }
        let exec_errno = self.exec_errno.load(Ordering::SeqCst); // written by TEST
        if exec_errno != 0 {
            wait_for(test);
            return Err(io::Error::from_raw_os_error(exec_errno));
        }
        Ok(test)
    }
}

/// TEST, PID 2: runs the test binary, or leaves its errno in `Init::exec_errno` and exits.
extern "C" fn test_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is I's `Init` (INIT is suspended until this process execs or exits); only
    // async-signal-safe calls on memory prepared before the fork.
    unsafe {
        let init = &*arg.cast::<Init>();
        let chain = init.chain;
        let fail = |init: &Init| {
            init.exec_errno.store(errno().max(1), Ordering::SeqCst);
            libc::_exit(127)
        };
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            fail(init);
        }
        if libc::getppid() != 1 {
            libc::_exit(1);
        }
        cloexec_from(3);
        // The report pipe is the one descriptor passed on; the status pipe is INIT's alone.
        if libc::fcntl(chain.report, libc::F_SETFD, 0) != 0 {
            fail(init);
        }
        libc::execve(chain.exec.program.as_ptr(), chain.exec.argv.as_ptr(), chain.exec.envp.as_ptr());
        fail(init)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(ptrs: &[*const libc::c_char]) -> Vec<String> {
        assert!(ptrs.last().unwrap().is_null(), "null-terminated");
        // SAFETY: pointers into the `Exec`'s own strings, alive for the call.
        ptrs[..ptrs.len() - 1]
            .iter()
            .map(|p| unsafe { std::ffi::CStr::from_ptr(*p) }.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn exec_has_the_arguments_and_the_environment_with_the_extras_set_once() {
        std::env::set_var("NETNS_TEST_SPAWN_UNIT", "kept");
        let exec = Exec::new(
            "/proc/self/exe",
            &["bin".as_ref(), "t".as_ref()],
            &[("NETNS_TEST_SPAWN_UNIT", "x"), ("K", "v=w")],
        );
        assert_eq!(exec.program.to_str().unwrap(), "/proc/self/exe");
        assert_eq!(strings(&exec.argv), ["bin", "t"]);
        let env = strings(&exec.envp);
        assert_eq!(
            env.iter().filter(|e| e.starts_with("NETNS_TEST_SPAWN_UNIT=")).collect::<Vec<_>>(),
            ["NETNS_TEST_SPAWN_UNIT=x"]
        );
        assert!(env.contains(&"K=v=w".to_string()));
        assert!(env.iter().any(|e| e.starts_with("PATH=")), "the rest of the environment is passed on");
    }
}
