//! Isolating a process that has its own `main` ([`isolate`]), probing whether this machine
//! allows it at all, and refusing to build a topology anywhere but in namespaces of our own.
//!
//! ```no_run
//! netns_test::isolate().expect("user namespaces");
//! ```

use super::diagnose::{explain, resource};
use super::idmap::IdMaps;
use super::step::Step;
use crate::error::Error;
use std::io::{self, Write};

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
    // Mount + UTS too: nodes' views (view.rs) are copies of this mount namespace.
    let entered =
        unsafe { maps.enter(libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWNS | libc::CLONE_NEWUTS) };
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
/// process in a forked child, with the same steps and the same diagnosis as a sandbox's user
/// namespace. For the fixture harness, which marks its trials ignored before running any; a
/// `#[netns_test]` needs no probe: its sandbox's refusal says the same (`process::parent`).
pub(crate) fn probe() -> Result<(), &'static Error> {
    static PROBE: std::sync::OnceLock<Result<(), Error>> = std::sync::OnceLock::new();
    PROBE
        .get_or_init(|| {
            let start = std::time::Instant::now();
            let probed = probe_in_child();
            if crate::env::tracing() {
                // Past libtest's capture, as the parent's other timings.
                let ms = start.elapsed().as_secs_f64() * 1e3;
                let _ = writeln!(io::stderr(), "netns-test: user namespaces probed in {ms:.2} ms");
            }
            probed
        })
        .as_ref()
        .map(|_| ())
}

fn probe_in_child() -> Result<(), Error> {
    let maps = IdMaps::for_current_user();
    // Out of descriptors or processes: the message names the limit.
    let io_err = |what: &str| {
        let source = io::Error::last_os_error();
        Error::Io { what: resource(what, &source), source }
    };
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
            let code = match maps.enter(libc::CLONE_NEWUSER) {
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
        if n != 8 {
            return Err(io_err("probing user namespaces: the probe died"));
        }
        if code[0] == 0 {
            return Ok(());
        }
        let step = [Step::UnshareUser, Step::Setgroups, Step::UidMap].into_iter().find(|s| *s as i32 == code[0]);
        Err(explain(step.unwrap_or(Step::GidMap), code[1]))
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
