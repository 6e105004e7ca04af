use netns_test::{netns_test, Net};

#[netns_test]
fn t(_net: &Net) {}

fn main() {}
