//! What a failing test shows: the state dump, packet captures, the pause. This binary re-runs
//! its own ignored fixtures (`fixture::*`) as a test runner would and reads what they print and
//! leave in `target/netns-test/`.

use netns_test::{netns_test, Net};
use pcap_file::pcap::PcapReader;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod fixture {
    use netns_test::{netns_test, Net};
    use std::time::Duration;

    /// Sets an interface of the calling thread's namespace down, as `ip link set .. down` does.
    pub fn set_down(ifname: &str) {
        // SAFETY: ioctls on a socket we own, with a zeroed and NUL-terminated ifreq.
        unsafe {
            let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            assert!(s >= 0);
            let mut req: libc::ifreq = std::mem::zeroed();
            for (d, c) in req.ifr_name.iter_mut().zip(ifname.bytes()) {
                *d = c as libc::c_char;
            }
            assert_eq!(libc::ioctl(s, libc::SIOCGIFFLAGS, &mut req), 0);
            req.ifr_ifru.ifru_flags &= !(libc::IFF_UP as libc::c_short);
            assert_eq!(libc::ioctl(s, libc::SIOCSIFFLAGS, &mut req), 0);
            libc::close(s);
        }
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the forensics suite"]
    fn link_down(net: &Net) {
        net.ping("a", "10.0.0.2".parse().unwrap()).expect("b answers at first");
        net.node("b").run(|| set_down("eth0"));
        net.ping("a", "10.0.0.2".parse().unwrap()).expect("b answers after its link went down");
    }

    #[netns_test(topology = "
        h1=10.1.0.2/24 -- r:eth0=10.1.0.1/24
        r:eth1=10.2.0.1/24 -- h2=10.2.0.2/24
        r [forward]
        h1: default via 10.1.0.1
    ")]
    #[ignore = "fixture of the forensics suite"]
    fn missing_route(net: &Net) {
        // h2 has no route back to 10.1.0.0/24: the echo arrives, the reply cannot leave.
        net.ping("h1", "10.2.0.2".parse().unwrap()).expect("h2 answers h1");
    }

    #[netns_test(topology = "bridge br0 { a=10.0.0.1/24, b=10.0.0.2/24 }")]
    #[ignore = "fixture of the forensics suite"]
    fn fails_on_a_bridge(net: &Net) {
        net.ping("a", "10.0.0.2".parse().unwrap()).unwrap();
        panic!("deliberate failure after one ping");
    }

    /// Three echo requests and their replies over a:eth0, then a failure.
    fn three_pings_then_an_error(net: &Net) -> Result<(), String> {
        for _ in 0..3 {
            net.ping("a", "10.0.0.2".parse().unwrap()).map_err(|e| e.to_string())?;
        }
        Err("deliberate failure after three pings".into())
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the forensics suite"]
    fn three_pings_then_fails(net: &Net) -> Result<(), String> {
        three_pings_then_an_error(net)
    }

    /// The same, with a capture directory of its own for the tshark test.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the forensics suite"]
    fn three_pings_then_fails_for_tshark(net: &Net) -> Result<(), String> {
        three_pings_then_an_error(net)
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the forensics suite"]
    fn three_pings_then_passes(net: &Net) {
        for _ in 0..3 {
            net.ping("a", "10.0.0.2".parse().unwrap()).unwrap();
        }
    }

    #[netns_test(topology = "
        h=10.1.0.2/24 -- r:eth0=10.1.0.1/24
        r:eth1=10.2.0.1/24 -- x=10.2.0.2/24
        r [nat=eth1]
        h: default via 10.1.0.1
    ")]
    #[ignore = "fixture of the forensics suite"]
    fn fails_behind_a_nat(_net: &Net) {
        panic!("deliberate failure behind a NAT");
    }

    #[netns_test(topology = "
        a=10.0.0.1/24 -- b:eth0=10.0.0.2/24 [delay=20ms, jitter=5ms, loss=10%]
        bridge br0 { b:eth1=10.1.0.1/24 [rate=10mbit], c=10.1.0.2/24 }
    ")]
    #[ignore = "fixture of the forensics suite"]
    fn fails_with_declared_conditions(net: &Net) {
        // Three echoes answered (some may be lost on the way), so the forwarder has counted.
        let answered = (0..20).filter(|_| net.ping("a", "10.0.0.2".parse().unwrap()).is_ok()).take(3).count();
        assert_eq!(answered, 3, "b answers through the lossy link");
        panic!("deliberate failure with declared conditions");
    }

    #[netns_test(topology = "
        a=10.0.0.1/24 -- b=10.0.0.2/24 [loss=50%]
        bridge br0 { h1=10.1.0.1/24, h2=10.1.0.2/24 }
    ")]
    #[ignore = "fixture of the forensics suite"]
    fn fails_with_runtime_conditions(net: &Net) -> netns_test::Result<()> {
        net.link("a", "b").clear()?;
        net.link("h1", "br0").set("delay=30ms, duplicate=5%")?;
        net.link("h2", "br0").set("rate=5mbit")?;
        Err(netns_test::Error::Runtime("deliberate failure with runtime conditions".into()))
    }

    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", timeout = "1s")]
    #[ignore = "fixture of the forensics suite"]
    fn times_out(net: &Net) {
        net.node("b").run(|| set_down("eth0"));
        std::thread::sleep(Duration::from_secs(30));
    }
}

/// Runs one fixture like `cargo test` would, in a session of its own (no controlling
/// terminal), with `env` set; returns its output and everything it printed.
fn run_fixture(name: &str, env: &[(&str, &str)]) -> (Output, String) {
    let out = fixture_command(name, env, None).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

/// The command of `run_fixture`; with `tty`, that terminal is the session's controlling one.
fn fixture_command(name: &str, env: &[(&str, &str)], tty: Option<i32>) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([&format!("fixture::{name}"), "--exact", "--ignored"])
        .env_remove("NETNS_TEST_CHILD")
        .env_remove("NETNS_TEST_DUMP")
        .env_remove("NETNS_TEST_CAPTURE")
        .env_remove("NETNS_TEST_PAUSE_ON_FAIL")
        .env("RUST_BACKTRACE", "0")
        .envs(env.iter().copied());
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || tty.is_some_and(|fd| libc::ioctl(fd, libc::TIOCSCTTY, 0) < 0) {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
    cmd
}

/// The lines of one node's block in a dump.
fn block<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| *l != title);
    assert!(lines.next().is_some(), "no block {title:?} in:\n{text}");
    lines.take_while(|l| l.starts_with("  ")).collect()
}

/// The line right under interface `iface`'s line in `lines` (a block), if it shows the
/// conditions of its link (`cond ...`), trimmed.
fn cond<'a>(lines: &[&'a str], iface: &str) -> Option<&'a str> {
    let at = lines.iter().position(|l| l.trim_start().starts_with(&format!("{iface} ")));
    let at = at.unwrap_or_else(|| panic!("no interface {iface} in {lines:#?}"));
    lines.get(at + 1).map(|l| l.trim_start()).filter(|l| l.starts_with("cond "))
}

/// How `ConditionPath` names the path this kernel takes for delay, loss and the like.
fn netem_like_path() -> &'static str {
    if netns_test::kernel_has_netem() {
        "netem"
    } else {
        "userspace forwarder"
    }
}

/// The capture directory a run printed.
fn capture_dir(text: &str) -> PathBuf {
    let line = text.lines().find(|l| l.contains("packet captures (")).unwrap_or_else(|| panic!("no captures:\n{text}"));
    let dir = line.split_once(") in ").unwrap().1.trim_end_matches('/');
    PathBuf::from(dir)
}

/// Removes a capture directory, and its parent if that is left empty.
fn remove(dir: &Path) {
    std::fs::remove_dir_all(dir).unwrap();
    let _ = std::fs::remove_dir(dir.parent().unwrap());
}

/// ICMP echo requests and replies in a pcap file, read back with the pcap-file crate.
fn icmp_echoes(path: &Path) -> (usize, usize) {
    let mut reader = PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    assert_eq!(reader.header().datalink, pcap_file::DataLink::ETHERNET);
    let (mut requests, mut replies) = (0, 0);
    while let Some(p) = reader.next_packet() {
        let d = p.unwrap().data;
        // Ethernet (14) + IPv4 (20, no options), protocol ICMP, then the ICMP type.
        if d.len() > 34 && d[12..14] == [0x08, 0x00] && d[23] == 1 {
            match d[34] {
                8 => requests += 1,
                0 => replies += 1,
                _ => {}
            }
        }
    }
    (requests, replies)
}

#[test]
fn the_dump_names_the_link_that_is_down_and_keeps_the_test_message() {
    let (out, text) = run_fixture("link_down", &[]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("b answers after its link went down"), "the test's message: {text}");
    assert!(text.contains("netns-test: network state at the failure"), "{text}");
    let b = block(&text, "node b");
    let eth0 = b.iter().find(|l| l.trim_start().starts_with("eth0 ")).unwrap_or_else(|| panic!("{text}"));
    assert!(eth0.contains(" DOWN ") && eth0.contains("mtu 1500") && eth0.contains("10.0.0.2/24"), "{eth0}");
    // The first ping went through: the counters of a's end show it. (Whether a's end has
    // already lost its carrier depends on the kernel's link watcher: `UP` or `NO-CARRIER`.)
    let a = block(&text, "node a");
    let a_eth0 = a.iter().find(|l| l.trim_start().starts_with("eth0 ")).unwrap();
    assert!(a_eth0.contains(" rx ") && !a_eth0.contains(" rx 0/") && !a_eth0.contains(" tx 0/"), "{a_eth0}");
}

#[test]
fn the_dump_shows_the_routes_so_the_missing_one_is_plain() {
    let (out, text) = run_fixture("missing_route", &[]);
    assert!(!out.status.success(), "{text}");
    assert!(block(&text, "node h1").contains(&"  route default via 10.1.0.1 dev eth0"), "{text}");
    let h2 = block(&text, "node h2");
    assert!(h2.contains(&"  route 10.2.0.0/24 dev eth0"), "{text}");
    assert!(!h2.iter().any(|l| l.contains("route default") || l.contains("10.1.0.0")), "{text}");
    let r = block(&text, "node r");
    assert!(r.contains(&"  sysctl net.ipv4.ip_forward=1"), "{text}");
}

#[test]
fn the_bridges_have_a_block_of_their_own() {
    let (_, text) = run_fixture("fails_on_a_bridge", &[]);
    let br = block(&text, "bridges (the test's own namespace)");
    assert!(br.iter().any(|l| l.trim_start().starts_with("br0 ")), "{text}");
    let ports: Vec<_> = br.iter().filter(|l| l.contains("master br0")).collect();
    assert_eq!(ports.len(), 2, "{text}");
    assert!(!br.iter().any(|l| l.trim_start().starts_with("lo ")), "{text}");
}

#[test]
fn no_dump_with_netns_test_dump_0() {
    let (out, text) = run_fixture("link_down", &[("NETNS_TEST_DUMP", "0")]);
    assert!(!out.status.success() && text.contains("b answers after its link went down"), "{text}");
    assert!(!text.contains("network state"), "{text}");
}

#[test]
fn a_capture_of_a_failing_test_holds_its_packets() {
    let (out, text) = run_fixture("three_pings_then_fails", &[("NETNS_TEST_CAPTURE", "fail")]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("packet captures (at most 16 MiB per file) in "), "{text}");
    let dir = capture_dir(&text);
    assert!(dir.ends_with("forensics::fixture::three_pings_then_fails"), "{}", dir.display());
    // Each echo leaves a:eth0 and its reply comes back in: 3 and 3, seen from both ends.
    assert_eq!(icmp_echoes(&dir.join("a-eth0.pcap")), (3, 3), "{text}");
    assert_eq!(icmp_echoes(&dir.join("b-eth0.pcap")), (3, 3), "{text}");
    assert_eq!(icmp_echoes(&dir.join("a-lo.pcap")), (0, 0));
    assert!(text.contains("a-eth0.pcap "), "{text}");
    remove(&dir);
}

#[test]
fn captures_of_passing_tests_are_kept_with_all_and_deleted_with_fail() {
    let nocapture = ("RUST_TEST_NOCAPTURE", "1");
    let (out, text) = run_fixture("three_pings_then_passes", &[("NETNS_TEST_CAPTURE", "all"), nocapture]);
    assert!(out.status.success(), "{text}");
    let dir = capture_dir(&text);
    assert_eq!(icmp_echoes(&dir.join("a-eth0.pcap")), (3, 3), "{text}");
    let (out, text) = run_fixture("three_pings_then_passes", &[("NETNS_TEST_CAPTURE", "fail"), nocapture]);
    assert!(out.status.success(), "{text}");
    assert!(!dir.exists(), "{} is left", dir.display());
    assert!(!text.contains("packet captures"), "{text}");
    let _ = std::fs::remove_dir(dir.parent().unwrap());
}

#[test]
fn tshark_reads_a_capture_with_its_link_type_and_timestamps() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("SKIPPED tshark_reads_a_capture_with_its_link_type_and_timestamps: tshark is not installed");
        return;
    }
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let (_, text) = run_fixture("three_pings_then_fails_for_tshark", &[("NETNS_TEST_CAPTURE", "fail")]);
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let dir = capture_dir(&text);
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(dir.join("a-eth0.pcap"))
        .args(["-Y", "icmp", "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.encap_type", "-e", "icmp.type"])
        .output()
        .unwrap();
    remove(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 6, "{text}");
    for row in &rows {
        let t: f64 = row[0].parse().unwrap();
        assert!(before <= t && t <= after, "timestamp {t} outside the run [{before}, {after}]");
        assert_eq!(row[1], "1", "encapsulation: Ethernet");
    }
    assert_eq!(rows.iter().filter(|r| r[2] == "8").count(), 3, "{text}");
}

#[test]
fn a_timeout_shows_the_state_at_the_timeout() {
    let start = std::time::Instant::now();
    let (out, text) = run_fixture("times_out", &[]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("timed out after"), "{text}");
    assert!(text.contains("the test timed out; its state at the timeout:"), "{text}");
    let b = block(&text, "node b");
    assert!(b.iter().any(|l| l.trim_start().starts_with("eth0") && l.contains(" DOWN ")), "{text}");
    // 1 s of timeout, then the dump, well within the 3 s grace (the body sleeps 30 s).
    assert!(start.elapsed() < std::time::Duration::from_secs(10), "{:?}", start.elapsed());
}

#[test]
fn the_dump_shows_the_nat_rules_of_a_node() {
    let (_, text) = run_fixture("fails_behind_a_nat", &[]);
    let r = block(&text, "node r");
    let at = r.iter().position(|l| *l == "  nft rules installed by netns-test:").unwrap_or_else(|| panic!("{text}"));
    assert!(r[at + 1..].iter().any(|l| l.starts_with("    table ")), "{text}");
    assert!(block(&text, "node h").iter().all(|l| !l.contains("nft rules")), "{text}");
}

#[test]
fn pause_prints_an_nsenter_line_per_node_that_works_and_waits_for_enter() {
    use std::io::{BufRead, BufReader, Write};
    if Command::new("nsenter").arg("--version").output().is_err() {
        eprintln!("SKIPPED pause_prints_an_nsenter_line_per_node_that_works_and_waits_for_enter: no nsenter");
        return;
    }
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors, ours.
    let r = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    let mut child = fixture_command("three_pings_then_fails", &[("NETNS_TEST_PAUSE_ON_FAIL", "1")], Some(slave))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map(Reap)
        .unwrap();
    let child = &mut child.0;
    // SAFETY: our copy of the terminal's far end; the runner has its own.
    unsafe { libc::close(slave) };
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while !seen.contains("Press Enter") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "ended before pausing:\n{seen}");
        seen.push_str(&line);
    }
    assert!(seen.contains("`fixture::three_pings_then_fails` failed"), "{seen}");
    assert!(seen.contains("node b"), "the state dump is shown while paused: {seen}");
    let enter_b = seen.lines().find(|l| l.trim_start().starts_with("b ")).unwrap_or_else(|| panic!("{seen}"));
    let argv: Vec<&str> = enter_b.split_whitespace().skip(1).collect();
    assert_eq!(argv[0], "nsenter", "{enter_b}");
    // The line really enters node b: its routing table has b's address, not a's.
    let fib = Command::new(argv[0]).args(&argv[1..]).args(["cat", "/proc/net/fib_trie"]).output().unwrap();
    let fib = String::from_utf8_lossy(&fib.stdout);
    assert!(fib.contains("10.0.0.2") && !fib.contains("10.0.0.1\n"), "{enter_b}:\n{fib}");
    // Still paused: the runner waits for Enter.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "it did not wait");
    // SAFETY: the master side of our terminal, written once and closed.
    let mut master = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(master) };
    master.write_all(b"\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success() && rest.contains("resuming"), "{rest}");
}

/// A paused runner is killed if the test fails before it let the runner end.
struct Reap(std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            // SAFETY: kills the runner's own process group (it is a session leader).
            unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
            let _ = self.0.wait();
        }
    }
}

#[test]
fn pause_without_a_terminal_says_so_and_does_not_wait() {
    let start = std::time::Instant::now();
    let (out, text) = run_fixture("link_down", &[("NETNS_TEST_PAUSE_ON_FAIL", "1")]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("there is no terminal to wait on") && text.contains("not pausing"), "{text}");
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn the_dump_shows_declared_conditions_on_both_ends_of_each_link() {
    let (out, text) = run_fixture("fails_with_declared_conditions", &[]);
    assert!(!out.status.success() && text.contains("deliberate failure with declared conditions"), "{text}");
    let path = netem_like_path();
    let (a, b) = (block(&text, "node a"), block(&text, "node b"));
    for (node, lines) in [("a", &a), ("b", &b)] {
        let c = cond(lines, "eth0").unwrap_or_else(|| panic!("no conditions under {node}:eth0:\n{text}"));
        let want = format!("cond delay 20ms±5ms loss 10% each way ({path}");
        assert!(c.starts_with(&want), "{node}:eth0: {c:?}, want {want:?}...");
    }
    if path == "userspace forwarder" {
        // What the forwarder did with the frames a sent: at least the three echoes answered.
        let c = cond(&a, "eth0").unwrap();
        let relayed: u64 = c.split(" relayed").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
        assert!(relayed >= 3, "{c}");
    }
    assert_eq!(cond(&a, "lo"), None, "{text}");
    assert_eq!(cond(&b, "eth1"), Some("cond rate 10mbit each way (tbf)"), "{text}");
    assert_eq!(cond(&block(&text, "node c"), "eth0"), None, "{text}");
    // The bridge side of b's member link (port b0p0) is shaped too; c's (b0p1) is not.
    let br = block(&text, "bridges (the test's own namespace)");
    assert_eq!(cond(&br, "b0p0"), Some("cond rate 10mbit each way (tbf)"), "{text}");
    assert_eq!(cond(&br, "b0p1"), None, "{text}");
}

#[test]
fn the_dump_shows_conditions_set_and_cleared_at_run_time() {
    let (out, text) = run_fixture("fails_with_runtime_conditions", &[]);
    assert!(!out.status.success() && text.contains("deliberate failure with runtime conditions"), "{text}");
    let path = netem_like_path();
    let want = format!("cond delay 30ms duplicate 5% each way ({path}");
    let h1 = cond(&block(&text, "node h1"), "eth0").unwrap_or_else(|| panic!("{text}"));
    assert!(h1.starts_with(&want), "h1:eth0: {h1:?}, want {want:?}...");
    assert_eq!(cond(&block(&text, "node h2"), "eth0"), Some("cond rate 5mbit each way (tbf)"), "{text}");
    let br = block(&text, "bridges (the test's own namespace)");
    assert!(cond(&br, "b0p0").is_some_and(|c| c.starts_with(&want)), "{text}");
    assert_eq!(cond(&br, "b0p1"), Some("cond rate 5mbit each way (tbf)"), "{text}");
    // The declared loss was cleared: no loss shown; on the userspace path the forwarder stays.
    for node in ["a", "b"] {
        let c = cond(&block(&text, &format!("node {node}")), "eth0");
        match path {
            "userspace forwarder" => {
                let c = c.unwrap_or_else(|| panic!("{text}"));
                assert!(c.starts_with("cond none (userspace forwarder, passing frames unchanged"), "{c}");
            }
            _ => assert_eq!(c, None, "{text}"),
        }
    }
}

/// The public form of the dump, on a healthy topology.
#[netns_test(topology = "a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64 [mtu=1400]")]
fn net_dump_shows_every_node(net: &Net) {
    net.ping("a", "10.0.0.2".parse().unwrap()).unwrap();
    let text = net.dump();
    let a = block(&text, "node a");
    let eth0 = a.iter().find(|l| l.trim_start().starts_with("eth0 ")).unwrap();
    assert!(eth0.contains(" UP ") && eth0.contains("mtu 1400") && eth0.contains("10.0.0.1/24 fd00::1/64"), "{eth0}");
    assert!(!eth0.contains("fe80"), "link-local addresses are left out: {eth0}");
    assert!(a.iter().any(|l| l.starts_with("  lo ")), "{text}");
    assert!(a.contains(&"  route 10.0.0.0/24 dev eth0") && a.contains(&"  route fd00::/64 dev eth0"), "{text}");
    assert!(a.iter().any(|l| l.starts_with("  neigh 10.0.0.2 eth0 ") && l.ends_with("REACHABLE")), "{text}");
    assert!(block(&text, "node b").iter().any(|l| l.contains("eth0") && l.contains("10.0.0.2/24")), "{text}");
}
