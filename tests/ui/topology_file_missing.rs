use netns_test::{netns_test, Net};

#[netns_test(topology_file = "no/such/file.topo")]
fn t(_net: &Net) {}

fn main() {}
