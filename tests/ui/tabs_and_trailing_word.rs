use netns_test::{netns_test, Net};

#[netns_test(topology = "\t\tbridge\tbr0\t{\ta=10.0.0.1/24,\tb=10.0.0.2/24\t}\tx")]
fn t(_net: &Net) {}

fn main() {}
