//! NAT on routers, with real packets: mappings, filtering, hole punching, hairpin.

use netns_test::topology::{NatType, Topology};
use netns_test::{netns_test, Net};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Plain `snat` with port-restricted filtering (what the usual `masquerade` setup does) in a
/// router whose outside interface `eth1` has `addr`.
fn plain_snat(net: &Net, node: &str, addr: &str) {
    let t = Topology::parse(&format!("r:eth1={addr}/24 -- x\nr [nat=eth1]")).unwrap();
    netns_test::__private::install_nat_without_mapping_table(net.node(node), t.nodes[0].nat.as_ref().unwrap()).unwrap();
}

fn udp(net: &Net, node: &str, addr: &str) -> UdpSocket {
    let s = net.node(node).run(|| UdpSocket::bind(addr).unwrap());
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    s
}

/// Sends `msg` from `from` to `to`; where `to` saw it come from, or None if it did not arrive.
fn send(from: &UdpSocket, to: &UdpSocket, dest: SocketAddr) -> Option<SocketAddr> {
    from.send_to(b"hello", dest).unwrap();
    let mut buf = [0; 64];
    to.recv_from(&mut buf).ok().map(|(_, a)| a)
}

/// One client behind router `r`; three hosts outside on one bridge.
macro_rules! behind_nat {
    ($($name:ident: $kind:expr, $nat:tt;)*) => {$(
        #[netns_test(topology = $nat)]
        fn $name(net: &Net) {
            mapping_and_filtering(net, $kind);
        }
    )*};
}

behind_nat! {
    port_restricted_mapping_and_filtering: NatType::PortRestricted, "
        c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
        bridge out { r:eth1=203.0.113.1/24, s1=203.0.113.10/24, s2=203.0.113.20/24, s3=203.0.113.30/24 }
        r [nat=eth1]
        c: default via 10.0.1.1
    ";
    address_restricted_mapping_and_filtering: NatType::AddressRestricted, "
        c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
        bridge out { r:eth1=203.0.113.1/24, s1=203.0.113.10/24, s2=203.0.113.20/24, s3=203.0.113.30/24 }
        r [nat=eth1, nat-type=address-restricted]
        c: default via 10.0.1.1
    ";
    full_cone_mapping_and_filtering: NatType::FullCone, "
        c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
        bridge out { r:eth1=203.0.113.1/24, s1=203.0.113.10/24, s2=203.0.113.20/24, s3=203.0.113.30/24 }
        r [nat=eth1, nat-type=full-cone]
        c: default via 10.0.1.1
    ";
    symmetric_mapping_and_filtering: NatType::Symmetric, "
        c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
        bridge out { r:eth1=203.0.113.1/24, s1=203.0.113.10/24, s2=203.0.113.20/24, s3=203.0.113.30/24 }
        r [nat=eth1, nat-type=symmetric]
        c: default via 10.0.1.1
    ";
}

fn mapping_and_filtering(net: &Net, kind: NatType) {
    assert_eq!(net.topology().nodes[1].nat.as_ref().unwrap().kind, kind);
    let rules = net.node("r").firewall_rules().unwrap();
    assert!(rules.contains("oifname \"eth1\" snat to 203.0.113.1"), "{rules}");
    assert_eq!(net.node("c").firewall_rules(), None);
    let c = udp(net, "c", "10.0.1.2:4000");
    let s1 = udp(net, "s1", "203.0.113.10:5000");
    let s2 = udp(net, "s2", "203.0.113.20:5000");
    let s3 = udp(net, "s3", "203.0.113.30:5000");
    let s1_other_port = udp(net, "s1", "203.0.113.10:5001");

    // Each server sees the router's outside address; the port is the same for both unless the
    // mapping depends on the endpoint.
    let at1 = send(&c, &s1, s1.local_addr().unwrap()).expect("s1 got nothing from the client");
    let at2 = send(&c, &s2, s2.local_addr().unwrap()).expect("s2 got nothing from the client");
    assert_eq!(at1.ip().to_string(), "203.0.113.1");
    assert_eq!(at2.ip().to_string(), "203.0.113.1");
    if kind == NatType::Symmetric {
        assert_ne!(at1.port(), at2.port(), "{kind}: the mapping must depend on the destination");
    } else {
        assert_eq!(at1.port(), at2.port(), "{kind}: the mapping must not depend on the destination");
    }

    // Replies always come back.
    assert_eq!(send(&s1, &c, at1), Some(s1.local_addr().unwrap()), "{kind}: a reply from s1 was lost");
    // Filtering: from a contacted address but another port; from a host never contacted.
    let other_port = send(&s1_other_port, &c, at1);
    let stranger = send(&s3, &c, at1);
    let (want_other_port, want_stranger) = match kind {
        NatType::FullCone => (true, true),
        NatType::AddressRestricted => (true, false),
        _ => (false, false),
    };
    assert_eq!(other_port.is_some(), want_other_port, "{kind}: s1 from another port: {other_port:?}");
    assert_eq!(stranger.is_some(), want_stranger, "{kind}: unsolicited s3: {stranger:?}");
    if let Some(from) = stranger {
        assert_eq!(from, s3.local_addr().unwrap(), "the client sees the stranger's own address");
    }
}

/// Two peers behind two NATs learn each other's outside endpoint from a rendezvous node, then
/// send to it until each hears the other; `late`: peer b starts 200 ms after peer a.
macro_rules! hole_punch {
    ($($name:ident: $opts:tt, late = $late:expr, works = $works:expr;)*) => {$(
        #[netns_test(topology = $opts)]
        fn $name(net: &Net) {
            let (a, b) = punch(net, $late);
            assert_eq!((a, b), ($works, $works), "did a and b hear each other?");
        }
    )*};
}

hole_punch! {
    hole_punch_port_restricted: "
        a=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
        b=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
        bridge wan { ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }
        ra [nat=eth1, nat-type=port-restricted]
        rb [nat=eth1, nat-type=port-restricted]
        a: default via 10.0.1.1
        b: default via 10.0.2.1
    ", late = false, works = true;
    hole_punch_port_restricted_late_peer: "
        a=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
        b=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
        bridge wan { ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }
        ra [nat=eth1, nat-type=port-restricted]
        rb [nat=eth1, nat-type=port-restricted]
        a: default via 10.0.1.1
        b: default via 10.0.2.1
    ", late = true, works = true;
    hole_punch_address_restricted: "
        a=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
        b=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
        bridge wan { ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }
        ra [nat=eth1, nat-type=address-restricted]
        rb [nat=eth1, nat-type=address-restricted]
        a: default via 10.0.1.1
        b: default via 10.0.2.1
    ", late = false, works = true;
    hole_punch_address_restricted_late_peer: "
        a=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
        b=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
        bridge wan { ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }
        ra [nat=eth1, nat-type=address-restricted]
        rb [nat=eth1, nat-type=address-restricted]
        a: default via 10.0.1.1
        b: default via 10.0.2.1
    ", late = true, works = true;
    hole_punch_full_cone: "
        a=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
        b=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
        bridge wan { ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }
        ra [nat=eth1, nat-type=full-cone]
        rb [nat=eth1, nat-type=full-cone]
        a: default via 10.0.1.1
        b: default via 10.0.2.1
    ", late = false, works = true;
    hole_punch_full_cone_late_peer: "
        a=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
        b=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
        bridge wan { ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }
        ra [nat=eth1, nat-type=full-cone]
        rb [nat=eth1, nat-type=full-cone]
        a: default via 10.0.1.1
        b: default via 10.0.2.1
    ", late = true, works = true;
    hole_punch_symmetric_fails: "
        a=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
        b=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
        bridge wan { ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }
        ra [nat=eth1, nat-type=symmetric]
        rb [nat=eth1, nat-type=symmetric]
        a: default via 10.0.1.1
        b: default via 10.0.2.1
    ", late = false, works = false;
    hole_punch_symmetric_late_peer_fails: "
        a=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
        b=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
        bridge wan { ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }
        ra [nat=eth1, nat-type=symmetric]
        rb [nat=eth1, nat-type=symmetric]
        a: default via 10.0.1.1
        b: default via 10.0.2.1
    ", late = true, works = false;
}

/// The control: plain `snat` without the mapping table. The early peer's dropped packets leave
/// conntrack entries on the late peer's router, which then maps the late peer to another port.
/// (Even a "simultaneous" start usually fails so: one side's first packet always arrives first.)
#[netns_test(topology = "
    a=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
    b=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
    bridge wan { ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }
    ra [forward]
    rb [forward]
    a: default via 10.0.1.1
    b: default via 10.0.2.1
")]
fn hole_punch_plain_snat_fails_with_a_late_peer(net: &Net) {
    plain_snat(net, "ra", "203.0.113.1");
    plain_snat(net, "rb", "203.0.113.2");
    assert_eq!(punch(net, true), (false, false));
}

/// Rendezvous, then punching from both sides for up to 2 s: whether a and b heard each other.
fn punch(net: &Net, late: bool) -> (bool, bool) {
    let rv = udp(net, "rv", "203.0.113.100:3478");
    let a = udp(net, "a", "10.0.1.2:4000");
    let b = udp(net, "b", "10.0.2.2:4000");
    // Each registers; the rendezvous tells each the other's outside endpoint, as it saw it.
    let mut buf = [0; 64];
    let a_out = send(&a, &rv, rv.local_addr().unwrap()).expect("a cannot reach the rendezvous");
    let b_out = send(&b, &rv, rv.local_addr().unwrap()).expect("b cannot reach the rendezvous");
    rv.send_to(b_out.to_string().as_bytes(), a_out).unwrap();
    rv.send_to(a_out.to_string().as_bytes(), b_out).unwrap();
    let mut peer_of = |s: &UdpSocket| -> SocketAddr {
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
    let late = if late { Duration::from_millis(200) } else { Duration::ZERO };
    let (ta, tb) = (side(a, a_peer, Duration::ZERO), side(b, b_peer, late));
    (ta.join().unwrap(), tb.join().unwrap())
}

/// Inside hosts reach each other through the router's outside address only with `hairpin`.
macro_rules! hairpin {
    ($($name:ident: hairpin = $on:expr, $topo:tt;)*) => {$(
        #[netns_test(topology = $topo)]
        fn $name(net: &Net) {
            let s = udp(net, "s", "203.0.113.10:5000");
            let c1 = udp(net, "c1", "10.0.1.2:4001");
            let c2 = udp(net, "c2", "10.0.1.3:4002");
            // c2's mapping, as an outside host sees it; c1 knows its own the same way.
            let c2_out = send(&c2, &s, s.local_addr().unwrap()).unwrap();
            let c1_out = send(&c1, &s, s.local_addr().unwrap()).unwrap();
            let got = send(&c1, &c2, c2_out);
            if $on {
                assert_eq!(got, Some(c1_out), "c2 sees c1 by its outside address and port");
                assert_eq!(send(&c2, &c1, c1_out), Some(c2_out), "and the answer comes back the same way");
            } else {
                assert_eq!(got, None, "without hairpin the packet must not loop back");
            }
        }
    )*};
}

hairpin! {
    hairpin_on: hairpin = true, "
        bridge lan { r:eth0=10.0.1.1/24, c1=10.0.1.2/24, c2=10.0.1.3/24 }
        r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
        r [nat=eth1, hairpin]
        c1: default via 10.0.1.1
        c2: default via 10.0.1.1
    ";
    hairpin_off: hairpin = false, "
        bridge lan { r:eth0=10.0.1.1/24, c1=10.0.1.2/24, c2=10.0.1.3/24 }
        r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
        r [nat=eth1]
        c1: default via 10.0.1.1
        c2: default via 10.0.1.1
    ";
}

/// The README's example, verbatim.
#[netns_test(topology = "
    c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=203.0.113.1/24 -- s=203.0.113.10/24
    r [nat=eth1, nat-type=full-cone]
    c: default via 10.0.1.1
")]
fn client_behind_nat(net: &Net) {
    let server = net.node("s").run(|| UdpSocket::bind("203.0.113.10:5000").unwrap());
    let client = UdpSocket::bind("10.0.1.2:4000").unwrap(); // the body runs in c
    client.send_to(b"hi", "203.0.113.10:5000").unwrap();
    let (_, from) = server.recv_from(&mut [0; 2]).unwrap();
    assert_eq!(from.ip().to_string(), "203.0.113.1"); // the router's outside address
}
