use netns_test::{netns_test, Net};

#[netns_test(topology = "a -- b\u{2028}c -- d")]
fn t(_net: &Net) {}

fn main() {}
