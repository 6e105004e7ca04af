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
