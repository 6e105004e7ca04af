//! Descriptor budget: a large topology holds two descriptors per node while it is built (the
//! namespace and a netlink socket), more than the usual soft limit of 1024 allows at N ≈ 500.
//!
//! ```ignore
//! fds::ensure(fds::needed(topo.nodes.len()))?; // raises the soft RLIMIT_NOFILE if it must
//! ```

use crate::error::{Error, Result};
use std::io;

/// Descriptors a build of `nodes` nodes holds at its peak: per node its namespace and a netlink
/// socket, plus headroom for the runtime, the test's own files and the standard streams.
pub(super) fn needed(nodes: usize) -> u64 {
    2 * nodes as u64 + 64
}

/// Makes sure this process may hold `need` descriptors: raises the soft `RLIMIT_NOFILE` (never
/// lowers it) up to the hard limit, as Go's runtime does at start-up; errors, naming the fix,
/// when the hard limit is too low.
pub(super) fn ensure(need: u64) -> Result<()> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(Error::io("reading RLIMIT_NOFILE")(io::Error::last_os_error()));
    }
    match new_soft_limit(need, lim.rlim_cur, lim.rlim_max) {
        Ok(None) => Ok(()),
        Ok(Some(soft)) => {
            lim.rlim_cur = soft;
            // SAFETY: setrlimit reads the struct we own.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
                return Err(Error::io("raising RLIMIT_NOFILE")(io::Error::last_os_error()));
            }
            Ok(())
        }
        Err(what) => Err(Error::Io { what, source: io::Error::from_raw_os_error(libc::EMFILE) }),
    }
}

/// The soft limit to set, if any, for `need` descriptors under limits `soft` / `hard`.
fn new_soft_limit(need: u64, soft: u64, hard: u64) -> Result<Option<u64>, String> {
    if need <= soft {
        Ok(None)
    } else if need <= hard {
        Ok(Some(need))
    } else {
        Err(format!(
            "this topology needs about {need} open descriptors while it is built, but this process may \
             open at most {hard} (hard RLIMIT_NOFILE): raise it, e.g. `ulimit -Hn {need}` as root, or \
             `LimitNOFILE=` in a systemd unit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_only_when_needed_and_only_up_to_the_hard_one() {
        assert_eq!(new_soft_limit(100, 1024, 4096), Ok(None));
        assert_eq!(new_soft_limit(2064, 1024, 524288), Ok(Some(2064)));
        let e = new_soft_limit(2064, 1024, 1024).unwrap_err();
        assert!(e.contains("2064") && e.contains("1024") && e.contains("ulimit -Hn"), "{e}");
        assert_eq!(needed(1000), 2064);
    }

    #[test]
    fn ensure_leaves_a_sufficient_limit_alone() {
        let mut before = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit fills the struct we own.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut before) };
        ensure(needed(1)).unwrap();
        let mut after = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: as above.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut after) };
        assert_eq!((before.rlim_cur, before.rlim_max), (after.rlim_cur, after.rlim_max));
    }
}
