//! Link conditions measured with real packets: delay, jitter, loss, duplication, reordering
//! and rate, on whichever path this kernel takes (netem, or the userspace forwarder).
//!
//! Tolerances (issue 10): median RTT of 200 pings within ±(2 ms + 5 %) of twice the delay;
//! loss within a binomial 99.9 % interval over 2,000 packets; a 3 s TCP transfer within ±15 % of
//! the rate. Duplication uses the same binomial interval; reordering and jitter, whose counts
//! are not independent trials, the bounds stated at each test.

use netns_test::{kernel_has_netem, netns_test, ConditionPath, Net};
use netns_test_e2e::{binomial_interval, median_ms, ping_series, tcp_rate, udp_series};
use std::net::IpAddr;
use std::time::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The path this kernel should take for delay-like conditions.
fn expected_path() -> ConditionPath {
    if kernel_has_netem() {
        ConditionPath::Netem
    } else {
        ConditionPath::Userspace
    }
}

/// Median RTT of 200 pings, every one answered (after one that resolves the neighbour).
fn median_rtt(net: &Net, from: &str, to: IpAddr) -> f64 {
    net.node(from).ping(to, Duration::from_secs(2)).expect("first ping");
    let rtts = net.node(from).run(|| ping_series(to, 200, Duration::from_millis(5)));
    let answered: Vec<Duration> = rtts.iter().flatten().copied().collect();
    assert_eq!(answered.len(), 200, "every ping answered");
    median_ms(&answered)
}

fn assert_rtt(median: f64, delay_ms: f64) {
    let want = 2.0 * delay_ms;
    let tol = 2.0 + 0.05 * want;
    assert!((median - want).abs() <= tol, "median RTT {median:.2} ms, want {want} ± {tol:.1} ms");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn delay_is_paid_in_each_direction(net: &Net) -> netns_test::Result<()> {
    let link = net.link("a", "b");
    link.set("delay=20ms")?;
    assert_eq!(link.path(), expected_path());
    assert_eq!(link.conditions().to_string(), "delay=20ms");
    assert_rtt(median_rtt(net, "a", ip("10.0.0.2")), 20.0);
    assert_rtt(median_rtt(net, "b", ip("10.0.0.1")), 20.0);
    Ok(())
}

#[netns_test(topology = "a=fd00::1/64 -- b=fd00::2/64", timeout = "60s")]
fn delay_over_ipv6(net: &Net) -> netns_test::Result<()> {
    net.link("a", "b").set("delay=10ms")?;
    assert_rtt(median_rtt(net, "a", ip("fd00::2")), 10.0);
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn jitter_spreads_rtts_around_twice_the_delay(net: &Net) -> netns_test::Result<()> {
    net.link("a", "b").set("delay=20ms, jitter=5ms")?;
    net.ping("a", ip("10.0.0.2")).expect("first ping");
    let mut rtts: Vec<f64> = net
        .node("a")
        .run(|| ping_series(ip("10.0.0.2"), 200, Duration::from_millis(5)))
        .into_iter()
        .map(|r| r.expect("every ping answered").as_secs_f64() * 1e3)
        .collect();
    rtts.sort_by(f64::total_cmp);
    // Each way 20 ± 5 ms, uniform: the sum is triangular on 30..50 ms, its quartiles 2.9 ms
    // either side of 40. Nothing arrives early; a busy machine can only make replies late, so
    // the upper tail is not asserted.
    let q = |f: f64| rtts[((rtts.len() - 1) as f64 * f) as usize];
    assert!(q(0.0) >= 29.0, "fastest {:.1} ms, want at least 30", q(0.0));
    let iqr = q(0.75) - q(0.25);
    assert!((4.0..8.0).contains(&iqr), "interquartile range {iqr:.2} ms, want about 5.9");
    assert_rtt(q(0.5), 20.0);
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn loss_is_binomial(net: &Net) -> netns_test::Result<()> {
    net.link("a", "b").set("loss=10%")?;
    // The neighbour first: a lost ARP request would cost a second of retries, and all packets
    // sent meanwhile.
    assert!((0..20).any(|_| net.ping("a", ip("10.0.0.2")).is_ok()));
    let got = udp_series(net, "a", "b", "10.0.0.2:9000".parse().unwrap(), 2000, Duration::from_micros(100));
    let lost = 2000 - got.len() as u64;
    let (lo, hi) = binomial_interval(2000, 0.10, 0.999);
    assert!((lo..=hi).contains(&lost), "{lost} of 2000 lost, want {lo}..={hi}");
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn duplicates_are_binomial(net: &Net) -> netns_test::Result<()> {
    net.link("a", "b").set("duplicate=5%")?;
    let got = udp_series(net, "a", "b", "10.0.0.2:9000".parse().unwrap(), 2000, Duration::from_micros(100));
    let mut seen = std::collections::HashSet::new();
    let dups = got.iter().filter(|s| !seen.insert(**s)).count() as u64;
    assert_eq!(seen.len(), 2000, "nothing lost");
    let (lo, hi) = binomial_interval(2000, 0.05, 0.999);
    assert!((lo..=hi).contains(&dups), "{dups} duplicates, want {lo}..={hi}");
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn reordered_packets_overtake(net: &Net) -> netns_test::Result<()> {
    net.link("a", "b").set("delay=10ms, reorder=25%")?;
    let got = udp_series(net, "a", "b", "10.0.0.2:9000".parse().unwrap(), 2000, Duration::from_micros(200));
    assert_eq!(got.len(), 2000, "nothing lost");
    // Packet k arrives before k-1 when k skipped the delay and k-1 did not: 25 % × 75 %.
    let mut at = vec![0usize; 2000];
    for (i, s) in got.iter().enumerate() {
        at[*s as usize] = i;
    }
    let overtakes = (1..2000).filter(|&k| at[k] < at[k - 1]).count() as u64;
    let (lo, hi) = binomial_interval(1999, 0.25 * 0.75, 0.999);
    // Neighbouring pairs share a packet, so the count varies a little more than a binomial:
    // widen the interval by half.
    let (lo, hi) = (lo - (hi - lo) / 4, hi + (hi - lo) / 4);
    assert!((lo..=hi).contains(&overtakes), "{overtakes} overtakes, want {lo}..={hi}");
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24 [rate=10mbit]", timeout = "60s")]
fn rate_limits_a_tcp_transfer(net: &Net) {
    assert_eq!(net.link("a", "b").path(), ConditionPath::Tbf);
    let bps = tcp_rate(net, "a", "b", "10.0.0.2:5001".parse().unwrap(), 3.0);
    assert!((bps / 10e6 - 1.0).abs() <= 0.15, "{:.2} Mbit/s, want 10 ± 15 %", bps / 1e6);
    // And the other way.
    let bps = tcp_rate(net, "b", "a", "10.0.0.1:5001".parse().unwrap(), 3.0);
    assert!((bps / 10e6 - 1.0).abs() <= 0.15, "{:.2} Mbit/s back, want 10 ± 15 %", bps / 1e6);
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn rate_and_delay_together(net: &Net) -> netns_test::Result<()> {
    net.link("a", "b").set("rate=20mbit, delay=5ms")?;
    assert_eq!(net.link("a", "b").path(), expected_path());
    let bps = tcp_rate(net, "a", "b", "10.0.0.2:5001".parse().unwrap(), 3.0);
    assert!((bps / 20e6 - 1.0).abs() <= 0.15, "{:.2} Mbit/s, want 20 ± 15 %", bps / 1e6);
    Ok(())
}

#[netns_test(topology = "bridge br0 { h1=10.0.0.1/24 [delay=15ms], h2=10.0.0.2/24, h3=10.0.0.3/24 }", timeout = "60s")]
fn a_bridge_member_has_its_own_conditions(net: &Net) {
    assert_eq!(net.link("h1", "br0").path(), expected_path());
    assert_eq!(net.link("h2", "br0").path(), ConditionPath::None);
    assert_rtt(median_rtt(net, "h1", ip("10.0.0.2")), 15.0);
    assert_rtt(median_rtt(net, "h2", ip("10.0.0.1")), 15.0);
    // h2 -- h3 does not cross h1's link.
    assert!(median_rtt(net, "h2", ip("10.0.0.3")) < 2.0);
}

#[netns_test(topology = "bridge br0 { h1=10.0.0.1/24, h2=10.0.0.2/24 }", timeout = "60s")]
fn a_bridge_members_conditions_set_at_run_time(net: &Net) -> netns_test::Result<()> {
    net.link("h2", "br0").set("delay=10ms")?;
    assert_rtt(median_rtt(net, "h1", ip("10.0.0.2")), 10.0);
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64 [mtu=1400, delay=10ms]", timeout = "60s")]
fn declared_delay_keeps_the_links_mtu_and_addresses(net: &Net) {
    assert_eq!(net.link("a", "b").path(), expected_path());
    assert_eq!(net.link("a", "b").conditions().to_string(), "delay=10ms");
    assert_eq!(mtu_here("eth0"), 1400);
    assert_eq!(net.node("b").run(|| mtu_here("eth0")), 1400);
    assert_rtt(median_rtt(net, "a", ip("10.0.0.2")), 10.0);
    assert_rtt(median_rtt(net, "b", ip("fd00::1")), 10.0);
    // A TCP round trip with a full-size segment each way.
    netns_test_e2e::tcp_round_trip(net, "b", "10.0.0.2:7000".parse().unwrap());
}

/// The MTU of interface `name` in the calling thread's namespace.
fn mtu_here(name: &str) -> u32 {
    // SAFETY: a plain socket and an ioctl on a zeroed, properly sized ifreq.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in name.bytes().enumerate() {
            req.ifr_name[i] = b as libc::c_char;
        }
        assert_eq!(libc::ioctl(fd, libc::SIOCGIFMTU, &mut req), 0);
        libc::close(fd);
        req.ifr_ifru.ifru_mtu as u32
    }
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn rtt_follows_a_delay_set_mid_test(net: &Net) -> netns_test::Result<()> {
    let link = net.link("a", "b");
    assert!(median_rtt(net, "a", ip("10.0.0.2")) < 2.0);
    link.set("delay=30ms")?;
    assert_rtt(median_rtt(net, "a", ip("10.0.0.2")), 30.0);
    link.set("delay=5ms")?;
    assert_rtt(median_rtt(net, "a", ip("10.0.0.2")), 5.0);
    link.clear()?;
    assert!(link.conditions().is_empty());
    assert!(median_rtt(net, "a", ip("10.0.0.2")) < 2.0);
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn bad_options_at_run_time_get_the_compile_time_messages(net: &Net) {
    let link = net.link("a", "b");
    let e = link.set("loss=101%").unwrap_err().to_string();
    assert!(e.contains("loss 101% is more than 100%"), "{e}");
    let e = link.set("rate=fast").unwrap_err().to_string();
    assert!(e.contains("invalid rate `fast`: expected bits per second"), "{e}");
    let e = link.set("jitter=5ms").unwrap_err().to_string();
    assert!(e.contains("`jitter` needs a `delay`"), "{e}");
    assert!(link.conditions().is_empty(), "nothing applied");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
#[should_panic(expected = "no link between `a` and `c` in this topology; its links are: `a:eth0 -- b:eth0`")]
fn an_unknown_link_names_the_links_there_are(net: &Net) {
    net.link("a", "c");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn mtu_set_at_run_time_holds_through_the_path(net: &Net) -> netns_test::Result<()> {
    use std::os::fd::AsRawFd;
    net.link("a", "b").set("mtu=9000, delay=1ms")?;
    assert_eq!(mtu_here("eth0"), 9000);
    net.ping("a", ip("10.0.0.2")).expect("neighbour");
    let srv = net.node("b").run(|| std::net::UdpSocket::bind("10.0.0.2:9000").unwrap());
    srv.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let cli = std::net::UdpSocket::bind("10.0.0.1:0").unwrap();
    // Don't fragment: the 8,000-byte datagram crosses as one frame or not at all.
    let on = libc::IP_PMTUDISC_DO;
    // SAFETY: an int option from a live int.
    let r = unsafe {
        libc::setsockopt(cli.as_raw_fd(), libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, (&on as *const i32).cast(), 4)
    };
    assert_eq!(r, 0);
    cli.send_to(&[7u8; 8000], "10.0.0.2:9000").unwrap();
    let mut buf = [0u8; 9000];
    assert_eq!(srv.recv(&mut buf).expect("the jumbo frame arrived"), 8000);
    Ok(())
}

/// A neighbour entry as the kernel has it: address, MAC, NUD state (`NUD_*` bits).
type Neighbour = (IpAddr, Vec<u8>, u16);

/// The neighbour entries (ARP and ND) of the calling thread's namespace on interface `dev`,
/// read over netlink.
fn neighbours_here(dev: &str) -> Vec<Neighbour> {
    use futures_util::TryStreamExt;
    use netlink_packet_route::neighbour::{NeighbourAddress as A, NeighbourAttribute as N};
    let index = index_here(dev);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (conn, h, _) = rtnetlink::new_connection().expect("netlink socket");
        tokio::spawn(conn);
        let msgs: Vec<_> = h.neighbours().get().execute().try_collect().await.expect("neighbour dump");
        (msgs.into_iter().filter(|m| m.header.ifindex == index))
            .filter_map(|m| {
                let (mut addr, mut mac) = (None, Vec::new());
                for a in m.attributes {
                    match a {
                        N::Destination(A::Inet(v4)) => addr = Some(IpAddr::V4(v4)),
                        N::Destination(A::Inet6(v6)) => addr = Some(IpAddr::V6(v6)),
                        N::LinkLayerAddress(l) => mac = l,
                        _ => {}
                    }
                }
                Some((addr?, mac, u16::from(m.header.state)))
            })
            .collect()
    })
}

const NUD_REACHABLE: u16 = 0x02;
const NUD_STALE: u16 = 0x04;
const NUD_DELAY: u16 = 0x08;
const NUD_PROBE: u16 = 0x10;
const NUD_PERMANENT: u16 = 0x80;
/// Learned and usable: the kernel sends to the MAC it has without asking again.
const LEARNED: u16 = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE;

/// The entry for `peer` in `entries`, usable: learned (not asked for again) or permanent.
fn entry(entries: &[Neighbour], peer: IpAddr) -> Option<&Neighbour> {
    entries.iter().find(|(a, mac, state)| *a == peer && !mac.is_empty() && state & (LEARNED | NUD_PERMANENT) != 0)
}

/// Counts the neighbour resolutions a namespace sends on one interface: broadcast ARP requests
/// and multicast (solicited-node) neighbour solicitations, seen on an `AF_PACKET` socket
/// opened in the namespace.
struct Resolutions(std::os::fd::OwnedFd);

impl Resolutions {
    /// Starts counting on `dev` of the calling thread's namespace.
    fn on(dev: &str) -> Resolutions {
        use std::os::fd::FromRawFd;
        let index = index_here(dev);
        let all = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: a new socket, owned at once; a zeroed sockaddr_ll with its fields set.
        unsafe {
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, i32::from(all));
            assert!(fd >= 0, "AF_PACKET socket: {}", std::io::Error::last_os_error());
            let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = all;
            sll.sll_ifindex = index as i32;
            let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            let r = libc::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), (&sll as *const libc::sockaddr_ll).cast(), len);
            assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
            Resolutions(fd)
        }
    }

    /// The resolutions sent since [`on`](Self::on) (each frame read once).
    fn sent(&self) -> Vec<String> {
        let mut seen = Vec::new();
        let mut buf = [0u8; 2048];
        loop {
            // SAFETY: recvfrom into live buffers of the sizes given.
            let (n, sll) = unsafe {
                let mut sll: libc::sockaddr_ll = std::mem::zeroed();
                let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
                let n = libc::recvfrom(
                    std::os::fd::AsRawFd::as_raw_fd(&self.0),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&mut sll as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                );
                (n, sll)
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "reading the capture: {e}");
                return seen;
            }
            let f = &buf[..n as usize];
            if sll.sll_pkttype != libc::PACKET_OUTGOING as u8 || f.len() < 14 {
                continue;
            }
            let ethertype = u16::from_be_bytes([f[12], f[13]]);
            if ethertype == 0x0806 && f[..6] == [0xff; 6] && f.len() >= 42 && f[20..22] == [0, 1] {
                seen.push(format!("ARP who-has {}", std::net::Ipv4Addr::new(f[38], f[39], f[40], f[41])));
            }
            // IPv6, next header ICMPv6, type 135 (neighbour solicitation), to a multicast MAC.
            if ethertype == 0x86dd && f[..2] == [0x33, 0x33] && f.len() >= 78 && f[20] == 58 && f[54] == 135 {
                let target: [u8; 16] = f[62..78].try_into().unwrap();
                seen.push(format!("NS who-has {}", std::net::Ipv6Addr::from(target)));
            }
        }
    }
}

/// The first delay-like condition on a kernel without netem splices the userspace forwarder
/// into the link (the veth pair is deleted and made again around it). The nodes keep what they
/// learned: each one's entry for its peer (ARP and ND) is still there afterwards with the same
/// MAC, learned (not permanent), and the first packets through the lossy link need no new
/// resolution (issue 18: a warmed path failed 1 run in 3-9, once with 0 of 1,000 replies).
fn neighbours_survive(net: &Net, a: &str, b: &str, link: netns_test::Link<'_>) -> netns_test::Result<()> {
    let peers = [(a, b, ip("10.0.0.2"), ip("fd00::2")), (b, a, ip("10.0.0.1"), ip("fd00::1"))];
    for (from, _, v4, v6) in peers {
        net.node(from).ping(v4, Duration::from_secs(2)).expect("warming IPv4");
        net.node(from).ping(v6, Duration::from_secs(2)).expect("warming IPv6");
    }
    let table = |node: &str| net.node(node).run(|| neighbours_here("eth0"));
    let before: Vec<Vec<Neighbour>> = peers.iter().map(|p| table(p.0)).collect();
    for ((from, _, v4, v6), t) in peers.iter().zip(&before) {
        for peer in [*v4, *v6] {
            assert!(entry(t, peer).is_some_and(|e| e.2 & LEARNED != 0), "{from}: no learned entry for {peer}: {t:?}");
        }
    }
    for step in ["set(\"loss=20%\")", "clear()"] {
        if step == "clear()" {
            link.clear()?;
        } else {
            link.set("loss=20%")?;
        }
        for ((from, _, v4, v6), was) in peers.iter().zip(&before) {
            let now = table(from);
            for peer in [*v4, *v6] {
                let old = entry(was, peer).unwrap();
                let new = entry(&now, peer)
                    .unwrap_or_else(|| panic!("after {step}, {from} lost its entry for {peer}: {now:?}"));
                assert_eq!(new.1, old.1, "after {step}, {from}'s entry for {peer} has another MAC");
                assert!(new.2 & LEARNED != 0, "after {step}, {from}'s entry for {peer} is {:#x}, not learned", new.2);
            }
        }
        // Traffic both ways, both families, with no resolution sent by either node.
        let captures: Vec<Resolutions> = peers.iter().map(|p| net.node(p.0).run(|| Resolutions::on("eth0"))).collect();
        for (from, _, v4, v6) in peers {
            net.node(from).ping(v4, Duration::from_secs(10)).expect("IPv4 after the change");
            net.node(from).ping(v6, Duration::from_secs(10)).expect("IPv6 after the change");
        }
        for ((from, ..), c) in peers.iter().zip(&captures) {
            let sent = c.sent();
            assert!(sent.is_empty(), "after {step}, {from} resolved its peer again: {sent:?}");
        }
    }
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64", timeout = "60s")]
fn neighbour_entries_survive_set_and_clear(net: &Net) -> netns_test::Result<()> {
    neighbours_survive(net, "a", "b", net.link("a", "b"))
}

/// The same for a bridge member: the bridge relearns where the MACs are, the nodes keep their
/// neighbour entries.
#[netns_test(topology = "bridge br0 { h1=10.0.0.1/24|fd00::1/64, h2=10.0.0.2/24|fd00::2/64 }", timeout = "60s")]
fn a_bridge_members_neighbour_entries_survive_set_and_clear(net: &Net) -> netns_test::Result<()> {
    neighbours_survive(net, "h1", "h2", net.link("h1", "br0"))
}

/// A permanent entry stays permanent (and one that was learned is not made permanent).
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn a_permanent_neighbour_entry_survives_set(net: &Net) -> netns_test::Result<()> {
    let fake = ip("10.0.0.77");
    let a = net.node("a");
    a.run(|| {
        let index = index_here("eth0");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (conn, h, _) = rtnetlink::new_connection().unwrap();
            tokio::spawn(conn);
            h.neighbours().add(index, fake).link_layer_address(&[2, 0, 0, 0, 0, 0x77]).execute().await.unwrap();
        })
    });
    net.link("a", "b").set("delay=1ms")?;
    let now = a.run(|| neighbours_here("eth0"));
    let e = entry(&now, fake).unwrap_or_else(|| panic!("the permanent entry is gone: {now:?}"));
    assert_eq!((e.1.as_slice(), e.2), (&[2, 0, 0, 0, 0, 0x77][..], NUD_PERMANENT));
    Ok(())
}

/// The index of interface `dev` in the calling thread's namespace.
fn index_here(dev: &str) -> u32 {
    let name = std::ffi::CString::new(dev).unwrap();
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert_ne!(index, 0, "no interface {dev} here");
    index
}

/// Every link option the grammar takes, alone and together (`reorder` and `jitter` need a
/// `delay`).
const OPTIONS: [&str; 10] = [
    "rate=10mbit",
    "delay=5ms",
    "delay=5ms, jitter=2ms",
    "loss=20%",
    "duplicate=5%",
    "delay=5ms, reorder=25%",
    "rate=10mbit, loss=20%",
    "rate=10mbit, delay=5ms",
    "delay=5ms, loss=20%, duplicate=5%",
    "rate=10mbit, delay=5ms, jitter=2ms, loss=20%, duplicate=5%, reorder=25%",
];

/// What of `topologies` does not build, or builds but passes no IPv4 ping from its first node
/// to 10.0.0.2 within 30 s (an echo a second: with 20 % loss on both members of a bridge, a
/// round trip crosses four lossy hops and 59 % of them fail). Each is built on a thread of its own in a network namespace of its
/// own (a bridge and its ports live in the namespace it is built from), dropped before the next.
fn not_working(topologies: impl IntoIterator<Item = String>) -> Vec<String> {
    let one = |text: &str| -> Result<(), String> {
        // SAFETY: unsharing the calling thread's network namespace only.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            panic!("unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
        }
        let topology = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let net = Net::build(topology).map_err(|e| format!("`{text}` does not build: {e}"))?;
        let from = &net.nodes()[0];
        from.ping(ip("10.0.0.2"), Duration::from_secs(30))
            .map(drop)
            .map_err(|e| format!("`{text}`: no ping from {} to 10.0.0.2: {e}", from.name()))
    };
    let run = |text: String| std::thread::scope(|s| s.spawn(|| one(&text)).join().unwrap());
    topologies.into_iter().filter_map(|t| run(t).err()).collect()
}

/// A link whose MTU is below IPv6's minimum (the kernel takes IPv6 off it) builds with every
/// condition (issue 18 bug 4: `[loss=20%, mtu=1000]` failed with "writing sysctl
/// net/ipv6/conf/eth0/accept_dad=0: No such file or directory").
#[netns_test(topology = "x=10.9.0.1/24 -- y=10.9.0.2/24", timeout = "120s")]
fn every_condition_builds_on_a_link_below_ipv6s_minimum_mtu(_net: &Net) {
    let links = [576, 1000]
        .into_iter()
        .flat_map(|mtu| OPTIONS.map(|o| format!("a=10.0.0.1/24 -- b=10.0.0.2/24 [{o}, mtu={mtu}]")));
    let bad = not_working(links);
    assert!(bad.is_empty(), "{} of {}:\n{}", bad.len(), 2 * OPTIONS.len(), bad.join("\n"));
}

/// The same for a bridge member (conditions on the member, the MTU on the bridge), and for
/// conditions on the whole bridge.
#[netns_test(topology = "x=10.9.0.1/24 -- y=10.9.0.2/24", timeout = "300s")]
fn every_condition_builds_on_a_bridge_below_ipv6s_minimum_mtu(_net: &Net) {
    let mut bridges = Vec::new();
    for mtu in [576, 1000] {
        for o in OPTIONS {
            bridges.push(format!("bridge br0 {{ h1=10.0.0.1/24 [{o}], h2=10.0.0.2/24 }} [mtu={mtu}]"));
            bridges.push(format!("bridge br0 {{ h1=10.0.0.1/24, h2=10.0.0.2/24 }} [{o}, mtu={mtu}]"));
        }
    }
    let n = bridges.len();
    let bad = not_working(bridges);
    assert!(bad.is_empty(), "{} of {n}:\n{}", bad.len(), bad.join("\n"));
}

/// At run time: an MTU below IPv6's minimum and a condition set together on a plain link, then
/// the link down and up; and a declared one down and up, with and without conditions.
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn a_link_below_ipv6s_minimum_mtu_takes_set_down_and_up(net: &Net) -> netns_test::Result<()> {
    let link = net.link("a", "b");
    link.set("mtu=1000, loss=1%")?;
    assert_eq!(mtu_here("eth0"), 1000);
    net.node("a").ping(ip("10.0.0.2"), Duration::from_secs(5)).expect("after set");
    link.down()?;
    link.up()?;
    net.node("a").ping(ip("10.0.0.2"), Duration::from_secs(5)).expect("after down and up");
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24 [loss=20%, mtu=1000]", timeout = "60s")]
fn a_declared_lossy_link_below_ipv6s_minimum_mtu_goes_down_and_up(net: &Net) -> netns_test::Result<()> {
    net.link("a", "b").down()?;
    net.link("a", "b").up()?;
    net.node("a").ping(ip("10.0.0.2"), Duration::from_secs(10)).expect("after down and up");
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24 [mtu=576]", timeout = "60s")]
fn a_plain_link_below_ipv6s_minimum_mtu_goes_down_and_up(net: &Net) -> netns_test::Result<()> {
    net.link("a", "b").down()?;
    net.link("a", "b").up()?;
    net.ping("a", ip("10.0.0.2")).expect("after down and up");
    Ok(())
}

#[netns_test(topology = "bridge br0 { h1=10.0.0.1/24 [delay=1ms], h2=10.0.0.2/24 } [mtu=1000]", timeout = "60s")]
fn a_bridge_member_below_ipv6s_minimum_mtu_goes_down_and_up(net: &Net) -> netns_test::Result<()> {
    let link = net.link("h1", "br0");
    link.down()?;
    link.up()?;
    link.set("mtu=576, loss=1%")?;
    // The bridge follows its smallest port (why a bridge's IPv6 addresses forbid this, below).
    assert_eq!(net.bridge("br0").run(|| mtu_here("br0")), 576);
    net.node("h1").ping(ip("10.0.0.2"), Duration::from_secs(5)).expect("after down, up and set");
    Ok(())
}

/// An MTU below IPv6's minimum set at run time on a link that has IPv6 addresses would make the
/// kernel remove them without a word (and they would not come back with the MTU): `set` refuses
/// it, naming them, and changes nothing.
#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64", timeout = "60s")]
fn an_mtu_below_ipv6s_minimum_is_refused_where_ipv6_addresses_would_go(net: &Net) {
    let link = net.link("a", "b");
    let e = link.set("mtu=1000, loss=1%").unwrap_err().to_string();
    assert_eq!(
        e,
        "link a:eth0 -- b:eth0: mtu 1000 is below IPv6's minimum (1280): the kernel would remove \
         fd00::1/64 from a:eth0 and fd00::2/64 from b:eth0; del_addr them first, or use an MTU of 1280 or more"
    );
    assert_eq!(mtu_here("eth0"), 1500, "the MTU is unchanged");
    assert!(link.conditions().is_empty(), "nothing applied");
    net.ping("a", ip("fd00::2")).expect("IPv6 still there");
    // Without them, it is allowed.
    net.node("a").del_addr("eth0", "fd00::1/64").unwrap();
    net.node("b").del_addr("eth0", "fd00::2/64").unwrap();
    link.set("mtu=1000").unwrap();
    assert_eq!(mtu_here("eth0"), 1000);
}

/// The same for a bridge member when the bridge has an IPv6 address: the kernel gives a bridge
/// its smallest port's MTU.
#[netns_test(topology = "bridge br0=fd00::fe/64 { h1=10.0.0.1/24, h2=10.0.0.2/24 }", timeout = "60s")]
fn an_mtu_below_ipv6s_minimum_is_refused_where_a_bridges_ipv6_address_would_go(net: &Net) {
    let e = net.link("h1", "br0").set("mtu=1000").unwrap_err().to_string();
    assert_eq!(
        e,
        "link h1:eth0 -- br0: mtu 1000 is below IPv6's minimum (1280): the kernel would remove fd00::fe/64 from \
         bridge br0; use an MTU of 1280 or more (a bridge's addresses stay for the whole test)"
    );
    assert_eq!(mtu_here("eth0"), 1500, "the MTU is unchanged");
}

/// Whether interface `name` of the calling thread's namespace is administratively up.
fn is_up_here(name: &str) -> bool {
    // SAFETY: a plain socket and an ioctl on a zeroed, properly sized ifreq.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in name.bytes().enumerate() {
            req.ifr_name[i] = b as libc::c_char;
        }
        assert_eq!(libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req), 0);
        libc::close(fd);
        i32::from(req.ifr_ifru.ifru_flags) & libc::IFF_UP != 0
    }
}

/// A link that is down stays down when its first condition puts the forwarder in (the splice
/// used to bring it up, routes and all), and comes back whole with `up()`.
fn stays_down_through_set(net: &Net, a: &str, b: &str, link: netns_test::Link<'_>) -> netns_test::Result<()> {
    link.down()?;
    link.set("delay=1ms")?;
    assert!(!net.node(a).run(|| is_up_here("eth0")), "{a}:eth0 came up with set()");
    if net.topology().bridges.is_empty() {
        assert!(!net.node(b).run(|| is_up_here("eth0")), "{b}:eth0 came up with set()");
    }
    let e = net.node(a).ping(ip("10.0.0.2"), Duration::from_millis(300)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NetworkUnreachable, "{e}");
    link.up()?;
    net.node(a).ping(ip("10.0.0.2"), Duration::from_secs(2)).expect("IPv4 after up()");
    net.node(a).ping(ip("fd00::2"), Duration::from_secs(2)).expect("IPv6 after up()");
    Ok(())
}

#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64", timeout = "60s")]
fn a_down_link_stays_down_through_set(net: &Net) -> netns_test::Result<()> {
    stays_down_through_set(net, "a", "b", net.link("a", "b"))
}

#[netns_test(topology = "bridge br0 { h1=10.0.0.1/24|fd00::1/64, h2=10.0.0.2/24|fd00::2/64 }", timeout = "60s")]
fn a_down_bridge_member_stays_down_through_set(net: &Net) -> netns_test::Result<()> {
    stays_down_through_set(net, "h1", "h2", net.link("h1", "br0"))
}

/// The routes leaving through a link's ends survive the splice as the kernel had them, those
/// netns-test did not make too (here one with a metric, added straight over netlink).
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "60s")]
fn routes_through_a_link_survive_set(net: &Net) -> netns_test::Result<()> {
    let routes = || {
        net.node("a").run(|| {
            use futures_util::TryStreamExt;
            use netlink_packet_route::route::{RouteAttribute, RouteMessage};
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (conn, h, _) = rtnetlink::new_connection().unwrap();
                tokio::spawn(conn);
                let msgs: Vec<RouteMessage> =
                    h.route().get(RouteMessage::default()).execute().try_collect().await.unwrap();
                let mut out: Vec<String> = (msgs.iter())
                    .filter(|m| m.header.destination_prefix_length == 24)
                    .map(|m| {
                        let attrs: Vec<String> = (m.attributes.iter())
                            .filter_map(|a| match a {
                                RouteAttribute::Destination(d) => Some(format!("{d:?}")),
                                RouteAttribute::Gateway(g) => Some(format!("via {g:?}")),
                                RouteAttribute::Priority(p) => Some(format!("metric {p}")),
                                _ => None,
                            })
                            .collect();
                        attrs.join(" ")
                    })
                    .collect();
                out.sort();
                out
            })
        })
    };
    net.node("a").run(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (conn, h, _) = rtnetlink::new_connection().unwrap();
            tokio::spawn(conn);
            let msg = rtnetlink::RouteMessageBuilder::<std::net::Ipv4Addr>::new()
                .destination_prefix("10.9.0.0".parse().unwrap(), 24)
                .gateway("10.0.0.2".parse().unwrap())
                .priority(77)
                .build();
            h.route().add(msg).execute().await.unwrap();
        })
    });
    let before = routes();
    assert!(before.iter().any(|r| r.contains("10.9.0.0") && r.contains("metric 77")), "{before:?}");
    net.link("a", "b").set("delay=1ms")?;
    assert_eq!(routes(), before);
    Ok(())
}
