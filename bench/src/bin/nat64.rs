//! Item 9: NAT64 against a plain routed path, side by side in one topology (release, after
//! `isolate()`): `nat64 [SECONDS] [ROUND_TRIPS]`.
//!
//! `h` (IPv6 only) -- `r` -- `s` (IPv4 and IPv6); `r [nat64=eth1]`. The routed path is
//! h -> fd00:2::10 (IPv6, forwarded by r's kernel); the translated one h -> 64:ff9b::cb00:710a
//! (through the translator, then r's kernel and its snat). For each: TCP throughput from h to s
//! for SECONDS (one connection, 128 KiB writes), and ROUND_TRIPS UDP ping-pongs of 64 bytes
//! (median and p99 in µs).

use netns_test::{Net, Topology};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

const TOPO: &str = "h=fd00:1::2/64 -- r:eth0=fd00:1::1/64
r:eth1=203.0.113.1/24|fd00:2::1/64 -- s=203.0.113.10/24|fd00:2::10/64
r [nat64=eth1]
h: default via fd00:1::1
s: fd00:1::/64 via fd00:2::1";

fn throughput(net: &Net, listen: &str, to: SocketAddr, secs: f64) -> f64 {
    let l = net.node("s").run(|| TcpListener::bind(listen).unwrap());
    let sink = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut buf = vec![0u8; 1 << 17];
        let mut n = 0u64;
        while let Ok(k) = c.read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k as u64;
        }
        n
    });
    let mut c = net.node("h").run(|| TcpStream::connect(to).unwrap());
    let buf = vec![0x42u8; 1 << 17];
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        c.write_all(&buf).unwrap();
    }
    drop(c);
    let bytes = sink.join().unwrap();
    bytes as f64 * 8.0 / start.elapsed().as_secs_f64() / 1e9
}

fn round_trips(net: &Net, listen: &str, to: SocketAddr, n: usize) -> (f64, f64) {
    let srv = net.node("s").run(|| UdpSocket::bind(listen).unwrap());
    std::thread::spawn(move || {
        let mut buf = [0u8; 128];
        while let Ok((k, peer)) = srv.recv_from(&mut buf) {
            let _ = srv.send_to(&buf[..k], peer);
        }
    });
    let c = net.node("h").run(|| UdpSocket::bind("[::]:0").unwrap());
    c.connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 128];
    let mut v = Vec::with_capacity(n);
    for i in 0..n + 200 {
        let t = Instant::now();
        c.send(&[7u8; 64]).unwrap();
        c.recv(&mut buf).expect("echo");
        if i >= 200 {
            v.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn main() {
    netns_test::isolate().expect("isolate");
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().map_or(3.0, |a| a.parse().unwrap());
    let n: usize = args.next().map_or(5000, |a| a.parse().unwrap());
    let net = Net::build(Topology::parse(TOPO).unwrap()).expect("build");
    let routed: SocketAddr = "[fd00:2::10]:5001".parse().unwrap();
    let nat64: SocketAddr = "[64:ff9b::cb00:710a]:5002".parse().unwrap();
    // Interleaved: routed, translated, routed, translated.
    let mut rows = Vec::new();
    for round in 0..2 {
        let port = 5100 + round * 10;
        let r = throughput(&net, &format!("[fd00:2::10]:{port}"), SocketAddr::new(routed.ip(), port), secs);
        let t = throughput(&net, &format!("203.0.113.10:{}", port + 1), SocketAddr::new(nat64.ip(), port + 1), secs);
        rows.push((r, t));
    }
    for (i, (r, t)) in rows.iter().enumerate() {
        println!("TCP h -> s, {secs} s, round {}: routed IPv6 {r:.2} Gbit/s, NAT64 {t:.2} Gbit/s", i + 1);
    }
    let (rm, rp) = round_trips(&net, "[fd00:2::10]:5001", routed, n);
    let (tm, tp) = round_trips(&net, "203.0.113.10:5002", nat64, n);
    println!(
        "UDP 64-byte round trips, {n} each: routed median {rm:.1} µs (p99 {rp:.1}), NAT64 median {tm:.1} µs (p99 {tp:.1}): +{:.1} µs per round trip, +{:.1} µs each way",
        tm - rm,
        (tm - rm) / 2.0
    );
    std::process::exit(0);
}
