use netns_test::{netns_test, Net};

#[netns_test(topology = "
    # just a comment
    # and another
")]
fn t(_net: &Net) {}

fn main() {}
