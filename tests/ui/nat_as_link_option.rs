use netns_test::{netns_test, Net};

#[netns_test(topology = "c=10.0.1.2/24 -- r=10.0.1.1/24 [nat=eth0]")]
fn t(_net: &Net) {}

fn main() {}
