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

/// The `net/ipv4` and `net/ipv6` sysctls of the calling thread's network namespace, for several
/// writes. Finding `ipv4` or `ipv6` under `/proc/sys/net` costs time that grows with the number
/// of namespaces alive (each has its own entry there, all in one hash chain: ~0.1 ms per lookup
/// with 1,000 alive); below them a path costs little. Opened once per namespace, each is looked
/// up once.
///
/// ```ignore
/// let net = NetSysctls::here()?;
/// net.ipv4("ip_forward", "1")?;
/// ```
pub(crate) struct NetSysctls {
    ipv4: File,
    /// `None` on a kernel without IPv6.
    ipv6: Option<File>,
}

impl NetSysctls {
    pub(crate) fn here() -> io::Result<NetSysctls> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = |path: &str| {
            std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_PATH).open(path)
        };
        let ipv4 = dir("/proc/sys/net/ipv4")
            .map_err(|e| io::Error::new(e.kind(), format!("opening /proc/sys/net/ipv4: {e}")))?;
        let ipv6 = match dir("/proc/sys/net/ipv6") {
            Ok(d) => Some(d),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io::Error::new(e.kind(), format!("opening /proc/sys/net/ipv6: {e}"))),
        };
        Ok(NetSysctls { ipv4, ipv6 })
    }

    /// Writes `net/ipv4/<key>`.
    pub(crate) fn ipv4(&self, key: &str, value: &str) -> io::Result<()> {
        write_at(&self.ipv4, "ipv4", key, value)
    }

    /// Writes `net/ipv6/<key>`; nothing on a kernel without IPv6.
    pub(crate) fn ipv6(&self, key: &str, value: &str) -> io::Result<()> {
        self.ipv6.as_ref().map_or(Ok(()), |dir| write_at(dir, "ipv6", key, value))
    }
}

fn write_at(dir: &File, dir_name: &str, key: &str, value: &str) -> io::Result<()> {
    let fail = |e: io::Error| io::Error::new(e.kind(), format!("writing sysctl net/{dir_name}/{key}={value}: {e}"));
    let name = std::ffi::CString::new(key).map_err(|e| fail(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    // SAFETY: a valid descriptor and C string; the returned descriptor is owned at once.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(fail(io::Error::last_os_error()));
    }
    // SAFETY: fd was just opened and is owned by nothing else.
    let mut file = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    io::Write::write_all(&mut file, value.as_bytes()).map_err(fail)
}

/// Writes a sysctl of the calling thread's network namespace, e.g. `net/ipv4/ip_forward`.
pub(crate) fn write_sysctl(key: &str, value: &str) -> io::Result<()> {
    std::fs::write(format!("/proc/sys/{key}"), value)
        .map_err(|e| io::Error::new(e.kind(), format!("writing sysctl {key}={value}: {e}")))
}
