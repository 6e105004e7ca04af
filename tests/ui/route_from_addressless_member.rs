use netns_test::{netns_test, Net};

#[netns_test(topology = "bridge br0=10.5.0.254/24 { c=10.5.0.1/24, d }; d: default via 10.5.0.254")]
fn t(_net: &Net) {}

fn main() {}
