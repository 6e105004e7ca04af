//! `allow` and `block` statements with real packets: drop and reject, by protocol, port and
//! source; the first rule that matches decides; the stateful `block inbound on IFACE`; rules
//! added, removed and cleared at run time; and the MTU black hole (ICMP "fragmentation needed"
//! dropped on a path with a small MTU).

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

/// A UDP datagram from `from` to `to` (an address of node `b`); Ok if it arrived.
fn udp_arrives(net: &Net, from: &str, to: &str) -> bool {
    udp(net, from, to).is_ok()
}

/// `allow` before `block`: the first rule that matches decides, in declaration order. Replies
/// leave b through its output chain: `allow established` first lets them by.
#[netns_test(topology = "
    a=10.0.0.1/24 -- b=10.0.0.2/24
    b: allow established
    b: allow tcp/443
    b: allow udp/53
    b: block tcp
    b: block udp
")]
fn allow_before_block_first_match_wins(net: &Net) {
    let _l443 = listen(net, "b", "0.0.0.0:443");
    let _l80 = listen(net, "b", "0.0.0.0:80");
    connect(net, "a", "10.0.0.2:443").expect("allowed before `block tcp`");
    let e = connect(net, "a", "10.0.0.2:80").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "`block tcp` drops port 80: {e}");
    assert!(udp_arrives(net, "a", "10.0.0.2:53"), "allowed before `block udp`");
    assert!(!udp_arrives(net, "a", "10.0.0.2:5000"), "`block udp` drops port 5000");
    net.ping("a", "10.0.0.2".parse().unwrap()).expect("no rule matches ICMP: it passes");
    let rules = net.node("b").firewall_rules().unwrap();
    let input: Vec<&str> = rules.lines().skip_while(|l| !l.contains("hook input")).skip(1).take(5).collect();
    assert!(input[0].ends_with("# allow established") && input[1].ends_with("# allow tcp/443"), "{rules}");
    assert!(input[4].ends_with("# block udp"), "in declaration order: {rules}");
}

/// The same rules the other way round: `block tcp` first, so `allow tcp/443` is never reached.
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24; b: block tcp; b: allow tcp/443")]
fn block_before_allow_first_match_wins(net: &Net) {
    let _l = listen(net, "b", "0.0.0.0:443");
    let e = connect(net, "a", "10.0.0.2:443").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "`block tcp` matches first: {e}");
}

/// RFC 6092's customer edge: what goes out and its replies pass, related ICMP errors pass, new
/// connections arriving on the outside interface (to the LAN or to r itself) are dropped.
#[netns_test(topology = "
    lan=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=10.0.2.1/24 -- wan=10.0.2.2/24
    r [forward]
    lan: default via 10.0.1.1
    wan: default via 10.0.2.1
    r: block inbound on eth1
")]
fn block_inbound_is_stateful(net: &Net) {
    // Out and back: a TCP connection and its data both ways.
    let l = listen(net, "wan", "10.0.2.2:80");
    let mut s = connect(net, "lan", "10.0.2.2:80").expect("an outbound connection passes");
    let (mut conn, _) = l.accept().unwrap();
    conn.write_all(b"reply").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut buf = [0; 5];
    s.read_exact(&mut buf).expect("its replies pass");
    net.ping("lan", "10.0.2.2".parse().unwrap()).expect("echo replies pass");
    // Related: wan's port unreachable about lan's datagram reaches lan.
    let client = net.node("lan").run(|| UdpSocket::bind("0.0.0.0:0").unwrap());
    client.connect("10.0.2.2:9").unwrap();
    client.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    client.send(b"x").unwrap();
    let e = client.recv(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "the related ICMP error passes: {e}");
    // In: new connections from wan, to lan and to r, are dropped.
    let _lan = listen(net, "lan", "10.0.1.2:22");
    let e = connect(net, "wan", "10.0.1.2:22").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "a new inbound connection is dropped: {e}");
    let _r = listen(net, "r", "10.0.2.1:22");
    let e = connect(net, "wan", "10.0.2.1:22").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "to r itself too: {e}");
    assert!(net.ping("wan", "10.0.1.2".parse().unwrap()).is_err(), "a new inbound echo request is dropped");
    // The inside is not the outside: lan reaches r.
    let _r0 = listen(net, "r", "10.0.1.1:22");
    connect(net, "lan", "10.0.1.1:22").expect("inbound on eth0 is not blocked");
}

/// Rules changed at run time, with traffic checked after each change: `add` appends (first
/// match wins), `remove` takes the first equal rule, `clear` removes all.
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn rules_added_removed_and_cleared_at_run_time(net: &Net) {
    let b = net.node("b");
    let fw = b.firewall();
    assert!(udp_arrives(net, "a", "10.0.0.2:53"));
    assert_eq!(b.firewall_rules(), None);

    fw.add("block udp/53").unwrap();
    assert!(!udp_arrives(net, "a", "10.0.0.2:53"), "blocked once added");
    assert!(udp_arrives(net, "a", "10.0.0.2:54"), "another port passes");
    assert_eq!(fw.rules(), ["block udp/53"]);
    assert!(b.firewall_rules().unwrap().contains("th dport 53 drop  # block udp/53"));

    fw.add("allow udp/53").unwrap();
    assert!(!udp_arrives(net, "a", "10.0.0.2:53"), "an `allow` after the `block` is never reached");

    fw.remove("block udp/53 drop").unwrap();
    assert_eq!(fw.rules(), ["allow udp/53"]);
    assert!(udp_arrives(net, "a", "10.0.0.2:53"), "passes once removed");
    let e = fw.remove("block udp/53").unwrap_err().to_string();
    assert!(e.contains("node `b` has no firewall rule `block udp/53`") && e.contains("`allow udp/53`"), "{e}");

    let _l = listen(net, "b", "0.0.0.0:80");
    fw.add("block tcp/80 reject").unwrap();
    assert_eq!(connect(net, "a", "10.0.0.2:80").unwrap_err().kind(), ErrorKind::ConnectionRefused);
    fw.clear().unwrap();
    assert_eq!(fw.rules(), Vec::<String>::new());
    assert_eq!(b.firewall_rules(), None);
    connect(net, "a", "10.0.0.2:80").expect("passes once cleared");
    assert!(udp_arrives(net, "a", "10.0.0.2:53"));
}

/// Declared rules can be removed and cleared too. A stateful inbound block added while a
/// connection is open knows it if the node was tracking connections (here: `allow established`
/// declared): the connection stays open, new ones are dropped.
#[netns_test(topology = "
    lan=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=10.0.2.1/24 -- wan=10.0.2.2/24
    r [forward]
    lan: default via 10.0.1.1
    wan: default via 10.0.2.1
    r: allow established
    r: block icmp
")]
fn stateful_block_added_at_run_time_keeps_tracked_connections(net: &Net) {
    let fw = net.node("r").firewall();
    assert!(net.ping("lan", "10.0.2.2".parse().unwrap()).is_err(), "declared: `block icmp`");
    fw.remove("block icmp").unwrap();
    net.ping("lan", "10.0.2.2".parse().unwrap()).expect("removed: a declared rule too");

    let l = listen(net, "lan", "10.0.1.2:22");
    let mut inbound = connect(net, "wan", "10.0.1.2:22").expect("no rule yet");
    let (mut conn, _) = l.accept().unwrap();
    fw.add("block inbound on eth1").unwrap();
    inbound.write_all(b"still").unwrap();
    let mut buf = [0; 5];
    conn.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    conn.read_exact(&mut buf).expect("a connection under way stays open");
    let e = connect(net, "wan", "10.0.1.2:22").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "a new one is dropped: {e}");
    fw.clear().unwrap();
    connect(net, "wan", "10.0.1.2:22").expect("cleared");
}

/// The documented limit: a node without NAT or a stateful rule tracks no connections, so one
/// opened before its first stateful rule is new to it (the kernel picks it up mid-stream as
/// new) and is dropped like any new inbound packet.
#[netns_test(topology = "
    lan=10.0.1.2/24 -- r:eth0=10.0.1.1/24
    r:eth1=10.0.2.1/24 -- wan=10.0.2.2/24
    r [forward]
    lan: default via 10.0.1.1
    wan: default via 10.0.2.1
")]
fn connections_opened_before_tracking_are_new_to_a_stateful_rule(net: &Net) {
    let l = listen(net, "wan", "10.0.2.2:80");
    let mut out = connect(net, "lan", "10.0.2.2:80").expect("no rule yet");
    let (mut conn, _) = l.accept().unwrap();
    net.node("r").firewall().add("block inbound on eth1").unwrap();
    conn.write_all(b"reply").unwrap();
    out.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut buf = [0; 5];
    let e = out.read_exact(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "untracked before the rule: its replies are new: {e}");
    // Opened after: tracked, its replies pass.
    let mut out = connect(net, "lan", "10.0.2.2:80").expect("an outbound connection passes");
    let (mut conn, _) = l.accept().unwrap();
    conn.write_all(b"reply").unwrap();
    out.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    out.read_exact(&mut buf).expect("its replies pass");
}

/// Wrong text at run time: the messages a topology gets at compile time, and nothing changes.
#[netns_test(topology = "a=10.0.0.1/24 -- b:eth0=10.0.0.2/24; b: block udp/53")]
fn bad_rule_text_at_run_time_gives_the_compile_time_message(net: &Net) {
    let fw = net.node("b").firewall();
    let e = fw.add("block tpc/80").unwrap_err().to_string();
    // As `b: block tpc/80` in a topology: "unknown word `tpc/80` in a `block` statement".
    assert!(e.contains("invalid firewall rule `block tpc/80` for node `b`"), "{e}");
    assert!(e.contains("1:7: unknown word `tpc/80` in a `block` statement"), "{e}");
    assert!(e.contains("help: did you mean `tcp`?"), "{e}");
    let e = fw.add("block inbound on eth1").unwrap_err().to_string();
    assert!(e.contains("node `b` has no interface `eth1`") && e.contains("did you mean `eth0`?"), "{e}");
    let e = fw.add("allow tcp/443 reject").unwrap_err().to_string();
    assert!(e.contains("`reject` goes with `block`, not `allow`"), "{e}");
    let e = fw.add("block udp; block tcp").unwrap_err().to_string();
    assert!(e.contains("one rule at a time"), "{e}");
    assert_eq!(fw.rules(), ["block udp/53"], "nothing changed");
    assert!(!udp_arrives(net, "a", "10.0.0.2:53"), "the declared rule is still in force");
}

/// A UDP exchange from `lan` to `to` (an address of `isp`) and back: whether the answer arrived.
fn udp_round_trip(net: &Net, to: &str) -> bool {
    let to: SocketAddr = to.parse().unwrap();
    let server = net.node("isp").run(|| UdpSocket::bind(to).unwrap());
    server.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let client = net.node("lan").run(|| UdpSocket::bind("0.0.0.0:0").unwrap());
    client.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    client.send_to(b"q", to).unwrap();
    let mut buf = [0; 8];
    let Ok((_, from)) = server.recv_from(&mut buf) else { return false };
    server.send_to(b"a", from).unwrap();
    client.recv(&mut buf).is_ok()
}

/// `preset=home`: port-restricted NAT out of `wan`, new inbound connections dropped; shown as
/// its expansion in `firewall_rules()`.
#[netns_test(topology = "
    lan=10.0.0.2/24 -- r:eth0=10.0.0.1/24
    r:eth1=203.0.113.1/24 -- isp=203.0.113.2/24
    lan: default via 10.0.0.1
    r [preset=home, wan=eth1]
")]
fn preset_home_is_nat_and_block_inbound(net: &Net) {
    let l = listen(net, "isp", "203.0.113.2:80");
    connect(net, "lan", "203.0.113.2:80").expect("out through the NAT");
    let (_, peer) = l.accept().unwrap();
    assert_eq!(peer.ip().to_string(), "203.0.113.1", "translated to r's outside address");
    let _r = listen(net, "r", "203.0.113.1:22");
    let e = connect(net, "isp", "203.0.113.1:22").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "new inbound connections are dropped: {e}");
    let rules = net.node("r").firewall_rules().unwrap();
    assert!(rules.contains("snat to 203.0.113.1") && rules.contains("# block inbound on eth1"), "{rules}");
    assert_eq!(net.node("r").firewall().rules(), ["block inbound on eth1"]);
}

/// `preset=corporate`: only TCP 80 and 443 and UDP 53 out (and their replies).
#[netns_test(topology = "
    lan=10.0.0.2/24 -- r:eth0=10.0.0.1/24
    r:eth1=203.0.113.1/24 -- isp=203.0.113.2/24
    lan: default via 10.0.0.1
    r [preset=corporate, wan=eth1]
")]
fn preset_corporate_allows_web_and_dns_only(net: &Net) {
    let _l80 = listen(net, "isp", "203.0.113.2:80");
    let _l443 = listen(net, "isp", "203.0.113.2:443");
    let _l22 = listen(net, "isp", "203.0.113.2:22");
    connect(net, "lan", "203.0.113.2:80").expect("tcp/80 out");
    connect(net, "lan", "203.0.113.2:443").expect("tcp/443 out");
    assert_eq!(connect(net, "lan", "203.0.113.2:22").unwrap_err().kind(), ErrorKind::TimedOut, "tcp/22 blocked");
    assert!(udp_round_trip(net, "203.0.113.2:53"), "DNS and its answer");
    assert!(!udp_round_trip(net, "203.0.113.2:5000"), "other UDP blocked");
}

/// `preset=hotel`: UDP blocked except DNS; TCP passes.
#[netns_test(topology = "
    lan=10.0.0.2/24 -- r:eth0=10.0.0.1/24
    r:eth1=203.0.113.1/24 -- isp=203.0.113.2/24
    lan: default via 10.0.0.1
    r [preset=hotel, wan=eth1]
")]
fn preset_hotel_blocks_udp_but_dns(net: &Net) {
    assert!(udp_round_trip(net, "203.0.113.2:53"), "DNS and its answer");
    assert!(!udp_round_trip(net, "203.0.113.2:443"), "QUIC and the rest of UDP blocked");
    let _l = listen(net, "isp", "203.0.113.2:22");
    connect(net, "lan", "203.0.113.2:22").expect("TCP passes");
}
