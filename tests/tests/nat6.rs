//! IPv6 translation with real packets: NAT66 (masquerade, with the IPv4 NAT's types) and NPTv6
//! (RFC 6296 prefix translation), alone and beside IPv4 NAT on a dual-stack router.

use netns_test::{netns_test, Net, Protocol};
use netns_test_e2e::{udp_bound as udp, udp_send_seen as send};
use std::io::{Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};

/// NAT66 beside NAT44 on a dual-stack router: each family leaves from the router's outside
/// address of that family, with a mapping independent of the destination, answers come back,
/// and the port-restricted filter drops what the inside host did not ask for.
#[netns_test(topology = "
    c=10.0.1.2/24|fd00:1::2/64 -- r:eth0=10.0.1.1/24|fd00:1::1/64
    r:eth1=203.0.113.1/24|2001:db8::1/64 -- s=203.0.113.10/24|2001:db8::10/64
    r [nat=eth1, nat66=eth1]
    c: default via 10.0.1.1
    c: default via fd00:1::1
    s: fd00:1::/64 via 2001:db8::1
")]
fn nat66_translates_ipv6_as_nat_translates_ipv4(net: &Net) {
    let rules = net.node("r").firewall_rules().unwrap();
    assert!(
        rules.contains("table ip6 netns_test_nat6") && rules.contains("snat to 2001:db8::1 : ip6 saddr . udp sport"),
        "{rules}"
    );
    let c6 = udp(net, "c", "[fd00:1::2]:4000");
    let c4 = udp(net, "c", "10.0.1.2:4000");
    let s6 = udp(net, "s", "[2001:db8::10]:5000");
    let s6b = udp(net, "s", "[2001:db8::10]:5001");
    let s4 = udp(net, "s", "203.0.113.10:5000");
    let out6 = send(&c6, &s6, s6.local_addr().unwrap()).expect("IPv6 did not cross the router");
    assert_eq!(out6, "[2001:db8::1]:1024".parse().unwrap(), "the router's outside IPv6 address, its first port");
    assert_eq!(send(&c4, &s4, s4.local_addr().unwrap()), Some("203.0.113.1:1024".parse().unwrap()));
    assert_eq!(send(&c6, &s6b, s6b.local_addr().unwrap()), Some(out6), "endpoint-independent mapping");
    assert_eq!(send(&s6, &c6, out6), Some(s6.local_addr().unwrap()), "the answer came not back in");
    let stranger = udp(net, "s", "[2001:db8::10]:6000");
    assert_eq!(send(&stranger, &c6, out6), None, "port-restricted: an unsolicited datagram came in");
    // The inside address is routed to, but the filter drops what is not an answer.
    assert_eq!(send(&s6, &c6, c6.local_addr().unwrap()), None);
    let m = net.node("r").nat().mappings();
    let v6: Vec<_> = m.iter().filter(|m| m.inside.is_ipv6()).collect();
    assert_eq!(v6.len(), 2, "{m:#?}");
    assert!(
        v6.iter().all(|m| m.protocol == Protocol::Udp && m.inside == c6.local_addr().unwrap() && m.outside == out6),
        "{m:#?}"
    );
}

/// A full-cone NAT66 lets anyone in through a mapping, and `rebind()` forgets IPv6 mappings too.
#[netns_test(topology = "
    c=fd00:1::2/64 -- r:eth0=fd00:1::1/64
    r:eth1=2001:db8::1/64 -- s=2001:db8::10/64
    r [nat66=eth1, nat-type=full-cone]
    c: default via fd00:1::1
")]
fn nat66_full_cone_lets_anyone_in_until_a_rebind(net: &Net) {
    let c = udp(net, "c", "[fd00:1::2]:4000");
    let s = udp(net, "s", "[2001:db8::10]:5000");
    let stranger = udp(net, "s", "[2001:db8::10]:6000");
    let out = send(&c, &s, s.local_addr().unwrap()).unwrap();
    assert_eq!(send(&stranger, &c, out), Some(stranger.local_addr().unwrap()), "full cone: anyone may send in");
    net.node("r").nat().rebind().unwrap();
    assert_eq!(send(&stranger, &c, out), None, "a forgotten IPv6 mapping still lets a stranger in");
    let again = send(&c, &s, s.local_addr().unwrap()).unwrap();
    assert_ne!(again, out);
}

/// The one's complement sum of an address's 16-bit words (0xffff and 0 are the same number).
fn csum(a: Ipv6Addr) -> u16 {
    let mut sum: u32 = a.segments().iter().map(|&w| u32::from(w)).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if sum == 0xffff {
        0
    } else {
        sum as u16
    }
}

/// `inside` translated to the /48 `prefix` by RFC 6296 §3.2, computed here on its own: the
/// prefix replaced, then the subnet word (the 4th) adjusted by the one's complement difference
/// of the two prefixes, so the address's checksum does not change (0xffff written as 0).
fn rfc6296(inside: Ipv6Addr, prefix: [u16; 3]) -> Ipv6Addr {
    let add = |a: u16, b: u16| {
        let s = u32::from(a) + u32::from(b);
        ((s & 0xffff) + (s >> 16)) as u16
    };
    let sum = |w: &[u16]| w.iter().fold(0u16, |s, &x| add(s, x));
    let w = inside.segments();
    // Internal prefix minus external prefix, in one's complement: add the complement.
    let adjustment = add(sum(&w[..3]), !sum(&prefix));
    let word = match add(w[3], adjustment) {
        0xffff => 0,
        x => x,
    };
    Ipv6Addr::new(prefix[0], prefix[1], prefix[2], word, w[4], w[5], w[6], w[7])
}

/// NPTv6 beside NAT44 on a dual-stack router. IPv6 from the inside leaves from the same host
/// in the outside prefix: the prefix replaced, the interface identifier kept, one word adjusted
/// so the addresses' checksum is the same (RFC 6296's checksum neutrality: the transport
/// checksum needs no change, and the datagram and the TCP segments below are accepted). Without
/// state: the outside reaches an inside host at its translated address before it ever sent, by
/// UDP and by TCP. IPv4 is translated as usual; NPTv6 keeps no mappings.
#[netns_test(topology = "
    c=10.0.1.2/24|fd00:1:0:1::2/64 -- r:eth0=10.0.1.1/24|fd00:1:0:1::1/64
    r:eth1=203.0.113.1/24|2001:db8:ff::1/64 -- s=203.0.113.10/24|2001:db8:ff::10/64
    r [nat=eth1, nptv6=eth1, nptv6-prefix=2001:db8:1::/48]
    c: default via 10.0.1.1
    c: default via fd00:1:0:1::1
    s: 2001:db8:1::/48 via 2001:db8:ff::1
")]
fn nptv6_maps_the_inside_prefix_one_to_one_both_ways(net: &Net) {
    let rules = net.node("r").firewall_rules().unwrap();
    assert!(rules.contains("table ip6 mangle"), "{rules}");
    assert!(rules.contains("oifname \"eth1\" ip6 saddr fd00:1::/48 snpt to 2001:db8:1::/48"), "{rules}");
    assert!(rules.contains("iifname \"eth1\" ip6 daddr 2001:db8:1::/48 dnpt to fd00:1::/48"), "{rules}");
    let c = udp(net, "c", "[fd00:1:0:1::2]:4000");
    let s = udp(net, "s", "[2001:db8:ff::10]:5000");
    let inside: Ipv6Addr = "fd00:1:0:1::2".parse().unwrap();
    let outside = rfc6296(inside, [0x2001, 0x0db8, 0x0001]);
    assert_eq!(csum(outside), csum(inside), "not checksum-neutral: {inside} -> {outside}");

    // The outside first, without state: the inside host has sent nothing yet.
    assert_eq!(send(&s, &c, SocketAddr::new(outside.into(), 4000)), Some(s.local_addr().unwrap()), "{outside}");
    let listener = net.node("c").run(|| TcpListener::bind("[fd00:1:0:1::2]:7000").unwrap());
    let mut conn = net.node("s").run(|| TcpStream::connect((outside, 7000)).unwrap());
    conn.write_all(b"npt").unwrap();
    let (mut accepted, from) = listener.accept().unwrap();
    assert_eq!(from.ip().to_string(), "2001:db8:ff::10");
    let mut buf = [0; 3];
    accepted.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"npt");
    // Then the inside: it leaves from that address, ports untouched.
    assert_eq!(send(&c, &s, s.local_addr().unwrap()), Some(SocketAddr::new(outside.into(), 4000)));

    // IPv4 beside it, translated as usual; NPTv6 keeps no mappings, NAT44's one is there.
    let c4 = udp(net, "c", "10.0.1.2:4000");
    let s4 = udp(net, "s", "203.0.113.10:5000");
    assert_eq!(send(&c4, &s4, s4.local_addr().unwrap()), Some("203.0.113.1:1024".parse().unwrap()));
    let m = net.node("r").nat().mappings();
    assert!(m.iter().all(|m| m.inside.is_ipv4()), "NPTv6 keeps no state: {m:#?}");
    // The failure dump shows the IPv6 rules too.
    assert!(net.dump().contains("snpt to 2001:db8:1::/48"));
}
