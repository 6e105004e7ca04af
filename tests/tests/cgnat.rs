//! Carrier-grade NAT (the README's recipe): home NATs behind carrier NATs in the shared address
//! space 100.64.0.0/10 (RFC 6598), and UDP hole punching between two homes, each cell of the
//! matrix a real attempt: the four home NAT types × both homes behind the same carrier or behind
//! different carriers (`tests/topologies/cgnat.topo`).

use netns_test::{netns_test, Net};
use netns_test_e2e::hole_punch;
use std::net::UdpSocket;
use std::time::Duration;

/// `(home NAT type, same carrier?)` → whether both peers heard each other.
const EXPECTED: [(&str, bool, bool); 8] = [
    ("pr", true, true),
    ("pr", false, true),
    ("ar", true, true),
    ("ar", false, true),
    ("fc", true, true),
    ("fc", false, true),
    ("sy", true, false),
    ("sy", false, false),
];

#[netns_test(topology_file = "topologies/cgnat.topo", node = "rv")]
fn hole_punching_between_homes_behind_carrier_grade_nats(net: &Net) {
    let results: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> = EXPECTED
            .iter()
            .enumerate()
            .map(|(i, &(t, same, _))| {
                let rv = UdpSocket::bind(("203.0.113.100", 3478 + i as u16)).unwrap();
                let (a, b) = if same { ("same-a", "same-b") } else { ("diff-a", "diff-b") };
                let (a, b) = (format!("{t}-{a}-peer"), format!("{t}-{b}-peer"));
                s.spawn(move || (t, same, hole_punch(net, rv, &a, &b, Duration::ZERO)))
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut wrong = Vec::new();
    for ((t, same, (heard, (a_out, b_out))), (_, _, want)) in results.iter().zip(EXPECTED) {
        // Both homes behind cg1 share its address; behind different carriers they do not.
        let carriers = (a_out.ip().to_string(), b_out.ip().to_string());
        let want_carriers = if *same { ("203.0.113.1", "203.0.113.1") } else { ("203.0.113.1", "203.0.113.2") };
        assert_eq!((carriers.0.as_str(), carriers.1.as_str()), want_carriers, "{t} same={same}");
        if *heard != (want, want) {
            wrong.push(format!(
                "{t}, {}: heard {heard:?}, expected {:?}",
                if *same { "same carrier" } else { "different carriers" },
                (want, want)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
