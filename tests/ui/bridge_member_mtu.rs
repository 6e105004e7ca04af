use netns_test::{netns_test, Net};

#[netns_test(topology = "bridge br0 { a=10.0.0.1/24 [mtu=1400], b=10.0.0.2/24 }")]
fn t(_net: &Net) {}

fn main() {}
