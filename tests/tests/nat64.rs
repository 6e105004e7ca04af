//! NAT64 (`r [nat64=eth1]`) with DNS64 (`d [dns, dns64]`), real packets from an IPv6-only node
//! to an IPv4-only server: TCP, UDP and ICMP echo by literal address (`64:ff9b::203.0.113.10`)
//! and by name; the server sees the router's IPv4 address; a path MTU below 1,280 + 20 on the
//! IPv4 side is met with Packet Too Big and fragments.

use netns_test::{netns_test, Net};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

const SERVER6: &str = "64:ff9b::cb00:710a"; // 203.0.113.10 in the well-known prefix

/// A TCP echo of `len` bytes from node `from` to `to`, served in node `server` at `listen`;
/// returns the client address the server saw.
fn tcp_echo(net: &Net, from: &str, server: &str, listen: &str, to: SocketAddr, len: usize) -> SocketAddr {
    let listener = net.node(server).run(|| TcpListener::bind(listen).unwrap());
    let echo = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = vec![0u8; len];
        s.read_exact(&mut got).unwrap();
        s.write_all(&got).unwrap();
        peer
    });
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let mut c = net.node(from).run(|| TcpStream::connect_timeout(&to, Duration::from_secs(3))).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let writer = {
        let mut w = c.try_clone().unwrap();
        let data = data.clone();
        std::thread::spawn(move || w.write_all(&data).unwrap())
    };
    let mut back = vec![0u8; len];
    c.read_exact(&mut back).expect("the echo");
    writer.join().unwrap();
    assert!(back == data, "the echo differs");
    echo.join().unwrap()
}

#[netns_test(topology = "
    bridge v6 { h=fd00:1::2/64, d=fd00:1::53/64, r:eth0=fd00:1::1/64 }
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat64=eth1]
    d [dns, dns64]
    h: default via fd00:1::1
    dns www.example.com A 203.0.113.10
")]
fn tcp_udp_and_icmp_reach_an_ipv4_server_by_literal_address(net: &Net) {
    let to: SocketAddr = format!("[{SERVER6}]:80").parse().unwrap();
    let peer = tcp_echo(net, "h", "s", "203.0.113.10:80", to, 5000);
    assert_eq!(peer.ip().to_string(), "203.0.113.1", "the server sees the router's IPv4 address");

    let server = net.node("s").run(|| UdpSocket::bind("203.0.113.10:5353").unwrap());
    server.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let client = net.node("h").run(|| UdpSocket::bind("[::]:0").unwrap());
    client.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    client.send_to(b"over udp", format!("[{SERVER6}]:5353")).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = server.recv_from(&mut buf).expect("the datagram arrives");
    assert_eq!((&buf[..n], from.ip().to_string().as_str()), (&b"over udp"[..], "203.0.113.1"));
    server.send_to(b"and back", from).unwrap();
    let (n, from) = client.recv_from(&mut buf).expect("the answer comes back");
    assert_eq!((&buf[..n], from.ip()), (&b"and back"[..], SERVER6.parse::<IpAddr>().unwrap()));

    let rtt = net.ping("h", SERVER6.parse().unwrap()).expect("ICMP echo through the translator");
    assert!(rtt < Duration::from_millis(500));
    // The IPv4 server is not reachable any other way from h.
    assert!(net.ping("h", "203.0.113.10".parse().unwrap()).is_err());
}

#[netns_test(topology = "
    bridge v6 { h=fd00:1::2/64, d=fd00:1::53/64, r:eth0=fd00:1::1/64 }
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat64=eth1]
    d [dns, dns64]
    h: default via fd00:1::1
    dns www.example.com A 203.0.113.10
    dns dual.example.com A 203.0.113.10
    dns dual.example.com AAAA fd00:1::53
")]
fn a_name_with_only_an_ipv4_address_is_reached_through_dns64(net: &Net) {
    let addrs: Vec<SocketAddr> = net.node("h").run(|| ("www.example.com", 80).to_socket_addrs().unwrap().collect());
    let v6: Vec<SocketAddr> = addrs.iter().copied().filter(SocketAddr::is_ipv6).collect();
    assert_eq!(v6, [format!("[{SERVER6}]:80").parse().unwrap()], "synthesized: {addrs:?}");
    let peer = tcp_echo(net, "h", "s", "203.0.113.10:80", v6[0], 100);
    assert_eq!(peer.ip().to_string(), "203.0.113.1");
    // UDP and ICMP echo to the same synthesized address.
    let server = net.node("s").run(|| UdpSocket::bind("203.0.113.10:53").unwrap());
    server.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let client = net.node("h").run(|| UdpSocket::bind("[::]:0").unwrap());
    client.send_to(b"by name", SocketAddr::new(v6[0].ip(), 53)).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = server.recv_from(&mut buf).expect("the datagram arrives");
    assert_eq!((&buf[..n], from.ip().to_string().as_str()), (&b"by name"[..], "203.0.113.1"));
    net.ping("h", v6[0].ip()).expect("ICMP echo to the synthesized address");
    // A name with its own AAAA keeps it: nothing is synthesized.
    let dual: Vec<IpAddr> =
        net.node("h").run(|| ("dual.example.com", 80).to_socket_addrs().unwrap().map(|a| a.ip()).collect());
    assert!(
        dual.contains(&"fd00:1::53".parse().unwrap()) && !dual.iter().any(|a| a.to_string().starts_with("64:ff9b"))
    );
    let q = net.dns().queries();
    assert!(q.iter().any(|q| q.name == "www.example.com" && q.qtype == "AAAA" && q.rcode == "NOERROR"), "{q:#?}");
}

#[netns_test(topology = "
    bridge v6 { h=fd00:1::2/64, r:eth0=fd00:1::1/64 }
    r:eth1=203.0.113.1/24 -- m:eth0=203.0.113.2/24 [mtu=1000]
    m:eth1=198.51.100.1/24 -- s=198.51.100.10/24
    r [nat64=eth1]
    m [forward]
    h: default via fd00:1::1
    r: 198.51.100.0/24 via 203.0.113.2
    s: default via 198.51.100.1
")]
fn an_ipv4_path_mtu_below_1300_is_met_with_packet_too_big_and_fragments(net: &Net) {
    // 64:ff9b::198.51.100.10. Full-sized TCP segments from h (1,500 bytes, 1,480 once
    // translated, DF set) do not fit the 1,000-byte link: r's "fragmentation needed" comes back
    // to h as Packet Too Big (1,280), and 1,280-byte packets leave the translator with DF clear,
    // so r fragments them.
    let to: SocketAddr = "[64:ff9b::c633:640a]:80".parse().unwrap();
    let peer = tcp_echo(net, "h", "s", "198.51.100.10:80", to, 300_000);
    assert_eq!(peer.ip().to_string(), "203.0.113.1");
    // A UDP datagram larger than the path: the first one is lost to the Packet Too Big, then h
    // fragments (a fragment header) and the translator makes IPv4 fragments of them.
    let server = net.node("s").run(|| UdpSocket::bind("198.51.100.10:5353").unwrap());
    server.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let client = net.node("h").run(|| UdpSocket::bind("[::]:0").unwrap());
    let big = vec![0x5a; 1400];
    let mut buf = vec![0u8; 2000];
    let mut got = None;
    for _ in 0..5 {
        client.send_to(&big, "[64:ff9b::c633:640a]:5353").unwrap();
        if let Ok((n, from)) = server.recv_from(&mut buf) {
            got = Some((n, from));
            break;
        }
    }
    let (n, from) = got.expect("a 1,400-byte datagram arrives within 5 tries");
    assert_eq!((n, from.ip().to_string().as_str()), (1400, "203.0.113.1"));
    assert!(buf[..n].iter().all(|&b| b == 0x5a));
}

#[netns_test(topology = "
    h=fd00:1::2/64 -- r:eth0=fd00:1::1/64
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat64=eth1]
    h: default via fd00:1::1
")]
fn the_failure_dump_shows_the_translator_in_the_router(net: &Net) {
    net.ping("h", SERVER6.parse().unwrap()).expect("ICMP echo through the translator");
    std::thread::sleep(Duration::from_millis(120)); // the counts are at most 50 ms old
    let dump = net.dump();
    assert!(dump.contains("translated 1 packets to IPv4, 1 to IPv6; 0 not translated; 1 IPv6 client(s)"), "{dump}");
    assert!(dump.contains("nat64 (installed by netns-test)"), "{dump}");
    assert!(dump.contains("64:ff9b::/96 -> IPv4 from 203.0.113.1 (eth1)"), "{dump}");
    assert!(dump.contains("snat to 203.0.113.1"), "{dump}");
}
