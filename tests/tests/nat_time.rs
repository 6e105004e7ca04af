//! NAT over time, with real packets: mappings that expire (`udp-timeout=`, `tcp-timeout=`),
//! keepalives that keep them. Timeouts of 1 s keep these tests short.

use netns_test::{netns_test, Net};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

fn udp(net: &Net, node: &str, addr: &str) -> UdpSocket {
    let s = net.node(node).run(|| UdpSocket::bind(addr).unwrap());
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    s
}

/// Sends from `from` to `dest`; where `to` saw it come from, or None if it did not arrive.
fn send(from: &UdpSocket, to: &UdpSocket, dest: SocketAddr) -> Option<SocketAddr> {
    from.send_to(b"hello", dest).unwrap();
    let mut buf = [0; 64];
    to.recv_from(&mut buf).ok().map(|(_, a)| a)
}

/// Longer than the 1 s timeouts below.
const IDLE: Duration = Duration::from_millis(1500);

/// An idle UDP mapping expires: the next datagram gets a new outside port. The kernel's own
/// mapping (conntrack) expires with it, or the flow would keep its old port.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat=eth1, udp-timeout=1s]
    c: default via 10.0.1.1
")]
fn an_idle_udp_mapping_expires_and_the_next_datagram_gets_a_new_port(net: &Net) {
    let rules = net.node("r").firewall_rules().unwrap();
    assert!(rules.contains("map outbound_udp { type ipv4_addr . inet_service : inet_service; timeout 1s }"), "{rules}");
    let c = udp(net, "c", "10.0.1.2:4000");
    let s = udp(net, "s", "203.0.113.10:5000");
    let first = send(&c, &s, s.local_addr().unwrap()).expect("the first datagram did not arrive");
    // Within the timeout: the same mapping, and the server's answer comes back through it.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(send(&c, &s, s.local_addr().unwrap()), Some(first), "the mapping changed within its timeout");
    assert_eq!(send(&s, &c, first), Some(s.local_addr().unwrap()), "an answer through a live mapping was lost");
    std::thread::sleep(IDLE);
    let second = send(&c, &s, s.local_addr().unwrap()).expect("the datagram after the expiry did not arrive");
    assert_eq!(second.ip(), first.ip());
    assert_ne!(second.port(), first.port(), "the mapping outlived its 1 s timeout");
}

/// A keepalive every `timeout / 2` keeps the mapping: the same port throughout, and the server
/// can still answer after several timeouts' worth of time.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat=eth1, udp-timeout=1s]
    c: default via 10.0.1.1
")]
fn a_keepalive_every_half_timeout_keeps_the_mapping(net: &Net) {
    let c = udp(net, "c", "10.0.1.2:4000");
    let s = udp(net, "s", "203.0.113.10:5000");
    let first = send(&c, &s, s.local_addr().unwrap()).unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2600) {
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(send(&c, &s, s.local_addr().unwrap()), Some(first), "a keepalive left on another port");
    }
    assert_eq!(send(&s, &c, first), Some(s.local_addr().unwrap()), "the server's answer after 2.6 s was lost");
}

/// Inbound datagrams to an expired mapping are dropped, even through a full-cone NAT, which let
/// a stranger in while the mapping lived; after the inside host sends again, they reach it
/// through its new mapping only.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat=eth1, nat-type=full-cone, timeout=1s]
    c: default via 10.0.1.1
")]
fn inbound_datagrams_to_an_expired_mapping_are_dropped(net: &Net) {
    let c = udp(net, "c", "10.0.1.2:4000");
    let s = udp(net, "s", "203.0.113.10:5000");
    let stranger = udp(net, "s", "203.0.113.10:6000");
    let mapped = send(&c, &s, s.local_addr().unwrap()).unwrap();
    assert_eq!(send(&stranger, &c, mapped), Some(stranger.local_addr().unwrap()), "full cone: anyone may send in");
    std::thread::sleep(IDLE);
    assert_eq!(send(&stranger, &c, mapped), None, "a stranger reached an expired mapping");
    assert_eq!(send(&s, &c, mapped), None, "the old peer reached an expired mapping");
    let again = send(&c, &s, s.local_addr().unwrap()).unwrap();
    assert_ne!(again, mapped);
    assert_eq!(send(&s, &c, mapped), None, "the old mapping came back");
    assert_eq!(send(&stranger, &c, again), Some(stranger.local_addr().unwrap()), "the new mapping is not open");
}

/// A TCP connection idle beyond `tcp-timeout` loses its mapping: what the server sends then
/// never arrives (the router, knowing no mapping, resets it), and the client's next segment
/// leaves on a new port, which the server resets. Idle within the timeout, it is fine.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat=eth1, tcp-timeout=1s]
    c: default via 10.0.1.1
")]
fn a_tcp_connection_idle_beyond_its_timeout_loses_its_mapping(net: &Net) {
    let listener = net.node("s").run(|| TcpListener::bind("203.0.113.10:7000").unwrap());
    let mut c = TcpStream::connect("203.0.113.10:7000").unwrap();
    let (mut s, from) = listener.accept().unwrap();
    assert_eq!(from.ip().to_string(), "203.0.113.1");
    c.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut buf = [0; 16];
    // Idle for less than the timeout: the connection works both ways.
    std::thread::sleep(Duration::from_millis(400));
    s.write_all(b"early").unwrap();
    assert_eq!(c.read(&mut buf).unwrap(), 5);
    c.write_all(b"ack").unwrap();
    assert_eq!(s.read(&mut buf).unwrap(), 3);

    std::thread::sleep(IDLE);
    s.write_all(b"late").unwrap();
    match c.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("the server's segment after the timeout reached the client: {other:?}"),
    }
    // The router answered the server's segment with a reset: its socket is dead.
    let server = s.read(&mut buf);
    assert!(
        matches!(&server, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "the server's connection should have been reset by the router: {server:?}"
    );
    // The client's next segment leaves on a new port; the server resets that too.
    c.write_all(b"more").unwrap();
    let client = c.read(&mut buf);
    assert!(
        matches!(&client, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "the client's segment after the timeout should have been reset: {client:?}"
    );
}
