//! A link with `loss=10%, delay=20ms`, measured with real packets: UDP datagrams echoed across
//! it and ICMP echoes, then the same after the conditions are cleared at run time.
//!
//! ```sh
//! cargo run -p netns-test --example lossy_link
//! ```
//!
//! Conditions apply to each direction on its own, as netem on both ends would: a datagram is
//! lost on the way out 10 % of the time, an echo round trip fails about 19 % of the time
//! (1 - 0.9 × 0.9) and takes at least 40 ms. The example exits with status 1 if the figures it
//! measures do not say so, 3 if the topology could not be built.

use netns_test::Net;
use std::net::UdpSocket;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Datagrams sent per measurement, one a millisecond (paced, so no socket buffer overflows:
/// every loss counted is the link's).
const SENT: u32 = 400;

fn main() -> ExitCode {
    // First thing, while the process has one thread: the kernel refuses a user namespace later.
    if let Err(e) = netns_test::isolate() {
        eprintln!("lossy_link: {e}");
        return ExitCode::from(3);
    }
    let topology = "a=10.0.0.1/24 -- b=10.0.0.2/24 [loss=10%, delay=20ms]".parse().expect("a valid topology");
    let net = match Net::build(topology) {
        Ok(net) => net,
        Err(e) => {
            eprintln!("lossy_link: building the topology failed: {e}");
            return ExitCode::from(3);
        }
    };
    let link = net.link("a", "b");
    // On a kernel with sch_netem, netem; without it (this project's CI), netns-test's userspace
    // forwarder, with the same meaning.
    println!("link a -- b: {} ({})", link.conditions(), link.path());

    let mut failed = Vec::new();
    let lossy = measure(&net);
    lossy.print("loss=10%, delay=20ms");
    // 400 datagrams: a one-way loss of 10 % is 40 ± 6 (one standard deviation).
    if !(4.0..=16.0).contains(&lossy.one_way_loss()) {
        failed.push(format!("one-way loss {:.1} %, expected about 10 %", lossy.one_way_loss()));
    }
    if lossy.rtt_min < Duration::from_millis(40) {
        failed.push(format!("a round trip took {:?}, less than the 2 × 20 ms of delay", lossy.rtt_min));
    }
    if lossy.pings.iter().flatten().any(|rtt| *rtt < Duration::from_millis(40)) {
        failed.push("a ping came back in less than 40 ms".into());
    }

    // Conditions change while the program runs: `set` takes the same options, `clear` removes them.
    link.clear().expect("clearing the link's conditions");
    let clear = measure(&net);
    clear.print("cleared");
    if clear.one_way_loss() > 1.0 || clear.rtt_median > Duration::from_millis(10) {
        failed.push(format!(
            "after clear(): {:.1} % lost, median round trip {:?}: the conditions are still there",
            clear.one_way_loss(),
            clear.rtt_median
        ));
    }
    if failed.is_empty() {
        println!("as declared: about 10 % lost each way, 40 ms round trips; none of it once cleared");
        ExitCode::SUCCESS
    } else {
        eprintln!("lossy_link: FAILED: {}", failed.join("; "));
        ExitCode::FAILURE
    }
}

/// What one measurement found.
struct Figures {
    /// Datagrams b received from a, of [`SENT`].
    received: u32,
    /// Echoes a received back from b.
    echoed: u32,
    rtt_min: Duration,
    rtt_median: Duration,
    rtt_max: Duration,
    /// Ten ICMP echoes sent at once: each one's round trip, or `None` if it got no reply in 1 s.
    pings: Vec<Option<Duration>>,
}

impl Figures {
    fn one_way_loss(&self) -> f64 {
        100.0 * f64::from(SENT - self.received) / f64::from(SENT)
    }

    fn print(&self, what: &str) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let answered: Vec<f64> = self.pings.iter().flatten().map(|d| ms(*d)).collect();
        println!("{what}:");
        println!(
            "  UDP: {SENT} sent a -> b, {} arrived ({:.1} % lost one way), {} echoes back ({:.1} % lost round trip)",
            self.received,
            self.one_way_loss(),
            self.echoed,
            100.0 * f64::from(SENT - self.echoed) / f64::from(SENT)
        );
        println!(
            "  UDP round trip: min {:.2} ms, median {:.2} ms, max {:.2} ms",
            ms(self.rtt_min),
            ms(self.rtt_median),
            ms(self.rtt_max)
        );
        println!(
            "  ping: {} of {} answered within 1 s, round trips {:.2?} ms",
            answered.len(),
            self.pings.len(),
            answered
        );
    }
}

/// Sends [`SENT`] numbered datagrams from a to an echo server in b, then ten pings.
fn measure(net: &Net) -> Figures {
    let server = net.node("b").run(|| UdpSocket::bind("10.0.0.2:7000")).expect("bind in b");
    let client = net.node("a").run(|| UdpSocket::bind("10.0.0.1:0")).expect("bind in a");
    let done = Arc::new(AtomicBool::new(false));
    // The echo server counts what arrives and sends it back.
    let echo = {
        let done = done.clone();
        std::thread::spawn(move || {
            server.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let (mut buf, mut received) = ([0; 8], 0);
            while !done.load(Ordering::Relaxed) {
                if let Ok((n, from)) = server.recv_from(&mut buf) {
                    received += 1;
                    server.send_to(&buf[..n], from).unwrap();
                }
            }
            received
        })
    };
    // The receiving side of the client: each echo's round trip from its own send.
    let sent_at: Arc<Vec<std::sync::OnceLock<Instant>>> = Arc::new((0..SENT).map(|_| Default::default()).collect());
    let all_sent = Arc::new(AtomicBool::new(false));
    let replies = {
        let (client, sent_at, all_sent) = (client.try_clone().unwrap(), sent_at.clone(), all_sent.clone());
        std::thread::spawn(move || {
            client.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
            let mut rtts = Vec::new();
            let mut buf = [0; 8];
            loop {
                match client.recv(&mut buf) {
                    Ok(n) => {
                        let seq = u32::from_be_bytes(buf[..n].try_into().unwrap());
                        rtts.push(sent_at[seq as usize].get().unwrap().elapsed());
                    }
                    // 200 ms without an echo once everything is sent: longer than any round trip here.
                    Err(_) if all_sent.load(Ordering::Relaxed) => return rtts,
                    Err(_) => {}
                }
            }
        })
    };
    for seq in 0..SENT {
        sent_at[seq as usize].set(Instant::now()).unwrap();
        client.send_to(&seq.to_be_bytes(), "10.0.0.2:7000").unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    all_sent.store(true, Ordering::Relaxed);
    let pings = std::thread::scope(|s| {
        let each: Vec<_> = (0..10).map(|_| s.spawn(|| net.ping("a", "10.0.0.2".parse().unwrap()).ok())).collect();
        each.into_iter().map(|p| p.join().unwrap()).collect()
    });
    let mut rtts = replies.join().unwrap();
    done.store(true, Ordering::Relaxed);
    let received = echo.join().unwrap();
    rtts.sort();
    let at = |i: usize| rtts.get(i).copied().unwrap_or_default();
    Figures {
        received,
        echoed: rtts.len() as u32,
        rtt_min: at(0),
        rtt_median: at(rtts.len() / 2),
        rtt_max: at(rtts.len().saturating_sub(1)),
        pings,
    }
}
