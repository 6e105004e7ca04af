use netns_test::{netns_test, Net};

#[netns_test(topology = "r=10.0.0.1/16 -- a=10.0.0.2/16; r=10.0.7.1/24 -- b=10.0.7.2/24")]
fn t(_net: &Net) {}

fn main() {}
