//! The fixture harness on the directory `FIXTURE_DIR`, for `tests/harness.rs` to run and judge.
//! With `FIXTURE_CHECK=fail`, a check of its own fails for every fixture that has a node `b`.

use netns_test::fixtures::Fixtures;
use std::time::Duration;

fn main() {
    let dir = std::env::var("FIXTURE_DIR").expect("set FIXTURE_DIR");
    let fail = std::env::var("FIXTURE_CHECK").as_deref() == Ok("fail");
    Fixtures::new(dir)
        .probe_timeout(Duration::from_millis(500))
        .check(move |net, path| {
            // Runs in the first node: its first address is there, so binding it works.
            let first = net.nodes()[0].addrs()[0];
            std::net::UdpSocket::bind((first, 0)).map_err(|e| format!("bind {first}: {e}"))?;
            match net.topology().node_index("b") {
                Some(_) if fail => Err(format!("{}: node b is not welcome", path.display())),
                _ => Ok(()),
            }
        })
        .run()
}
