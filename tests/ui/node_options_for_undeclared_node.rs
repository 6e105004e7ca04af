use netns_test::{netns_test, Net};

#[netns_test(topology = "r [forward]")]
fn t(_net: &Net) {}

fn main() {}
