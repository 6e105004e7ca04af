//! Where to draw a topology: a box per node and bridge, a line per link, each box placed by a
//! deterministic force-directed layout (Fruchterman-Reingold from a circle), so the same
//! topology always gives the same picture; beyond 200 boxes a plain grid. Pure: the CLI's
//! `graph` draws it as SVG or Graphviz text, and a failing test's report page draws it
//! coloured by the network's state.
//!
//! ```
//! use netns_test_topology::{layout, Topology};
//!
//! let t = Topology::parse("bridge br0 { a=10.0.0.1/24, b=10.0.0.2/24 }").unwrap();
//! let scene = layout::scene(&t);
//! assert_eq!(scene.vertices.len(), 3); // a, b, then the bridge
//! assert_eq!(scene.vertices[2].what, layout::Place::Bridge(0));
//! assert_eq!(scene.edges[1].what, layout::Wire::Member { bridge: 0, member: 1 });
//! assert!(scene.vertices.iter().all(|v| (0.0..=scene.side).contains(&v.x)));
//! ```

use crate::{IfaceRef, Topology};

/// A box in the picture: a node or a bridge, centred on `(x, y)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vertex {
    /// The node's name, or `bridge NAME`.
    pub title: String,
    /// Under the title: a node's routes, a bridge's addresses.
    pub lines: Vec<String>,
    pub what: Place,
    pub x: f64,
    pub y: f64,
}

/// What a [`Vertex`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `Topology::nodes[i]`
    Node(usize),
    /// `Topology::bridges[i]`
    Bridge(usize),
}

/// A line between two vertices (indices into [`Scene::vertices`]) with a label at each end: the
/// interface's name and addresses (a bridge's end: its port's name).
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub a: usize,
    pub b: usize,
    pub label_a: Vec<String>,
    pub label_b: Vec<String>,
    pub what: Wire,
}

/// What an [`Edge`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// `Topology::links[i]`: end `a` is the link's `a`.
    Link(usize),
    /// Member `member` of bridge `bridge`: end `a` is the node's interface, `b` the bridge.
    Member { bridge: usize, member: usize },
}

/// A topology laid out in `[0, side]²`: nodes first, then bridges.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub vertices: Vec<Vertex>,
    pub edges: Vec<Edge>,
    pub side: f64,
}

/// Lays `t` out.
pub fn scene(t: &Topology) -> Scene {
    let mut vertices: Vec<Vertex> = t
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| Vertex {
            title: n.name.clone(),
            lines: n
                .routes
                .iter()
                .map(|r| format!("{} via {}", r.dest.map_or("default".into(), |d| d.to_string()), r.via))
                .collect(),
            what: Place::Node(i),
            x: 0.0,
            y: 0.0,
        })
        .collect();
    vertices.extend(t.bridges.iter().enumerate().map(|(i, b)| Vertex {
        title: format!("bridge {}", b.name),
        lines: b.addrs.iter().map(|a| a.to_string()).collect(),
        what: Place::Bridge(i),
        x: 0.0,
        y: 0.0,
    }));
    let end = |r: IfaceRef| {
        let i = t.iface(r);
        std::iter::once(i.name.clone()).chain(i.addrs.iter().map(|a| a.to_string())).collect::<Vec<_>>()
    };
    let mut edges: Vec<Edge> = t
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| Edge { a: l.a.node, b: l.b.node, label_a: end(l.a), label_b: end(l.b), what: Wire::Link(i) })
        .collect();
    for (bi, b) in t.bridges.iter().enumerate() {
        for (mi, (m, port)) in b.members.iter().zip(&b.ports).enumerate() {
            edges.push(Edge {
                a: m.node,
                b: t.nodes.len() + bi,
                label_a: end(*m),
                label_b: vec![port.clone()],
                what: Wire::Member { bridge: bi, member: mi },
            });
        }
    }
    let pairs: Vec<(usize, usize)> = edges.iter().map(|e| (e.a, e.b)).collect();
    let (pos, side) = positions(vertices.len(), &pairs);
    for (v, (x, y)) in vertices.iter_mut().zip(pos) {
        (v.x, v.y) = (x, y);
    }
    Scene { vertices, edges, side }
}

/// Approximate width and height of multi-line 11 px sans-serif text.
pub fn text_size(lines: &[String]) -> (f64, f64) {
    (lines.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f64 * 6.8 + 4.0, lines.len() as f64 * 13.0 + 4.0)
}

/// Positions of `n` boxes' centres joined by `edges`, inside `[0, side]²`.
fn positions(n: usize, edges: &[(usize, usize)]) -> (Vec<(f64, f64)>, f64) {
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
    let k = (side * side / n.max(1) as f64).sqrt() * 0.6;
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
        for &(a, b) in edges {
            let (dx, dy) = (p[a].0 - p[b].0, p[a].1 - p[b].1);
            let dist = (dx * dx + dy * dy).sqrt().max(1.0);
            let f = dist * dist / k;
            d[a].0 -= dx / dist * f;
            d[a].1 -= dy / dist * f;
            d[b].0 += dx / dist * f;
            d[b].1 += dy / dist * f;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_topology_gives_the_same_picture_with_every_box_inside() {
        let t = Topology::parse("a -- r:eth0; r:eth1 -- b; bridge br0 { r:eth2, c, d }").unwrap();
        let (s1, s2) = (scene(&t), scene(&t));
        assert_eq!(s1, s2);
        assert_eq!(s1.vertices.len(), 6);
        assert_eq!(s1.edges.len(), 5);
        assert_eq!(s1.edges[0].what, Wire::Link(0));
        assert_eq!(s1.edges[0].label_a, ["eth0"]);
        assert_eq!(s1.edges[4].label_b, ["b0p2"]);
        for v in &s1.vertices {
            assert!((0.0..=s1.side).contains(&v.x) && (0.0..=s1.side).contains(&v.y), "{v:?}");
        }
        let apart = |i: usize, j: usize| {
            let (a, b) = (&s1.vertices[i], &s1.vertices[j]);
            ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
        };
        assert!(apart(0, 1) > 50.0, "boxes are spread out");
    }

    #[test]
    fn two_boxes_fit_and_many_go_on_a_grid() {
        let one = scene(&Topology::parse("bridge br0 { a }").unwrap());
        assert!(one.vertices.iter().all(|v| v.x > 0.0 && v.y > 0.0), "{one:?}");
        let members: Vec<String> = (0..250).map(|i| format!("n{i}")).collect();
        let big = scene(&Topology::parse(&format!("bridge br0 {{ {} }}", members.join(", "))).unwrap());
        assert_eq!(big.vertices.len(), 251);
        assert!(big.vertices.iter().all(|v| v.x > 0.0 && v.x < big.side && v.y < big.side));
    }
}
