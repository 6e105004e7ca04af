//! Item 3: N nodes on bridges, N = 1 … 1,000 (at most `--per-bridge` members per bridge, default
//! 250: N = 1,000 is four bridges), built in-process, each repetition on a fresh thread in a
//! fresh network namespace. Prints a table (with this process's peak RSS) and a least-squares
//! fit, checks that no link leaves the bridges' namespace (no moves), and writes a plot.
//!
//! `scale [--reps K] [--svg PATH] [--per-bridge M] [--sizes 1,10,100]`

use netns_test::{Net, Topology};
use netns_test_bench::MEMBERS_PER_BRIDGE;
use netns_test_bench::{bridge_topology, in_fresh_netns, linear_fit, peak_rss_kib, stats, LinkMonitor, Stats};
use plotters::prelude::*;
use std::time::{Duration, Instant};

const SIZES: [usize; 7] = [1, 10, 50, 100, 250, 500, 1000];

fn main() {
    netns_test::isolate().expect("isolate");
    let mut args = std::env::args().skip(1);
    let (mut reps, mut svg, mut per_bridge, mut sizes) =
        (7usize, "bench/scaling.svg".to_string(), MEMBERS_PER_BRIDGE, SIZES.to_vec());
    while let Some(a) = args.next() {
        let mut value = || args.next().expect("a value after the option");
        match a.as_str() {
            "--reps" => reps = value().parse().unwrap(),
            "--svg" => svg = value(),
            "--per-bridge" => per_bridge = value().parse().unwrap(),
            "--sizes" => sizes = value().split(',').map(|n| n.parse().unwrap()).collect(),
            _ => panic!("usage: scale [--reps K] [--svg PATH] [--per-bridge M] [--sizes 1,10,100]"),
        }
    }
    let max = netns_test::topology::Bridge::MAX_MEMBERS;
    assert!((1..=max).contains(&per_bridge), "--per-bridge {per_bridge}: a Linux bridge takes 1 to {max} members");

    // Warm-up: first-use costs (page faults, module autoload, kernel caches).
    for _ in 0..2 {
        in_fresh_netns(move || drop(Net::build(Topology::parse(&bridge_topology(10, per_bridge)).unwrap()).unwrap()));
    }

    println!("| N | bridges | build median (ms) | min–max (ms) | per node (ms) | CPU median (ms) | CPU per node (ms) | drop median (ms) | RTM_NEWLINK / RTM_DELLINK in bridge ns | peak RSS so far (MiB) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    let mut rows: Vec<(usize, Stats)> = Vec::new();
    let mut cpu_rows: Vec<(usize, Stats)> = Vec::new();
    for &n in &sizes {
        let src = bridge_topology(n, per_bridge);
        let mut builds = Vec::new();
        let mut cpus = Vec::new();
        let mut drops = Vec::new();
        let mut events = (0, 0, false);
        for _ in 0..reps {
            let src = src.clone();
            let (b, c, d, ev) = in_fresh_netns(move || {
                let topo = Topology::parse(&src).unwrap();
                let mon = LinkMonitor::new().expect("netlink monitor");
                let (t, cpu) = (Instant::now(), cpu_time());
                let net = Net::build(topo).expect("build");
                let (b, c) = (t.elapsed(), cpu_time() - cpu);
                let ev = mon.drain();
                assert_eq!(net.nodes().len(), n);
                let t = Instant::now();
                drop(net);
                (b, c, t.elapsed(), ev)
            });
            builds.push(b);
            cpus.push(c);
            drops.push(d);
            events = (events.0.max(ev.0), events.1.max(ev.1), events.2 || ev.2);
            // Let the kernel's asynchronous namespace cleanup (about 2 ms per namespace, holding
            // the rtnl lock) finish between repetitions, so each build is measured alone.
            std::thread::sleep(Duration::from_millis(50 + 20 * n as u64));
        }
        let s = stats(&builds);
        let c = stats(&cpus);
        let d = stats(&drops);
        assert_eq!(events.1, 0, "a link left the bridge namespace during a build (RTM_DELLINK seen)");
        println!(
            "| {n} | {} | {:.2} | {:.2}–{:.2} | {:.3} | {:.2} | {:.3} | {:.2} | {} / {}{} | {:.1} |",
            n.div_ceil(per_bridge),
            s.median,
            s.min,
            s.max,
            s.median / n as f64,
            c.median,
            c.median / n as f64,
            d.median,
            events.0,
            events.1,
            if events.2 { " (overrun)" } else { "" },
            peak_rss_kib() as f64 / 1024.0
        );
        rows.push((n, s));
        cpu_rows.push((n, c));
    }

    let xs: Vec<f64> = rows.iter().map(|(n, _)| *n as f64).collect();
    let ys: Vec<f64> = rows.iter().map(|(_, s)| s.median).collect();
    let (a, b, r2) = linear_fit(&xs, &ys);
    println!();
    println!("fit (medians): build_ms = {a:.2} + {b:.3} * N   (R^2 = {r2:.4}, {} repetitions per N)", reps);
    println!("marginal cost per node: {b:.3} ms (target <= 2 ms)");
    let cys: Vec<f64> = cpu_rows.iter().map(|(_, s)| s.median).collect();
    let (ca, cb, cr2) = linear_fit(&xs, &cys);
    println!("fit (CPU medians, this process's user + system time): cpu_ms = {ca:.2} + {cb:.3} * N   (R^2 = {cr2:.4})");

    plot(&svg, (&rows, (a, b, r2)), (&cpu_rows, (ca, cb, cr2)), per_bridge).expect("plot");
    println!("plot written to {svg}");
}

/// User + system CPU time of this process so far (all threads, kernel work in its system calls
/// included): less disturbed than wall time by other load on a shared machine.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

type Series<'a> = (&'a [(usize, Stats)], (f64, f64, f64));

/// Wall-time medians with min–max bars and their fit (red, blue), CPU-time medians and their
/// fit (green).
fn plot(path: &str, wall: Series, cpu: Series, per_bridge: usize) -> Result<(), Box<dyn std::error::Error>> {
    let (rows, (a, b, r2)) = wall;
    let (cpu_rows, (ca, cb, cr2)) = cpu;
    let xmax = rows.iter().map(|(n, _)| *n as f64).fold(0.0, f64::max) * 1.04;
    let root = SVGBackend::new(path, (720, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let ymax = rows.iter().map(|(_, s)| s.max).fold(0.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("netns-test: N nodes on bridges of ≤ {per_bridge}, build time"), ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0f64..xmax, 0f64..ymax)?;
    chart.configure_mesh().x_desc("N (nodes)").y_desc("build time (ms)").draw()?;
    chart
        .draw_series(LineSeries::new([(0.0, a), (xmax, a + b * xmax)], BLUE.stroke_width(2)))?
        .label(format!("wall fit: {a:.1} + {b:.3}·N ms (R² = {r2:.4})"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart.draw_series(
        rows.iter().map(|(n, s)| ErrorBar::new_vertical(*n as f64, s.min, s.median, s.max, BLACK.filled(), 8)),
    )?;
    chart
        .draw_series(rows.iter().map(|(n, s)| Circle::new((*n as f64, s.median), 4, RED.filled())))?
        .label("wall median (bar: min–max)")
        .legend(|(x, y)| Circle::new((x + 10, y), 4, RED.filled()));
    chart
        .draw_series(LineSeries::new([(0.0, ca), (xmax, ca + cb * xmax)], GREEN.stroke_width(1)))?
        .label(format!("CPU fit: {ca:.1} + {cb:.3}·N ms (R² = {cr2:.4})"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREEN.stroke_width(1)));
    chart
        .draw_series(cpu_rows.iter().map(|(n, s)| TriangleMarker::new((*n as f64, s.median), 5, GREEN.filled())))?
        .label("CPU time median (this process)")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 5, GREEN.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
