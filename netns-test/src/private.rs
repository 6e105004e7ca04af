//! Support for the code `#[netns_test]` generates. Not a public API.

pub use crate::process::{run, run_unit, run_unit_without_net, Body, ShouldPanic, Spec};
use std::fmt::Debug;

/// What a test body may return: `()` or `Result<(), E: Debug>`, as with `#[test]`.
pub trait IntoOutcome {
    fn into_outcome(self) -> Result<(), String>;
}

impl IntoOutcome for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Debug> IntoOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|e| {
            eprintln!("Error: {e:?}");
            format!("the test returned an error: {e:?}")
        })
    }
}

pub use crate::runtime::Flavor;

/// Runs an async test body on a current-thread runtime on the calling thread, so the runtime
/// and everything it creates live in the node.
#[cfg(feature = "tokio")]
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    crate::runtime::block_on(Flavor::CurrentThread, fut)
}

/// Installs NAT as plain `snat` without the mapping table that keeps it endpoint-independent,
/// to show in tests what goes wrong without it. Not a public API.
pub fn install_nat_without_mapping_table(
    node: &crate::api::Node,
    nat: &netns_test_topology::Nat,
) -> Result<(), String> {
    let table = crate::kernel::nft::nat::table_v4(nat, false).ok_or("the NAT has no `nat=`")?;
    let rules = crate::kernel::nft::Ruleset { tables: vec![table], ..Default::default() };
    node.run(|| crate::kernel::nft::send::install(&rules)).map_err(|r| format!("{}: {} {}", r.what, r.source, r.hint))
}

/// Waits, bringing nothing up, until both ends of `net.link(a, b)` are operationally up, for at
/// most `timeout`: to show in tests what a readiness timeout says. Not a public API.
pub fn wait_link_up(net: &crate::api::Net, a: &str, b: &str, timeout: std::time::Duration) -> crate::error::Result<()> {
    net.link(a, b).wait_up(timeout)
}

/// [`block_on`] for the boxed future of an async test body: not generic, so compiled once
/// rather than once per test.
#[cfg(feature = "tokio")]
pub fn block_on_outcome(
    fut: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + '_>>,
) -> Result<(), String> {
    block_on(fut)
}

/// [`block_on_outcome`] on a runtime of `flavor` whose threads are all in the node.
#[cfg(feature = "tokio")]
pub fn block_on_outcome_with(
    flavor: Flavor,
    fut: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + '_>>,
) -> Result<(), String> {
    crate::runtime::block_on(flavor, fut)
}

/// What `#[netns_test]` checks when its topology runs a DNS server (`d [dns]`): the server
/// needs this crate's `dns` feature.
#[diagnostic::on_unimplemented(
    message = "this topology runs a DNS server (`[dns]`), and netns-test was built without its `dns` feature",
    label = "a `[dns]` node in this topology",
    note = "enable the feature: `netns-test = {{ version = \"0.1\", features = [\"dns\"] }}` in Cargo.toml"
)]
pub trait DnsFeature {}

/// See [`DnsFeature`].
pub struct Dns;

#[cfg(feature = "dns")]
impl DnsFeature for Dns {}

/// Compiles only with the `dns` feature (see [`DnsFeature`]).
pub const fn require_dns<T: DnsFeature>() {}
