use netns_test::{netns_test, Net};

#[netns_test(topology = "bridge br0 {\n    a=10.0.0.1/24,\n    { b=10.0.0.2/24 }\n}")]
fn t(_net: &Net) {}

fn main() {}
