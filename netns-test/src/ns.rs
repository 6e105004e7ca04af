//! Network namespaces held by file descriptor, and moving threads between them.
//!
//! A namespace made here is anonymous: no `/run/netns` bind mount, nothing to clean up. It lives
//! while a descriptor (or a thread, socket or process inside it) does, so it cannot outlive the
//! per-test child process.

use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

/// A network namespace, kept alive by an open descriptor.
#[derive(Debug)]
pub(crate) struct NetNs(File);

impl NetNs {
    /// The calling *thread's* namespace (`/proc/self` would name the main thread's).
    pub(crate) fn current() -> io::Result<NetNs> {
        File::open("/proc/thread-self/ns/net").map(NetNs)
    }

    /// A fresh namespace, with `init` run inside it first (cheaper than entering it later);
    /// the calling thread is back where it was when this returns.
    pub(crate) fn new_with(init: impl FnOnce() -> io::Result<()>) -> io::Result<NetNs> {
        let here = NetNs::current()?;
        unshare(CloneFlags::CLONE_NEWNET)?;
        let new = NetNs::current().and_then(|ns| init().map(|()| ns));
        here.enter()?;
        new
    }

    /// Moves the calling thread into this namespace.
    pub(crate) fn enter(&self) -> io::Result<()> {
        Ok(setns(self.0.as_fd(), CloneFlags::CLONE_NEWNET)?)
    }

    /// Runs `f` with the calling thread inside this namespace, then moves it back, even if `f`
    /// panics.
    pub(crate) fn run<R>(&self, f: impl FnOnce() -> R) -> io::Result<R> {
        let back = NetNs::current()?;
        self.enter()?;
        Ok(restoring(f, || back.enter().expect("netns-test: cannot return to the previous namespace")))
    }
}

impl NetNs {
    pub(crate) fn try_clone(&self) -> io::Result<NetNs> {
        self.0.try_clone().map(NetNs)
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for NetNs {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Runs `f`, then `restore`, also when `f` panics: how every "run inside, then come back" here
/// puts the thread back.
pub(crate) fn restoring<R>(f: impl FnOnce() -> R, restore: impl FnOnce()) -> R {
    struct Guard<G: FnOnce()>(Option<G>);
    impl<G: FnOnce()> Drop for Guard<G> {
        fn drop(&mut self) {
            if let Some(restore) = self.0.take() {
                restore();
            }
        }
    }
    let _guard = Guard(Some(restore));
    f()
}

/// Writes a sysctl of the calling thread's network namespace, e.g. `net/ipv4/ip_forward`.
pub(crate) fn write_sysctl(key: &str, value: &str) -> io::Result<()> {
    std::fs::write(format!("/proc/sys/{key}"), value)
        .map_err(|e| io::Error::new(e.kind(), format!("writing sysctl {key}={value}: {e}")))
}
