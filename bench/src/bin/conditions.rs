//! Item 6: link conditions. What each costs to set up (at build time and at run time), and the
//! userspace path's latency floor and throughput against a plain veth pair.
//!
//! `conditions [--reps K]`; `NETNS_TEST_NETEM=off` measures the userspace path on a kernel that
//! has netem.

use netns_test::{kernel_has_netem, Net, Topology};
use netns_test_bench::{in_fresh_netns, stats};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const PLAIN: &str = "a=10.0.0.1/24 -- b=10.0.0.2/24";

fn main() {
    netns_test::isolate().expect("isolate");
    let mut args = std::env::args().skip(1);
    let mut reps = 15usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().unwrap().parse().unwrap(),
            _ => panic!("usage: conditions [--reps K]"),
        }
    }
    println!("kernel has netem: {} (delay-like conditions take the {} path)", kernel_has_netem(), path_name());

    println!("\n| topology | build median (ms) | min–max (ms) | path |");
    println!("|---|---:|---:|---|");
    for src in [
        PLAIN.to_string(),
        format!("{PLAIN} [rate=10mbit]"),
        format!("{PLAIN} [delay=10ms]"),
        format!("{PLAIN} [rate=10mbit, delay=10ms, jitter=1ms, loss=1%]"),
        "bridge br0 { a=10.0.0.1/24 [delay=10ms], b=10.0.0.2/24, c=10.0.0.3/24 }".to_string(),
    ] {
        let mut builds = Vec::new();
        let mut path = String::new();
        for _ in 0..reps {
            let src = src.clone();
            let (d, p) = in_fresh_netns(move || {
                let topo = Topology::parse(&src).unwrap();
                let t = Instant::now();
                let net = Net::build(topo).expect("build");
                let d = t.elapsed();
                let p = format!("{:?}", net.link("a", if src.starts_with("bridge") { "br0" } else { "b" }).path());
                (d, p)
            });
            builds.push(d);
            path = p;
            std::thread::sleep(Duration::from_millis(60));
        }
        let s = stats(&builds);
        println!("| `{src}` | {:.2} | {:.2}–{:.2} | {path} |", s.median, s.min, s.max);
    }

    println!("\n| change at run time on `{PLAIN}` | median (ms) | min–max (ms) |");
    println!("|---|---:|---:|");
    let mut rows: Vec<(&str, Vec<Duration>)> =
        ["set(\"rate=10mbit\")", "first set(\"delay=10ms\")", "set(\"delay=20ms\") again", "clear()", "down()", "up()"]
            .into_iter()
            .map(|r| (r, Vec::new()))
            .collect();
    for _ in 0..reps {
        let times = in_fresh_netns(|| {
            let net = Net::build(Topology::parse(PLAIN).unwrap()).unwrap();
            let link = net.link("a", "b");
            let time = |f: &dyn Fn() -> netns_test::Result<()>| {
                let t = Instant::now();
                f().unwrap();
                t.elapsed()
            };
            vec![
                time(&|| link.set("rate=10mbit")),
                time(&|| link.set("delay=10ms")),
                time(&|| link.set("delay=20ms")),
                time(&|| link.clear()),
                time(&|| link.down()),
                time(&|| link.up()),
            ]
        });
        for (row, t) in rows.iter_mut().zip(times) {
            row.1.push(t);
        }
        std::thread::sleep(Duration::from_millis(60));
    }
    for (name, samples) in rows {
        let s = stats(&samples);
        println!("| `{name}` | {:.2} | {:.2}–{:.2} |", s.median, s.min, s.max);
    }

    println!("\n| path | ping RTT median (µs) | p90 (µs) | TCP a→b, 3 s (Gbit/s) |");
    println!("|---|---:|---:|---:|");
    for through_forwarder in [false, true] {
        let (rtt, p90, gbps) = in_fresh_netns(move || {
            let net = Net::build(Topology::parse(PLAIN).unwrap()).unwrap();
            if through_forwarder {
                // Splices the forwarder in (on a netem-less kernel), then leaves it passing
                // frames unchanged: what remains is the path's own cost.
                net.link("a", "b").set("delay=1ms").unwrap();
                net.link("a", "b").clear().unwrap();
            }
            let to = "10.0.0.2".parse().unwrap();
            net.node("a").ping(to, Duration::from_secs(2)).unwrap();
            let mut rtts: Vec<Duration> =
                (0..1000).map(|_| net.node("a").ping(to, Duration::from_secs(1)).unwrap()).collect();
            rtts.sort();
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            (us(rtts[500]), us(rtts[900]), tcp_gbps(&net))
        });
        let name = if through_forwarder { format!("{} (no conditions)", path_name()) } else { "plain veth".into() };
        println!("| {name} | {rtt:.0} | {p90:.0} | {gbps:.2} |");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn path_name() -> &'static str {
    if kernel_has_netem() {
        "netem"
    } else {
        "userspace forwarder"
    }
}

/// A 3 s bulk TCP transfer from a to b, measured at the receiver.
fn tcp_gbps(net: &Net) -> f64 {
    let listener = net.node("b").run(|| TcpListener::bind("10.0.0.2:5001").unwrap());
    let rx = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let start = Instant::now();
        let mut total = 0u64;
        while start.elapsed() < Duration::from_secs(3) {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n as u64,
            }
        }
        total as f64 * 8.0 / start.elapsed().as_secs_f64() / 1e9
    });
    let mut c = net.node("a").run(|| TcpStream::connect("10.0.0.2:5001").unwrap());
    let chunk = vec![0u8; 1 << 16];
    while !rx.is_finished() {
        if c.write(&chunk).is_err() {
            break;
        }
    }
    drop(c);
    rx.join().unwrap()
}
