//! The node API and the attribute's forms: async bodies, results, commands, threads, `node =`.

use netns_test::{netns_test, Net};
use netns_test_e2e::{interfaces_here, tcp_round_trip};
use std::net::IpAddr;

#[netns_test(topology = "a:ea=10.0.0.1/24|fd00::1/64 -- b:eb=10.0.0.2/24|fd00::2/64")]
fn addresses_and_interfaces(net: &Net) {
    let b = net.node("b");
    assert_eq!(b.name(), "b");
    assert_eq!(b.ipv4(), Some("10.0.0.2".parse().unwrap()));
    assert_eq!(b.ipv6(), Some("fd00::2".parse().unwrap()));
    assert_eq!(b.addrs(), ["10.0.0.2".parse::<IpAddr>().unwrap(), "fd00::2".parse().unwrap()]);
    assert_eq!(b.interface("eb").unwrap().addrs[0].to_string(), "10.0.0.2/24");
    assert!(b.interface("ea").is_none());
    assert_eq!(net.nodes().len(), 2);
    assert_eq!(net.topology().links.len(), 1);
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24", node = "b")]
fn body_runs_in_the_named_node(net: &Net) {
    assert_eq!(interfaces_here(), ["lo", "eb"]);
    assert_eq!(net.node("a").run(interfaces_here), ["lo", "ea"]);
    // run() puts the thread back where it was
    assert_eq!(interfaces_here(), ["lo", "eb"]);
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
fn no_argument_form() {
    assert_eq!(interfaces_here(), ["lo", "ea"]);
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
fn result_form(net: &Net) -> Result<(), std::io::Error> {
    net.ping("a", "10.0.0.2".parse().unwrap())?;
    Ok(())
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
fn spawn_runs_on_a_thread_in_the_node(net: &Net) {
    let h = net.node("b").spawn(|| (interfaces_here(), std::net::TcpListener::bind("10.0.0.2:9").is_ok()));
    assert_eq!(h.join().unwrap(), (vec!["lo".to_string(), "eb".to_string()], true));
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
fn panics_in_run_and_spawn_propagate(net: &Net) {
    let r = std::panic::catch_unwind(|| net.node("b").run(|| panic!("inside run")));
    assert!(r.is_err());
    assert_eq!(interfaces_here(), ["lo", "ea"], "a panic in run() still restores the namespace");
    assert!(net.node("b").spawn(|| panic!("inside spawn")).join().is_err());
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
fn command_runs_inside_the_node(net: &Net) {
    let out = net.node("b").command("cat").arg("/proc/self/net/dev").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("eb:") && !text.contains("ea:"), "{text}");
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
async fn async_body_with_tokio(net: &Net) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let std_listener = net.node("b").run(|| std::net::TcpListener::bind("10.0.0.2:7000").unwrap());
    std_listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
    let server = tokio::spawn(async move {
        let (mut s, peer) = listener.accept().await.unwrap();
        let mut buf = [0; 4];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
        peer
    });
    // The runtime runs in node a, so this socket leaves from a.
    let mut c = tokio::net::TcpStream::connect("10.0.0.2:7000").await.unwrap();
    c.write_all(b"ping").await.unwrap();
    let mut buf = [0; 4];
    c.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    assert_eq!(server.await.unwrap().ip(), "10.0.0.1".parse::<IpAddr>().unwrap());
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
async fn async_result_form() -> Result<(), std::io::Error> {
    let out = tokio::process::Command::new("cat").arg("/proc/self/net/dev").output().await?;
    assert!(String::from_utf8_lossy(&out.stdout).contains("ea:"));
    Ok(())
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
fn block_on_and_tokio_command(net: &Net) {
    let b = net.node("b");
    let out = b.block_on(async { b.tokio_command("cat").arg("/proc/self/net/dev").output().await.unwrap() });
    assert!(String::from_utf8_lossy(&out.stdout).contains("eb:"));
    let here = b.block_on(async { interfaces_here() });
    assert_eq!(here, ["lo", "eb"]);
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
#[should_panic(expected = "no node `c` in this topology; its nodes are: `a`, `b`")]
fn unknown_node_panics_with_the_real_names(net: &Net) {
    net.node("c");
}

#[should_panic(expected = "deliberate")]
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn should_panic_composes_either_order(net: &Net) {
    tcp_round_trip(net, "b", "10.0.0.2:1".parse().unwrap());
    panic!("deliberate");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
#[ignore = "shows that #[ignore] composes: never run by default"]
fn ignored_test_is_not_run() {
    panic!("an ignored test ran");
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn ping_to_an_absent_address_fails(net: &Net) {
    let err = net.node("a").ping("10.0.0.9".parse().unwrap(), std::time::Duration::from_millis(200)).unwrap_err();
    assert!(matches!(err.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::HostUnreachable), "{err}");
}

/// `Node::ping` resends like `ping -w`: the first echo is lost (b has no address then, while a
/// already knows b's MAC, so nothing holds the packet back), b gets its address 0.3 s later, and
/// the echo sent at 1 s is answered; its round-trip time is measured from its own send.
#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64")]
fn ping_resends_every_second_until_answered(net: &Net) {
    use std::time::{Duration, Instant};
    let b = net.node("b");
    for (addr, cidr) in [("10.0.0.2", "10.0.0.2/24"), ("fd00::2", "fd00::2/64")] {
        let to: IpAddr = addr.parse().unwrap();
        net.ping("a", to).expect("a resolves b's MAC");
        b.del_addr("eth0", cidr).unwrap();
        let start = Instant::now();
        let rtt = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                b.add_addr("eth0", cidr).unwrap();
            });
            net.node("a").ping(to, Duration::from_secs(3))
        })
        .unwrap_or_else(|e| panic!("{addr}: {e}"));
        let took = start.elapsed();
        assert!(took >= Duration::from_secs(1), "{addr}: answered after {took:?}: the first echo was not lost");
        assert!(rtt < Duration::from_millis(500), "{addr}: {rtt:?}, not measured from the answered echo's send");
    }
}

/// An unanswered ping still fails once its timeout has passed, naming the address and the timeout.
#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64")]
fn unanswered_ping_fails_after_its_timeout(net: &Net) {
    use std::time::{Duration, Instant};
    for addr in ["10.0.0.9", "fd00::9"] {
        let start = Instant::now();
        let err = net.node("a").ping(addr.parse().unwrap(), Duration::from_millis(1500)).unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
        assert_eq!(err.to_string(), format!("no echo reply from {addr} within 1.5s"));
        assert!((Duration::from_millis(1500)..Duration::from_millis(2500)).contains(&took), "{took:?}");
    }
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn loopback_is_up_in_every_node(net: &Net) {
    for n in net.nodes() {
        n.ping("127.0.0.1".parse().unwrap(), std::time::Duration::from_secs(1)).unwrap();
        n.ping("::1".parse().unwrap(), std::time::Duration::from_secs(1)).unwrap();
    }
}

/// Outside a netns test the host's namespaces are never touched: building is refused.
#[test]
fn building_outside_isolation_is_refused() {
    let err = Net::build("a=10.0.0.1/24 -- b=10.0.0.2/24".parse().unwrap()).unwrap_err();
    assert!(matches!(err, netns_test::Error::NotIsolated), "{err}");
    assert!(err.to_string().contains("netns_test::isolate()"), "{err}");
}

/// A parsed topology changed through its public fields so that it no longer holds together is
/// refused before anything is built, never indexed out of range (which would panic mid-build).
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn a_topology_broken_after_parsing_is_refused_before_building() {
    let mut topo: netns_test::Topology = "x=10.9.0.1/24 -- y=10.9.0.2/24; bridge br0 { z }".parse().unwrap();
    topo.links[0].b.iface = 3;
    let err = Net::build(topo.clone()).unwrap_err();
    assert!(matches!(err, netns_test::Error::InconsistentTopology(_)), "{err}");
    assert!(
        err.to_string().contains("link 0 (`x:eth0 -- ?`): its second end is interface 3 of the 1 of node `y`"),
        "{err}"
    );
    topo.links[0].b.iface = 0;
    topo.bridges[0].ports.push("b0p9".into());
    let err = Net::build(topo).unwrap_err();
    assert!(err.to_string().contains("bridge `br0`: 1 members (at most 1023), 2 ports, 1 conditions"), "{err}");
}

/// Through a re-export, `crate = ".."` names the runtime crate.
mod reexport {
    pub use netns_test as nt;

    #[nt::netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", crate = "crate::reexport::nt")]
    fn runs_through_a_reexported_crate(net: &nt::Net) {
        assert_eq!(net.nodes().len(), 2);
        net.node("a").ping("10.0.0.2".parse().unwrap(), std::time::Duration::from_secs(2)).unwrap();
    }
}

/// No test of this binary is registered twice (as a test attribute stacked with ours would do).
#[test]
fn no_test_is_listed_twice() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--list", "--format", "terse"])
        .output()
        .unwrap();
    let list = String::from_utf8(out.stdout).unwrap();
    let mut names: Vec<&str> = list.lines().filter_map(|l| l.strip_suffix(": test")).collect();
    assert!(names.len() > 5, "{list}");
    names.sort();
    let twice: Vec<_> = names.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    assert!(twice.is_empty(), "listed twice: {twice:?}");
}

/// A link with an MTU below IPv6's minimum (1,280) has no IPv6 at all, so there is no link-local
/// address to wait for: the build must not wait for one (it used to time out after 10 s).
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24 [mtu=1000]", timeout = "30s")]
fn a_link_below_ipv6s_minimum_mtu_builds_at_once(net: &Net) {
    net.ping("a", "10.0.0.2".parse().unwrap()).unwrap();
}
