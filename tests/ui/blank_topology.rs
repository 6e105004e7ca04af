use netns_test::{netns_test, Net};

#[netns_test(topology = "   ")]
fn t(_net: &Net) {}

fn main() {}
