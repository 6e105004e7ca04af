//! `NETNS_TEST_PAUSE_ON_FAIL=1`: keep a failed test's topology up until the user has looked.
//!
//! ```ignore
//! // child, at the failure: tell the parent, then wait for it (SIGUSR1)
//! pause::request(&core, &context);
//! // parent, on the child's `Paused` report: print, wait for Enter, resume the child
//! let held = pause::hold(name, i_pid, &payload);
//! ```
//!
//! The parent does the talking: it is the one process that reaches the terminal past libtest's
//! output capture, it knows the test process's pid on the host (the child, in a PID namespace
//! of its own, does not), and it stops the test's timeout while the user looks. It never reads
//! the terminal (a background process would be stopped by SIGTTIN): it waits for a line to be
//! typed, then discards it. Without a terminal it says so and resumes at once.

use super::report::Report;
use crate::core::Core;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Sent by the parent to the test process when the user is done.
const RESUME_SIGNAL: libc::c_int = libc::SIGUSR1;
static RESUMED: AtomicBool = AtomicBool::new(false);

/// In the test child: asks the parent to pause (with each node's name and namespace descriptor,
/// and the failure context to show), then waits until it resumes this process.
pub(super) fn request(core: &Core, context: &str) {
    extern "C" fn resume(_: libc::c_int) {
        RESUMED.store(true, Ordering::SeqCst);
    }
    // SAFETY: installs a handler that only stores to an atomic (async-signal-safe).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = resume as *const () as usize;
        libc::sigaction(RESUME_SIGNAL, &sa, std::ptr::null_mut());
    }
    let mut payload = String::new();
    for (name, ns) in core.nodes() {
        let _ = writeln!(payload, "{name}\t{}", ns.as_raw_fd());
    }
    let _ = write!(payload, "\n{context}");
    let _ = io::stderr().flush();
    if !report_paused(payload) {
        return;
    }
    while !RESUMED.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// In the parent, on a `Paused` report of the test `name` whose sandbox process is `i_pid`:
/// shows the context and a command per node, waits for Enter, resumes the test. Returns how long
/// it held (the timeout is extended by that much).
pub(super) fn hold(name: &str, i_pid: u32, payload: &str) -> Duration {
    let start = Instant::now();
    let (nodes, context) = payload.split_once("\n\n").unwrap_or((payload, ""));
    let nodes: Vec<(&str, &str)> = nodes.lines().filter_map(|l| l.split_once('\t')).collect();
    let test = test_pid(i_pid);
    // Straight to the terminal, past libtest's capture.
    let mut err = io::stderr().lock();
    match std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty") {
        Err(e) => {
            let _ = writeln!(
                err,
                "netns-test: `{name}` failed; NETNS_TEST_PAUSE_ON_FAIL=1 but there is no terminal to wait on ({e}); \
                 not pausing"
            );
        }
        Ok(tty) => {
            let _ = write!(err, "netns-test: `{name}` failed:\n{context}");
            let _ = writeln!(
                err,
                "netns-test: paused (NETNS_TEST_PAUSE_ON_FAIL=1); the topology stays up. Enter a node from another \
                 shell with:"
            );
            match test {
                Some(pid) => {
                    let _ = err.write_all(enter_lines(&nodes, pid).as_bytes());
                }
                None => {
                    let _ = writeln!(err, "  (the test process could not be found under pid {i_pid})");
                }
            }
            let _ = writeln!(err, "Press Enter here to tear it down and go on.");
            drop(err);
            wait_for_enter(&tty);
            let _ = writeln!(io::stderr(), "netns-test: resuming `{name}`; tearing its topology down");
        }
    }
    if let Some(pid) = test {
        // SAFETY: a signal to the test process we started.
        unsafe { libc::kill(pid as libc::pid_t, RESUME_SIGNAL) };
    }
    start.elapsed()
}

/// Sends [`Report::Paused`] with `text` to the parent; false if this is not the test process.
fn report_paused(text: String) -> bool {
    Report::Paused(text).send_from_test()
}

/// One `nsenter` line per node: the test's user namespace (for the rights to enter the others)
/// and the node's network namespace, held open by the test process `pid`.
pub(crate) fn enter_lines(nodes: &[(&str, &str)], pid: u32) -> String {
    let width = nodes.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, fd) in nodes {
        let _ = writeln!(out, "  {name:<width$}  nsenter --preserve-credentials -U -t {pid} --net=/proc/{pid}/fd/{fd}");
    }
    out
}

/// Waits until a line is typed on `tty` (or it hangs up), then throws the line away so it does
/// not reach the shell later. Discarding input from a background process is allowed only with
/// SIGTTOU ignored (otherwise the kernel stops it), so it is ignored for that moment.
fn wait_for_enter(tty: &std::fs::File) {
    let mut fd = libc::pollfd { fd: tty.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd; EINTR just polls again.
    while unsafe { libc::poll(&mut fd, 1, -1) } < 0 {}
    // SAFETY: ignoring a signal, flushing our own descriptor, restoring the previous action.
    unsafe {
        let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        libc::tcflush(tty.as_raw_fd(), libc::TCIFLUSH);
        libc::signal(libc::SIGTTOU, old);
    }
}

/// The test process of the sandbox whose first process is `i_pid`, as the host sees it: the
/// child of its INIT that is pid 2 in their PID namespace.
fn test_pid(i_pid: u32) -> Option<u32> {
    let procs: Vec<(u32, u32, Option<u32>)> = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let field = |k: &str| status.lines().find_map(|l| l.strip_prefix(k)).map(str::trim);
            let ppid = field("PPid:")?.parse().ok()?;
            let inner = field("NSpid:").and_then(|v| v.split_whitespace().last()?.parse().ok());
            Some((pid, ppid, inner))
        })
        .collect();
    let init = procs.iter().find(|(_, ppid, _)| *ppid == i_pid)?.0;
    procs.iter().find(|(_, ppid, inner)| *ppid == init && *inner == Some(2)).map(|(pid, _, _)| *pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_nsenter_line_per_node_with_the_pid_and_the_node_descriptor() {
        let lines = enter_lines(&[("a", "7"), ("router", "9")], 4242);
        assert_eq!(
            lines,
            "  a       nsenter --preserve-credentials -U -t 4242 --net=/proc/4242/fd/7\n  \
             router  nsenter --preserve-credentials -U -t 4242 --net=/proc/4242/fd/9\n"
        );
    }

    #[test]
    fn the_test_process_is_found_below_init() {
        // This process's parent stands in for I, this process for INIT; no pid-2 child: none.
        assert_eq!(test_pid(std::process::id()), None);
    }
}
