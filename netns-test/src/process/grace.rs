//! A timed-out test's last word: the parent signals TEST and waits a moment before the kill, so
//! TEST can show its failure context (the network's state at the timeout) while it still exists.
//!
//! ```ignore
//! // child, around the body:
//! std::thread::scope(|s| {
//!     let watch = grace::watch(s, net.core(), spec.node);
//!     /* ... the body ... */
//!     if !watch.stop() { /* timed out meanwhile: the watcher exits the process */ }
//! });
//! // parent, at the deadline: grace::signal(pgid); then wait up to grace::PERIOD.
//! ```
//!
//! The signal is SIGURG because its default action is to do nothing: I and INIT (same process
//! group, no handler) and programs the test started are untouched by it; only TEST handles it.
//! SIGCONT goes with it: a body that stopped itself (SIGSTOP) could not handle it otherwise,
//! and its verdict would wait for the kill at the end of the grace period.

use crate::core::Core;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

/// Sent by the parent to the sandbox's process group when the timeout has passed.
pub(super) const SIGNAL: libc::c_int = libc::SIGURG;

/// How long the parent waits after the signal before it kills (a `Paused` report extends it).
pub(super) const PERIOD: Duration = Duration::from_secs(3);

/// Signals the sandbox whose process group is `pgid` that its time is up.
pub(super) fn signal(pgid: i32) {
    // SAFETY: signals our own child's group; ESRCH when it is already gone is fine.
    unsafe {
        libc::kill(-pgid, SIGNAL);
        libc::kill(-pgid, libc::SIGCONT);
    }
}

/// The write end of the pipe the handler writes to.
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// Set by the handler: the parent's signal came, and the watcher shows the state and exits.
static SIGNALLED: AtomicBool = AtomicBool::new(false);
const TIMED_OUT: u8 = b'T';
const BODY_DONE: u8 = b'D';

/// A thread that waits for the parent's signal; [`Watch::stop`] ends it.
pub(super) struct Watch(OwnedFd);

/// Starts watching for the parent's signal: on it, the failure context is printed and TEST
/// exits (the body is stuck, or it would not have timed out).
pub(super) fn watch<'s>(scope: &'s std::thread::Scope<'s, '_>, core: &'s Core, body_node: &'static str) -> Watch {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("netns-test: cannot create a pipe");
    WAKE.store(write.as_raw_fd(), Ordering::SeqCst);
    extern "C" fn on_signal(_: libc::c_int) {
        SIGNALLED.store(true, Ordering::SeqCst);
        let byte = TIMED_OUT;
        // SAFETY: write is async-signal-safe; the descriptor stays open while the handler is set.
        unsafe { libc::write(WAKE.load(Ordering::SeqCst), (&byte as *const u8).cast(), 1) };
    }
    // SAFETY: installs an async-signal-safe handler.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(SIGNAL, &sa, std::ptr::null_mut());
    }
    scope.spawn(move || {
        let mut byte = 0u8;
        // SAFETY: reading one byte into a local.
        while unsafe { libc::read(read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) } < 0 {}
        if byte == TIMED_OUT {
            eprintln!("netns-test: the test timed out; its state at the timeout:");
            super::failure::show(core, body_node, "the test timed out (still running at its timeout)");
            let _ = std::io::stderr().flush();
            std::process::exit(super::FAILED_EXIT);
        }
    });
    Watch(write)
}

impl Watch {
    /// The body is done: the watcher ends, and the signal is ignored from now on. False if the
    /// signal came first: the watcher is showing the state at the timeout and ends the process,
    /// so the caller must not report anything (nor race it).
    #[must_use]
    pub(super) fn stop(self) -> bool {
        // SAFETY: back to the default disposition (ignore) before the pipe closes.
        unsafe { libc::signal(SIGNAL, libc::SIG_DFL) };
        WAKE.store(-1, Ordering::SeqCst);
        let fd: RawFd = self.0.as_raw_fd();
        // SAFETY: one byte to our own pipe.
        unsafe { libc::write(fd, (&BODY_DONE as *const u8).cast(), 1) };
        !SIGNALLED.load(Ordering::SeqCst)
    }
}
