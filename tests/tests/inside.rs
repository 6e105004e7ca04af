//! What a node looks like from inside: `/proc/net`, `/sys/class/net`, names, hostname and
//! settled IPv6 are the node's, for the body, `run`, `spawn` and programs from `command`.

use netns_test::{netns_test, Net};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The interface names in `/proc/net/dev`-style text.
fn devices(dev: &str) -> Vec<String> {
    let mut d: Vec<String> = dev.lines().skip(2).filter_map(|l| l.split(':').next()).map(|s| s.trim().into()).collect();
    d.sort();
    d
}

/// The entries of `/sys/class/net`, sorted.
fn sys_class_net() -> Vec<String> {
    let mut d: Vec<String> = std::fs::read_dir("/sys/class/net")
        .expect("read /sys/class/net")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    d.sort();
    d
}

/// The interfaces in the first column of `/proc/net/route`.
fn route_devices(route: &str) -> Vec<String> {
    route.lines().skip(1).filter_map(|l| l.split_whitespace().next()).map(String::from).collect()
}

fn output(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[netns_test(topology = "bridge br0 { a=10.1.0.1/24, b=10.1.0.2/24 }")]
fn proc_net_and_sys_in_a_body_with_bridges() {
    // The process's main thread is in the bridges' namespace; the body must not see it.
    assert_eq!(route_devices(&read("/proc/net/route")), ["eth0"]);
    assert_eq!(devices(&read("/proc/self/net/dev")), ["eth0", "lo"]);
    assert!(read("/proc/net/if_inet6").lines().all(|l| l.ends_with("eth0") || l.ends_with("lo")));
    assert_eq!(sys_class_net(), ["eth0", "lo"]);
    assert_eq!(read("/sys/class/net/eth0/operstate").trim(), "up");
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24 [mtu=1400]", node = "b")]
fn proc_net_and_sys_everywhere_in_a_node(net: &Net) {
    // The body, placed with `node =`.
    assert_eq!(devices(&read("/proc/net/dev")), ["eb", "lo"]);
    assert_eq!(sys_class_net(), ["eb", "lo"]);
    assert_eq!(read("/sys/class/net/eb/mtu").trim(), "1400");
    assert_eq!(
        read("/sys/class/net/eb/ifindex").trim(),
        read("/proc/net/if_inet6")
            .lines()
            .find(|l| l.ends_with("eb"))
            .map(|l| u32::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap().to_string())
            .unwrap()
    );
    let a = net.node("a");
    // Node::run
    let (dev, route, sys, mtu) =
        a.run(|| (read("/proc/self/net/dev"), read("/proc/net/route"), sys_class_net(), read("/sys/class/net/ea/mtu")));
    assert_eq!(
        (devices(&dev), route_devices(&route), sys, mtu.trim()),
        (vec!["ea".into(), "lo".into()], vec!["ea".into()], vec!["ea".to_string(), "lo".into()], "1400")
    );
    // ... and back.
    assert_eq!(devices(&read("/proc/net/dev")), ["eb", "lo"]);
    assert_eq!(sys_class_net(), ["eb", "lo"]);
    // Node::spawn
    let (dev, sys) = a.spawn(|| (read("/proc/net/dev"), sys_class_net())).join().unwrap();
    assert_eq!((devices(&dev), sys), (vec!["ea".to_string(), "lo".into()], vec!["ea".to_string(), "lo".into()]));
    // Node::command
    let dev = output(a.command("cat").arg("/proc/net/dev"));
    assert_eq!(devices(&dev), ["ea", "lo"]);
    assert_eq!(output(a.command("cat").arg("/sys/class/net/ea/mtu")).trim(), "1400");
    assert_eq!(output(a.command("ls").arg("/sys/class/net")).split_whitespace().collect::<Vec<_>>(), ["ea", "lo"]);
    assert!(output(a.command("cat").arg("/proc/net/if_inet6")).lines().all(|l| !l.ends_with("eb")));
}

#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
fn relative_paths_and_the_working_directory_survive_entering_a_node(net: &Net) {
    let here = std::env::current_dir().unwrap();
    assert!(std::path::Path::new("Cargo.toml").exists(), "the tests run in their crate's directory");
    assert_eq!(net.node("b").run(|| std::env::current_dir().unwrap()), here);
    assert!(net.node("b").run(|| std::path::Path::new("Cargo.toml").exists()));
    assert_eq!(std::env::current_dir().unwrap(), here);
    assert_eq!(output(&mut net.node("b").command("pwd")).trim(), here.to_str().unwrap());
}

/// The rule for threads the test starts itself: a thread starts where the thread that created it
/// is at that moment, and stays there.
#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24")]
fn plain_threads_start_where_their_creator_is(net: &Net) {
    let from_body = std::thread::spawn(|| devices(&read("/proc/net/dev"))).join().unwrap();
    assert_eq!(from_body, ["ea", "lo"]);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let from_run = net.node("b").run(|| {
        std::thread::spawn(move || {
            rx.recv().unwrap(); // after run() returned
            (devices(&read("/proc/net/dev")), sys_class_net())
        })
    });
    tx.send(()).unwrap();
    let eb = vec!["eb".to_string(), "lo".into()];
    assert_eq!(from_run.join().unwrap(), (eb.clone(), eb));
    assert_eq!(devices(&read("/proc/net/dev")), ["ea", "lo"]);
}

/// fe80:: addresses of `dev` in the calling thread's namespace, with their if_inet6 flags.
fn link_local(dev: &str) -> (Ipv6Addr, u32, u32) {
    let table = read("/proc/thread-self/net/if_inet6");
    let l = table.lines().find(|l| l.ends_with(dev) && l.starts_with("fe80")).expect("a link-local address");
    let f: Vec<&str> = l.split_whitespace().collect();
    let addr = Ipv6Addr::from(u128::from_str_radix(f[0], 16).unwrap());
    (addr, u32::from_str_radix(f[1], 16).unwrap(), u32::from_str_radix(f[4], 16).unwrap())
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
fn kernel_link_local_addresses_are_usable_when_the_body_starts(net: &Net) {
    let (b_ll, b_index, flags) = net.node("b").run(|| link_local("eth0"));
    assert_eq!(flags & 0x40, 0, "fe80 address still tentative (flags {flags:#x})");
    let listener = net.node("b").run(|| TcpListener::bind(SocketAddrV6::new(b_ll, 7000, 0, b_index)).unwrap());
    let (a_ll, a_index, _) = link_local("eth0");
    let mut s =
        TcpStream::connect_timeout(&SocketAddrV6::new(b_ll, 7000, 0, a_index).into(), Duration::from_millis(500))
            .expect("connect to the peer's link-local address at once");
    let (_, peer) = listener.accept().unwrap();
    assert_eq!(peer.ip(), std::net::IpAddr::V6(a_ll), "sent from the link-local address");
    std::io::Write::write_all(&mut s, b"x").unwrap();
}

#[netns_test(topology = "bridge br0=10.3.0.254/24 { a=10.3.0.1/24, b=10.3.0.2/24 }")]
fn link_local_of_the_bridge_is_usable_when_the_body_starts(net: &Net) {
    let br = net.bridge("br0");
    let (ll, index, flags) = br.run(|| link_local("br0"));
    assert_eq!(flags & 0x40, 0, "fe80 address of br0 still tentative");
    let sock = br.run(|| std::net::UdpSocket::bind(SocketAddrV6::new(ll, 7000, 0, index)));
    sock.expect("bind the bridge's link-local address at once");
}

#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64")]
fn node_names_resolve_in_process(net: &Net) {
    let listener = net.node("b").run(|| TcpListener::bind("10.0.0.2:7000").unwrap());
    TcpStream::connect("b:7000").expect("connect to b by name");
    listener.accept().unwrap();
    let b: Vec<SocketAddr> = "b:7000".to_socket_addrs().unwrap().collect();
    assert_eq!(b, ["10.0.0.2:7000".parse().unwrap(), "[fd00::2]:7000".parse().unwrap()], "IPv4 first");
    let a_eth0: Vec<SocketAddr> = "a.eth0:1".to_socket_addrs().unwrap().collect();
    assert_eq!(a_eth0, ["10.0.0.1:1".parse().unwrap(), "[fd00::1]:1".parse().unwrap()]);
    assert!("localhost:1".to_socket_addrs().is_ok(), "the host's names still resolve");
    assert!("no-such-node.invalid:1".to_socket_addrs().is_err());
    // From other nodes and threads too.
    let from_b: Vec<SocketAddr> = net.node("b").run(|| "a:1".to_socket_addrs().unwrap().collect());
    assert_eq!(from_b[0], "10.0.0.1:1".parse().unwrap());
    let spawned = net.node("b").spawn(|| "a.eth0:1".to_socket_addrs().map(|a| a.count()).unwrap_or(0));
    assert_eq!(spawned.join().unwrap(), 2);
}

#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64", timeout = "10s")]
async fn node_names_resolve_with_tokio(net: &Net) {
    let b: Vec<SocketAddr> = tokio::net::lookup_host("b:80").await.unwrap().collect();
    assert_eq!(b[0], "10.0.0.2:80".parse().unwrap());
    let listener = net.node("b").run(|| TcpListener::bind("[fd00::2]:7000").unwrap());
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    // IPv4 first: 10.0.0.2:7000 refuses, then fd00::2 answers.
    let c = tokio::net::TcpStream::connect("b.eth0:7000").await.expect("connect by name");
    let (_, peer) = listener.accept().await.unwrap();
    assert_eq!(c.local_addr().unwrap(), peer);
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24|fd00::2/64")]
fn node_names_resolve_in_programs_and_hostnames_are_node_names(net: &Net) {
    let a = net.node("a");
    assert_eq!(
        output(a.command("getent").args(["ahosts", "b"])).lines().next().unwrap().split_whitespace().next(),
        Some("10.0.0.2")
    );
    assert_eq!(output(a.command("getent").args(["hosts", "b.eth0"])).split_whitespace().next(), Some("fd00::2"));
    assert_eq!(output(a.command("getent").args(["ahostsv4", "b.eth0"])).split_whitespace().next(), Some("10.0.0.2"));
    assert!(output(a.command("getent").args(["hosts", "localhost"])).contains("localhost"));
    assert_eq!(output(a.command("uname").arg("-n")).trim(), "a");
    assert_eq!(output(net.node("b").command("uname").arg("-n")).trim(), "b");
    assert_eq!(output(&mut std::process::Command::new("hostname")).trim(), "a", "the body's own programs");
    let nodename = |_: ()| {
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::uname(&mut u) }, 0);
        unsafe { std::ffi::CStr::from_ptr(u.nodename.as_ptr()) }.to_string_lossy().into_owned()
    };
    assert_eq!(nodename(()), "a");
    assert_eq!(net.node("b").run(|| nodename(())), "b");
    let python = "import socket; print(socket.getaddrinfo('b', 80, type=socket.SOCK_STREAM)[0][4][0]); print(socket.gethostname())";
    match a.command("python3").args(["-c", python]).output() {
        Ok(out) if out.status.success() => assert_eq!(String::from_utf8_lossy(&out.stdout), "10.0.0.2\na\n"),
        Ok(out) => panic!("python3 failed: {}", String::from_utf8_lossy(&out.stderr)),
        // Loud, not silent: the getent checks above ran regardless.
        Err(e) => eprintln!("NOTE: python3 part skipped: cannot run python3 here ({e})"),
    }
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", flavor = "multi_thread", worker_threads = 3)]
async fn multi_thread_runtime_workers_are_in_the_node(net: &Net) {
    // block_in_place needs a multi-thread runtime (it panics on a current-thread one).
    let here = tokio::task::block_in_place(|| (devices(&read("/proc/net/dev")), sys_class_net()));
    let a = vec!["eth0".to_string(), "lo".into()];
    assert_eq!(here, (a.clone(), a.clone()));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            tokio::spawn(async {
                tokio::task::yield_now().await;
                let name = std::thread::current().name().unwrap_or("").to_string();
                (name, devices(&read("/proc/thread-self/net/dev")), devices(&read("/proc/net/dev")), sys_class_net())
            })
        })
        .collect();
    let mut workers = std::collections::HashSet::new();
    for t in tasks {
        let (name, thread, proc, sys) = t.await.unwrap();
        assert_eq!((&thread, &proc, &sys), (&a, &a, &a), "on {name}");
        workers.insert(name);
    }
    let blocking = tokio::task::spawn_blocking(|| (devices(&read("/proc/net/dev")), sys_class_net())).await.unwrap();
    assert_eq!(blocking, (a.clone(), a));
    // A worker that ran code in another node comes back to the body's.
    assert!(net.node("b").run(|| std::net::UdpSocket::bind("10.0.0.2:0").is_ok()));
    assert!(std::net::UdpSocket::bind("10.0.0.1:0").is_ok(), "back in a");
    let listener = net.node("b").run(|| TcpListener::bind("10.0.0.2:7000").unwrap());
    let c = tokio::task::spawn_blocking(|| TcpStream::connect("10.0.0.2:7000")).await.unwrap();
    assert!(c.is_ok() && listener.accept().is_ok());
}

#[netns_test(topology = "a=10.0.0.1/24 -- b:eth1=10.0.0.2/24")]
fn interface_index_mac_and_link_local(net: &Net) {
    let eth1 = net.node("b").interface("eth1").unwrap();
    let (index, mac, (ll, ll_index, _)) = net.node("b").run(|| {
        let sys = |f: &str| read(&format!("/sys/class/net/eth1/{f}")).trim().to_string();
        (sys("ifindex").parse::<u32>().unwrap(), sys("address"), link_local("eth1"))
    });
    assert_eq!(eth1.index(), index);
    assert_eq!(eth1.index(), ll_index);
    let hex: Vec<String> = eth1.mac().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex.join(":"), mac);
    assert_eq!(eth1.link_local(), Some(ll));
    assert!(eth1.link_local().unwrap().is_unicast_link_local());
    // The handles work from anywhere, with the scope id of the node that uses the address.
    let listener = net.node("b").run(|| TcpListener::bind(SocketAddrV6::new(ll, 7000, 0, eth1.index())).unwrap());
    let a_eth0 = net.node("a").interface("eth0").unwrap();
    TcpStream::connect(SocketAddrV6::new(ll, 7000, 0, a_eth0.index())).expect("connect with scope id");
    assert_eq!(listener.accept().unwrap().1.ip(), std::net::IpAddr::V6(a_eth0.link_local().unwrap()));
    assert_ne!(a_eth0.mac(), eth1.mac());
}

#[netns_test(topology = "bridge br0 { a=10.2.0.1/24, b=10.2.0.2/24, c=10.2.0.3/24 }")]
fn a_capture_on_the_bridge_sees_the_lan(net: &Net) {
    assert_eq!(net.bridges().len(), 1);
    let br0 = net.bridge("br0");
    assert_eq!(br0.name(), "br0");
    let names: Vec<&str> = br0.interfaces().iter().map(|i| i.name).collect();
    assert_eq!(names.len(), 4);
    assert_eq!(names[0], "br0");
    assert_eq!(br0.run(sys_class_net).iter().filter(|n| n.as_str() == "br0").count(), 1);
    assert_eq!(output(br0.command("cat").arg("/sys/class/net/br0/bridge/stp_state")).trim(), "0");
    let index = br0.interfaces()[0].index();
    // A promiscuous AF_PACKET socket on br0, in the bridges' namespace.
    let capture = br0.spawn(move || unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, (libc::ETH_P_ALL as u16).to_be() as i32);
        assert!(fd >= 0, "AF_PACKET socket: {}", std::io::Error::last_os_error());
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = index as i32;
        assert_eq!(libc::bind(fd, (&sll as *const libc::sockaddr_ll).cast(), std::mem::size_of_val(&sll) as u32), 0);
        let mr = libc::packet_mreq {
            mr_ifindex: index as i32,
            mr_type: libc::PACKET_MR_PROMISC as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        let len = std::mem::size_of_val(&mr) as u32;
        assert_eq!(
            libc::setsockopt(
                fd,
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                (&mr as *const libc::packet_mreq).cast(),
                len
            ),
            0
        );
        let tv = libc::timeval { tv_sec: 0, tv_usec: 100_000 };
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, (&tv as *const libc::timeval).cast(), 16);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 2048];
        while std::time::Instant::now() < deadline {
            let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
            if n > 0 && buf[..n as usize].windows(11).any(|w| w == b"b-to-c-only") {
                libc::close(fd);
                return true;
            }
        }
        libc::close(fd);
        false
    });
    // Unicast from b to c: seen on the bridge, not by a.
    let c = net.node("c").run(|| std::net::UdpSocket::bind("10.2.0.3:9999").unwrap());
    let b = net.node("b").run(|| std::net::UdpSocket::bind("10.2.0.2:0").unwrap());
    for _ in 0..30 {
        b.send_to(b"b-to-c-only", "10.2.0.3:9999").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        if capture.is_finished() {
            break;
        }
    }
    assert!(capture.join().unwrap(), "the capture on br0 saw b's datagram to c");
    let mut buf = [0; 32];
    assert_eq!(c.recv(&mut buf).unwrap(), 11);
}

#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
#[should_panic(expected = "no bridge `br0` in this topology; its bridges are: none")]
fn asking_for_a_bridge_that_does_not_exist_says_so(net: &Net) {
    net.bridge("br0");
}

/// The first node's view is the test's own namespaces (no copy): it must still be the first
/// node's for every thread in it, also while the body is inside another node.
#[netns_test(topology = "a:ea=10.0.0.1/24 -- b:eb=10.0.0.2/24 [mtu=1300]")]
fn the_first_node_is_itself_while_the_body_is_elsewhere(net: &Net) {
    assert_eq!(devices(&read("/proc/net/dev")), ["ea", "lo"]);
    assert_eq!(sys_class_net(), ["ea", "lo"]);
    assert_eq!(read("/sys/class/net/ea/mtu").trim(), "1300");
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let (done, seen) = std::sync::mpsc::channel();
    let in_a = net.node("a").spawn(move || {
        wait.recv().unwrap(); // while the body is inside b
        done.send(()).unwrap();
        (devices(&read("/proc/net/dev")), devices(&read("/proc/self/net/dev")), sys_class_net())
    });
    let inside_b = net.node("b").run(|| {
        go.send(()).unwrap();
        seen.recv().unwrap();
        (devices(&read("/proc/net/dev")), sys_class_net(), output(std::process::Command::new("uname").arg("-n")))
    });
    let ea = vec!["ea".to_string(), "lo".into()];
    assert_eq!(in_a.join().unwrap(), (ea.clone(), ea.clone(), ea.clone()));
    let eb = vec!["eb".to_string(), "lo".into()];
    assert_eq!(inside_b, (eb.clone(), eb, "b\n".to_string()));
    assert_eq!(output(std::process::Command::new("uname").arg("-n")).trim(), "a");
    assert_eq!(output(net.node("a").command("ls").arg("/sys/class/net")).split_whitespace().collect::<Vec<_>>(), ea);
}

/// A topology built inside a test body resolves its own names in its nodes; the test's own
/// topology keeps resolving its names, also in nodes first entered after the inner build.
#[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24; b=10.0.1.1/24 -- c=10.0.1.2/24")]
fn a_topology_built_in_a_body_has_its_own_names(net: &Net) {
    let inner = Net::build("x=10.9.0.1/24 -- y=10.9.0.2/24".parse().unwrap()).unwrap();
    let resolve = |name: &str| (name, 80).to_socket_addrs().ok().and_then(|mut a| a.next()).map(|a| a.ip().to_string());
    assert_eq!(inner.node("x").run(|| resolve("y")), Some("10.9.0.2".into()));
    assert_eq!(net.node("c").run(|| resolve("a")), Some("10.0.0.1".into()), "c's view is made after the inner build");
    assert_eq!(net.node("c").run(|| resolve("y")), None, "the inner topology's names are not the outer's");
    assert_eq!(resolve("b"), Some("10.0.0.2".into()));
    drop(inner);
}

/// Every declared IPv6 address, at the body's first line, has joined its solicited-node group
/// (until then a peer's neighbour solicitations for it are dropped and its first connect stalls).
#[netns_test(
    topology = "a:eth0=fd00::a1/64|fd00::a2/64|fd00::a3/64|fd00::a4/64|fd00::a5/64|fd00::a6/64|fd00::a7/64|fd00::a8/64 -- \
                b=fd00::b1/64|fd00::b2/64|fd00::b3/64|fd00::b4/64|fd00::b5/64|fd00::b6/64|fd00::b7/64|fd00::b8/64"
)]
fn declared_ipv6_addresses_have_joined_their_groups_when_the_body_starts(net: &Net) {
    // Node a first, from the body's first line; then b (checked as soon as its view exists).
    for node in net.nodes() {
        let interfaces = node.interfaces();
        let declared: Vec<(String, Ipv6Addr)> = (interfaces.iter())
            .flat_map(|i| i.addrs.iter().map(move |a| (i.name.to_string(), a.addr())))
            .filter_map(|(dev, a)| match a {
                std::net::IpAddr::V6(v6) => Some((dev, v6)),
                std::net::IpAddr::V4(_) => None,
            })
            .collect();
        assert_eq!(declared.len(), 8, "node {}", node.name());
        let not_joined: Vec<&(String, Ipv6Addr)> = node
            .run(|| declared.iter().filter(|(dev, a)| !netns_test_e2e::joined_solicited_node_group(dev, *a)).collect());
        assert!(not_joined.is_empty(), "node {}: groups not joined yet: {not_joined:?}", node.name());
    }
}
