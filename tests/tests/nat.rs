//! NAT on routers, with real packets: mappings, filtering, hole punching, hairpin.

use netns_test::topology::{Nat, NatType};
use netns_test::{netns_test, Net};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

fn nat(net: &Net, node: &str, addr: &str, kind: NatType, hairpin: bool) {
    let n = Nat::new("eth1".into(), addr.parse().unwrap(), kind, hairpin);
    netns_test::__private::install_rules(net.node(node), Some(&n), &[]).unwrap();
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
    ($($name:ident: $kind:expr;)*) => {$(
        #[netns_test(topology = "
            c=10.0.1.2/24 -- r:eth0=10.0.1.1/24
            bridge out { r:eth1=203.0.113.1/24, s1=203.0.113.10/24, s2=203.0.113.20/24, s3=203.0.113.30/24 }
            r [forward]
            c: default via 10.0.1.1
        ")]
        fn $name(net: &Net) {
            mapping_and_filtering(net, $kind);
        }
    )*};
}

behind_nat! {
    port_restricted_mapping_and_filtering: NatType::PortRestricted;
    address_restricted_mapping_and_filtering: NatType::AddressRestricted;
    full_cone_mapping_and_filtering: NatType::FullCone;
    symmetric_mapping_and_filtering: NatType::Symmetric;
}

fn mapping_and_filtering(net: &Net, kind: NatType) {
    nat(net, "r", "203.0.113.1", kind, false);
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
