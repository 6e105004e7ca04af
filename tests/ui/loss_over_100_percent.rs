use netns_test::{netns_test, Net};

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24 [loss=101%]")]
fn t(_net: &Net) {}

fn main() {}
