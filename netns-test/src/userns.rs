//! Entering a fresh user + network namespace, and explaining why it failed when it does.
//!
//! The maps written are single-id (`0 <euid> 1`), the only kind a process may write for itself:
//! the test is root inside its namespace and nobody special outside it.

use crate::error::Error;
use std::io;

/// The steps of entering, in order; a failure names its step so the error can say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Unshare = 1,
    Setgroups = 2,
    UidMap = 3,
    GidMap = 4,
}

/// uid/gid map contents, formatted before any `fork` so entering never allocates.
pub(crate) struct IdMaps {
    uid: String,
    gid: String,
}

impl IdMaps {
    pub(crate) fn for_current_user() -> IdMaps {
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        IdMaps { uid: format!("0 {uid} 1"), gid: format!("0 {gid} 1") }
    }

    /// Moves the calling process into a new user + network namespace (`net`), or only a new
    /// user namespace (the probe).
    ///
    /// Async-signal-safe (raw syscalls, no allocation): usable in a `pre_exec` hook.
    ///
    /// # Safety
    /// The process must be single-threaded (the kernel refuses otherwise, with EINVAL).
    pub(crate) unsafe fn enter(&self, net: bool) -> Result<(), (Step, i32)> {
        let flags = if net { libc::CLONE_NEWUSER | libc::CLONE_NEWNET } else { libc::CLONE_NEWUSER };
        if libc::unshare(flags) != 0 {
            return Err((Step::Unshare, errno()));
        }
        write_proc(c"/proc/self/setgroups", b"deny").map_err(|e| (Step::Setgroups, e))?;
        write_proc(c"/proc/self/uid_map", self.uid.as_bytes()).map_err(|e| (Step::UidMap, e))?;
        write_proc(c"/proc/self/gid_map", self.gid.as_bytes()).map_err(|e| (Step::GidMap, e))?;
        Ok(())
    }
}

/// Encodes a failed step into one OS error code, since a `pre_exec` hook can only return that.
pub(crate) fn encode(step: Step, errno: i32) -> io::Error {
    io::Error::from_raw_os_error(step as i32 * 10_000 + errno)
}

/// The inverse of [`encode`]; `None` for an ordinary spawn error.
pub(crate) fn decode(e: &io::Error) -> Option<Error> {
    let code = e.raw_os_error()?;
    let step = match code / 10_000 {
        1 => Step::Unshare,
        2 => Step::Setgroups,
        3 => Step::UidMap,
        4 => Step::GidMap,
        _ => return None,
    };
    Some(explain(step, code % 10_000))
}

/// A clear error for a failed step: what the kernel said and the likely fix.
pub(crate) fn explain(step: Step, errno: i32) -> Error {
    let source = io::Error::from_raw_os_error(errno);
    let (step_name, hint) = match (step, errno) {
        (Step::Unshare, libc::ENOSPC) | (Step::Unshare, libc::EUSERS) => (
            "unshare(CLONE_NEWUSER)",
            "The user-namespace limit is 0 or exhausted: raise it with \
             `sysctl -w user.max_user_namespaces=10000`.",
        ),
        (Step::Unshare, libc::EPERM) if !uid_is_mapped() => (
            "unshare(CLONE_NEWUSER)",
            "This process's user id has no mapping in its own user namespace (it runs inside a \
             user namespace made without an id map, e.g. `unshare -U` without `-r`), and the \
             kernel refuses nested namespaces to unmapped users: give that namespace a uid/gid map.",
        ),
        (Step::Unshare, libc::EPERM) => (
            "unshare(CLONE_NEWUSER)",
            "Unprivileged user namespaces are disabled or filtered here. Check, in order: \
             `sysctl kernel.unprivileged_userns_clone` (Debian/older kernels: set it to 1), \
             `sysctl kernel.apparmor_restrict_unprivileged_userns` (Ubuntu 23.10+: set it to 0, \
             or give the test binary an AppArmor profile with `userns,`), a container's seccomp \
             profile (Docker: `--security-opt seccomp=unconfined`, or run the tests on the host), \
             or a chroot (not supported: run outside it).",
        ),
        (Step::Unshare, _) => (
            "unshare(CLONE_NEWUSER)",
            "This kernel may lack user or network namespaces (CONFIG_USER_NS, CONFIG_NET_NS).",
        ),
        (Step::Setgroups, _) => ("writing /proc/self/setgroups", SANDBOX_HINT),
        (Step::UidMap, _) => ("writing /proc/self/uid_map", SANDBOX_HINT),
        (Step::GidMap, _) => ("writing /proc/self/gid_map", SANDBOX_HINT),
    };
    Error::UserNamespace { step: step_name, source, hint }
}

const SANDBOX_HINT: &str = "A security module or sandbox restricts new user namespaces \
    (Ubuntu's `kernel.apparmor_restrict_unprivileged_userns=1`, or a container profile). \
    Allow user namespaces for this user or run the tests outside the sandbox.";

/// Moves this process into a fresh user + network namespace: the entry point for programs
/// with their own `main`, such as the CLI or a `harness = false` test.
///
/// Must be called while the process is still single-threaded (first thing in `main`).
///
/// ```no_run
/// fn main() -> Result<(), netns_test::Error> {
///     netns_test::isolate()?;
///     let net = netns_test::Net::build("a=10.0.0.1/24 -- b=10.0.0.2/24".parse().unwrap())?;
///     println!("{:?}", net.ping("a", "10.0.0.2".parse().unwrap()));
///     Ok(())
/// }
/// ```
pub fn isolate() -> Result<(), Error> {
    let maps = IdMaps::for_current_user();
    // SAFETY: documented precondition; the kernel checks it and returns EINVAL otherwise.
    let entered = unsafe { maps.enter(true) };
    if entered.is_ok() {
        mark_isolated();
    }
    entered.map_err(|(step, errno)| {
        if step == Step::Unshare && errno == libc::EINVAL {
            Error::Io {
                what: "isolate() must run before the process starts threads".into(),
                source: io::Error::from_raw_os_error(errno),
            }
        } else {
            explain(step, errno)
        }
    })
}

/// Whether this process can give tests their own user + network namespaces: tried once per
/// process in a forked child (a fork is cheap; the answer cannot change), so an unsupported
/// machine gets one clear diagnosis for every test.
pub(crate) fn probe() -> Result<(), &'static Error> {
    static PROBE: std::sync::OnceLock<Result<(), Error>> = std::sync::OnceLock::new();
    PROBE.get_or_init(probe_in_child).as_ref().map(|_| ())
}

fn probe_in_child() -> Result<(), Error> {
    let maps = IdMaps::for_current_user();
    let io_err = |what: &str| Error::Io { what: what.into(), source: io::Error::last_os_error() };
    let mut fds = [0; 2];
    // SAFETY: plain syscalls; the forked child only runs async-signal-safe code, then _exit.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(io_err("probing user namespaces: pipe"));
        }
        let pid = libc::fork();
        if pid == 0 {
            // A user namespace is what can be refused; a network namespace is then always
            // allowed, and creating (and freeing) one here would only cost time.
            let code = match maps.enter(false) {
                Ok(()) => [0, 0],
                Err((step, errno)) => [step as i32, errno],
            };
            libc::write(fds[1], code.as_ptr().cast(), 8);
            libc::_exit(0);
        }
        libc::close(fds[1]);
        if pid < 0 {
            libc::close(fds[0]);
            return Err(io_err("probing user namespaces: fork"));
        }
        let mut code = [0i32; 2];
        let n = libc::read(fds[0], code.as_mut_ptr().cast(), 8);
        libc::close(fds[0]);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        let step = match code[0] {
            _ if n != 8 => return Err(io_err("probing user namespaces: the probe died")),
            0 => return Ok(()),
            1 => Step::Unshare,
            2 => Step::Setgroups,
            3 => Step::UidMap,
            _ => Step::GidMap,
        };
        Err(explain(step, code[1]))
    }
}

/// Set once this process is in user + network namespaces of its own: by [`isolate`], or in a
/// per-test child (whose parent's `pre_exec` made them).
static ISOLATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn mark_isolated() {
    ISOLATED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Refuses to build anywhere but in namespaces this process made for itself (never on the host,
/// nor in a container's namespaces), and without the capabilities to configure them.
pub(crate) fn check_isolated() -> Result<(), Error> {
    if !ISOLATED.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(Error::NotIsolated);
    }
    for cap in [caps::Capability::CAP_NET_ADMIN, caps::Capability::CAP_SYS_ADMIN] {
        if !caps::has_cap(None, caps::CapSet::Effective, cap).unwrap_or(false) {
            return Err(Error::MissingCapability(cap));
        }
    }
    Ok(())
}

/// Whether the effective uid appears in this user namespace's uid map (65534, the overflow
/// uid, is what an unmapped user is shown as).
fn uid_is_mapped() -> bool {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() } as u64;
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    map.lines().any(|l| {
        let f: Vec<u64> = l.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        f.len() == 3 && (f[0]..f[0] + f[2]).contains(&euid)
    })
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// open + write + close with raw syscalls; returns errno on failure.
fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> Result<(), i32> {
    // SAFETY: plain syscalls on a valid C string and buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(errno());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let e = errno();
        libc::close(fd);
        if n != data.len() as isize {
            return Err(if n < 0 { e } else { libc::EIO });
        }
    }
    Ok(())
}
