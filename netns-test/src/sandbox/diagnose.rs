//! Why a test's sandbox could not be made: each step that can fail, and for each failure the
//! limit or setting behind it and how to change it.
//!
//! ```ignore
//! // In a pre_exec hook (which can only return an errno), a failed step travels encoded:
//! return Err(diagnose::encode(Step::ForkInit, libc::EAGAIN));
//! // ... and the parent turns it back into a message:
//! let msg = diagnose::spawn_error(&err, "/path/to/test-binary");
//! ```

use super::idmap::IdMaps;
use super::step::{Step, NAMESPACE_STEPS, STEPS};
use crate::error::Error;
use std::io;

/// Encodes a failed step into one OS error code, since a `pre_exec` hook can only return that.
pub(crate) fn encode(step: Step, errno: i32) -> io::Error {
    io::Error::from_raw_os_error(step as i32 * 10_000 + errno)
}

fn decode(e: &io::Error) -> Option<(Step, i32)> {
    let code = e.raw_os_error()?;
    let step = *STEPS.iter().find(|s| **s as i32 == code / 10_000)?;
    Some((step, code % 10_000))
}

/// After `unshare(flags)` failed: which step the kernel refuses, found by taking them one at a
/// time. The user namespace comes first, made and mapped exactly as on its own (`unshare`,
/// `setgroups`, `uid_map`, `gid_map`): a kernel may allow the namespace but leave it powerless
/// (Ubuntu's AppArmor restriction: the id map, or another namespace made with it, is refused),
/// and the verdict must name the user namespace's step, as [`crate::sandbox::probe`] does. Then
/// each other namespace on its own, inside it (they count against its limits).
///
/// # Safety
/// Moves the calling process into new namespaces: only for a throwaway process (the `pre_exec`
/// child, which is about to report the failure and exit).
pub(crate) unsafe fn which_step(maps: &IdMaps, flags: libc::c_int, errno: i32) -> (Step, i32) {
    if flags & libc::CLONE_NEWUSER != 0 {
        if let Err(failed) = maps.enter(libc::CLONE_NEWUSER) {
            return failed;
        }
    }
    for (flag, step) in NAMESPACE_STEPS {
        if flag != libc::CLONE_NEWUSER && flags & flag != 0 && libc::unshare(flag) != 0 {
            return (step, io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
    }
    (Step::Unshare, errno)
}

/// Whether a failed spawn of the sandbox failed at its user namespace (`unshare(CLONE_NEWUSER)`,
/// `setgroups`, `uid_map` or `gid_map`): then user namespaces are unavailable to this process
/// (or their limit is reached), explained as [`crate::sandbox::probe`] explains them.
pub(crate) fn user_namespace_refused(e: &io::Error) -> Option<Error> {
    match decode(e)? {
        (step @ (Step::UnshareUser | Step::Setgroups | Step::UidMap | Step::GidMap), errno) => {
            Some(explain(step, errno))
        }
        _ => None,
    }
}

/// A clear error for a failed step: what the kernel said and the likely fix.
pub(crate) fn explain(step: Step, errno: i32) -> Error {
    let source = io::Error::from_raw_os_error(errno);
    let user = |step, hint| Error::UserNamespace { step, source: io::Error::from_raw_os_error(errno), hint };
    let limit = |kind: &'static str, sysctl: &'static str| {
        (format!("unshare(CLONE_NEW{kind})"), format!("The kernel's limit on these namespaces is 0 or exhausted: `{sysctl}` (per user namespace; each test holds its namespaces until the kernel has freed them, shortly after it ends). Raise it, e.g. `sysctl -w {sysctl}=10000`, or run fewer tests at once (--test-threads)."))
    };
    let (what, hint) = match (step, errno) {
        (Step::UnshareUser, libc::ENOSPC | libc::EUSERS) => {
            return user(
                "unshare(CLONE_NEWUSER)",
                "The user-namespace limit is 0 or exhausted: raise it with \
                 `sysctl -w user.max_user_namespaces=10000`.",
            )
        }
        (Step::Unshare, libc::ENOSPC | libc::EUSERS) => (
            "unshare(CLONE_NEWUSER|CLONE_NEWNET)".to_string(),
            "A namespace limit is 0 or exhausted: see `sysctl user.max_user_namespaces \
             user.max_net_namespaces` and raise the one at 0 or reached, e.g. to 10000."
                .to_string(),
        ),
        (Step::UnshareUser | Step::Unshare, libc::EPERM) if !super::idmap::uid_is_mapped() => {
            return user(
                "unshare(CLONE_NEWUSER)",
                "This process's user id has no mapping in its own user namespace (it runs inside a \
                 user namespace made without an id map, e.g. `unshare -U` without `-r`), and the \
                 kernel refuses nested namespaces to unmapped users: give that namespace a uid/gid map.",
            )
        }
        (Step::UnshareUser | Step::Unshare, libc::EPERM) => {
            return user(
                "unshare(CLONE_NEWUSER)",
                "Unprivileged user namespaces are disabled or filtered here. Check, in order: \
                 `sysctl kernel.unprivileged_userns_clone` (Debian/older kernels: set it to 1), \
                 `sysctl kernel.apparmor_restrict_unprivileged_userns` (Ubuntu 23.10+: set it to 0, \
                 or give the test binary an AppArmor profile with `userns,`), a container's seccomp \
                 profile (Docker: `--security-opt seccomp=unconfined`, or run the tests on the host), \
                 or a chroot (not supported: run outside it).",
            )
        }
        (Step::UnshareUser, _) => {
            return user("unshare(CLONE_NEWUSER)", "This kernel may lack user namespaces (CONFIG_USER_NS).")
        }
        (Step::Setgroups, _) => return user("writing /proc/self/setgroups", SANDBOX_HINT),
        (Step::UidMap, _) => return user("writing /proc/self/uid_map", SANDBOX_HINT),
        (Step::GidMap, _) => return user("writing /proc/self/gid_map", SANDBOX_HINT),
        (Step::UnshareNet, libc::ENOSPC) => limit("NET", "user.max_net_namespaces"),
        (Step::UnshareMount, libc::ENOSPC) => limit("NS", "user.max_mnt_namespaces"),
        (Step::UnshareUts, libc::ENOSPC) => limit("UTS", "user.max_uts_namespaces"),
        (Step::UnsharePid, libc::ENOSPC) => limit("PID", "user.max_pid_namespaces"),
        (Step::UnshareNet | Step::UnshareMount | Step::UnshareUts | Step::UnsharePid | Step::Unshare, _) => (
            format!("unshare of the test's namespaces ({step:?})"),
            "This kernel may lack network, mount, UTS or PID namespaces (CONFIG_NET_NS, CONFIG_PID_NS, \
             CONFIG_UTS_NS), or a security module forbids them."
                .to_string(),
        ),
        (Step::ForkInit | Step::ForkTest, libc::EAGAIN) => ("fork".to_string(), PROCESS_LIMIT_HINT.to_string()),
        (Step::ForkInit | Step::ForkTest, _) => ("fork".to_string(), String::new()),
        (Step::MountPrivate, _) => (
            "making / private in the test's mount namespace".to_string(),
            "A security module may forbid mounts in user namespaces.".to_string(),
        ),
        (Step::Pipe, _) => return Error::Io { what: resource("creating a pipe", &source), source },
    };
    Error::Sandbox { step: what, source, hint }
}

const SANDBOX_HINT: &str = "A security module or sandbox restricts new user namespaces \
    (Ubuntu's `kernel.apparmor_restrict_unprivileged_userns=1`, or a container profile). \
    Allow user namespaces for this user or run the tests outside the sandbox.";

const PROCESS_LIMIT_HINT: &str = "A process limit is reached: this user's RLIMIT_NPROC \
    (`ulimit -u`), the system's `kernel.pid_max` or `kernel.threads-max`, or a cgroup's `pids.max`. \
    Each running test uses three processes plus whatever it starts. Raise the limit or run fewer \
    tests at once (--test-threads).";

/// `what` (a step that failed with `e`), followed by the limit behind `e` and its fix when `e`
/// says a resource ran out: "creating a pipe (this process reached its limit ...)".
pub(crate) fn resource(what: &str, e: &io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(libc::EMFILE) => {
            "this process reached its limit of open file descriptors (RLIMIT_NOFILE): raise it with \
             `ulimit -n 65536`, or run fewer tests at once (--test-threads)"
        }
        Some(libc::ENFILE) => "the system's limit of open files is reached: `sysctl fs.file-max`",
        Some(libc::EAGAIN) => PROCESS_LIMIT_HINT,
        _ => return what.to_string(),
    };
    format!("{what} ({hint})")
}

/// The message for a failed `spawn()` of the test child (`binary`: the test binary's path).
pub(crate) fn spawn_error(e: &io::Error, binary: &str) -> String {
    if let Some((step, errno)) = decode(e) {
        return format!("netns-test: cannot isolate the test: {}", explain(step, errno));
    }
    match e.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::EAGAIN) => {
            format!("netns-test: {}: {e}", resource("starting the test's child process", e))
        }
        _ => format!(
            "netns-test: cannot execute the test binary {binary} (through /proc/self/exe) for the \
             test's child process: {e}. Was the file deleted or replaced while the tests ran (a rebuild)? \
             Re-run the tests."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_user_namespace_is_told_apart_from_the_other_steps() {
        for step in [Step::UnshareUser, Step::Setgroups, Step::UidMap, Step::GidMap] {
            let why = user_namespace_refused(&encode(step, libc::EPERM)).unwrap_or_else(|| panic!("{step:?}"));
            assert_eq!(why.to_string(), explain(step, libc::EPERM).to_string());
        }
        let why = user_namespace_refused(&encode(Step::UnshareUser, libc::ENOSPC)).unwrap().to_string();
        assert!(why.contains("sysctl -w user.max_user_namespaces="), "{why}");
        for step in [Step::Unshare, Step::UnshareNet, Step::UnsharePid, Step::ForkInit, Step::MountPrivate] {
            assert!(user_namespace_refused(&encode(step, libc::ENOSPC)).is_none(), "{step:?}");
        }
        assert!(user_namespace_refused(&io::Error::from_raw_os_error(libc::EAGAIN)).is_none());
    }
}
