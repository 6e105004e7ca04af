use netns_test::{netns_test, Net};

#[netns_test(topology = "c=fd00::1/64 -- r:eth0=fd00::2/64; r:eth1=fd01::1/64 -- s=fd01::2/64; r [nat=eth1]")]
fn t(_net: &Net) {}

fn main() {}
