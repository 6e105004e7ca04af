use netns_test::{netns_test, Net};

#[netns_test(topology = "bridge br0 { }")]
fn t(_net: &Net) {}

fn main() {}
