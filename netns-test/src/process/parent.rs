//! The parent half: start the test child, watch it, and decide what happened.
//!
//! ```ignore
//! match parent::run(&spec) { Verdict::Pass => {}, other => /* see process::run */ }
//! ```
//!
//! The verdict comes only from the process the framework started (TEST): its report says what the
//! body did, and INIT's status pipe says how TEST ended; a verdict counts only when both agree.
//! Output, report and status are read while the child runs, so messages of any size arrive.

use super::grace;
use super::replay::Replay;
use super::report::Report;
use super::spawn::{self, Refused, Started};
use super::{Spec, Verdict, FAILED_EXIT};
use crate::forensics::machine_drops;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How supervision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Supervision {
    /// TEST ended with this status (reported by INIT).
    Exited(ExitStatus),
    /// The timeout passed; everything was killed.
    TimedOut,
    /// The sandbox ended without INIT reporting TEST's status (I ended with this one).
    Lost(ExitStatus),
}

/// What the parent saw of one test: all `judge` needs.
pub(super) struct Seen {
    pub(super) reports: Vec<Report>,
    pub(super) end: Supervision,
    pub(super) elapsed: Duration,
    /// When the body's verdict arrived (only when tracing).
    pub(super) verdict_at: Option<Duration>,
    /// The end of the test's output, for its report page.
    pub(super) output: String,
}

/// Set once this process has made a sandbox: user namespaces are available to it, so a later
/// refusal is a limit reached (a failure), not a machine without them (a skip, when asked).
static SANDBOX_MADE: AtomicBool = AtomicBool::new(false);

pub(super) fn run(spec: &Spec) -> Verdict {
    let name = spec.test_name();
    restore_sigchld();
    // Before the child: the kernel's machine-wide drop counters, to explain a failure.
    let tables = machine_drops::snapshot();
    let start = Instant::now();
    // A report page older than this is an earlier run's.
    // No probe first: the sandbox's own first step is making a user namespace, and a refusal
    // comes back with the step and errno the probe would have found (see `diagnose::which_step`).
    // Under nextest, where each test is a process of its own, a probe cost every test a fork and
    // a user namespace.
    let started = match spawn::start(name) {
        Ok(s) => s,
        Err(Refused::UserNamespace(e)) if !SANDBOX_MADE.load(Ordering::Relaxed) => {
            if crate::env::skip_unsupported() {
                return Verdict::Skipped(e.to_string());
            }
            return Verdict::NoSandbox(format!(
                "netns-test: cannot isolate `{name}`: {e}\n(A CI that cannot have user namespaces may set {}=skip \
                 to skip these tests loudly instead.)",
                crate::env::UNSUPPORTED
            ));
        }
        Err(Refused::UserNamespace(e)) => {
            return Verdict::NoSandbox(format!("netns-test: cannot isolate the test: {e}\n(while starting `{name}`)"))
        }
        Err(Refused::Other(msg)) => return Verdict::NoSandbox(format!("{msg}\n(while starting `{name}`)")),
    };
    SANDBOX_MADE.store(true, Ordering::Relaxed);
    let spawned = start.elapsed();
    let seen = supervise(name, started, spec.timeout, start);
    if crate::env::tracing() {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        // Past libtest's capture, so it shows for passing tests too.
        let _ = writeln!(
            io::stderr(),
            "netns-test: `{name}`: child spawned in {:.2} ms, verdict after {:.2} ms, sandbox gone after {:.2} ms",
            ms(spawned),
            ms(seen.verdict_at.unwrap_or_default()),
            ms(seen.elapsed)
        );
    }
    let verdict = with_machine_drops(judge(spec, &seen), &seen, tables);
    let page = seen.reports.iter().rev().find_map(|r| match r {
        Report::Page(path) => Some(std::path::PathBuf::from(path)),
        _ => None,
    });
    super::failure::page(spec, &verdict, page.as_deref(), &seen.output);
    verdict
}

/// A failure after the body started, while the kernel dropped packets for want of room in the
/// tables every namespace shares (`tables` grew): says so. Printed with the test's output (the
/// body's own message is carried on for `should_panic`, not shown again); added to the others.
fn with_machine_drops(verdict: Verdict, seen: &Seen, tables: Option<machine_drops::Snapshot>) -> Verdict {
    if !verdict.is_failure() || !matches!(seen.reports.first(), Some(Report::Started)) {
        return verdict;
    }
    let Some(note) = tables.and_then(|before| machine_drops::drops_since(&before)) else {
        return verdict;
    };
    match verdict {
        Verdict::Failed(msg) => {
            print!("{note}");
            Verdict::Failed(msg)
        }
        Verdict::BuildFailed(msg) => Verdict::BuildFailed(format!("{msg}\n{note}")),
        Verdict::NoSandbox(msg) => Verdict::NoSandbox(format!("{msg}\n{note}")),
        other => {
            print!("{note}");
            other
        }
    }
}

/// Reads output, report and status until the sandbox is gone or the timeout passes.
/// At the deadline TEST is signalled and granted [`grace::PERIOD`] to show its state (its
/// `Paused` reports stop the clock while the user looks); then everything is killed.
fn supervise(name: &str, started: Started, timeout: Duration, start: Instant) -> Seen {
    let Started { mut child, output, report, status } = started;
    let mut deadline = start + timeout;
    let mut graced = false;
    let mut pauses_seen = 0;
    let pidfd = pidfd_open(child.id() as i32).expect("netns-test: pidfd_open failed (Linux 5.3+ is needed)");
    let mut streams = [Stream::new(output), Stream::new(report), Stream::new(status)];
    let mut replay = Replay::default();
    let mut verdict_at = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() && !graced {
            graced = true;
            grace::signal(child.id() as i32);
            deadline = Instant::now() + grace::PERIOD;
            continue;
        }
        if left.is_zero() {
            kill_sandbox(&child);
            break;
        }
        let ended = poll(&pidfd, &mut streams, &mut replay, left);
        for text in Report::decode_all(&streams[1].bytes).into_iter().filter_map(Report::into_paused).skip(pauses_seen)
        {
            pauses_seen += 1;
            deadline += super::pause::hold(name, child.id(), &text);
        }
        // When tracing: when the verdict arrived, to tell the test from its teardown.
        if crate::env::tracing()
            && verdict_at.is_none()
            && Report::decode_all(&streams[1].bytes).iter().any(|r| matches!(r, Report::Ok | Report::Failed(_)))
        {
            verdict_at = Some(start.elapsed());
        }
        if ended {
            break;
        }
    }
    // Past the deadline, even if TEST ended within its grace.
    let timed_out = graced;
    // I has ended: INIT and everything in the namespace ended before it (or are being killed,
    // after a timeout). Take what is left in the pipes; bounded, in case of the latter.
    let drain_until = Instant::now() + Duration::from_secs(1);
    while streams.iter().any(|s| s.open) && Instant::now() < drain_until {
        poll_streams(&mut streams, &mut replay, Duration::from_millis(100));
    }
    replay.finish();
    let sandbox = child.wait().unwrap_or_else(|_| ExitStatus::from_raw(0));
    let [_, report, status] = streams;
    let end = match (timed_out, <[u8; 4]>::try_from(&status.bytes[..])) {
        (true, _) => Supervision::TimedOut,
        (false, Ok(raw)) => Supervision::Exited(ExitStatus::from_raw(i32::from_ne_bytes(raw))),
        (false, Err(_)) => Supervision::Lost(sandbox),
    };
    let output = replay.tail();
    Seen { reports: Report::decode_all(&report.bytes), end, elapsed: start.elapsed(), verdict_at, output }
}

/// Kills the sandbox: I's process group holds I, INIT and (unless it left) TEST, and INIT's death
/// takes the rest of the namespace.
fn kill_sandbox(child: &std::process::Child) {
    let pgid = child.id() as i32;
    // SAFETY: signals our own child's group; ESRCH when it is already gone is fine.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// One of the child's pipes, read to its end.
struct Stream {
    fd: OwnedFd,
    open: bool,
    bytes: Vec<u8>,
}

impl Stream {
    fn new(fd: OwnedFd) -> Stream {
        Stream { fd, open: true, bytes: Vec::new() }
    }
}

/// Waits up to `left` for I's end or data; true once I has ended.
fn poll(pidfd: &OwnedFd, streams: &mut [Stream; 3], replay: &mut Replay, left: Duration) -> bool {
    let mut fds = [libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 }; 4];
    for (slot, s) in fds[1..].iter_mut().zip(streams.iter()) {
        slot.fd = if s.open { s.fd.as_raw_fd() } else { -1 };
    }
    let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: a valid pollfd array.
    if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, ms) } <= 0 {
        return false; // timeout or EINTR: the caller checks the deadline
    }
    read_ready(&fds[1..], streams, replay);
    fds[0].revents != 0
}

fn poll_streams(streams: &mut [Stream; 3], replay: &mut Replay, wait: Duration) {
    let mut fds = [libc::pollfd { fd: -1, events: libc::POLLIN, revents: 0 }; 3];
    for (slot, s) in fds.iter_mut().zip(streams.iter()) {
        slot.fd = if s.open { s.fd.as_raw_fd() } else { -1 };
    }
    // SAFETY: a valid pollfd array.
    if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, wait.as_millis() as i32) } > 0 {
        read_ready(&fds, streams, replay);
    }
}

/// Reads once from each ready stream; output goes to the replay, the rest is kept.
fn read_ready(fds: &[libc::pollfd], streams: &mut [Stream; 3], replay: &mut Replay) {
    let mut buf = vec![0u8; 64 * 1024];
    for (i, (pfd, s)) in fds.iter().zip(streams.iter_mut()).enumerate() {
        if pfd.revents == 0 || !s.open {
            continue;
        }
        // SAFETY: reading into a buffer we own.
        let n = unsafe { libc::read(s.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            n if n > 0 && i == 0 => replay.push(&buf[..n as usize]),
            n if n > 0 => s.bytes.extend_from_slice(&buf[..n as usize]),
            n if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => s.open = false,
        }
    }
}

/// Turns what the parent saw into a typed verdict (put into words by `Verdict::message`).
pub(super) fn judge(spec: &Spec, seen: &Seen) -> Verdict {
    let status = match seen.end {
        Supervision::TimedOut => return Verdict::TimedOut { after: seen.elapsed, timeout: spec.timeout },
        Supervision::Lost(sandbox) => return Verdict::Lost(sandbox),
        Supervision::Exited(status) => status,
    };
    let (started, verdict) = match seen.reports.as_slice() {
        [Report::Started, rest @ ..] => (true, rest.iter().find(|r| r.is_verdict())),
        _ => (false, None),
    };
    let failed_with = match verdict {
        Some(Report::Failed(msg) | Report::BuildFailed(msg)) => Some(msg.clone()),
        _ => None,
    };
    match verdict {
        _ if !started => Verdict::NoTestRan(status),
        Some(Report::Ok) if status.success() => Verdict::Passed,
        Some(Report::Failed(msg)) if status.code() == Some(FAILED_EXIT) => Verdict::Failed(msg.clone()),
        Some(Report::BuildFailed(msg)) if status.code() == Some(FAILED_EXIT) => Verdict::BuildFailed(msg.clone()),
        _ => match status.signal() {
            Some(signal) => Verdict::Killed { signal, failed_with },
            None => Verdict::Exited { status, failed_with },
        },
    }
}

/// A runner that ignores SIGCHLD (a careless wrapper left it so) cannot wait for any child: the
/// kernel reaps them unasked, and `waitpid` fails with ECHILD. The default disposition behaves
/// the same for a process that installed no handler, so restore it.
fn restore_sigchld() {
    // SAFETY: querying, then (only if ignored) resetting a signal disposition.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old);
        if old.sa_sigaction == libc::SIG_IGN {
            libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        }
    }
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: a plain syscall; the returned descriptor is ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}
