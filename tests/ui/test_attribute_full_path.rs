use netns_test::netns_test;

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
#[core::prelude::v1::test]
fn core_path() {}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
#[::std::prelude::rust_2021::test]
fn std_path() {}

fn main() {}
