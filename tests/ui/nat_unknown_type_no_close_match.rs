use netns_test::{netns_test, Net};

#[netns_test(topology = "c=10.0.1.2/24 -- r:eth0=10.0.1.1/24; r:eth1=203.0.113.1/24 -- s=203.0.113.10/24; r [nat=eth1, nat-type=carrier-grade]")]
fn t(_net: &Net) {}

fn main() {}
