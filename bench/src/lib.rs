//! Shared helpers of the netns-test benchmark suite (see `bench/run.sh` and `BENCHMARKS.md`).

use std::time::Duration;

/// `bridge br0 { n000=10.0.0.1/16, n001=10.0.0.2/16, … }` with `n` members.
pub fn bridge_topology(n: usize) -> String {
    let members: Vec<String> = (0..n)
        .map(|i| {
            let host = i + 1;
            format!("n{i:03}=10.0.{}.{}/16", host / 256, host % 256)
        })
        .collect();
    format!("bridge br0 {{ {} }}", members.join(", "))
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
