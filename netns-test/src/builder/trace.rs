//! Phase timings of a build, printed to stderr when `NETNS_TEST_TRACE=1`.
//!
//! ```ignore
//! let mut trace = Trace::from_env();
//! trace.mark("namespaces");
//! trace.report(topo); // netns-test: built 3 nodes, 1 bridges in 4.10 ms (namespaces 1.20, ...)
//! ```

use netns_test_topology::Topology;
use std::time::{Duration, Instant};

/// The start of a build and the end of each phase since, when tracing.
pub(super) struct Trace(Option<(Instant, Vec<(&'static str, Duration)>)>);

impl Trace {
    pub(super) fn from_env() -> Trace {
        Trace(crate::env::tracing().then(|| (Instant::now(), Vec::new())))
    }

    pub(super) fn mark(&mut self, phase: &'static str) {
        if let Some((start, marks)) = &mut self.0 {
            marks.push((phase, start.elapsed()));
        }
    }

    pub(super) fn report(&self, topo: &Topology) {
        let Some((_, marks)) = &self.0 else { return };
        let mut prev = Duration::ZERO;
        let phases: Vec<String> = marks
            .iter()
            .map(|(p, t)| {
                let d = *t - prev;
                prev = *t;
                format!("{p} {:.2}", d.as_secs_f64() * 1e3)
            })
            .collect();
        eprintln!(
            "netns-test: built {} nodes, {} bridges in {:.2} ms ({})",
            topo.nodes.len(),
            topo.bridges.len(),
            prev.as_secs_f64() * 1e3,
            phases.join(", ")
        );
    }
}
