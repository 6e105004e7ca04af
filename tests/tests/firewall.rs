//! `block` statements with real packets: drop and reject, by protocol, port and source; and the
//! MTU black hole (ICMP "fragmentation needed" dropped on a path with a small MTU).

use netns_test::{netns_test, Net};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

fn connect(net: &Net, from: &str, to: &str) -> std::io::Result<TcpStream> {
    let to: SocketAddr = to.parse().unwrap();
    net.node(from).run(|| TcpStream::connect_timeout(&to, Duration::from_millis(500)))
}

fn listen(net: &Net, node: &str, addr: &str) -> TcpListener {
    net.node(node).run(|| TcpListener::bind(addr).unwrap())
}

/// A UDP datagram from `from` to `to` (an address of node `b`) on a connected socket: Ok if it arrived; the error the
/// sender saw otherwise (ConnectionRefused after a reject, WouldBlock after a silent drop).
fn udp(net: &Net, from: &str, to: &str) -> std::io::Result<()> {
    let to: SocketAddr = to.parse().unwrap();
    let server = net.node("b").run(|| UdpSocket::bind(to).unwrap());
    server.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let client = net.node(from).run(|| UdpSocket::bind("0.0.0.0:0").unwrap());
    client.connect(to)?;
    client.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    client.send(b"ping")?;
    let mut buf = [0; 8];
    match server.recv(&mut buf) {
        Ok(_) => Ok(()),
        // The sender learns of a reject from the ICMP error on its next receive.
        Err(_) => client.recv(&mut buf).map(|_| ()),
    }
}

#[netns_test(topology = "
    a=10.0.0.1/24 -- b:eth0=10.0.0.2/24
    c=10.0.5.1/24 -- b:eth1=10.0.5.2/24
    b: block tcp/80 from 10.0.0.0/24
")]
fn block_tcp_port_from_a_subnet_drops(net: &Net) {
    let _l80 = listen(net, "b", "0.0.0.0:80");
    let _l81 = listen(net, "b", "0.0.0.0:81");
    let start = Instant::now();
    let e = connect(net, "a", "10.0.0.2:80").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "dropped silently: {e}");
    assert!(start.elapsed() >= Duration::from_millis(450));
    connect(net, "a", "10.0.0.2:81").expect("another port is open");
    connect(net, "c", "10.0.5.2:80").expect("another source is not blocked");
    net.ping("a", "10.0.0.2".parse().unwrap()).expect("ICMP is not blocked");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24; b: block tcp/80 reject")]
fn block_tcp_port_reject_refuses_at_once(net: &Net) {
    let _l = listen(net, "b", "0.0.0.0:80");
    let start = Instant::now();
    let e = connect(net, "a", "10.0.0.2:80").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    assert!(start.elapsed() < Duration::from_millis(300), "a reset comes at once");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24; b: block udp")]
fn block_udp_drops_udp_only(net: &Net) {
    let e = udp(net, "a", "10.0.0.2:5000").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "dropped silently: {e}");
    let _l = listen(net, "b", "0.0.0.0:80");
    connect(net, "a", "10.0.0.2:80").expect("TCP is not blocked");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24; b: block udp reject")]
fn block_udp_reject_answers_port_unreachable(net: &Net) {
    let e = udp(net, "a", "10.0.0.2:5000").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
}

#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64; b: block icmp echo-request")]
fn block_icmp_echo_request_is_ipv4_only(net: &Net) {
    assert!(net.ping("a", "10.0.0.2".parse().unwrap()).is_err());
    net.ping("a", "fd00::2".parse().unwrap()).expect("ICMPv6 is another protocol");
    net.ping("b", "10.0.0.1".parse().unwrap()).expect_err("b's own echo requests leave through output");
}

/// patchbay's MTU black hole. a -- r1 ==(mtu 1400)== r2 -- b, and c -- r1 too: TCP segments
/// sized for 1500 need r1's ICMP "fragmentation needed" to shrink. r1 may not send it to a, so
/// a's transfer stalls after the handshake; c, which gets it, shows path MTU discovery working.
#[netns_test(
    topology = "
    a=10.0.1.2/24 -- r1:eth0=10.0.1.1/24
    c=10.0.4.2/24 -- r1:eth2=10.0.4.1/24
    r1:eth1=10.0.2.1/24 -- r2:eth0=10.0.2.2/24 [mtu=1400]
    r2:eth1=10.0.3.1/24 -- b=10.0.3.2/24
    r1 [forward]
    r2 [forward]
    a: default via 10.0.1.1
    c: default via 10.0.4.1
    b: default via 10.0.3.1
    r1: 10.0.3.0/24 via 10.0.2.2
    r2: default via 10.0.2.1
    r1: block icmp frag-needed to 10.0.1.0/24
",
    node = "b"
)]
fn mtu_black_hole_when_frag_needed_is_blocked(net: &Net) {
    let l = listen(net, "b", "10.0.3.2:7000");
    let received = |from: &str| {
        let mut s = connect(net, from, "10.0.3.2:7000").expect("the handshake's small packets pass");
        let (mut conn, _) = l.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.write_all(b"small").unwrap();
        let mut small = [0; 5];
        conn.read_exact(&mut small).expect("small segments pass");
        let big = vec![7u8; 64 * 1024];
        // The writer may block for good in the black hole; the test's end reaps it.
        std::thread::spawn(move || s.write_all(&big));
        let mut got = 0;
        let mut buf = [0; 16 * 1024];
        while got < 64 * 1024 {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        got
    };
    assert_eq!(received("c"), 64 * 1024, "path MTU discovery shrinks c's segments");
    assert_eq!(received("a"), 0, "a black hole: none of a's full-size segments arrives");
}
