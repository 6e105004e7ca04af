use netns_test::{netns_test, Net};

#[netns_test(topology = "a=fd00::1/64 -- b=ff02::1/64")]
fn t(_net: &Net) {}

fn main() {}
