//! Helpers shared by the end-to-end tests: real sockets, real round trips.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use netns_test::Net;

/// A TCP round trip from the calling thread's namespace to `server` listening on `addr`.
/// Returns the client address the server saw, so callers can check the path taken.
pub fn tcp_round_trip(net: &Net, server: &str, addr: SocketAddr) -> SocketAddr {
    let listener = net.node(server).run(|| TcpListener::bind(addr).expect("bind in server node"));
    let echo = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().expect("accept");
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).expect("server read");
        s.write_all(&buf.map(|c| c.to_ascii_uppercase())).expect("server write");
        peer
    });
    let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(b"hello").expect("client write");
    let mut buf = [0u8; 5];
    c.read_exact(&mut buf).expect("client read");
    assert_eq!(&buf, b"HELLO");
    echo.join().expect("server thread")
}

/// A UDP datagram from `client` to `server` at `addr`, echoed back. Returns the sender the
/// server saw.
pub fn udp_round_trip(net: &Net, client: &str, server: &str, addr: SocketAddr) -> SocketAddr {
    let srv = net.node(server).run(|| UdpSocket::bind(addr).expect("bind in server node"));
    srv.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let any: SocketAddr = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().unwrap();
    let cli = net.node(client).run(|| UdpSocket::bind(any).expect("bind in client node"));
    cli.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    cli.send_to(b"ping", addr).expect("send");
    let mut buf = [0u8; 16];
    let (n, from) = srv.recv_from(&mut buf).expect("server recv");
    assert_eq!(&buf[..n], b"ping");
    srv.send_to(b"pong", from).expect("server send");
    let (n, _) = cli.recv_from(&mut buf).expect("client recv");
    assert_eq!(&buf[..n], b"pong");
    from
}

/// The interface names the calling thread's namespace has, from `/proc/thread-self/net/dev`.
pub fn interfaces_here() -> Vec<String> {
    let dev = std::fs::read_to_string("/proc/thread-self/net/dev").expect("read net/dev");
    dev.lines().skip(2).filter_map(|l| l.split(':').next()).map(|s| s.trim().to_string()).collect()
}

/// A counter from `/proc/thread-self/net/snmp`, e.g. `("Ip", "ForwDatagrams")`.
pub fn snmp(proto: &str, field: &str) -> u64 {
    let snmp = std::fs::read_to_string("/proc/thread-self/net/snmp").expect("read snmp");
    let mut lines = snmp.lines().filter(|l| l.starts_with(&format!("{proto}:")));
    let (names, values) = (lines.next().expect("header"), lines.next().expect("values"));
    let i = names.split_whitespace().position(|n| n == field).expect("field");
    values.split_whitespace().nth(i).unwrap().parse().unwrap()
}

/// Makes `cmd` run in a user namespace of its own in which no further user namespace may be
/// created (its `user.max_user_namespaces` is 0), as on a machine that forbids them. The host's
/// setting is untouched: the sysctl is per user namespace.
pub fn forbid_user_namespaces(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let maps = [format!("0 {} 1", unsafe { libc::geteuid() }), format!("0 {} 1", unsafe { libc::getegid() })];
    // SAFETY: raw syscalls on buffers made before the fork; no allocation.
    unsafe {
        cmd.pre_exec(move || {
            let write = |path: &[u8], data: &[u8]| {
                let fd = libc::open(path.as_ptr().cast(), libc::O_WRONLY);
                let ok = fd >= 0 && libc::write(fd, data.as_ptr().cast(), data.len()) == data.len() as isize;
                libc::close(fd);
                if ok {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            write(b"/proc/self/setgroups\0", b"deny")?;
            write(b"/proc/self/uid_map\0", maps[0].as_bytes())?;
            write(b"/proc/self/gid_map\0", maps[1].as_bytes())?;
            write(b"/proc/sys/user/max_user_namespaces\0", b"0")
        })
    };
}

/// `count` ICMP echo requests from the calling thread's namespace to `to`, one every
/// `spacing`, answered or not within a second of the last: each one's round-trip time.
pub fn ping_series(to: std::net::IpAddr, count: u16, spacing: Duration) -> Vec<Option<Duration>> {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    use std::time::Instant;
    let (domain, proto, request, reply) = match to {
        std::net::IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        std::net::IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128, 129),
    };
    let sock = Socket::new(domain, Type::DGRAM, Some(proto)).expect("ICMP datagram socket");
    let receiver = sock.try_clone().unwrap();
    let start = Instant::now();
    let last = start + spacing * u32::from(count);
    let rx = std::thread::spawn(move || {
        let mut got = vec![None; count as usize];
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 64];
        while let Some(left) = (last + Duration::from_secs(1)).checked_duration_since(Instant::now()) {
            receiver.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
            let Ok(n) = receiver.recv(&mut buf) else { continue };
            let at = start.elapsed();
            // SAFETY: recv initialised the first n bytes.
            let b = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
            if n >= 16 && b[0] == reply {
                let seq = u16::from_be_bytes([b[6], b[7]]) as usize;
                let sent = Duration::from_nanos(u64::from_be_bytes(b[8..16].try_into().unwrap()));
                if seq < got.len() && got[seq].is_none() {
                    got[seq] = Some(at - sent);
                }
            }
        }
        got
    });
    for seq in 0..count {
        let due = start + spacing * u32::from(seq);
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        let mut pkt = [0u8; 16];
        pkt[0] = request;
        pkt[6..8].copy_from_slice(&seq.to_be_bytes());
        pkt[8..16].copy_from_slice(&(start.elapsed().as_nanos() as u64).to_be_bytes());
        sock.send_to(&pkt, &SockAddr::from(SocketAddr::new(to, 0))).expect("send echo request");
    }
    rx.join().unwrap()
}

/// The median of some durations, in milliseconds.
pub fn median_ms(d: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = d.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    if n % 2 == 1 {
        ms[n / 2]
    } else {
        (ms[n / 2 - 1] + ms[n / 2]) / 2.0
    }
}

/// `count` numbered UDP datagrams from `client` to `server` listening on `addr`, one every
/// `spacing`; the numbers received, in arrival order (duplicates included), within 1 s of the
/// last send.
pub fn udp_series(net: &Net, client: &str, server: &str, addr: SocketAddr, count: u32, spacing: Duration) -> Vec<u32> {
    use std::time::Instant;
    let srv = net.node(server).run(|| UdpSocket::bind(addr).expect("bind in server node"));
    let any: SocketAddr = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().unwrap();
    let cli = net.node(client).run(|| UdpSocket::bind(any).expect("bind in client node"));
    let start = Instant::now();
    let last = start + spacing * count;
    let rx = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while let Some(left) = (last + Duration::from_secs(1)).checked_duration_since(Instant::now()) {
            srv.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
            if let Ok(n) = srv.recv(&mut buf) {
                if n >= 4 {
                    got.push(u32::from_be_bytes(buf[..4].try_into().unwrap()));
                }
            }
        }
        got
    });
    for seq in 0..count {
        if let Some(d) = (start + spacing * seq).checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        let mut pkt = [0u8; 32];
        pkt[..4].copy_from_slice(&seq.to_be_bytes());
        cli.send_to(&pkt, addr).expect("send");
    }
    rx.join().unwrap()
}

/// Bits per second of a TCP transfer from `client` to `server` listening on `addr`, measured
/// at the receiver over `secs` seconds after the first byte.
pub fn tcp_rate(net: &Net, client: &str, server: &str, addr: SocketAddr, secs: f64) -> f64 {
    use std::time::Instant;
    let listener = net.node(server).run(|| TcpListener::bind(addr).expect("bind in server node"));
    let window = Duration::from_secs_f64(secs);
    let rx = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = vec![0u8; 1 << 16];
        let n = s.read(&mut buf).expect("first read");
        let start = Instant::now();
        let mut total = 0u64;
        let _ = n;
        while start.elapsed() < window {
            s.set_read_timeout(Some(window.saturating_sub(start.elapsed()).max(Duration::from_millis(1)))).unwrap();
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n as u64,
                Err(_) => {}
            }
        }
        total as f64 * 8.0 / start.elapsed().as_secs_f64()
    });
    let mut c = net.node(client).run(|| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).expect("connect"));
    let chunk = vec![0x5au8; 1 << 16];
    c.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
    let deadline = Instant::now() + window + Duration::from_secs(2);
    while !rx.is_finished() && Instant::now() < deadline {
        let _ = c.write(&chunk);
    }
    rx.join().unwrap()
}

/// The two-sided `confidence` interval of a binomial count of `n` trials with probability
/// `p`: the counts outside it have at most `1 - confidence` probability together.
pub fn binomial_interval(n: u64, p: f64, confidence: f64) -> (u64, u64) {
    let tail = (1.0 - confidence) / 2.0;
    // ln of the pmf, summed in order, is exact enough for n in the thousands.
    let ln_pmf = |k: u64| {
        let lg = |x: u64| (1..=x).map(|i| (i as f64).ln()).sum::<f64>();
        lg(n) - lg(k) - lg(n - k) + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()
    };
    let pmf: Vec<f64> = (0..=n).map(|k| ln_pmf(k).exp()).collect();
    let (mut lo, mut acc) = (0, 0.0);
    while acc + pmf[lo as usize] <= tail {
        acc += pmf[lo as usize];
        lo += 1;
    }
    let (mut hi, mut acc) = (n, 0.0);
    while acc + pmf[hi as usize] <= tail {
        acc += pmf[hi as usize];
        hi -= 1;
    }
    (lo, hi)
}

/// Whether the calling thread's network namespace has joined `addr`'s solicited-node group on
/// `dev` (until it has, neighbour solicitations for `addr` are dropped and a peer's first connect
/// stalls for a second), from `/proc/thread-self/net/igmp6`.
pub fn joined_solicited_node_group(dev: &str, addr: std::net::Ipv6Addr) -> bool {
    let o = addr.octets();
    let group = format!("ff0200000000000000000001ff{:02x}{:02x}{:02x}", o[13], o[14], o[15]);
    let igmp6 = std::fs::read_to_string("/proc/thread-self/net/igmp6").expect("reading /proc/thread-self/net/igmp6");
    igmp6.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.get(1) == Some(&dev) && f.get(2) == Some(&group.as_str())
    })
}

/// UDP hole punching between `a` and `b` (nodes behind NATs) through the rendezvous socket `rv`
/// (bound in an outside node): each registers with `rv`, which tells each the other's outside
/// endpoint as it saw it; then both send to each other for up to 2 s (`b` starting `late`).
/// Returns whether `a` heard `b`, whether `b` heard `a`, and the outside endpoints `rv` saw.
#[allow(clippy::type_complexity)]
pub fn hole_punch(
    net: &Net,
    rv: UdpSocket,
    a: &str,
    b: &str,
    late: Duration,
) -> ((bool, bool), (SocketAddr, SocketAddr)) {
    use std::time::Instant;
    let bind = |node: &str| {
        let s = net.node(node).run(|| UdpSocket::bind((net.node(node).ipv4().unwrap(), 4000)).unwrap());
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        s
    };
    rv.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let (a, b) = (bind(a), bind(b));
    let register = |s: &UdpSocket| {
        s.send_to(b"hello", rv.local_addr().unwrap()).unwrap();
        rv.recv_from(&mut [0; 64]).expect("a peer cannot reach the rendezvous").1
    };
    let (a_out, b_out) = (register(&a), register(&b));
    rv.send_to(b_out.to_string().as_bytes(), a_out).unwrap();
    rv.send_to(a_out.to_string().as_bytes(), b_out).unwrap();
    let peer_of = |s: &UdpSocket| -> SocketAddr {
        let mut buf = [0; 64];
        let (n, _) = s.recv_from(&mut buf).expect("no answer from the rendezvous");
        std::str::from_utf8(&buf[..n]).unwrap().parse().unwrap()
    };
    let (a_peer, b_peer) = (peer_of(&a), peer_of(&b));
    let side = |s: UdpSocket, peer: SocketAddr, delay: Duration| {
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            let start = Instant::now();
            let mut buf = [0; 64];
            while start.elapsed() < Duration::from_secs(2) {
                s.send_to(b"punch", peer).unwrap();
                if let Ok((_, from)) = s.recv_from(&mut buf) {
                    if from == peer {
                        // Keep sending a little so the other side hears us too.
                        for _ in 0..10 {
                            s.send_to(b"punch", peer).unwrap();
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        return true;
                    }
                }
            }
            false
        })
    };
    let (ta, tb) = (side(a, a_peer, Duration::ZERO), side(b, b_peer, late));
    ((ta.join().unwrap(), tb.join().unwrap()), (a_out, b_out))
}

/// A UDP socket bound to `addr` in node `node`, reads timing out after 300 ms.
pub fn udp_bound(net: &Net, node: &str, addr: &str) -> UdpSocket {
    let s = net.node(node).run(|| UdpSocket::bind(addr).unwrap());
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    s
}

/// Sends from `from` to `dest`; where `to` saw it come from, or None if it did not arrive.
pub fn udp_send_seen(from: &UdpSocket, to: &UdpSocket, dest: SocketAddr) -> Option<SocketAddr> {
    from.send_to(b"hello", dest).unwrap();
    let mut buf = [0; 64];
    to.recv_from(&mut buf).ok().map(|(_, a)| a)
}
