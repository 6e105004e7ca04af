use netns_test::{netns_test, Net};

#[netns_test(topology = "r:eth0=10.0.0.1/24 -- a=10.0.0.2/24; r:eth1=10.0.0.3/24 -- b=10.0.0.4/24")]
fn t(_net: &Net) {}

fn main() {}
