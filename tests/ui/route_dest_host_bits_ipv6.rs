use netns_test::{netns_test, Net};

#[netns_test(topology = "a=fd00::1/64 -- b=fd00::2/64; a: fd01::1/64 via fd00::2")]
fn t(_net: &Net) {}

fn main() {}
