//! The report page of a failing test, opened in a real browser: headless Chromium, driven over
//! the DevTools protocol on a pipe (`--remote-debugging-pipe`), clicked like a person would.
//! This binary re-runs its own ignored fixtures (`fixture::*`) as a test runner would, then opens
//! the `report.html` each one printed.
//!
//! Chromium is a distribution package (`apt-get install chromium`; `.ci/run` installs it). Where
//! it is missing these tests say `skipped: chromium not installed` on the terminal, past
//! libtest's capture; under CI (`CI` set) they fail instead.

use serde_json::{json, Value};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod fixture {
    use netns_test::{netns_test, Net};

    /// A node's program logs a line, a ping crosses the link, the link goes down, the body panics.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the report page suite"]
    fn down_link_then_panic(net: &Net) {
        let status = net.node("b").command("echo").arg("hello from b").status().unwrap();
        assert!(status.success());
        net.node("a").run(|| tracing::info!(peer = "10.0.0.2", "about to ping"));
        net.ping("a", "10.0.0.2".parse().unwrap()).expect("b answers");
        net.link("a", "b").down().unwrap();
        panic!("deliberate failure after the link went down");
    }

    /// 5,000 log lines and 5,000 datagrams (10,000 packets: each seen at both ends).
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the report page suite"]
    fn big(net: &Net) {
        let status = net.node("b").command("seq").arg("5000").status().unwrap();
        assert!(status.success());
        let rx = net.node("b").run(|| std::net::UdpSocket::bind("10.0.0.2:9000").unwrap());
        rx.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
        let tx = net.node("a").run(|| std::net::UdpSocket::bind("10.0.0.1:0").unwrap());
        let mut buf = [0u8; 64];
        for i in 0..5000u32 {
            tx.send_to(&i.to_be_bytes(), "10.0.0.2:9000").unwrap();
            // One at a time, so none is dropped on the way, with pauses for the capture (a debug
            // build's capture threads fall behind a sender that never stops).
            rx.recv(&mut buf).unwrap();
            if i % 10 == 9 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        panic!("deliberate failure with a big report");
    }

    /// A huge log (200,000 lines, more than the page shows) and a capture file gone missing.
    #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
    #[ignore = "fixture of the report page suite"]
    fn broken(net: &Net) {
        let status = net.node("b").command("seq").arg("200000").status().unwrap();
        assert!(status.success());
        net.ping("a", "10.0.0.2".parse().unwrap()).unwrap();
        let exe = std::env::current_exe().unwrap();
        let target = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()).unwrap().to_path_buf();
        let mut gone = false;
        for root in [target.join("netns-test"), std::env::temp_dir().join(format!("netns-test-{}", uid()))] {
            gone |= std::fs::remove_file(root.join("report_page::fixture::broken/a-eth0.pcap")).is_ok();
        }
        assert!(gone, "the capture file was not found");
        panic!("deliberate failure with a broken report");
    }

    /// The user outside the test's user namespace (`0 <uid> 1`).
    fn uid() -> String {
        let map = std::fs::read_to_string("/proc/self/uid_map").unwrap();
        map.split_whitespace().nth(1).unwrap().to_string()
    }
}

/// Runs one fixture like `cargo test` would, with `env` set; its output and the report page it
/// printed.
fn run_fixture(name: &str, env: &[(&str, &str)]) -> (Output, String, PathBuf) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([&format!("fixture::{name}"), "--exact", "--ignored"])
        .env_remove("NETNS_TEST_CHILD")
        .env_remove("NETNS_TEST_REPORT")
        .env_remove("NETNS_TEST_LOGS")
        .env("RUST_BACKTRACE", "0")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let page = text
        .lines()
        .find_map(|l| l.strip_prefix("netns-test: report: "))
        .unwrap_or_else(|| panic!("no report page printed:\n{text}"));
    (out, text.clone(), PathBuf::from(page.trim()))
}

/// Where screenshots go (kept by CI as artifacts): `target/netns-test/report-page/`.
fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()).map(Path::to_path_buf);
    let dir = target.unwrap_or_else(std::env::temp_dir).join("netns-test").join("report-page");
    if std::fs::create_dir_all(&dir).is_ok() && File::create(dir.join(".probe")).is_ok() {
        return dir;
    }
    let dir = std::env::temp_dir().join(format!("netns-test-report-page-{}", unsafe { libc::getuid() }));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Headless Chromium, driven over the DevTools protocol on a pipe.
struct Browser {
    child: Child,
    to: File,
    from: BufReader<File>,
    next: u64,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Starts Chromium with one page open; `None` (said loudly) when it is not installed.
    fn start(test: &str) -> Option<Browser> {
        let exe = ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
        let Some(exe) = exe else {
            assert!(std::env::var_os("CI").is_none(), "{test}: chromium is not installed, and CI must run this test");
            // Past libtest's capture: a skip must never look like a pass.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: skipped: chromium not installed (apt-get install chromium)"
            );
            return None;
        };
        let profile = std::env::temp_dir().join(format!("netns-test-chromium-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&profile).unwrap();
        let (to_r, to_w) = pipe();
        let (from_r, from_w) = pipe();
        let (a, b) = (to_r.as_raw_fd(), from_w.as_raw_fd());
        let mut cmd = Command::new(exe);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            "--window-size=1300,1700",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .env("HOME", &profile)
        .env("XDG_CONFIG_HOME", &profile)
        .env("XDG_CACHE_HOME", &profile)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: fcntl and dup2 only. The protocol's ends become descriptors 3 (in) and 4 (out).
        unsafe {
            cmd.pre_exec(move || {
                let (a, b) = (libc::fcntl(a, libc::F_DUPFD, 10), libc::fcntl(b, libc::F_DUPFD, 10));
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        let child = cmd.spawn().unwrap();
        drop((to_r, from_w));
        let mut b = Browser {
            child,
            to: File::from(to_w),
            from: BufReader::new(File::from(from_r)),
            next: 0,
            session: String::new(),
            profile,
        };
        let target = b.call("Target.createTarget", json!({ "url": "about:blank" }), false);
        let target = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call("Target.attachToTarget", json!({ "targetId": target, "flatten": true }), false);
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        b.call("Page.enable", json!({}), true);
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1300, "height": 1700, "deviceScaleFactor": 1, "mobile": false}),
            true,
        );
        Some(b)
    }

    /// Sends a command (to the page with `page`) and waits for its answer.
    fn call(&mut self, method: &str, params: Value, page: bool) -> Value {
        self.send(method, params, page);
        let id = self.next;
        loop {
            let msg = self.read();
            if msg["id"] == json!(id) {
                if let Some(e) = msg.get("error") {
                    panic!("{method}: {e}");
                }
                return msg["result"].clone();
            }
        }
    }

    fn send(&mut self, method: &str, params: Value, page: bool) {
        self.next += 1;
        let mut msg = json!({ "id": self.next, "method": method, "params": params });
        if page {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
    }

    fn read(&mut self) -> Value {
        let mut buf = Vec::new();
        let n = self.from.read_until(0, &mut buf).unwrap();
        assert!(n > 0, "chromium closed the protocol pipe");
        buf.pop();
        serde_json::from_slice(&buf).unwrap()
    }

    /// Opens `path` and waits for its load event; how long the load took, as the page measured it.
    fn open(&mut self, path: &Path) -> Duration {
        let url = format!("file://{}", path.display()).replace(' ', "%20");
        self.send("Page.navigate", json!({ "url": url }), true);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "the page did not load");
            let msg = self.read();
            if msg["method"] == "Page.loadEventFired" {
                break;
            }
        }
        let ms = self.eval("performance.getEntriesByType('navigation')[0].loadEventEnd").as_f64().unwrap_or(0.0);
        Duration::from_secs_f64(ms / 1000.0)
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({ "expression": expr, "returnByValue": true }), true);
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Clicks the middle of the element `selector` with the mouse, as a person would.
    fn click(&mut self, selector: &str) {
        let rect = self.eval(&format!(
            "(() => {{ const e = document.querySelector({selector:?}); e.scrollIntoView({{block: 'center'}}); \
             const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ));
        let (x, y) = (rect[0].as_f64().unwrap(), rect[1].as_f64().unwrap());
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
                true,
            );
        }
    }

    /// A PNG of the page (the whole of it with `full`) saved at `path`.
    fn screenshot(&mut self, path: &Path, full: bool) {
        let r = self.call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": full }), true);
        std::fs::write(path, base64(r["data"].as_str().unwrap())).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors, ours.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()).map(val).collect();
    bytes
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().enumerate().fold(0u32, |n, (i, &v)| n | (u32::from(v) << (18 - 6 * i)));
            let out = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.into_iter().take(c.len().saturating_sub(1))
        })
        .collect()
}

#[test]
fn the_report_shows_the_down_link_the_timeline_the_logs_and_the_packets_in_a_browser() {
    let (out, text, page) = run_fixture("down_link_then_panic", &[("NETNS_TEST_CAPTURE", "fail")]);
    assert!(!out.status.success(), "{text}");
    assert!(page.ends_with("report_page::fixture::down_link_then_panic/report.html"), "{}", page.display());
    // The failure output: the last log lines, tagged with their nodes.
    assert!(text.contains("[b] echo: hello from b"), "{text}");
    assert!(text.contains("[a] INFO report_page::fixture: about to ping peer=\"10.0.0.2\""), "{text}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("@import"),
        "self-contained"
    );
    assert!(html.len() < 5 << 20);
    let Some(mut b) =
        Browser::start("the_report_shows_the_down_link_the_timeline_the_logs_and_the_packets_in_a_browser")
    else {
        return;
    };
    let load = b.open(&page);
    assert_eq!(b.eval("document.documentElement.dataset.ready"), json!("1"), "the page's script ran");
    // The verdict, written in by the runner.
    let verdict = b.eval("document.querySelector('header .verdict').textContent");
    assert!(verdict.as_str().unwrap().contains("deliberate failure after the link went down"), "{verdict}");
    assert_eq!(b.eval("document.querySelector('header .verdict').classList.contains('v-failed')"), json!(true));
    // The down link is drawn as down.
    let link = "svg g.link[data-link='a:eth0 -- b:eth0']";
    assert_eq!(b.eval(&format!("document.querySelector(\"{link}\").classList.contains('down')")), json!(true));
    let labels = b.eval("[...document.querySelectorAll('svg .state text')].map(t => t.textContent)");
    assert_eq!(labels, json!(["DOWN"]));
    let dash = b.eval(&format!("getComputedStyle(document.querySelector(\"{link} .wire\")).strokeDasharray"));
    assert_ne!(dash, json!("none"), "drawn dashed");
    // The timeline: the link's down() before the panic, then the verdict.
    let rows: Vec<String> = serde_json::from_value(b.eval(
        "[...document.querySelectorAll('#timeline .row:not(.head)')].map(r => r.dataset.kind + '|' + r.textContent)",
    ))
    .unwrap();
    let at =
        |needle: &str| rows.iter().position(|r| r.contains(needle)).unwrap_or_else(|| panic!("{needle}: {rows:#?}"));
    let down = at("link a:eth0 -- b:eth0: down");
    let panic = at("failure|");
    assert!(down < panic && rows[panic].contains("deliberate failure after the link went down"), "{rows:#?}");
    assert!(rows[down].contains("[a] [b]"), "tagged with both nodes: {}", rows[down]);
    assert!(rows.last().unwrap().starts_with("failure|") && rows.last().unwrap().contains("verdict"), "{rows:#?}");
    // A log line of b, and a's tracing event.
    let log = at("hello from b");
    assert!(rows[log].starts_with("log|") && rows[log].contains("[b]") && log < down, "{}", rows[log]);
    assert!(rows[at("about to ping")].contains("[a]"), "{rows:#?}");
    // A packet row of the ping, decoded.
    let pings: Vec<String> = serde_json::from_value(b.eval(
        "[...document.querySelectorAll('#packets table.pk tbody tr')].map(r => [...r.cells].map(c => c.textContent).join('|'))",
    ))
    .unwrap();
    assert!(pings.iter().any(|r| r.contains("a:eth0|→ out|10.0.0.1|10.0.0.2|ICMP||echo request")), "{pings:#?}");
    assert!(pings.iter().any(|r| r.contains("b:eth0|→ out|10.0.0.2|10.0.0.1|ICMP||echo reply")), "{pings:#?}");
    let dir = artifacts();
    b.screenshot(&dir.join("report.png"), false);
    // Clicking node b shows its section of the state dump, its eth0 down.
    assert_eq!(b.eval("document.getElementById('ns-b').open"), json!(false));
    b.click("svg g.node[data-name='b'] rect.box");
    assert_eq!(b.eval("document.getElementById('ns-b').open"), json!(true), "b's section opens");
    let seen = b.eval(
        "(() => { const r = document.getElementById('ns-b').getBoundingClientRect(); \
         return r.bottom > 0 && r.top < innerHeight; })()",
    );
    assert_eq!(seen, json!(true), "b's section is scrolled into view");
    assert_eq!(b.eval("document.querySelector('#if-b-eth0 td:nth-child(2)').textContent"), json!("DOWN"));
    b.screenshot(&dir.join("report-after-clicking-b.png"), false);
    // Filtering the timeline to node a hides b's log line.
    b.click("#filters input[data-node='b']");
    assert_eq!(
        b.eval(
            "[...document.querySelectorAll('#timeline .row')].find(r => r.textContent.includes('hello from b')).hidden"
        ),
        json!(true)
    );
    let _ = writeln!(
        std::io::stderr(),
        "report page loaded in {:.0} ms; screenshots in {}",
        load.as_secs_f64() * 1e3,
        dir.display()
    );
}

#[test]
fn a_page_of_10000_packets_and_5000_log_lines_loads_within_a_second_and_stays_under_5_mib() {
    let (out, text, page) = run_fixture("big", &[("NETNS_TEST_CAPTURE", "fail")]);
    assert!(!out.status.success(), "{text}");
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size < 5 << 20, "{size} bytes");
    let html = std::fs::read_to_string(&page).unwrap();
    let packet_rows = html.matches("<tr data-t=").count();
    assert!(packet_rows >= 10_000, "{packet_rows} packet rows (did the capture drop some?):\n{text}");
    let Some(mut b) = Browser::start("a_page_of_10000_packets_and_5000_log_lines_loads_within_a_second") else {
        return;
    };
    // The first load warms the browser up (its own start); the second is the page's.
    b.open(&page);
    let load = b.open(&page);
    let logs = b.eval("document.querySelectorAll('#timeline .row.k-log').length").as_u64().unwrap();
    let rows = b.eval("document.querySelectorAll('#packets table.pk tbody tr').length").as_u64().unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "a report page of {size} bytes, {rows} packet rows and {logs} log lines loaded in {:.0} ms",
        load.as_secs_f64() * 1e3
    );
    assert!(logs >= 5_000 && rows >= 10_000, "{logs} log lines, {rows} packet rows");
    // 1 s is the promise; the bound leaves room for a loaded CI machine.
    assert!(load < Duration::from_secs(3), "loaded in {load:?}");
    b.click("svg g.node[data-name='b'] rect.box");
    assert_eq!(b.eval("document.getElementById('ns-b').open"), json!(true), "still usable");
}

#[test]
fn a_broken_report_still_renders_with_a_note() {
    let (out, text, page) = run_fixture("broken", &[("NETNS_TEST_CAPTURE", "fail")]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("the last 50 of 200000 log lines"), "{text}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.len() < 5 << 20, "{} bytes", html.len());
    assert!(html.contains("200000 log lines in all; this page shows"), "the huge log is noted");
    assert!(html.contains("cannot read") && html.contains("a-eth0.pcap"), "the missing capture is noted");
    let Some(mut b) = Browser::start("a_broken_report_still_renders_with_a_note") else { return };
    b.open(&page);
    let notes = b.eval("document.querySelectorAll('#notes li').length").as_u64().unwrap();
    assert!(notes >= 1, "notes shown");
    let rows = b.eval("document.querySelectorAll('#timeline .row').length").as_u64().unwrap();
    assert!(rows > 1_000, "{rows} timeline rows: not a blank page");
    let height = b.eval("document.body.scrollHeight").as_f64().unwrap();
    assert!(height > 2_000.0, "{height}");
    b.screenshot(&artifacts().join("broken-report.png"), false);
}

/// `REPORT_PAGES=a.html:b.html cargo test --test report_page measure -- --ignored --nocapture`:
/// the load time of each page, three times (for tuning the page).
#[test]
#[ignore = "a measuring tool, run by hand"]
fn measure() {
    let pages = std::env::var("REPORT_PAGES").unwrap_or_default();
    let Some(mut b) = Browser::start("measure") else { return };
    for p in pages.split(':').filter(|p| !p.is_empty()) {
        let times: Vec<u128> = (0..3).map(|_| b.open(Path::new(p)).as_millis()).collect();
        let script = b.eval("document.documentElement.dataset.scriptMs");
        println!("{p}: load {times:?} ms, script done at {script}");
    }
}
