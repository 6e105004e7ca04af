//! UDP hole punching: two hosts, each behind its own NAT router, open a direct path to each
//! other with the help of a rendezvous server on the public side.
//!
//! ```sh
//! cargo run -p netns-test --example nat_traversal              # port-restricted NATs: it works
//! cargo run -p netns-test --example nat_traversal -- full-cone # or address-restricted
//! cargo run -p netns-test --example nat_traversal -- symmetric # symmetric NATs: it fails (exit 1)
//! ```
//!
//! Rootless: the process moves itself into a fresh user + network namespace
//! ([`netns_test::isolate`]) and builds the topology there; nothing touches the host's network.
//! It exits with status 1 if the hole was not punched, 2 on a usage error, 3 if the topology
//! could not be built (no user namespaces: the message names the fix).

use netns_test::Net;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    // First thing, while the process has one thread: the kernel refuses a user namespace later.
    if let Err(e) = netns_test::isolate() {
        eprintln!("nat_traversal: {e}");
        return ExitCode::from(3);
    }
    let nat_type = std::env::args().nth(1).unwrap_or_else(|| "port-restricted".into());
    // alice and bob each sit behind a home router doing NAT on its public side (eth1); the
    // rendezvous server rv is on the public LAN with both routers.
    let text = format!(
        "
        bridge wan {{ ra:eth1=203.0.113.1/24, rb:eth1=203.0.113.2/24, rv=203.0.113.100/24 }}
        alice=10.0.1.2/24 -- ra:eth0=10.0.1.1/24
        bob=10.0.2.2/24 -- rb:eth0=10.0.2.1/24
        ra [nat=eth1, nat-type={nat_type}]
        rb [nat=eth1, nat-type={nat_type}]
        alice: default via 10.0.1.1
        bob: default via 10.0.2.1
        "
    );
    let topology = match netns_test::Topology::parse(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("nat_traversal: usage: nat_traversal [NAT-TYPE]\n{}", e.render(&text));
            return ExitCode::from(2);
        }
    };
    let net = match Net::build(topology) {
        Ok(net) => net,
        Err(e) => {
            eprintln!("nat_traversal: building the topology failed: {e}");
            return ExitCode::from(3);
        }
    };
    match punch(&net, &nat_type) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("nat_traversal: FAILED: {why}");
            ExitCode::FAILURE
        }
    }
}

/// A UDP socket bound in `node`: sockets keep the namespace they were made in, so the rest of
/// the program can use them from any thread.
fn socket(net: &Net, node: &str, addr: &str) -> UdpSocket {
    let s = net.node(node).run(|| UdpSocket::bind(addr)).unwrap_or_else(|e| panic!("bind {addr} in {node}: {e}"));
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    s
}

/// The next datagram on `s` within its read timeout: (text, sender), or None.
fn recv(s: &UdpSocket) -> Option<(String, SocketAddr)> {
    let mut buf = [0; 256];
    let (n, from) = s.recv_from(&mut buf).ok()?;
    Some((String::from_utf8_lossy(&buf[..n]).into_owned(), from))
}

fn punch(net: &Net, nat_type: &str) -> Result<(), String> {
    let rv = socket(net, "rv", "203.0.113.100:3478");
    let alice = socket(net, "alice", "10.0.1.2:4000");
    let bob = socket(net, "bob", "10.0.2.2:4000");
    println!("alice 10.0.1.2:4000 behind ra, bob 10.0.2.2:4000 behind rb, both NATs {nat_type}");

    // 1. Each registers with the rendezvous server, which sees them by their public endpoint
    //    (the NAT's mapping) and tells each the other's.
    alice.send_to(b"register alice", "203.0.113.100:3478").unwrap();
    let (_, alice_public) = recv(&rv).ok_or("the rendezvous server never heard alice")?;
    bob.send_to(b"register bob", "203.0.113.100:3478").unwrap();
    let (_, bob_public) = recv(&rv).ok_or("the rendezvous server never heard bob")?;
    println!("rendezvous: alice is {alice_public} outside, bob is {bob_public}");
    rv.send_to(bob_public.to_string().as_bytes(), alice_public).unwrap();
    rv.send_to(alice_public.to_string().as_bytes(), bob_public).unwrap();
    let peer_of = |s: &UdpSocket, who: &str| -> Result<SocketAddr, String> {
        let (text, _) = recv(s).ok_or(format!("{who} got no answer from the rendezvous server"))?;
        text.parse().map_err(|e| format!("{who} got {text:?} from the rendezvous server: {e}"))
    };
    let (bob_seen_by_alice, alice_seen_by_bob) = (peer_of(&alice, "alice")?, peer_of(&bob, "bob")?);

    // 2. Bob sends first: ra drops it (alice never sent to bob), but it opens rb for alice.
    //    A full-cone NAT lets anyone in through a mapping, so there it arrives.
    bob.send_to(b"hello from bob (1)", alice_seen_by_bob).unwrap();
    match (recv(&alice), nat_type == "full-cone") {
        (None, false) => {
            println!("bob -> alice: dropped by ra, as it should be (alice never sent to bob); rb is now open for her")
        }
        (Some((_, from)), true) => println!("bob -> alice: arrived from {from} (a full-cone NAT lets anyone in)"),
        (Some((_, from)), false) => {
            return Err(format!("alice heard bob's first packet (from {from}): ra let an unsolicited packet in"))
        }
        (None, true) => return Err("ra dropped bob's first packet: a full-cone NAT lets anyone in".into()),
    }

    // 3. Alice sends to bob's public endpoint: through rb's fresh hole, and it opens ra for bob.
    alice.send_to(b"hello from alice", bob_seen_by_alice).unwrap();
    let (text, from) = recv(&bob).ok_or(
        "bob never heard alice: rb dropped her packet (a symmetric NAT gives each destination a port \
         of its own, so ra sent it from another port than the one rb was opened for)",
    )?;
    println!("bob heard {text:?} from {from}");
    if from != alice_public {
        return Err(format!("bob heard alice from {from}, not from the endpoint the rendezvous saw ({alice_public})"));
    }

    // 4. Bob again: this time ra lets him in. Both directions work without the server.
    bob.send_to(b"hello from bob (2)", alice_seen_by_bob).unwrap();
    let (text, from) = recv(&alice).ok_or("alice never heard bob's second packet: ra dropped it")?;
    println!("alice heard {text:?} from {from}");
    if from != bob_public {
        return Err(format!("alice heard bob from {from}, not from {bob_public}"));
    }
    println!("hole punched: alice and bob now talk directly, each to the other's public endpoint");
    Ok(())
}
