//! ICMP echo over datagram sockets ("ping sockets"): no `ping` binary, no raw-socket privilege.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU16 = AtomicU16::new(1);

/// How often an unanswered echo is followed by another (as `ping`'s default interval).
const INTERVAL: Duration = Duration::from_secs(1);

/// Echo requests to `to` from the calling thread's namespace, as `ping -w`: one at once, then one
/// every [`INTERVAL`] until a reply to any of them arrives or `timeout` has passed. The round-trip
/// time of the echo answered, from its own send.
pub(crate) fn ping(to: IpAddr, timeout: Duration) -> io::Result<Duration> {
    let (domain, proto, request, reply) = match to {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128, 129),
    };
    let sock = Socket::new(domain, Type::DGRAM, Some(proto))?;
    let dest = SockAddr::from(SocketAddr::new(to, 0));
    // The kernel gives each ping socket its own identifier, so sequence numbers need only differ
    // among this call's echoes: consecutive from `first`.
    let first = SEQ.fetch_add(1, Ordering::Relaxed);
    // type, code, checksum and identifier are filled in by the kernel; then sequence, payload.
    let mut pkt = [0u8; 24];
    pkt[0] = request;
    pkt[8..].copy_from_slice(b"netns-test echo!");
    let start = Instant::now();
    let deadline = start + timeout;
    let mut sent: Vec<Instant> = Vec::with_capacity(1);
    let mut buf = [MaybeUninit::<u8>::uninit(); 128];
    loop {
        let next_send = start + INTERVAL * sent.len() as u32;
        if sent.is_empty() || (Instant::now() >= next_send && next_send < deadline) {
            let seq = first.wrapping_add(sent.len() as u16);
            pkt[6..8].copy_from_slice(&seq.to_be_bytes());
            let at = Instant::now();
            sock.send_to(&pkt, &dest)?;
            sent.push(at);
            continue;
        }
        let wake = if next_send < deadline { next_send } else { deadline };
        let left = wake.saturating_duration_since(Instant::now());
        if left.is_zero() {
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no echo reply from {to} within {timeout:?}"),
                ));
            }
            continue;
        }
        sock.set_read_timeout(Some(left))?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(e) => return Err(e),
        };
        // SAFETY: recv initialised the first n bytes.
        let got = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
        if n < 8 || got[0] != reply {
            continue;
        }
        let echo = u16::from_be_bytes([got[6], got[7]]).wrapping_sub(first) as usize;
        if let Some(at) = sent.get(echo) {
            return Ok(at.elapsed());
        }
    }
}
