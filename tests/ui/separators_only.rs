use netns_test::{netns_test, Net};

#[netns_test(topology = ";; ;\n;")]
fn t(_net: &Net) {}

fn main() {}
