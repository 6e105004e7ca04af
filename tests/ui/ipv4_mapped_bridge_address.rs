use netns_test::{netns_test, Net};

#[netns_test(topology = "bridge br0=::ffff:10.0.0.254/120 { a, b }")]
fn t(_net: &Net) {}

fn main() {}
