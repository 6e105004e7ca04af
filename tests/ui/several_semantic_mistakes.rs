use netns_test::{netns_test, Net};

#[netns_test(topology = "
    h1=10.0.0.1/24 -- r=10.0.0.254/24
    bridge br0 { h2=10.1.0.2/24, r=10.1.0.2/24 }
    h2: default via 10.9.0.1
    h3: default via 10.0.0.254
    r -- r
    rr [forward]
")]
fn t(_net: &Net) {}

fn main() {}
