//! The child half: in the sandbox the parent made, check it is one, build, run the body, report.
//!
//! ```ignore
//! // The parent re-executes the test binary as `<name> --exact`; the macro-generated test then
//! // lands here instead of in `parent::run`:
//! child::run(&spec, body); // never returns
//! ```

use super::report::Report;
use super::{failure, grace};
use super::{Outcome, Spec, FAILED_EXIT, TEST_PID};
use crate::api::Net;
use netns_test_topology::Topology;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::FromRawFd;
use std::os::unix::fs::MetadataExt;

pub(super) fn run(spec: &Spec, body: &dyn Fn(&Net) -> Outcome) -> ! {
    crate::env::strip_from_process();
    // From kernel facts, never from the environment: refuse to configure anything unless this
    // is the framework's test process in a sandbox of its own.
    if let Err(why) = verify_sandbox() {
        panic!(
            "netns-test: refusing to run `{}` as a test child: {why}. (NETNS_TEST_CHILD is set by the framework; \
             run the test binary normally.)",
            spec.test_name()
        );
    }
    let mut report = Reporter::take();
    // stdout was /dev/null so that libtest's lines stay out of the replay; from here on the
    // test's stdout and stderr both go to the parent, interleaved as written.
    // SAFETY: dup2 on descriptors this process owns.
    unsafe { libc::dup2(2, 1) };
    report.send(&Report::Started);
    crate::sandbox::mark_isolated();

    crate::journal::phase("the test process checked its sandbox");
    let (net, node) = match build(spec) {
        Ok(built) => built,
        Err(msg) => {
            let _ = io::stderr().flush();
            report.send(&Report::BuildFailed(msg));
            std::process::exit(FAILED_EXIT);
        }
    };
    #[cfg(feature = "tracing")]
    crate::tracing::install();
    // Last before the body: captures start and the journal's clock is set.
    crate::forensics::body_starts(net.core());
    std::thread::scope(|s| {
        // Only when a failure would show something: the pass path pays nothing otherwise.
        let watch = failure::wanted().then(|| grace::watch(s, net.core(), spec.node));
        let outcome = node.run(|| match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&net))) {
            Ok(outcome) => outcome,
            Err(payload) => Err(crate::error::panic_message(&*payload)),
        });
        if watch.is_some_and(|w| !w.stop()) {
            // Timed out as the body ended: the watcher shows the state and exits; the parent's
            // verdict is the timeout.
            loop {
                std::thread::park();
            }
        }
        let outcome = outcome.inspect(|()| failure::passed(net.core(), spec.node)).map_err(|msg| {
            match failure::show(net.core(), spec.node, &msg) {
                Some(context) => format!("{msg}\n{context}"),
                None => msg,
            }
        });
        // Inside the scope: the watcher is not joined and the topology is not dropped (waking
        // and joining threads costs about a millisecond here); the exit ends both.
        finish(report, outcome)
    })
}

/// Reports `outcome` and exits: nothing of libtest's would reach the parent, and the kernel
/// frees the topology.
fn finish(mut report: Reporter, outcome: Outcome) -> ! {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    report.send(&match &outcome {
        Ok(()) => Report::Ok,
        Err(msg) => Report::Failed(msg.clone()),
    });
    std::process::exit(if outcome.is_ok() { 0 } else { FAILED_EXIT });
}

fn build(spec: &Spec) -> Result<(Net, crate::api::Node), String> {
    let topology = Topology::parse(spec.topology)
        .map_err(|e| format!("netns-test: invalid topology (the macro should have caught this): {e}"))?;
    // The child's own namespace is fresh and unused: node 0 may live in it.
    let net = Net::build_with(topology, crate::builder::Node0::CallersIfNoBridges).map_err(|e| {
        let msg = format!("netns-test: building the topology failed: {e}");
        eprintln!("{msg}");
        msg
    })?;
    let node = net.node(spec.node).clone();
    Ok((net, node))
}

/// The report pipe; only the process the framework started (TEST, pid 2) writes to it, so a
/// forked copy of the body (fork, `daemon()`) can never deliver a verdict.
struct Reporter(File);

impl Reporter {
    fn take() -> Reporter {
        let fd = crate::env::report_fd().expect("netns-test: the child has no report pipe (NETNS_TEST_REPORT_FD)");
        // SAFETY: the parent passed us this descriptor and nothing else in the child owns it.
        let file = unsafe { File::from_raw_fd(fd) };
        // Programs the test starts must not hold the report pipe open.
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        Reporter(file)
    }

    fn send(&mut self, report: &Report) {
        // SAFETY: getpid cannot fail.
        if unsafe { libc::getpid() } == TEST_PID {
            let _ = self.0.write_all(&report.encode());
        }
    }
}

/// Checks, from what the kernel says, that this process is the framework's test process in a
/// sandbox of its own: pid 2 under an init of its own, in a PID and a user namespace other than
/// the initial ones, whose network namespace belongs to that user namespace and is fresh (only
/// `lo`, still down). Environment variables can fake none of this.
fn verify_sandbox() -> Result<(), String> {
    // SAFETY: getpid/getppid cannot fail.
    let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
    if (pid, ppid) != (TEST_PID, 1) {
        return Err(format!("it is pid {pid} with parent {ppid}, not pid 2 under an init of its own"));
    }
    let ns = |kind: &str| {
        File::open(format!("/proc/thread-self/ns/{kind}")).map_err(|e| format!("cannot open its {kind} namespace: {e}"))
    };
    let (user, pid_ns, net) = (ns("user")?, ns("pid")?, ns("net")?);
    let ino = |f: &File| f.metadata().map(|m| m.ino()).unwrap_or(0);
    // The kernel's fixed inode numbers of the initial namespaces (PROC_*_INIT_INO).
    if ino(&user) == 0xEFFF_FFFD || ino(&pid_ns) == 0xEFFF_FFFC {
        return Err("it runs in the initial user or PID namespace".into());
    }
    for (kind, f) in [("PID", &pid_ns), ("network", &net)] {
        // SAFETY: NS_GET_USERNS returns a new descriptor of the owning user namespace.
        let owner = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(f), libc::NS_GET_USERNS) };
        if owner < 0 {
            return Err(format!("cannot find the owner of its {kind} namespace: {}", io::Error::last_os_error()));
        }
        // SAFETY: a fresh descriptor, ours.
        let owner = unsafe { File::from_raw_fd(owner) };
        if ino(&owner) != ino(&user) {
            return Err(format!("its {kind} namespace belongs to another user namespace than its own"));
        }
    }
    let links = std::fs::read_to_string("/proc/thread-self/net/dev").map_err(|e| format!("cannot list links: {e}"))?;
    let names: Vec<&str> = links.lines().skip(2).filter_map(|l| Some(l.split(':').next()?.trim())).collect();
    if names != ["lo"] || lo_is_up() {
        return Err(format!("its network namespace is not fresh (links: {names:?})"));
    }
    Ok(())
}

/// Whether `lo` of the calling thread's network namespace is up.
fn lo_is_up() -> bool {
    // SAFETY: a datagram socket for one ioctl, closed right after; ifreq is plain data.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return true; // cannot tell: refuse
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        req.ifr_name[..2].copy_from_slice(&[b'l' as libc::c_char, b'o' as libc::c_char]);
        let ok = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) == 0;
        libc::close(sock);
        !ok || req.ifr_ifru.ifru_flags & libc::IFF_UP as libc::c_short != 0
    }
}
