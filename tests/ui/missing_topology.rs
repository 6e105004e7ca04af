use netns_test::{netns_test, Net};

#[netns_test(node = "a")]
fn t(_net: &Net) {}

fn main() {}
