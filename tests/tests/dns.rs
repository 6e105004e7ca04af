//! The DNS server node (`d [dns]`) with real packets: glibc's `getaddrinfo` (through
//! `ToSocketAddrs` and `libc`), `getent`, tokio's `lookup_host` and hickory's caching resolver
//! all read the generated `/etc/resolv.conf` and ask the server in node `d`; the test changes,
//! fails, delays and truncates its answers and reads back every query it received.

use hickory_resolver::proto::rr::{RData, RecordType};
use netns_test::{netns_test, Net, Rcode};
use std::ffi::CString;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

const TOPO: &str = "";

/// `getaddrinfo(name, "80")` in node `node`: the addresses, or glibc's `EAI_*` code.
fn gai(net: &Net, node: &str, name: &str) -> Result<Vec<IpAddr>, i32> {
    gai_canon(net, node, name).map(|(a, _)| a)
}

/// [`gai`] with `AI_CANONNAME`: the addresses and the canonical name.
fn gai_canon(net: &Net, node: &str, name: &str) -> Result<(Vec<IpAddr>, String), i32> {
    net.node(node).run(|| {
        let host = CString::new(name).unwrap();
        let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
        hints.ai_socktype = libc::SOCK_STREAM;
        hints.ai_flags = libc::AI_CANONNAME;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        // SAFETY: valid C strings and hints; the result list is freed below.
        let rc = unsafe { libc::getaddrinfo(host.as_ptr(), c"80".as_ptr(), &hints, &mut res) };
        if rc != 0 {
            return Err(rc);
        }
        let (mut out, mut canon) = (Vec::new(), String::new());
        let mut p = res;
        while !p.is_null() {
            // SAFETY: a list returned by getaddrinfo.
            let ai = unsafe { &*p };
            if !ai.ai_canonname.is_null() {
                canon = unsafe { std::ffi::CStr::from_ptr(ai.ai_canonname) }.to_string_lossy().into_owned();
            }
            // SAFETY: ai_addr points to an address of the family ai_family says.
            let ip = unsafe {
                match ai.ai_family {
                    libc::AF_INET => {
                        IpAddr::from((*(ai.ai_addr as *const libc::sockaddr_in)).sin_addr.s_addr.to_ne_bytes())
                    }
                    _ => IpAddr::from((*(ai.ai_addr as *const libc::sockaddr_in6)).sin6_addr.s6_addr),
                }
            };
            out.push(ip);
            p = ai.ai_next;
        }
        unsafe { libc::freeaddrinfo(res) };
        out.dedup();
        Ok((out, canon))
    })
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

#[netns_test(topology = r#"
    h=10.0.0.1/24|fd00::1/64 -- d=10.0.0.53/24|fd00::53/64
    d [dns]
    dns www.example.com A 203.0.113.10
    dns www.example.com AAAA 2001:db8::10
    dns api.example.com CNAME web.example.com
    dns web.example.com CNAME www.example.com
"#)]
fn getaddrinfo_asks_the_server_for_records_node_names_and_cnames(net: &Net) {
    let _ = TOPO;
    let mut www = gai(net, "h", "www.example.com").unwrap();
    www.sort();
    assert_eq!(www, ips(&["203.0.113.10", "2001:db8::10"]));
    // Through two CNAMEs: glibc takes the addresses from the answer section only, and the
    // canonical name is the end of the chain.
    let (mut api, canon) = gai_canon(net, "h", "api.example.com").unwrap();
    api.sort();
    assert_eq!((api, canon.as_str()), (ips(&["203.0.113.10", "2001:db8::10"]), "www.example.com"));
    // Node names and node.iface names, as /etc/hosts had them: now over DNS.
    let mut d = gai(net, "h", "d").unwrap();
    d.sort();
    assert_eq!(d, ips(&["10.0.0.53", "fd00::53"]));
    assert_eq!(gai(net, "h", "h.eth0").unwrap().len(), 2);
    // Outside the zone: NXDOMAIN from the server, never the host's resolver.
    assert_eq!(gai(net, "h", "example.org"), Err(libc::EAI_NONAME));
    // The same through std (getaddrinfo too) from the server's own node.
    let from_d: Vec<SocketAddr> = net.node("d").run(|| ("www.example.com", 443).to_socket_addrs().unwrap().collect());
    assert_eq!(from_d.len(), 2);

    let q = net.dns().queries();
    let asked = |name: &str, qtype: &str| q.iter().filter(|q| q.name == name && q.qtype == qtype).count();
    assert!(asked("www.example.com", "A") >= 1 && asked("www.example.com", "AAAA") >= 1, "{q:#?}");
    assert!(asked("api.example.com", "A") >= 1 && asked("d", "AAAA") >= 1, "{q:#?}");
    let org = q.iter().find(|q| q.name == "example.org").expect("asked for example.org");
    assert_eq!(org.rcode, "NXDOMAIN");
    assert!(!org.tcp);
    assert!(["10.0.0.1", "fd00::1"].contains(&org.client.ip().to_string().as_str()), "h asked: {org:?}");
    assert!(q.iter().all(|q| q.rcode == "NOERROR" || q.name == "example.org"), "{q:#?}");
    assert!(q.windows(2).all(|w| w[0].at <= w[1].at));
}

#[netns_test(topology = "
    h=10.0.0.1/24 -- d=10.0.0.53/24
    d [dns]
    dns www.example.com A 10.0.0.53
")]
fn getent_and_a_program_resolve_through_the_server(net: &Net) {
    let out = net.node("h").command("getent").args(["ahostsv4", "www.example.com"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.starts_with("10.0.0.53"), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let conf = net.node("h").command("cat").arg("/etc/resolv.conf").output().unwrap();
    let conf = String::from_utf8_lossy(&conf.stdout);
    assert!(conf.contains("nameserver 10.0.0.53\n"), "{conf}");
    assert!(net.dns().queries().iter().any(|q| q.name == "www.example.com"));
}

#[netns_test(topology = "
    h=10.0.0.1/24 -- d=10.0.0.53/24
    d [dns]
    dns www.example.com A 203.0.113.10
")]
async fn tokio_lookup_host_asks_the_server(net: &Net) {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host("www.example.com:443").await.unwrap().collect();
    assert_eq!(addrs, ["203.0.113.10:443".parse().unwrap()]);
    assert!(tokio::net::lookup_host("missing.example.com:443").await.is_err());
    let q = net.dns().queries();
    assert!(q.iter().any(|q| q.name == "missing.example.com" && q.rcode == "NXDOMAIN"), "{q:#?}");
}

/// The answer records of `name`'s `rtype` through hickory's resolver (and its cache).
async fn lookup(r: &hickory_resolver::TokioResolver, name: &str, rtype: RecordType) -> Result<Vec<RData>, String> {
    r.lookup(name, rtype).await.map(|l| l.answers().iter().map(|a| a.data.clone()).collect()).map_err(|e| e.to_string())
}

fn hickory(net: &Net, node: &str) -> hickory_resolver::TokioResolver {
    // Built inside the node: it reads that node's /etc/resolv.conf.
    net.node(node).run(|| hickory_resolver::TokioResolver::builder_tokio().unwrap().build().unwrap())
}

#[netns_test(topology = r#"
    h=10.0.0.1/24 -- d=10.0.0.53/24
    d [dns]
    dns www.example.com A 203.0.113.10 ttl=2
    dns _svc._udp.example.com SRV 0 5 5000 www.example.com
    dns example.com TXT "v=1" "two words"
"#)]
async fn a_cached_answer_outlives_a_remove_until_its_ttl(net: &Net) {
    let dns = net.dns();
    let r = hickory(net, "h");
    let first = lookup(&r, "www.example.com.", RecordType::A).await.unwrap();
    assert_eq!(first, [RData::A("203.0.113.10".parse().unwrap())]);
    let asked = || dns.queries().iter().filter(|q| q.name == "www.example.com" && q.qtype == "A").count();
    assert_eq!(asked(), 1);
    dns.remove("www.example.com", "A").unwrap();
    let removed_at = Instant::now();
    // Within the TTL: hickory answers from its cache, the server is not asked.
    let cached = lookup(&r, "www.example.com.", RecordType::A).await.unwrap();
    assert_eq!(cached, first);
    assert_eq!(asked(), 1, "answered from the cache");
    tokio::time::sleep(Duration::from_millis(2300).saturating_sub(removed_at.elapsed())).await;
    let gone = lookup(&r, "www.example.com.", RecordType::A).await;
    assert!(gone.is_err(), "expired: the server says the name is gone: {gone:?}");
    assert_eq!(asked(), 2);
    assert_eq!(dns.queries().last().unwrap().rcode, "NXDOMAIN");
    // SRV and TXT through the same client.
    let srv = lookup(&r, "_svc._udp.example.com.", RecordType::SRV).await.unwrap();
    let RData::SRV(s) = &srv[0] else { panic!("{srv:?}") };
    assert_eq!((s.priority, s.weight, s.port, s.target.to_string().as_str()), (0, 5, 5000, "www.example.com."));
    let txt = lookup(&r, "example.com.", RecordType::TXT).await.unwrap();
    let RData::TXT(t) = &txt[0] else { panic!("{txt:?}") };
    let strings: Vec<String> = t.txt_data.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
    assert_eq!(strings, ["v=1", "two words"]);
}

#[netns_test(topology = "
    h=10.0.0.1/24 -- d=10.0.0.53/24
    d [dns]
    dns www.example.com A 203.0.113.10
    dns other.example.com A 203.0.113.11
")]
fn fail_makes_getaddrinfo_fail_with_the_matching_error(net: &Net) {
    let dns = net.dns();
    dns.fail("www.example.com", Rcode::ServFail).unwrap();
    assert_eq!(gai(net, "h", "www.example.com"), Err(libc::EAI_AGAIN));
    assert_eq!(gai(net, "h", "other.example.com").unwrap().len(), 1, "only that name fails");
    dns.fail("www.example.com", Rcode::NxDomain).unwrap();
    assert_eq!(gai(net, "h", "www.example.com"), Err(libc::EAI_NONAME));
    dns.fail("www.example.com", Rcode::Refused).unwrap();
    assert_eq!(gai(net, "h", "www.example.com"), Err(libc::EAI_AGAIN));
    dns.fail("*", Rcode::Timeout).unwrap();
    let start = Instant::now();
    assert_eq!(gai(net, "h", "other.example.com"), Err(libc::EAI_AGAIN));
    let waited = start.elapsed();
    // timeout:1 attempts:2 in the generated resolv.conf.
    assert!(waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5), "{waited:?}");
    dns.clear_fail("*").unwrap();
    dns.clear_fail("www.example.com").unwrap();
    assert_eq!(gai(net, "h", "www.example.com"), Ok(ips(&["203.0.113.10"])));
    let rcodes: Vec<String> = net.dns().queries().iter().map(|q| q.rcode.clone()).collect();
    for r in ["SERVFAIL", "NXDOMAIN", "REFUSED", "TIMEOUT", "NOERROR"] {
        assert!(rcodes.iter().any(|x| x == r), "{r} missing from {rcodes:?}");
    }
}

#[netns_test(topology = "
    h=10.0.0.1/24 -- d=10.0.0.53/24
    d [dns]
    dns www.example.com A 203.0.113.10
")]
fn truncated_udp_answers_make_the_client_retry_over_tcp(net: &Net) {
    let dns = net.dns();
    dns.truncate_udp(true).unwrap();
    assert_eq!(gai(net, "h", "www.example.com"), Ok(ips(&["203.0.113.10"])));
    let q: Vec<_> = dns.queries().into_iter().filter(|q| q.name == "www.example.com" && q.qtype == "A").collect();
    assert!(q.len() >= 2, "{q:#?}");
    assert!(!q[0].tcp && q.iter().skip(1).any(|q| q.tcp), "UDP first, then TCP: {q:#?}");
    dns.truncate_udp(false).unwrap();
    let before = dns.queries().len();
    gai(net, "h", "www.example.com").unwrap();
    assert!(dns.queries()[before..].iter().all(|q| !q.tcp));
}

#[netns_test(topology = "
    h=10.0.0.1/24 -- d=10.0.0.53/24
    d [dns]
    dns slow.example.com A 203.0.113.10
    dns fast.example.com A 203.0.113.11
")]
fn delays_apply_per_name_or_to_every_name(net: &Net) {
    let dns = net.dns();
    dns.delay("slow.example.com", Duration::from_millis(400)).unwrap();
    let t = Instant::now();
    gai(net, "h", "fast.example.com").unwrap();
    assert!(t.elapsed() < Duration::from_millis(300), "{:?}", t.elapsed());
    let t = Instant::now();
    gai(net, "h", "slow.example.com").unwrap();
    assert!(t.elapsed() >= Duration::from_millis(400), "{:?}", t.elapsed());
    dns.delay("*", Duration::from_millis(200)).unwrap();
    let t = Instant::now();
    gai(net, "h", "fast.example.com").unwrap();
    assert!(t.elapsed() >= Duration::from_millis(200), "{:?}", t.elapsed());
    dns.delay("*", Duration::ZERO).unwrap();
    dns.delay("slow.example.com", Duration::ZERO).unwrap();
    let t = Instant::now();
    gai(net, "h", "slow.example.com").unwrap();
    assert!(t.elapsed() < Duration::from_millis(300), "{:?}", t.elapsed());
}

#[netns_test(topology = "
    h=10.0.0.1/24 -- d=10.0.0.53/24
    d [dns]
    d: block udp/53
    dns www.example.com A 203.0.113.10
")]
fn a_blocked_udp_53_sends_the_client_down_its_timeout_path(net: &Net) {
    let start = Instant::now();
    assert_eq!(gai(net, "h", "www.example.com"), Err(libc::EAI_AGAIN));
    assert!(start.elapsed() >= Duration::from_millis(1900), "{:?}", start.elapsed());
    assert!(net.dns().queries().is_empty(), "the firewall dropped every query: {:?}", net.dns().queries());
}

#[netns_test(topology = "
    h=10.0.0.1/24 -- d=10.0.0.53/24
    d [dns]
")]
fn records_change_at_run_time_with_the_grammars_checks(net: &Net) {
    let dns = net.dns();
    assert_eq!(gai(net, "h", "new.example.com"), Err(libc::EAI_NONAME));
    dns.add("new.example.com", "A", "203.0.113.20").unwrap();
    dns.add("New.Example.com.", "A", "203.0.113.21").unwrap();
    let mut got = gai(net, "h", "new.example.com").unwrap();
    got.sort();
    assert_eq!(got, ips(&["203.0.113.20", "203.0.113.21"]));
    let e = dns.add("new.example.com", "A", "2001:db8::1").unwrap_err().to_string();
    assert!(e.contains("an A record holds an IPv4 address"), "{e}");
    let e = dns.add("new.example.com", "CNAME", "www.example.com").unwrap_err().to_string();
    assert!(e.contains("a CNAME must be alone"), "{e}");
    let e = dns.remove("new.example.com", "AAAA").unwrap_err().to_string();
    assert!(e.contains("has no AAAA record"), "{e}");
    dns.set_ttl("new.example.com", Duration::from_secs(5)).unwrap();
    assert!(dns.records().iter().any(|r| r == "new.example.com A 203.0.113.20 ttl=5"), "{:?}", dns.records());
    dns.remove("new.example.com", "A").unwrap();
    assert_eq!(gai(net, "h", "new.example.com"), Err(libc::EAI_NONAME));
    // The failure dump shows the server's records and its last queries.
    let dump = net.dump();
    assert!(dump.contains("dns records (served by netns-test)") && dump.contains("d A 10.0.0.53 ttl=60"), "{dump}");
    assert!(dump.contains("new.example.com A -> NXDOMAIN"), "{dump}");
}

#[netns_test(topology = "
    bridge lan { h=10.0.0.1/24, g=10.0.0.2/24, d1=10.0.0.53/24, d2=10.0.0.54/24 }
    d1 [dns]
    d2 [dns]
    h [resolver=d2]
    g [resolver=d1]
")]
fn with_two_servers_each_node_asks_the_one_it_names(net: &Net) {
    net.dns_of("d2").add("only.example.com", "A", "203.0.113.2").unwrap();
    assert_eq!(gai(net, "h", "only.example.com"), Ok(ips(&["203.0.113.2"])));
    assert_eq!(gai(net, "g", "only.example.com"), Err(libc::EAI_NONAME));
    assert!(net.dns_of("d2").queries().iter().all(|q| q.client.ip().to_string() == "10.0.0.1"));
    assert!(net.dns_of("d1").queries().iter().all(|q| q.client.ip().to_string() == "10.0.0.2"));
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(net.dns()))).unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(msg.contains("2 DNS servers (`d1`, `d2`): use net.dns_of"), "{msg}");
}

#[netns_test(topology = "
    bridge lan { h=10.0.0.1/24, web=10.0.0.80/24, d=10.0.0.53/24 }
    d [dns]
    dns www.example.com A 10.0.0.80
    expect h -> www.example.com tcp/80
    expect h -/-> www.example.com tcp/81
    web: block tcp/81
")]
fn expectations_by_name_resolve_through_the_probing_nodes_server(net: &Net) {
    let found = net.check_expectations(Duration::from_millis(500));
    assert!(found.passed(), "{}", found.table());
    assert!(found
        .probes
        .iter()
        .all(|p| p.addr.to_string() == "10.0.0.80" && p.name.as_deref() == Some("www.example.com")));
    assert_eq!(net.dns().queries().iter().filter(|q| q.client.ip().to_string() == "10.0.0.1").count(), 4);
    // A name that does not resolve fails both kinds: `-/->` promises a blocked path, not a
    // broken DNS.
    net.dns().fail("www.example.com", Rcode::NxDomain).unwrap();
    let found = net.check_expectations(Duration::from_millis(500));
    assert_eq!(found.probes.len(), 2);
    assert!(found.probes.iter().all(|p| !p.ok()), "{}", found.table());
    assert!(found.table().contains("cannot resolve www.example.com"), "{}", found.table());
}
