use netns_test::{netns_test, Net};

#[netns_test(topology = "bridge br0 { a=10.0.0.1/24 [reorder=5%], b=10.0.0.2/24 }")]
fn t(_net: &Net) {}

fn main() {}
