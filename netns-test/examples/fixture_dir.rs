//! The fixture harness on a directory of topology files: each `*.topo` file under
//! `examples/fixtures/` is one test, which builds its topology and probes its `expect` lines
//! with real packets.
//!
//! ```sh
//! cargo run -p netns-test --example fixture_dir
//! cargo run -p netns-test --example fixture_dir -- home/     # libtest's arguments: a filter
//! cargo run -p netns-test --example fixture_dir -- --nocapture  # every expectation table
//! ```
//!
//! In a crate of your own this `main` is a test target with `harness = false`
//! (`[[test]] name = "topologies"  harness = false`), run by `cargo test`; see
//! [`netns_test::fixtures`]. The harness puts each trial in a sandboxed child process of its own,
//! as `#[netns_test]` does, so this program does not call `netns_test::isolate()` itself. It exits
//! with libtest's status: 101 if a trial failed. Where user namespaces are unavailable every
//! trial is reported as ignored, with the reason and its fix printed once, and the exit status is
//! 0, as for any ignored test; add `--include-ignored` (CI does) to make that a failure.

use netns_test::fixtures::Fixtures;
use std::time::Duration;

fn main() {
    // Relative to the crate directory (`CARGO_MANIFEST_DIR`, which `cargo run` and `cargo test` set).
    Fixtures::new("examples/fixtures")
        // How long each probe may take, and so how long a `-/->` waits to hold (default 2 s).
        .probe_timeout(Duration::from_millis(500))
        // A check of your own, run in each fixture's first node once its expectations held.
        .check(|net, path| {
            for node in net.nodes() {
                if node.ipv4().is_none() {
                    return Err(format!("{}: node {} has no IPv4 address", path.display(), node.name()));
                }
            }
            Ok(())
        })
        .run()
}
