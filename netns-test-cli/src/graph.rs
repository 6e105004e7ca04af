//! `netns-test graph`: a topology as a picture, drawn here (SVG) or by Graphviz (`--dot`).
//!
//! Nodes are boxes (routers, `[forward]`, in orange), bridges are blue boxes, and every link end
//! is labelled with its interface name and addresses. The layout is a deterministic
//! force-directed one (Fruchterman-Reingold from a circle), so the same file always gives the
//! same picture; beyond 200 boxes it is a plain grid.

use netns_test::topology::Topology;
use std::fmt::Write;

/// A box in the picture: a node or a bridge.
struct Vertex {
    title: String,
    lines: Vec<String>,
    fill: &'static str,
}

/// A line between two boxes with a label at each end.
struct Edge {
    a: usize,
    b: usize,
    label_a: Vec<String>,
    label_b: Vec<String>,
}

/// Boxes and lines of a topology: nodes first, then bridges.
fn scene(t: &Topology) -> (Vec<Vertex>, Vec<Edge>) {
    let mut vs: Vec<Vertex> = t
        .nodes
        .iter()
        .map(|n| Vertex {
            title: n.name.clone(),
            lines: n
                .routes
                .iter()
                .map(|r| format!("{} via {}", r.dest.map_or("default".into(), |d| d.to_string()), r.via))
                .collect(),
            fill: if n.forward { "#fde2c4" } else { "#f2f2f2" },
        })
        .collect();
    vs.extend(t.bridges.iter().map(|b| Vertex {
        title: format!("bridge {}", b.name),
        lines: b.addrs.iter().map(|a| a.to_string()).collect(),
        fill: "#cfe3fa",
    }));
    let end = |r: netns_test::topology::IfaceRef| {
        let i = t.iface(r);
        std::iter::once(i.name.clone()).chain(i.addrs.iter().map(|a| a.to_string())).collect::<Vec<_>>()
    };
    let mut es: Vec<Edge> =
        t.links.iter().map(|l| Edge { a: l.a.node, b: l.b.node, label_a: end(l.a), label_b: end(l.b) }).collect();
    for (bi, b) in t.bridges.iter().enumerate() {
        for (m, port) in b.members.iter().zip(&b.ports) {
            es.push(Edge { a: m.node, b: t.nodes.len() + bi, label_a: end(*m), label_b: vec![port.clone()] });
        }
    }
    (vs, es)
}

/// Positions of the boxes' centres, inside `[0, side]²`.
fn layout(n: usize, edges: &[Edge]) -> (Vec<(f64, f64)>, f64) {
    let side = 260.0 * (n as f64).sqrt() + 240.0;
    if n > 200 {
        let cols = (n as f64).sqrt().ceil() as usize;
        let step = side / cols as f64;
        return (
            (0..n).map(|i| ((i % cols) as f64 * step + step / 2.0, (i / cols) as f64 * step + step / 2.0)).collect(),
            side,
        );
    }
    let mut p: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            (side / 2.0 + side / 3.0 * a.cos(), side / 2.0 + side / 3.0 * a.sin())
        })
        .collect();
    let k = (side * side / n as f64).sqrt() * 0.6;
    let iterations = 250;
    for it in 0..iterations {
        let temp = side / 8.0 * (1.0 - it as f64 / iterations as f64) + 1.0;
        let mut d = vec![(0.0, 0.0); n];
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let (dx, dy) = (p[i].0 - p[j].0, p[i].1 - p[j].1);
                    let dist = (dx * dx + dy * dy).sqrt().max(1.0);
                    let f = k * k / dist;
                    d[i].0 += dx / dist * f;
                    d[i].1 += dy / dist * f;
                }
            }
        }
        for e in edges {
            let (dx, dy) = (p[e.a].0 - p[e.b].0, p[e.a].1 - p[e.b].1);
            let dist = (dx * dx + dy * dy).sqrt().max(1.0);
            let f = dist * dist / k;
            d[e.a].0 -= dx / dist * f;
            d[e.a].1 -= dy / dist * f;
            d[e.b].0 += dx / dist * f;
            d[e.b].1 += dy / dist * f;
        }
        for (pi, di) in p.iter_mut().zip(&d) {
            let len = (di.0 * di.0 + di.1 * di.1).sqrt().max(1e-9);
            pi.0 += di.0 / len * len.min(temp);
            pi.1 += di.1 / len * len.min(temp);
        }
    }
    // Fit into the canvas with a margin for labels.
    let (minx, maxx) = p.iter().fold((f64::MAX, f64::MIN), |(a, b), q| (a.min(q.0), b.max(q.0)));
    let (miny, maxy) = p.iter().fold((f64::MAX, f64::MIN), |(a, b), q| (a.min(q.1), b.max(q.1)));
    let margin = 130.0;
    let scale = |v: f64, lo: f64, hi: f64| {
        if hi - lo < 1.0 {
            side / 2.0
        } else {
            margin + (v - lo) / (hi - lo) * (side - 2.0 * margin)
        }
    };
    (p.iter().map(|q| (scale(q.0, minx, maxx), scale(q.1, miny, maxy))).collect(), side)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Multi-line text centred on `(x, y)`.
fn text(out: &mut String, x: f64, y: f64, lines: &[String], first_bold: bool) {
    let top = y - (lines.len() as f64 - 1.0) * 6.5;
    let _ = write!(out, r#"<text x="{x:.1}" y="{top:.1}" text-anchor="middle" dominant-baseline="middle">"#);
    for (i, l) in lines.iter().enumerate() {
        let weight = if i == 0 && first_bold { r#" font-weight="bold""# } else { "" };
        let dy = if i == 0 { 0.0 } else { 13.0 };
        let _ = write!(out, r#"<tspan x="{x:.1}" dy="{dy}"{weight}>{}</tspan>"#, esc(l));
    }
    out.push_str("</text>\n");
}

/// Approximate width and height of multi-line 11 px text.
fn size(lines: &[String]) -> (f64, f64) {
    (lines.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f64 * 6.8 + 4.0, lines.len() as f64 * 13.0 + 4.0)
}

/// The topology as a standalone SVG document.
pub(crate) fn svg(t: &Topology) -> String {
    let (vs, es) = scene(t);
    let (pos, side) = layout(vs.len(), &es);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{side:.0}" height="{side:.0}" viewBox="0 0 {side:.0} {side:.0}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
"#
    );
    for e in &es {
        let (a, b) = (pos[e.a], pos[e.b]);
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#555" stroke-width="1.5"/>"##,
            a.0, a.1, b.0, b.1
        );
    }
    for e in &es {
        let (a, b) = (pos[e.a], pos[e.b]);
        let at = |f: f64| (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f);
        for (f, label) in [(0.3, &e.label_a), (0.75, &e.label_b)] {
            let (x, y) = at(f);
            let (w, h) = size(label);
            // A white card under the label, so lines never cross the text.
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" fill="white" fill-opacity="0.9"/>"#,
                x - w / 2.0,
                y - h / 2.0
            );
            text(&mut out, x, y, label, false);
        }
    }
    for (v, (x, y)) in vs.iter().zip(&pos) {
        let lines: Vec<String> = std::iter::once(v.title.clone()).chain(v.lines.iter().cloned()).collect();
        let (w, h) = size(&lines);
        let (w, h) = (w + 12.0, h + 8.0);
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" rx="6" fill="{}" stroke="#333"/>"##,
            x - w / 2.0,
            y - h / 2.0,
            v.fill
        );
        text(&mut out, *x, *y, &lines, true);
    }
    out.push_str("</svg>\n");
    out
}

/// The topology as Graphviz text: `netns-test graph FILE --dot | dot -Tsvg`.
pub(crate) fn dot(t: &Topology) -> String {
    let (vs, es) = scene(t);
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"));
    let mut out = String::from("graph topology {\n  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\"];\n  edge [fontname=\"sans-serif\", fontsize=10];\n");
    for (i, v) in vs.iter().enumerate() {
        let label =
            std::iter::once(v.title.as_str()).chain(v.lines.iter().map(String::as_str)).collect::<Vec<_>>().join("\n");
        let _ = writeln!(out, "  v{i} [label={}, fillcolor={}];", q(&label), q(v.fill));
    }
    for e in &es {
        let _ = writeln!(
            out,
            "  v{} -- v{} [taillabel={}, headlabel={}];",
            e.a,
            e.b,
            q(&e.label_a.join("\n")),
            q(&e.label_b.join("\n"))
        );
    }
    out.push_str("}\n");
    out
}
