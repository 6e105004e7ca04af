use netns_test::{netns_test, Net};

#[netns_test(topology = "
    r [foward]
    h1=10.0.0.1/33 -- r:eth0=10.0.0.254/24
    bridge br0 { h2=10.1.0.2/24, r:averyveryverylongname=10.1.0.1/24 }
    h2: default 10.1.0.1
    h3 --
")]
fn t(_net: &Net) {}

fn main() {}
