//! Every `*.topo` file of the workspace's `fixtures/` directory as one trial: built in its own
//! sandbox, its `expect` lines probed with real packets (`cargo test --test fixtures`).

fn main() {
    netns_test::fixtures::run("../fixtures")
}
