use netns_test::{netns_test, Net};

#[netns_test(topology = "a=::ffff:10.0.0.1/120 -- b=10.0.0.2/24")]
fn t(_net: &Net) {}

fn main() {}
