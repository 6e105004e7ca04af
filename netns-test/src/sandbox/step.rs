//! The steps of making a sandbox, each of which can fail on its own; a failure names its step.
//!
//! ```ignore
//! let (step, errno) = (Step::UidMap, libc::EPERM);
//! let err = diagnose::explain(step, errno); // what limit is behind it, and how to change it
//! ```

/// The steps of making a sandbox, in order; a failure names its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// `unshare` of several namespaces at once, before narrowing down which one failed.
    Unshare = 1,
    UnshareUser = 2,
    UnshareNet = 3,
    UnshareMount = 4,
    UnshareUts = 5,
    UnsharePid = 6,
    Setgroups = 7,
    UidMap = 8,
    GidMap = 9,
    Pipe = 10,
    ForkInit = 11,
    MountPrivate = 12,
    ForkTest = 13,
}

pub(crate) const STEPS: [Step; 13] = [
    Step::Unshare,
    Step::UnshareUser,
    Step::UnshareNet,
    Step::UnshareMount,
    Step::UnshareUts,
    Step::UnsharePid,
    Step::Setgroups,
    Step::UidMap,
    Step::GidMap,
    Step::Pipe,
    Step::ForkInit,
    Step::MountPrivate,
    Step::ForkTest,
];

/// Each namespace `unshare` can make, with its step.
pub(crate) const NAMESPACE_STEPS: [(libc::c_int, Step); 5] = [
    (libc::CLONE_NEWUSER, Step::UnshareUser),
    (libc::CLONE_NEWNET, Step::UnshareNet),
    (libc::CLONE_NEWNS, Step::UnshareMount),
    (libc::CLONE_NEWUTS, Step::UnshareUts),
    (libc::CLONE_NEWPID, Step::UnsharePid),
];
