use netns_test::{netns_test, Net};

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24; a: 0.0.0.0/0 via 10.0.0.2; a: default via 10.0.0.3")]
fn t(_net: &Net) {}

fn main() {}
