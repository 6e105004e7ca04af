//! Shared helpers of the netns-test benchmark suite (see `bench/run.sh` and `BENCHMARKS.md`).

use std::time::Duration;

/// The most members the benchmarks put on one bridge by default: N <= 250 is one bridge (as in
/// the earlier figures), N = 1,000 is four. The kernel's limit is 1023 ports per bridge
/// (`BR_MAX_PORTS` = 1024, port 0 reserved; `topology::Bridge::MAX_MEMBERS`, enforced by the
/// topology's validation); `scale --per-bridge 1000` puts 1,000 on one.
pub const MEMBERS_PER_BRIDGE: usize = 250;
const _: () = assert!(MEMBERS_PER_BRIDGE <= netns_test::topology::Bridge::MAX_MEMBERS);

/// `n` nodes on `ceil(n / per_bridge)` bridges: `bridge br0 { n0000=10.0.0.1/16, … }`,
/// `bridge br1 { … =10.1.0.1/16, … }`, each bridge its own /16.
pub fn bridge_topology(n: usize, per_bridge: usize) -> String {
    let bridges: Vec<String> = (0..n)
        .collect::<Vec<_>>()
        .chunks(per_bridge)
        .enumerate()
        .map(|(b, nodes)| {
            let members: Vec<String> = (nodes.iter().enumerate())
                .map(|(k, i)| format!("n{i:04}=10.{b}.{}.{}/16", (k + 1) / 256, (k + 1) % 256))
                .collect();
            format!("bridge br{b} {{ {} }}", members.join(", "))
        })
        .collect();
    bridges.join("\n")
}

/// Median, minimum and maximum of a sample, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn stats(samples: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = ms.len();
    let median = if n % 2 == 1 { ms[n / 2] } else { (ms[n / 2 - 1] + ms[n / 2]) / 2.0 };
    Stats { median, min: ms[0], max: ms[n - 1] }
}

/// Least squares y = a + b·x; returns (a, b, R²).
pub fn linear_fit(xs: &[f64], ys: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let b = sxy / sxx;
    let a = my - b * mx;
    let ss_tot: f64 = ys.iter().map(|y| (y - my) * (y - my)).sum();
    let ss_res: f64 = xs.iter().zip(ys).map(|(x, y)| (y - (a + b * x)).powi(2)).sum();
    (a, b, 1.0 - ss_res / ss_tot)
}

/// Runs `f` on a new thread that first moves into a fresh network namespace, so that bridges
/// built by an earlier iteration (they live in the calling thread's namespace) never collide.
/// Needs `netns_test::isolate()` first.
pub fn in_fresh_netns<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::spawn(move || {
        // SAFETY: a plain syscall; only this thread changes namespace.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            panic!("unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
        }
        f()
    })
    .join()
    .expect("benchmark thread panicked")
}

/// Counts RTM_NEWLINK / RTM_DELLINK notifications in the calling thread's namespace, to prove
/// that no link is moved out of it during a build (a move shows up as RTM_DELLINK here).
pub struct LinkMonitor {
    fd: libc::c_int,
}

impl LinkMonitor {
    pub fn new() -> std::io::Result<LinkMonitor> {
        // SAFETY: plain socket syscalls on a zeroed sockaddr_nl.
        unsafe {
            let fd = libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::NETLINK_ROUTE,
            );
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let size: libc::c_int = 8 << 20;
            libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, (&size as *const libc::c_int).cast(), 4);
            let mut sa: libc::sockaddr_nl = std::mem::zeroed();
            sa.nl_family = libc::AF_NETLINK as u16;
            sa.nl_groups = libc::RTMGRP_LINK as u32;
            if libc::bind(fd, (&sa as *const libc::sockaddr_nl).cast(), std::mem::size_of::<libc::sockaddr_nl>() as u32)
                != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(LinkMonitor { fd })
        }
    }

    /// (new-link notifications, del-link notifications, overruns) received so far.
    pub fn drain(&self) -> (usize, usize, bool) {
        let (mut new, mut del, mut overrun) = (0, 0, false);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            // SAFETY: reading into our buffer.
            let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS) {
                    overrun = true;
                    continue;
                }
                break;
            }
            let mut off = 0usize;
            let n = n as usize;
            while off + 16 <= n {
                let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
                let ty = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap());
                match ty {
                    libc::RTM_NEWLINK => new += 1,
                    libc::RTM_DELLINK => del += 1,
                    _ => {}
                }
                if len < 16 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
        (new, del, overrun)
    }
}

impl Drop for LinkMonitor {
    fn drop(&mut self) {
        // SAFETY: our descriptor.
        unsafe { libc::close(self.fd) };
    }
}

/// Peak resident set size of this process so far, in KiB (`getrusage`'s `ru_maxrss`).
pub fn peak_rss_kib() -> u64 {
    // SAFETY: getrusage fills the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_maxrss as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_networks_are_split_over_bridges_within_the_kernel_limit() {
        let topo = netns_test::Topology::parse(&bridge_topology(1001, 500)).unwrap();
        assert_eq!(topo.nodes.len(), 1001);
        assert_eq!(topo.bridges.iter().map(|b| b.members.len()).collect::<Vec<_>>(), [500, 500, 1]);
        let over = netns_test::Topology::parse(&bridge_topology(1024, 1024)).unwrap_err();
        assert!(over.0[0].message.contains("at most 1,023 ports"), "{over}");
        netns_test::Topology::parse(&bridge_topology(1023, 1023)).unwrap();
    }
}
