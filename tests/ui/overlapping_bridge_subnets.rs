use netns_test::{netns_test, Net};

#[netns_test(topology = "bridge br0=10.0.0.254/24 { a, b }; bridge br1=10.0.0.253/16 { c, d }")]
fn t(_net: &Net) {}

fn main() {}
