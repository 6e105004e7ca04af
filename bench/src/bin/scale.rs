//! Item 3: N nodes on one bridge, N = 1, 10, 50, 100, 250, built in-process, each repetition on
//! a fresh thread in a fresh network namespace. Prints a table and a least-squares fit, checks
//! that no link leaves the bridge's namespace (no moves), and writes a plot.
//!
//! `scale [--reps K] [--svg PATH]`

use netns_test::{Net, Topology};
use netns_test_bench::{bridge_topology, in_fresh_netns, linear_fit, stats, LinkMonitor, Stats};
use plotters::prelude::*;
use std::time::{Duration, Instant};

const SIZES: [usize; 5] = [1, 10, 50, 100, 250];

fn main() {
    netns_test::isolate().expect("isolate");
    let mut args = std::env::args().skip(1);
    let (mut reps, mut svg) = (7usize, "bench/scaling.svg".to_string());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().unwrap().parse().unwrap(),
            "--svg" => svg = args.next().unwrap(),
            _ => panic!("usage: scale [--reps K] [--svg PATH]"),
        }
    }

    // Warm-up: first-use costs (page faults, module autoload, kernel caches).
    for _ in 0..2 {
        in_fresh_netns(|| drop(Net::build(Topology::parse(&bridge_topology(10)).unwrap()).unwrap()));
    }

    println!("| N | build median (ms) | min–max (ms) | per node (ms) | drop median (ms) | RTM_NEWLINK / RTM_DELLINK in bridge ns |");
    println!("|---:|---:|---:|---:|---:|---|");
    let mut rows: Vec<(usize, Stats)> = Vec::new();
    for &n in &SIZES {
        let src = bridge_topology(n);
        let mut builds = Vec::new();
        let mut drops = Vec::new();
        let mut events = (0, 0, false);
        for _ in 0..reps {
            let src = src.clone();
            let (b, d, ev) = in_fresh_netns(move || {
                let topo = Topology::parse(&src).unwrap();
                let mon = LinkMonitor::new().expect("netlink monitor");
                let t = Instant::now();
                let net = Net::build(topo).expect("build");
                let b = t.elapsed();
                let ev = mon.drain();
                assert_eq!(net.nodes().len(), n);
                let t = Instant::now();
                drop(net);
                (b, t.elapsed(), ev)
            });
            builds.push(b);
            drops.push(d);
            events = (events.0.max(ev.0), events.1.max(ev.1), events.2 || ev.2);
            // Let the kernel's asynchronous namespace cleanup (about 2 ms per namespace, holding
            // the rtnl lock) finish between repetitions, so each build is measured alone.
            std::thread::sleep(Duration::from_millis(50 + 8 * n as u64));
        }
        let s = stats(&builds);
        let d = stats(&drops);
        assert_eq!(events.1, 0, "a link left the bridge namespace during a build (RTM_DELLINK seen)");
        println!(
            "| {n} | {:.2} | {:.2}–{:.2} | {:.3} | {:.2} | {} / {}{} |",
            s.median,
            s.min,
            s.max,
            s.median / n as f64,
            d.median,
            events.0,
            events.1,
            if events.2 { " (overrun)" } else { "" }
        );
        rows.push((n, s));
    }

    let xs: Vec<f64> = rows.iter().map(|(n, _)| *n as f64).collect();
    let ys: Vec<f64> = rows.iter().map(|(_, s)| s.median).collect();
    let (a, b, r2) = linear_fit(&xs, &ys);
    println!();
    println!("fit (medians): build_ms = {a:.2} + {b:.3} * N   (R^2 = {r2:.4}, {} repetitions per N)", reps);
    println!("marginal cost per node: {b:.3} ms (target <= 2 ms)");

    plot(&svg, &rows, a, b, r2).expect("plot");
    println!("plot written to {svg}");
}

fn plot(path: &str, rows: &[(usize, Stats)], a: f64, b: f64, r2: f64) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (720, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let ymax = rows.iter().map(|(_, s)| s.max).fold(0.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption("netns-test: N nodes on one bridge, build time", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0f64..260f64, 0f64..ymax)?;
    chart.configure_mesh().x_desc("N (nodes)").y_desc("build time (ms)").draw()?;
    chart
        .draw_series(LineSeries::new([(0.0, a), (260.0, a + b * 260.0)], BLUE.stroke_width(2)))?
        .label(format!("fit: {a:.2} + {b:.3}·N ms (R² = {r2:.4})"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart.draw_series(
        rows.iter().map(|(n, s)| ErrorBar::new_vertical(*n as f64, s.min, s.median, s.max, BLACK.filled(), 8)),
    )?;
    chart
        .draw_series(rows.iter().map(|(n, s)| Circle::new((*n as f64, s.median), 4, RED.filled())))?
        .label("median (bar: min–max)")
        .legend(|(x, y)| Circle::new((x + 10, y), 4, RED.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
