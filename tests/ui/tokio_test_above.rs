// #[tokio::test] expands first and leaves `#[::core::prelude::v1::test]` and its runtime.
use netns_test::netns_test;

#[tokio::test]
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
async fn t() {}

fn main() {}
