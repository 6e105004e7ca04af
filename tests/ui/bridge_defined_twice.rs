use netns_test::{netns_test, Net};

#[netns_test(topology = "bridge br0 { a, b }; bridge br0 { c, d }")]
fn t(_net: &Net) {}

fn main() {}
