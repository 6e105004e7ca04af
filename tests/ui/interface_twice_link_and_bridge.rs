use netns_test::{netns_test, Net};

#[netns_test(topology = "a:eth0=10.0.0.1/24 -- b=10.0.0.2/24; bridge br0 { a:eth0=10.1.0.1/24, c=10.1.0.2/24 }")]
fn t(_net: &Net) {}

fn main() {}
