use netns_test::{netns_test, Net};

#[netns_test(topology = "a=fd00::1/64 -- b=fd00::2/64; a: default via fd00::2; a: ::/0 via fd00::3")]
fn t(_net: &Net) {}

fn main() {}
