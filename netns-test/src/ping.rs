//! ICMP echo over datagram sockets ("ping sockets"): no `ping` binary, no raw-socket privilege.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU16 = AtomicU16::new(1);

/// One echo request to `to` from the calling thread's namespace; the round-trip time.
pub(crate) fn ping(to: IpAddr, timeout: Duration) -> io::Result<Duration> {
    let (domain, proto, request, reply) = match to {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128, 129),
    };
    let sock = Socket::new(domain, Type::DGRAM, Some(proto))?;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    // type, code, checksum and identifier are filled in by the kernel; then sequence, payload.
    let mut pkt = [0u8; 24];
    pkt[0] = request;
    pkt[6..8].copy_from_slice(&seq.to_be_bytes());
    pkt[8..].copy_from_slice(b"netns-test echo!");
    let start = Instant::now();
    sock.send_to(&pkt, &SockAddr::from(SocketAddr::new(to, 0)))?;
    let mut buf = [MaybeUninit::<u8>::uninit(); 128];
    loop {
        let left = timeout.checked_sub(start.elapsed()).filter(|d| !d.is_zero());
        let Some(left) = left else {
            return Err(io::Error::new(io::ErrorKind::TimedOut, format!("no echo reply from {to} within {timeout:?}")));
        };
        sock.set_read_timeout(Some(left))?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(e) => return Err(e),
        };
        // SAFETY: recv initialised the first n bytes.
        let got = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
        if n >= 8 && got[0] == reply && got[6..8] == seq.to_be_bytes() {
            return Ok(start.elapsed());
        }
    }
}
