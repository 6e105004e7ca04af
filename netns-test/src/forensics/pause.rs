//! `NETNS_TEST_PAUSE_ON_FAIL=1`: keep a failed test's topology up until the user has looked.
//!
//! ```ignore
//! pause::hold(&[("a".into(), ns_fd_a)], pid); // prints one nsenter line per node, then waits
//! ```
//!
//! The test child is in a background process group, so it never reads the terminal (that would
//! stop it with SIGTTIN): it polls `/dev/tty` for a line and then discards it, or waits for
//! SIGUSR1. Without a terminal it says so and returns at once.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static RESUME: AtomicBool = AtomicBool::new(false);

/// The lines that enter each node: the test's user namespace (for the rights to enter the
/// others) and the node's network namespace, held open by the test process `pid`.
pub(crate) fn enter_lines(nodes: &[(String, RawFd)], pid: u32) -> String {
    let width = nodes.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, fd) in nodes {
        let _ = writeln!(out, "  {name:<width$}  nsenter --preserve-credentials -U -t {pid} --net=/proc/{pid}/fd/{fd}");
    }
    out
}

/// Prints `lines` and waits for Enter on the terminal or SIGUSR1; without a terminal, says so.
pub(crate) fn hold(lines: &str, pid: u32) {
    let mut err = io::stderr().lock();
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty");
    let Ok(tty) = tty else {
        let _ =
            writeln!(err, "netns-test: NETNS_TEST_PAUSE_ON_FAIL=1 but there is no terminal to wait on; not pausing");
        return;
    };
    let _ = write!(
        err,
        "netns-test: paused (NETNS_TEST_PAUSE_ON_FAIL=1); the topology stays up. Enter a node from \
         another shell with:\n{lines}Press Enter here (or `kill -USR1 {pid}`) to tear it down.\n"
    );
    drop(err);
    on_sigusr1();
    while !RESUME.load(Ordering::Relaxed) {
        let mut fd = libc::pollfd { fd: tty.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut fd, 1, Duration::from_millis(200).as_millis() as i32) };
        if n > 0 {
            if fd.revents & libc::POLLIN == 0 {
                break; // the terminal hung up
            }
            discard_input(&tty);
            break;
        }
    }
    let _ = writeln!(io::stderr(), "netns-test: resuming; tearing the topology down");
}

/// Throws away the line typed, so it does not reach the shell later. A background process may
/// do this only with SIGTTOU ignored (otherwise the kernel stops it).
fn discard_input(tty: &std::fs::File) {
    // SAFETY: ignoring a signal, flushing our own descriptor, restoring the previous action.
    unsafe {
        let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        libc::tcflush(tty.as_raw_fd(), libc::TCIFLUSH);
        libc::signal(libc::SIGTTOU, old);
    }
}

fn on_sigusr1() {
    extern "C" fn resume(_: libc::c_int) {
        RESUME.store(true, Ordering::Relaxed);
    }
    // SAFETY: installs a handler that only stores to an atomic (async-signal-safe).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = resume as *const () as usize;
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_nsenter_line_per_node_with_the_pid_and_the_node_descriptor() {
        let lines = enter_lines(&[("a".into(), 7), ("router".into(), 9)], 4242);
        assert_eq!(
            lines,
            "  a       nsenter --preserve-credentials -U -t 4242 --net=/proc/4242/fd/7\n  \
             router  nsenter --preserve-credentials -U -t 4242 --net=/proc/4242/fd/9\n"
        );
    }
}
