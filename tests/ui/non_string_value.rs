use netns_test::{netns_test, Net};

#[netns_test(topology = 42)]
fn t(_net: &Net) {}

fn main() {}
