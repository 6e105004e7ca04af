use netns_test::{netns_test, Net};

#[netns_test(topology = "a=fd00::1/64 -- b=fd00::2/64; a: default via ::ffff:10.0.0.2")]
fn t(_net: &Net) {}

fn main() {}
