use netns_test::{netns_test, Net};

#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64; a: fd01::/64 via 10.0.0.2")]
fn t(_net: &Net) {}

fn main() {}
