//! `netns-test graph`: a topology as a picture, drawn here (SVG) or by Graphviz (`--dot`).
//!
//! Nodes are boxes (routers, `[forward]`, in orange), bridges are blue boxes, and every link end
//! is labelled with its interface name and addresses. The layout is a deterministic
//! force-directed one (Fruchterman-Reingold from a circle), so the same file always gives the
//! same picture; beyond 200 boxes it is a plain grid.

use netns_test::topology::layout::{self, Place, Scene};
use netns_test::topology::Topology;
use std::fmt::Write;

/// The fill of a box: routers (`[forward]`) orange, bridges blue, other nodes grey.
fn fill(t: &Topology, what: Place) -> &'static str {
    match what {
        Place::Node(i) if t.nodes[i].forward => "#fde2c4",
        Place::Node(_) => "#f2f2f2",
        Place::Bridge(_) => "#cfe3fa",
    }
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

/// The topology as a standalone SVG document.
pub(crate) fn svg(t: &Topology) -> String {
    let Scene { vertices: vs, edges: es, side } = layout::scene(t);
    let pos: Vec<(f64, f64)> = vs.iter().map(|v| (v.x, v.y)).collect();
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
            let (w, h) = layout::text_size(label);
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
        let (w, h) = layout::text_size(&lines);
        let (w, h) = (w + 12.0, h + 8.0);
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" rx="6" fill="{}" stroke="#333"/>"##,
            x - w / 2.0,
            y - h / 2.0,
            fill(t, v.what)
        );
        text(&mut out, *x, *y, &lines, true);
    }
    out.push_str("</svg>\n");
    out
}

/// The topology as Graphviz text: `netns-test graph FILE --dot | dot -Tsvg`.
pub(crate) fn dot(t: &Topology) -> String {
    let Scene { vertices: vs, edges: es, .. } = layout::scene(t);
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"));
    let mut out = String::from("graph topology {\n  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\"];\n  edge [fontname=\"sans-serif\", fontsize=10];\n");
    for (i, v) in vs.iter().enumerate() {
        let label =
            std::iter::once(v.title.as_str()).chain(v.lines.iter().map(String::as_str)).collect::<Vec<_>>().join("\n");
        let _ = writeln!(out, "  v{i} [label={}, fillcolor={}];", q(&label), q(fill(t, v.what)));
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
