use netns_test::{netns_test, Net};

#[netns_test(topology = "
    a=10.0.0.1/24 -- b=10.0.0.1/24 [mut=1400]
    c=10.0.0.3/33 -- c
    h1: default via 10.9.0.1
")]
fn t(_net: &Net) {}

fn main() {}
