use netns_test::{netns_test, Net};

#[netns_test(topology = "a — b")]
fn t(_net: &Net) {}

fn main() {}
