//! The userspace path for link conditions, for kernels without `sch_netem`.
//!
//! A conditioned link `a -- b` becomes `a:eth0 -- x` and `y -- b:eth0`, with `x` and `y` in a
//! namespace of the framework's own; one thread reads each of `x` and `y` with an `AF_PACKET`
//! socket and writes what it reads to the other after netem's treatment: loss, duplication,
//! a delay with uniform jitter (a packet may overtake another, as with netem), and reordering
//! (a packet sent at once, without the delay). Ethernet frames pass unchanged, ARP and
//! neighbour discovery included, so the nodes see one plain link.
//!
//! ```ignore
//! let fw = Forwarder::start(&ns, x_index, y_index, conditions, "a:eth0 -- b:eth0")?;
//! fw.set(new_conditions); // takes effect with the next packet
//! ```
//!
//! The sockets carry a `virtio_net_hdr` (`PACKET_VNET_HDR`), so checksum offload passes through:
//! a frame whose checksum the sender left to the hardware leaves with the same instruction.

use netns_test_topology::Conditions;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::core::Counters;
use crate::kernel::ns::NetNs;
use crate::kernel::packet;

/// Packets held at most per direction (netem's `limit`, which the kernel path also sets).
const LIMIT: usize = super::tc::NETEM_LIMIT as usize;
/// `sizeof(struct virtio_net_hdr)`.
const VNET_HDR: usize = 10;
/// Room for the largest frame a veth passes (64 KiB with GSO) after the virtio header.
const BUF: usize = VNET_HDR + 65_536 + 64;
/// Frames read from one side before looking at the other and at due packets.
const BATCH: usize = 64;

/// Shared between the forwarder thread and its owner.
#[derive(Debug, Default)]
struct Shared {
    conditions: Mutex<Conditions>,
    /// `[x -> y, y -> x]`, shared with the core (what the failure dump shows).
    counters: Arc<[Counters; 2]>,
}

/// A running forwarder; dropping it stops and joins its thread.
#[derive(Debug)]
pub(crate) struct Forwarder {
    name: String,
    /// The interface indices it reads and writes, in the forwarders' namespace.
    pub(crate) ends: [u32; 2],
    shared: Arc<Shared>,
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
}

impl Forwarder {
    /// Opens packet sockets on `x` and `y` (interface indices in `ns`) and starts forwarding
    /// between them with `conditions`. `name` names the thread (truncated by the kernel).
    pub(crate) fn start(ns: &NetNs, x: u32, y: u32, conditions: Conditions, name: &str) -> io::Result<Forwarder> {
        let (sx, sy) = ns.run(|| Ok::<_, io::Error>((packet_socket(x)?, packet_socket(y)?)))??;
        // SAFETY: eventfd returns a new descriptor or -1.
        let stop = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if stop < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor owned by nothing else.
        let stop = unsafe { OwnedFd::from_raw_fd(stop) };
        let shared = Arc::new(Shared { conditions: Mutex::new(conditions), ..Default::default() });
        let (s, stop_fd) = (shared.clone(), stop.as_raw_fd());
        let thread =
            std::thread::Builder::new().name(format!("netns-fw {name}")).spawn(move || run(&s, [sx, sy], stop_fd))?;
        Ok(Forwarder { name: name.to_string(), ends: [x, y], shared, stop, thread: Some(thread) })
    }

    /// New conditions, in effect from the next packet read (packets already waiting keep their
    /// due time).
    pub(crate) fn set(&self, c: Conditions) {
        *self.shared.conditions.lock().unwrap_or_else(|p| p.into_inner()) = c;
    }

    /// Its counters, `[from x, from y]`, as they go on counting.
    pub(crate) fn counters(&self) -> Arc<[Counters; 2]> {
        self.shared.counters.clone()
    }

    /// What each direction did: `forwarded 2000, lost 21, ...`.
    pub(crate) fn summary(&self) -> String {
        let [to, back] = &*self.shared.counters;
        format!("{} there, {} back", to.summary(), back.summary())
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our own eventfd.
        unsafe { libc::write(self.stop.as_raw_fd(), one.as_ptr().cast(), 8) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if crate::env::tracing() {
            eprintln!("netns-test: forwarder of link {}: {}", self.name, self.summary());
        }
    }
}

/// A raw packet socket bound to `ifindex` in the calling thread's namespace, with virtio
/// headers, not seeing its own transmissions.
fn packet_socket(ifindex: u32) -> io::Result<OwnedFd> {
    crate::kernel::packet::bound_socket(ifindex, 0, |fd| {
        packet::set_int_option(fd, libc::SOL_PACKET, libc::PACKET_VNET_HDR, 1)?;
        packet::set_int_option(fd, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, 1)?;
        // As much as net.core.rmem_max allows: a burst waits here until the thread reads it.
        packet::set_int_option(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 4 << 20)
    })
}

/// A frame waiting for its due time; the heap pops the earliest first, in arrival order on ties.
struct Pending {
    due: Instant,
    seq: u64,
    /// Index of the socket to send it on.
    out: usize,
    frame: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.seq) == (o.due, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.due, o.seq).cmp(&(self.due, self.seq))
    }
}

fn run(shared: &Shared, socks: [OwnedFd; 2], stop: RawFd) {
    // Wake-ups on time: the default 50 µs of timer slack would add to every delay.
    // SAFETY: prctl on the calling thread with an integer argument.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
    let mut rng = Rng::seeded();
    let mut heap: BinaryHeap<Pending> = BinaryHeap::new();
    let mut waiting = [0usize; 2];
    let mut seq = 0u64;
    let mut buf = vec![0u8; BUF];
    let mut fds = [
        libc::pollfd { fd: socks[0].as_raw_fd(), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: socks[1].as_raw_fd(), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: stop, events: libc::POLLIN, revents: 0 },
    ];
    loop {
        let timeout = heap.peek().map(|p| {
            let d = p.due.saturating_duration_since(Instant::now());
            libc::timespec { tv_sec: d.as_secs() as libc::time_t, tv_nsec: libc::c_long::from(d.subsec_nanos() as i32) }
        });
        let ts = timeout.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: three live pollfds, a live or null timespec, no signal mask change.
        let n = unsafe { libc::ppoll(fds.as_mut_ptr(), 3, ts, std::ptr::null()) };
        if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
        if fds[2].revents != 0 {
            return;
        }
        for side in 0..2 {
            if fds[side].revents == 0 {
                continue;
            }
            let c = *shared.conditions.lock().unwrap_or_else(|p| p.into_inner());
            let counters = &shared.counters[side];
            for _ in 0..BATCH {
                // SAFETY: receives into a live buffer of BUF bytes.
                let len =
                    unsafe { libc::recv(socks[side].as_raw_fd(), buf.as_mut_ptr().cast(), BUF, libc::MSG_DONTWAIT) };
                if len <= 0 {
                    break;
                }
                let now = Instant::now();
                for due in fate(&c, &mut rng, now, counters) {
                    if waiting[side] >= LIMIT {
                        counters.overflow.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    waiting[side] += 1;
                    seq += 1;
                    heap.push(Pending { due, seq, out: 1 - side, frame: buf[..len as usize].to_vec() });
                }
            }
        }
        let now = Instant::now();
        while heap.peek().is_some_and(|p| p.due <= now) {
            let p = heap.pop().expect("peeked");
            waiting[1 - p.out] -= 1;
            // SAFETY: sends a live buffer; a full or vanished link loses the frame, like a wire.
            let sent = unsafe { libc::send(socks[p.out].as_raw_fd(), p.frame.as_ptr().cast(), p.frame.len(), 0) };
            if sent > 0 {
                shared.counters[1 - p.out].forwarded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// When the copies of a frame read at `now` leave: none if it is lost, two if it is
/// duplicated. netem's order: duplication is decided first and loss then takes one copy (a
/// duplicated frame that is "lost" still leaves once); the duplicate goes through loss and
/// delay again on its own.
fn fate(c: &Conditions, rng: &mut Rng, now: Instant, counters: &Counters) -> Vec<Instant> {
    let dup = rng.chance(c.duplicate.fraction());
    let lost = rng.chance(c.loss.fraction());
    let mut out = Vec::with_capacity(2);
    if lost && !dup {
        counters.lost.fetch_add(1, Ordering::Relaxed);
        return out;
    }
    out.push(now + delay(c, rng, counters));
    if dup && !lost {
        counters.duplicated.fetch_add(1, Ordering::Relaxed);
        if rng.chance(c.loss.fraction()) {
            counters.lost.fetch_add(1, Ordering::Relaxed);
        } else {
            out.push(now + delay(c, rng, counters));
        }
    }
    out
}

/// `delay` ± uniform `jitter`, or none at all for a reordered frame.
fn delay(c: &Conditions, rng: &mut Rng, counters: &Counters) -> Duration {
    if !c.reorder.is_zero() && rng.chance(c.reorder.fraction()) {
        counters.reordered.fetch_add(1, Ordering::Relaxed);
        return Duration::ZERO;
    }
    let j = c.jitter.as_nanos() as u64;
    if j == 0 {
        return c.delay;
    }
    let d = c.delay.as_nanos() as i128 + (rng.below(2 * j) as i128 - j as i128);
    Duration::from_nanos(d.max(0) as u64)
}

/// splitmix64: fast, good enough for coin flips, no dependency.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Rng(t.as_nanos() as u64 ^ (std::process::id() as u64) << 32)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions(text: &str) -> Conditions {
        netns_test_topology::parse_link_options(text).unwrap().conditions
    }

    fn fates(c: &Conditions, n: usize) -> (Vec<Vec<Duration>>, Counters) {
        let (mut rng, counters, now) = (Rng(42), Counters::default(), Instant::now());
        let out = (0..n).map(|_| fate(c, &mut rng, now, &counters).iter().map(|t| *t - now).collect()).collect();
        (out, counters)
    }

    #[test]
    fn plain_and_delayed_frames_leave_once_on_time() {
        let (f, _) = fates(&Conditions::default(), 100);
        assert!(f.iter().all(|c| c == &[Duration::ZERO]));
        let (f, _) = fates(&conditions("delay=20ms"), 100);
        assert!(f.iter().all(|c| c == &[Duration::from_millis(20)]));
    }

    #[test]
    fn jitter_spreads_uniformly_around_the_delay() {
        let (f, _) = fates(&conditions("delay=20ms, jitter=5ms"), 10_000);
        let d: Vec<f64> = f.iter().map(|c| c[0].as_secs_f64() * 1e3).collect();
        assert!(d.iter().all(|&x| (15.0..25.0).contains(&x)), "within delay ± jitter");
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        assert!((mean - 20.0).abs() < 0.2, "mean {mean}");
        let below = d.iter().filter(|&&x| x < 17.5).count();
        assert!((2_300..2_700).contains(&below), "a quarter below 17.5 ms: {below}");
    }

    #[test]
    fn loss_duplicate_and_reorder_happen_at_their_rates() {
        let n = 100_000;
        let (f, c) = fates(&conditions("delay=10ms, loss=10%, duplicate=5%, reorder=20%"), n);
        let frames: usize = f.iter().map(|c| c.len()).sum();
        // Lost: 95 % * 10 % of the originals, and 10 % of the 4.5 % that are duplicated.
        let lost = c.lost.load(Ordering::Relaxed) as f64 / n as f64;
        assert!((lost - 0.0995).abs() < 0.004, "lost {lost}");
        let dup = c.duplicated.load(Ordering::Relaxed) as f64 / n as f64;
        assert!((dup - 0.045).abs() < 0.003, "duplicated {dup}");
        assert_eq!(frames as u64, n as u64 + c.duplicated.load(Ordering::Relaxed) - c.lost.load(Ordering::Relaxed));
        let immediate = f.iter().flatten().filter(|d| d.is_zero()).count() as f64 / frames as f64;
        assert!((immediate - 0.20).abs() < 0.01, "reordered {immediate}");
        assert!(f.iter().all(|c| c.len() <= 2));
    }
}
