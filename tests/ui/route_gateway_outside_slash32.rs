use netns_test::{netns_test, Net};

#[netns_test(topology = "a=10.0.0.1/32 -- b=10.0.0.2/32; a: default via 10.0.0.2")]
fn t(_net: &Net) {}

fn main() {}
