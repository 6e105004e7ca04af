//! NAT over time, with real packets: mappings that expire (`udp-timeout=`, `tcp-timeout=`),
//! keepalives that keep them. Timeouts of 1 s keep these tests short.

use netns_test::{netns_test, Net};
use netns_test_e2e::{udp_bound as udp, udp_send_seen as send};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

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

/// A QUIC-like flow: the client keeps talking, the server answers wherever the client's
/// datagrams come from. After `rebind()` the server sees the client's source port change, keeps
/// the conversation going on the new one, and what it sends to the old one is lost.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    c: default via 10.0.1.1
    s: 10.0.1.0/24 via 203.0.113.1
    r [nat=eth1]
")]
fn after_rebind_a_live_flow_leaves_on_a_new_port_and_the_peer_follows(net: &Net) {
    let c = udp(net, "c", "10.0.1.2:4000");
    let s = udp(net, "s", "203.0.113.10:5000");
    let server = s.local_addr().unwrap();
    // One round: the client sends, the server answers its source; where the server saw it.
    let round = |n: u32| -> SocketAddr {
        c.send_to(&n.to_be_bytes(), server).unwrap();
        let mut buf = [0; 4];
        let (_, from) = s.recv_from(&mut buf).expect("the server heard nothing");
        s.send_to(&buf, from).unwrap();
        let (_, back) = c.recv_from(&mut buf).expect("the client heard no answer");
        assert_eq!((back, u32::from_be_bytes(buf)), (server, n));
        from
    };
    let before: Vec<SocketAddr> = (0..5).map(round).collect();
    assert!(before.iter().all(|a| *a == before[0]), "{before:?}");
    net.node("r").nat().rebind().unwrap();
    assert_eq!(net.node("r").nat().mappings(), [], "rebind() left mappings");
    let after: Vec<SocketAddr> = (5..10).map(round).collect();
    assert!(after.iter().all(|a| *a == after[0]), "{after:?}");
    assert_eq!(after[0].ip(), before[0].ip());
    assert_ne!(after[0].port(), before[0].port(), "the flow kept its port through a rebind");
    assert_eq!(send(&s, &c, before[0]), None, "the old mapping still lets the server in");
    let dump = net.dump();
    assert!(dump.contains("node r: NAT rebind: every mapping and conntrack entry forgotten"), "{dump}");
}

/// An endpoint-independent NAT becomes endpoint-dependent after `set("nat-type=symmetric")` and
/// independent again after `set("nat-type=port-restricted")`: one client socket, new
/// destinations after each change. A change between endpoint-independent options keeps the
/// mappings; flows alive keep theirs through every change.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    c: default via 10.0.1.1
    r [nat=eth1, udp-timeout=1m]
")]
fn set_turns_an_eim_nat_symmetric_and_back(net: &Net) {
    let c = udp(net, "c", "10.0.1.2:4000");
    let servers: Vec<UdpSocket> = (0..7).map(|i| udp(net, "s", &format!("203.0.113.10:{}", 5000 + i))).collect();
    let to = |i: usize| send(&c, &servers[i], servers[i].local_addr().unwrap()).unwrap();
    let nat = net.node("r").nat();
    let a = to(0);
    assert_eq!(to(1), a, "port-restricted: one mapping for every destination");
    nat.set("udp-timeout=2m").unwrap();
    assert!(net.node("r").firewall_rules().unwrap().contains("timeout 120s"));
    assert_eq!(to(2), a, "the mapping was lost when only the timeout changed");

    nat.set("nat-type=symmetric, udp-timeout=1m").unwrap();
    assert_eq!(nat.options().kind, netns_test::topology::NatType::Symmetric);
    let rules = net.node("r").firewall_rules().unwrap();
    assert!(rules.contains("snat to 203.0.113.1 random-fully") && !rules.contains("numgen"), "{rules}");
    let (x, y) = (to(3), to(4));
    assert_ne!(x.port(), y.port(), "symmetric: a port per destination");
    assert!(x != a && y != a, "symmetric: {x} {y} reuse {a}");
    assert_eq!(to(0), a, "a live flow lost its mapping when the NAT changed");

    nat.set("udp-timeout=1m").unwrap();
    assert_eq!(
        nat.options().kind,
        netns_test::topology::NatType::PortRestricted,
        "what set() does not name is the default"
    );
    let p = to(5);
    assert_eq!(to(6), p, "port-restricted again: one mapping for every destination");
    assert!(![a, x, y].contains(&p), "a fresh mapping after a symmetric spell, not {p}");
    assert_eq!(to(3), x, "a live flow lost its mapping when the NAT changed back");
    let dump = net.dump();
    assert!(dump.contains("node r: NAT set to `nat=eth1, nat-type=symmetric, udp-timeout=1m`"), "{dump}");
    assert!(dump.contains("node r: NAT set to `nat=eth1, udp-timeout=1m`"), "{dump}");
}

/// `mappings()` lists exactly the flows that crossed the NAT: a UDP flow, a TCP connection and
/// an ICMP echo from two inside hosts, each with its outside endpoint as the server saw it; a
/// flow between inside hosts is not one.
#[netns_test(
    topology = "
    bridge lan { r:eth0=10.0.1.1/24, c1=10.0.1.2/24, c2=10.0.1.3/24 }
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat=eth1, udp-timeout=30s]
    c1: default via 10.0.1.1
    c2: default via 10.0.1.1
",
    node = "s"
)]
fn mappings_list_exactly_the_flows_that_crossed(net: &Net) {
    use netns_test::{Mapping, Protocol};
    let nat = net.node("r").nat();
    assert_eq!(nat.mappings(), []);
    let c1 = udp(net, "c1", "10.0.1.2:4000");
    let s = udp(net, "s", "203.0.113.10:5000");
    let udp_out = send(&c1, &s, s.local_addr().unwrap()).unwrap();
    let listener = TcpListener::bind("203.0.113.10:7000").unwrap();
    let tcp = net.node("c2").run(|| TcpStream::connect("203.0.113.10:7000").unwrap());
    let (_conn, tcp_out) = listener.accept().unwrap();
    net.node("c1").ping("203.0.113.10".parse().unwrap(), Duration::from_secs(2)).unwrap();
    // Inside to inside: not translated.
    let c2 = udp(net, "c2", "10.0.1.3:4000");
    assert!(send(&c1, &c2, c2.local_addr().unwrap()).is_some());

    let m = nat.mappings();
    assert_eq!(m.len(), 3, "{m:#?}");
    let find = |p: Protocol| m.iter().find(|m| m.protocol == p).unwrap_or_else(|| panic!("no {p:?} mapping: {m:#?}"));
    let u = find(Protocol::Udp);
    assert_eq!((u.inside, u.outside), (c1.local_addr().unwrap(), udp_out));
    assert!(u.expires_in <= Duration::from_secs(30) && u.expires_in >= Duration::from_secs(28), "{u:?}");
    let t: &Mapping = find(Protocol::Tcp);
    assert_eq!((t.inside, t.outside), (tcp.local_addr().unwrap(), tcp_out));
    let i = find(Protocol::Icmp);
    assert_eq!((i.inside.ip().to_string(), i.outside.ip().to_string()), ("10.0.1.2".into(), "203.0.113.1".into()));
    // The failure dump shows them too.
    let dump = net.dump();
    assert!(dump.contains(&format!("udp {} -> {udp_out}, expires in", c1.local_addr().unwrap())), "{dump}");
}

/// `off()` removes the translation (the router forwards untranslated, the server sees the
/// inside address) and `on()` puts it back; `firewall_rules()` follows.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    c: default via 10.0.1.1
    s: 10.0.1.0/24 via 203.0.113.1
    r [nat=eth1, nat-type=full-cone]
")]
fn off_routes_untranslated_and_on_translates_again(net: &Net) {
    let c = udp(net, "c", "10.0.1.2:4000");
    let s = udp(net, "s", "203.0.113.10:5000");
    let r = net.node("r");
    assert_eq!(send(&c, &s, s.local_addr().unwrap()).unwrap().ip().to_string(), "203.0.113.1");
    r.nat().off().unwrap();
    assert!(!r.nat().is_on());
    assert_eq!(r.firewall_rules(), None, "{:?}", r.firewall_rules());
    assert_eq!(r.nat().mappings(), []);
    assert_eq!(send(&c, &s, s.local_addr().unwrap()), Some(c.local_addr().unwrap()), "off: untranslated");
    r.nat().set("nat-type=symmetric").unwrap();
    assert!(!r.nat().is_on(), "set() while off stays off");
    r.nat().on().unwrap();
    assert!(r.nat().is_on());
    assert!(r.firewall_rules().unwrap().contains("random-fully"), "on() puts back what set() made");
    // The same socket, whose flow crossed untranslated while the NAT was off.
    assert_eq!(send(&c, &s, s.local_addr().unwrap()).unwrap().ip().to_string(), "203.0.113.1");
    let dump = net.dump();
    assert!(
        dump.contains("node r: NAT off") && dump.contains("node r: NAT on (`nat=eth1, nat-type=symmetric`)"),
        "{dump}"
    );
}

/// Options given at run time get the topology's messages; the NAT is left as it was.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    c: default via 10.0.1.1
    s: 10.0.1.0/24 via 203.0.113.1
    r [nat=eth1]
")]
fn set_with_a_mistake_says_what_and_changes_nothing(net: &Net) {
    let nat = net.node("r").nat();
    let e = nat.set("nat-type=ful-cone, udp-timeout=1500ms").unwrap_err().to_string();
    assert!(e.contains("unknown nat-type `ful-cone`") && e.contains("did you mean `full-cone`?"), "{e}");
    assert!(e.contains("udp-timeout `1500ms` is not a whole number of seconds"), "{e}");
    let e = nat.set("nat=eth9").unwrap_err().to_string();
    assert!(e.contains("node `r` has no interface `eth9`"), "{e}");
    let e = nat.set("forward").unwrap_err().to_string();
    assert!(e.contains("`forward` is not a NAT option"), "{e}");
    assert_eq!(nat.options(), net.topology().nodes[1].nat.clone().unwrap());
}

#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    c: default via 10.0.1.1
    s: 10.0.1.0/24 via 203.0.113.1
    r [nat=eth1]
")]
#[should_panic(
    expected = "node `s` has no NAT: its options are none; nat() needs `nat=` in the topology (e.g. `s [nat=eth1]`). Nodes with NAT: `r`"
)]
fn nat_on_a_node_without_nat_panics_naming_it(net: &Net) {
    net.node("s").nat();
}

/// The README's "Mapping timeouts" example, verbatim.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat=eth1, udp-timeout=1s]          # also tcp-timeout=, and timeout= for both
    c: default via 10.0.1.1
")]
fn keepalive(net: &Net) {
    let server = net.node("s").run(|| UdpSocket::bind("203.0.113.10:5000").unwrap());
    let client = UdpSocket::bind("10.0.1.2:4000").unwrap();
    let mut buf = [0; 2];
    client.send_to(b"hi", "203.0.113.10:5000").unwrap();
    let first = server.recv_from(&mut buf).unwrap().1;
    std::thread::sleep(Duration::from_millis(1500)); // idle longer than the timeout
    client.send_to(b"hi", "203.0.113.10:5000").unwrap();
    assert_ne!(server.recv_from(&mut buf).unwrap().1, first); // a new mapping, a new port
}
