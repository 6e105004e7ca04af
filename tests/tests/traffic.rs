//! Real packets across the seed topologies: TCP, UDP, ICMP, IPv4 and IPv6, bridged and routed.

use netns_test::{netns_test, Net};
use netns_test_e2e::{interfaces_here, snmp, tcp_round_trip, udp_round_trip};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[netns_test(topology = "ns1:veth-test1=192.168.1.1/24 -- ns2:veth-test2=192.168.1.2/24")]
fn seed_veth_pair_tcp_udp_icmp(net: &Net) {
    assert_eq!(interfaces_here(), ["lo", "veth-test1"], "the body runs in ns1");
    let peer = tcp_round_trip(net, "ns2", "192.168.1.2:7000".parse().unwrap());
    assert_eq!(peer.ip(), ip("192.168.1.1"));
    let from = udp_round_trip(net, "ns2", "ns1", "192.168.1.1:5353".parse().unwrap());
    assert_eq!(from.ip(), ip("192.168.1.2"));
    net.ping("ns1", ip("192.168.1.2")).unwrap();
    net.ping("ns2", ip("192.168.1.1")).unwrap();
}

#[netns_test(
    topology = "bridge ahao-bridge { ns1:veth-ns1=192.168.1.1/24, ns2:veth-ns2=192.168.1.2/24, ns3:veth-ns3=192.168.1.3/24 }"
)]
fn seed_bridge_every_pair(net: &Net) {
    for a in net.nodes() {
        for b in net.nodes() {
            let to = IpAddr::V4(b.ipv4().unwrap());
            a.ping(to, Duration::from_secs(1)).unwrap_or_else(|e| panic!("{} -> {to}: {e}", a.name()));
        }
    }
    assert_eq!(tcp_round_trip(net, "ns3", "192.168.1.3:7000".parse().unwrap()).ip(), ip("192.168.1.1"));
    assert_eq!(udp_round_trip(net, "ns2", "ns3", "192.168.1.3:9000".parse().unwrap()).ip(), ip("192.168.1.2"));
}

/// The example of the README and the issue, verbatim.
#[netns_test(topology = "
    bridge br0 { ns1=192.168.1.1/24, ns2=192.168.1.2/24, ns3=192.168.1.3/24 }
")]
fn three_hosts_talk(net: &Net) {
    use std::io::{Read, Write};
    let listener = net.node("ns3").run(|| std::net::TcpListener::bind("192.168.1.3:7000").unwrap());
    // the body itself runs in ns1 (the first node named), so this connect leaves from 192.168.1.1
    let mut s = std::net::TcpStream::connect("192.168.1.3:7000").unwrap();
    s.write_all(b"hi").unwrap();
    let (mut conn, peer) = listener.accept().unwrap();
    assert_eq!(peer.ip(), ip("192.168.1.1"));
    let mut buf = [0; 2];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hi");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn default_interface_names(net: &Net) {
    assert_eq!(interfaces_here(), ["lo", "eth0"]);
    assert_eq!(net.node("b").interfaces()[0].name, "eth0");
    assert_eq!(tcp_round_trip(net, "b", "10.0.0.2:80".parse().unwrap()).ip(), ip("10.0.0.1"));
}

#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64")]
fn dual_stack_first_ipv6_connect_does_not_stall(net: &Net) {
    // The readiness wait makes the very first IPv6 exchange immediate (no 1 s NS retry).
    let start = Instant::now();
    let peer = tcp_round_trip(net, "b", "[fd00::2]:7000".parse().unwrap());
    let first = start.elapsed();
    assert_eq!(peer.ip(), ip("fd00::1"));
    assert!(first < Duration::from_millis(500), "first IPv6 round trip took {first:?}");
    assert_eq!(udp_round_trip(net, "b", "a", "[fd00::1]:5000".parse().unwrap()).ip(), ip("fd00::2"));
    assert_eq!(tcp_round_trip(net, "b", "10.0.0.2:7000".parse().unwrap()).ip(), ip("10.0.0.1"));
    net.ping("a", ip("fd00::2")).unwrap();
    net.ping("b", ip("fd00::1")).unwrap();
}

#[netns_test(topology = "bridge br0 { a=10.0.0.1/24|fd00::a/64, b=10.0.0.2/24|fd00::b/64, c=10.0.0.3/24|fd00::c/64 }")]
fn ipv6_across_a_bridge(net: &Net) {
    assert_eq!(tcp_round_trip(net, "c", "[fd00::c]:443".parse().unwrap()).ip(), ip("fd00::a"));
    assert_eq!(udp_round_trip(net, "b", "c", "[fd00::c]:53".parse().unwrap()).ip(), ip("fd00::b"));
}

#[netns_test(
    topology = "h1=10.1.0.2/24 -- r:eth0=10.1.0.1/24; r:eth1=10.2.0.1/24 -- h2=10.2.0.2/24; r [forward]; h1: default via 10.1.0.1; h2: default via 10.2.0.1"
)]
fn routed_through_r(net: &Net) {
    let forwarded = || net.node("r").run(|| snmp("Ip", "ForwDatagrams"));
    let before = forwarded();
    assert_eq!(tcp_round_trip(net, "h2", "10.2.0.2:7000".parse().unwrap()).ip(), ip("10.1.0.2"));
    assert_eq!(udp_round_trip(net, "h2", "h1", "10.1.0.2:7000".parse().unwrap()).ip(), ip("10.2.0.2"));
    net.ping("h1", ip("10.2.0.2")).unwrap();
    assert!(forwarded() >= before + 6, "r forwarded {} datagrams", forwarded() - before);
}

#[netns_test(topology = "
    h1=10.1.0.2/24 -- r:eth0=10.1.0.1/24
    r:eth1=10.2.0.1/24 -- h2=10.2.0.2/24
    h1: default via 10.1.0.1
    h2: default via 10.2.0.1
")]
fn without_forward_h1_cannot_reach_h2(net: &Net) {
    net.ping("h1", ip("10.1.0.1")).expect("h1 reaches r");
    net.ping("h2", ip("10.2.0.1")).expect("h2 reaches r");
    let err = net.node("h1").ping(ip("10.2.0.2"), Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    let refused = std::net::TcpStream::connect_timeout(&"10.2.0.2:7000".parse().unwrap(), Duration::from_millis(300));
    assert!(refused.is_err(), "TCP must not cross r without [forward]");
}

#[netns_test(topology = "bridge br0=10.0.0.254/24 { a=10.0.0.1/24, b=10.0.0.2/24 }")]
fn bridge_with_its_own_address(net: &Net) {
    net.ping("a", ip("10.0.0.254")).unwrap();
    net.ping("b", ip("10.0.0.254")).unwrap();
    assert_eq!(tcp_round_trip(net, "b", "10.0.0.2:7000".parse().unwrap()).ip(), ip("10.0.0.1"));
}

#[netns_test(
    topology = "
    bridge lan { a=10.0.0.1/24, b=10.0.0.2/24, gw:eth0=10.0.0.254/24 }
    gw:eth1=10.9.0.1/24 -- far=10.9.0.2/24
    gw [forward]
    a: 10.9.0.0/24 via 10.0.0.254   # a specific route, not a default
    far: default via 10.9.0.1
",
    node = "far"
)]
fn bridge_plus_router_with_specific_route(net: &Net) {
    assert_eq!(interfaces_here(), ["lo", "eth0"]);
    assert_eq!(tcp_round_trip(net, "a", "10.0.0.1:7000".parse().unwrap()).ip(), ip("10.9.0.2"));
    // b has no route to 10.9.0.0/24
    assert!(net.node("b").ping(ip("10.9.0.2"), Duration::from_millis(200)).is_err());
}
