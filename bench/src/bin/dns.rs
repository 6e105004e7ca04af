//! Item 8: the DNS server's cost and speed. `dns [ROUNDS] [QUERIES]`, after `isolate()`:
//!
//! 1. build time of `h -- d` with and without `d [dns]` (`Net::build`, the server started and
//!    listening when it returns), ROUNDS rounds alternating which goes first, each build on a
//!    fresh thread in a fresh network namespace, dropped and given 30 ms to be freed;
//! 2. on the plain veth of the DNS topology: QUERIES UDP queries (`www.example.com A`) from `h`
//!    to the server, one at a time, against QUERIES datagrams to a plain UDP echo in `d` (the
//!    link's and the kernel's share of a round trip).
//!
//! Prints medians and percentiles in microseconds.

use netns_test::{Net, Topology};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const PLAIN: &str = "h=10.0.0.1/24 -- d=10.0.0.53/24";
const DNS: &str = "h=10.0.0.1/24 -- d=10.0.0.53/24\nd [dns]\ndns www.example.com A 203.0.113.10";

fn build(src: &'static str) -> (Duration, Option<Net>) {
    let (t, _, net) = build_and_enter(src);
    (t, net)
}

/// The build, and then the first entry into each node (which makes its view: mount namespace,
/// sysfs, hostname, and with a DNS node its own /etc/resolv.conf).
fn build_and_enter(src: &'static str) -> (Duration, Duration, Option<Net>) {
    std::thread::spawn(move || {
        // SAFETY: unshare on this thread only.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let topo = Topology::parse(src).unwrap();
        let start = Instant::now();
        let net = Net::build(topo).expect("build");
        let built = start.elapsed();
        let start = Instant::now();
        for n in net.nodes() {
            n.run(|| ());
        }
        (built, start.elapsed(), Some(net))
    })
    .join()
    .unwrap()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn query() -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["www", "example", "com"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// Round trips of `msg` from `sock` (connected), in microseconds; checks each reply's first bytes.
fn round_trips(sock: &UdpSocket, msg: &[u8], n: usize, check: impl Fn(&[u8]) -> bool) -> Vec<f64> {
    let mut buf = [0u8; 1500];
    let mut out = Vec::with_capacity(n);
    for i in 0..n + 200 {
        let t = Instant::now();
        sock.send(msg).unwrap();
        let len = sock.recv(&mut buf).expect("a reply");
        let us = t.elapsed().as_secs_f64() * 1e6;
        assert!(check(&buf[..len]), "unexpected reply");
        if i >= 200 {
            out.push(us);
        }
    }
    out
}

fn main() {
    netns_test::isolate().expect("isolate");
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(30, |a| a.parse().unwrap());
    let queries: usize = args.next().map_or(5000, |a| a.parse().unwrap());

    let (mut plain, mut dns) = (Vec::new(), Vec::new());
    let (mut plain_views, mut dns_views) = (Vec::new(), Vec::new());
    for r in 0..rounds + 2 {
        let order = if r % 2 == 0 { [PLAIN, DNS] } else { [DNS, PLAIN] };
        for src in order {
            let (t, views, net) = build_and_enter(src);
            drop(net);
            std::thread::sleep(Duration::from_millis(30));
            if r >= 2 {
                let (b, v) = if src == PLAIN { (&mut plain, &mut plain_views) } else { (&mut dns, &mut dns_views) };
                b.push(t.as_secs_f64() * 1e3);
                v.push(views.as_secs_f64() * 1e3);
            }
        }
    }
    let (p50, d50) = (pct(&mut plain, 0.5), pct(&mut dns, 0.5));
    println!("build h -- d, {rounds} rounds: plain median {p50:.2} ms (p90 {:.2}), with d [dns] median {d50:.2} ms (p90 {:.2}): +{:.2} ms",
        pct(&mut plain, 0.9), pct(&mut dns, 0.9), d50 - p50);
    let (pv, dv) = (pct(&mut plain_views, 0.5), pct(&mut dns_views, 0.5));
    println!("first entry into both nodes (their views): plain median {pv:.2} ms, with d [dns] {dv:.2} ms: +{:.2} ms (build and views: +{:.2} ms)",
        dv - pv, d50 + dv - p50 - pv);

    let (_, net) = build(DNS);
    let net = net.unwrap();
    let echo = net.node("d").run(|| UdpSocket::bind("10.0.0.53:7").unwrap());
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = echo.recv_from(&mut buf) {
            let _ = echo.send_to(&buf[..n], peer);
        }
    });
    let client = net.node("h").run(|| UdpSocket::bind("10.0.0.1:0").unwrap());
    client.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let q = query();
    client.connect("10.0.0.53:53").unwrap();
    // An answer: our id, QR set, NOERROR, one answer.
    let mut dns_rt = round_trips(&client, &q, queries, |r| {
        r[..2] == [0x12, 0x34] && r[2] & 0x80 != 0 && r[3] & 0x0f == 0 && r[7] == 1
    });
    client.connect("10.0.0.53:7").unwrap();
    let mut echo_rt = round_trips(&client, &q, queries, |r| r == q.as_slice());
    let (dm, em) = (pct(&mut dns_rt, 0.5), pct(&mut echo_rt, 0.5));
    println!(
        "UDP round trip h -> d, {queries} each: DNS query median {dm:.1} µs (p10 {:.1}, p90 {:.1}, p99 {:.1}); plain echo median {em:.1} µs (p90 {:.1}); the server's share {:.1} µs",
        pct(&mut dns_rt, 0.1), pct(&mut dns_rt, 0.9), pct(&mut dns_rt, 0.99), pct(&mut echo_rt, 0.9), dm - em
    );
    assert!(net.dns().queries().len() >= queries);
    std::process::exit(0);
}
