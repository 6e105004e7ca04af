//! Entering new namespaces with the user mapped to root inside: the maps are single-id
//! (`0 <euid> 1`), the only kind a process may write for itself, so the test is root inside its
//! namespace and nobody special outside it.
//!
//! ```ignore
//! let maps = IdMaps::for_current_user(); // formatted before any fork: entering never allocates
//! unsafe { maps.enter(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) }?;
//! ```

use super::step::Step;
use std::io;

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

    /// Moves the calling process into new namespaces (`flags`: `CLONE_NEWUSER` and any others)
    /// and maps its user and group to root there.
    ///
    /// Async-signal-safe (raw syscalls, no allocation): usable in a `pre_exec` hook.
    ///
    /// # Safety
    /// The process must be single-threaded (the kernel refuses otherwise, with EINVAL).
    pub(crate) unsafe fn enter(&self, flags: libc::c_int) -> Result<(), (Step, i32)> {
        if libc::unshare(flags) != 0 {
            let step = if flags == libc::CLONE_NEWUSER { Step::UnshareUser } else { Step::Unshare };
            return Err((step, errno()));
        }
        write_proc(c"/proc/self/setgroups", b"deny").map_err(|e| (Step::Setgroups, e))?;
        write_proc(c"/proc/self/uid_map", self.uid.as_bytes()).map_err(|e| (Step::UidMap, e))?;
        write_proc(c"/proc/self/gid_map", self.gid.as_bytes()).map_err(|e| (Step::GidMap, e))?;
        Ok(())
    }
}

/// Whether the effective uid appears in this user namespace's uid map (65534, the overflow
/// uid, is what an unmapped user is shown as).
pub(crate) fn uid_is_mapped() -> bool {
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
