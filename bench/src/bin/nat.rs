//! Issue 19: what a router's NAT costs to install and to change while the test runs.
//!
//! `nat [--reps K] [--flows N]`: for each NAT kind, K fresh networks (a client, a router, a
//! server); in each, `N` UDP flows cross the router, then every operation is timed once. Prints
//! medians with min–max, in milliseconds.
//!
//! - build: `Net::build` with the NAT against the same topology with `r [forward]` (the
//!   difference is what the NAT adds: its timeouts and its one nf_tables transaction);
//! - `on()` after `off()`: installing the NAT from nothing (timeouts + rules);
//! - `set(..)`: replacing the rules, with the mapping tables refilled from the N live flows;
//! - `rebind()`: emptying the mapping tables and flushing conntrack;
//! - `mappings()`, `off()`.

use netns_test::{Net, Topology};
use netns_test_bench::{in_fresh_netns, stats};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const BASE: &str =
    "c=10.0.1.2/24 -- r:eth0=10.0.1.1/24\nr:eth1=203.0.113.1/24 -- s=203.0.113.10/24\nc: default via 10.0.1.1\n";

const KINDS: [(&str, &str, &str); 5] = [
    ("port-restricted", "r [nat=eth1]", "udp-timeout=30s"),
    ("port-restricted, hairpin", "r [nat=eth1, hairpin]", "hairpin, udp-timeout=30s"),
    ("address-restricted", "r [nat=eth1, nat-type=address-restricted]", "nat-type=address-restricted, udp-timeout=30s"),
    ("full-cone", "r [nat=eth1, nat-type=full-cone]", "nat-type=full-cone, udp-timeout=30s"),
    ("symmetric", "r [nat=eth1, nat-type=symmetric]", "nat-type=symmetric, udp-timeout=30s"),
];

fn main() {
    netns_test::isolate().expect("isolate");
    let mut args = std::env::args().skip(1);
    let (mut reps, mut flows) = (25usize, 20usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().unwrap().parse().unwrap(),
            "--flows" => flows = args.next().unwrap().parse().unwrap(),
            _ => panic!("usage: nat [--reps K] [--flows N]"),
        }
    }
    println!("{reps} fresh networks per kind, {flows} UDP flows through the router in each; median (min–max), ms");
    println!(
        "\n| NAT | build, forward only | build with NAT | `on()` (install) | `set(..)` | `rebind()` | `mappings()` | `off()` |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, decl, change) in KINDS {
        let mut cols: Vec<Vec<Duration>> = vec![Vec::new(); 7];
        for _ in 0..reps {
            let plain = format!("{BASE}r [forward]");
            let with = format!("{BASE}{decl}");
            let times = in_fresh_netns(move || {
                let t = Instant::now();
                drop(Net::build(Topology::parse(&plain).unwrap()).unwrap());
                let build_plain = t.elapsed();
                let t = Instant::now();
                let net = Net::build(Topology::parse(&with).unwrap()).unwrap();
                let build_nat = t.elapsed();
                let server = net.node("s").run(|| UdpSocket::bind("203.0.113.10:5000").unwrap());
                let clients: Vec<UdpSocket> = (0..flows)
                    .map(|i| net.node("c").run(|| UdpSocket::bind(("10.0.1.2", 4000 + i as u16)).unwrap()))
                    .collect();
                for c in &clients {
                    c.send_to(b"x", "203.0.113.10:5000").unwrap();
                }
                server.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                for _ in &clients {
                    server.recv_from(&mut [0; 4]).expect("a flow did not cross the router");
                }
                let nat = net.node("r").nat();
                let time = |f: &dyn Fn()| {
                    let (t, cpu) = (Instant::now(), thread_cpu());
                    f();
                    if std::env::var_os("NAT_BENCH_CPU").is_some() {
                        return thread_cpu() - cpu;
                    }
                    t.elapsed()
                };
                let set = time(&|| nat.set(change).unwrap());
                let mappings = time(&|| assert_eq!(nat.mappings().len(), flows));
                let rebind = time(&|| nat.rebind().unwrap());
                let off = time(&|| nat.off().unwrap());
                let on = time(&|| nat.on().unwrap());
                vec![build_plain, build_nat, on, set, rebind, mappings, off]
            });
            for (col, t) in cols.iter_mut().zip(times) {
                col.push(t);
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        let cells: Vec<String> = cols
            .iter()
            .map(|c| {
                let s = stats(c);
                format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max)
            })
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
}

/// CPU time of the calling thread so far (user + system: the kernel's work in its system calls).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
