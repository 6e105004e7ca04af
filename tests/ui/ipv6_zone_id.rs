use netns_test::{netns_test, Net};

#[netns_test(topology = "a=fd00::1%eth0/64 -- b=fd00::2/64")]
fn t(_net: &Net) {}

fn main() {}
