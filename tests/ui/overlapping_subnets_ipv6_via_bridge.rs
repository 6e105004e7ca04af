use netns_test::{netns_test, Net};

#[netns_test(topology = "r=fd00::1/64 -- a=fd00::2/64\nbridge br0 { r=fd00::3/64, b=fd00::4/64 }")]
fn t(_net: &Net) {}

fn main() {}
