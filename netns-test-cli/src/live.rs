//! A topology built in this process's own namespaces: `up`, and the start of `exec` / `shell`.

use crate::{fail, load, show, INVALID, UNBUILDABLE};
use netns_test::Net;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Isolates this process (while it is still single-threaded), then loads and builds `file`.
/// Prints a progress line on stderr when the build takes more than a second.
pub(crate) fn build(file: &Path) -> Result<(Net, Duration), (String, u8)> {
    netns_test::isolate().map_err(|e| (format!("netns-test: {e}"), UNBUILDABLE))?;
    let topology = load(file).map_err(|e| (e, INVALID))?;
    let what =
        format!("{} nodes, {} bridges, {} links", topology.nodes.len(), topology.bridges.len(), topology.links.len());
    let start = Instant::now();
    let (done, wait) = mpsc::channel::<()>();
    let progress = std::thread::spawn(move || progress(&what, start, &wait));
    let net = Net::build(topology);
    let _ = done.send(());
    let _ = progress.join();
    let net = net.map_err(|e| (format!("netns-test: building {} failed: {e}", file.display()), UNBUILDABLE))?;
    Ok((net, start.elapsed()))
}

/// Once a second while the build runs: `building 1000 nodes, ... (3 s)`, on one line when
/// stderr is a terminal.
fn progress(what: &str, start: Instant, done: &mpsc::Receiver<()>) {
    let tty = std::io::stderr().is_terminal();
    let mut shown = false;
    while let Err(mpsc::RecvTimeoutError::Timeout) = done.recv_timeout(Duration::from_secs(1)) {
        let line = format!("netns-test: building {what}... {} s", start.elapsed().as_secs());
        let _ = if tty { write!(std::io::stderr(), "\r{line}") } else { writeln!(std::io::stderr(), "{line}") };
        shown = true;
    }
    if shown {
        let end = format!("netns-test: built {what} in {:.1} s", start.elapsed().as_secs_f64());
        let _ = if tty { writeln!(std::io::stderr(), "\r{end}") } else { writeln!(std::io::stderr(), "{end}") };
    }
}

/// `netns-test up`: build, print, ping every pair, check the expectations, tear down.
/// `timeouts`: of one echo of the matrix, of one expectation's probe.
pub(crate) fn up(file: &Path, timeouts: [Duration; 2], json: bool, hold: bool) -> ExitCode {
    let (net, built) = match build(file) {
        Ok(x) => x,
        Err((msg, code)) => return fail(&msg, code),
    };
    let matrix = show::reachability(&net, timeouts[0]);
    let expectations = net.check_expectations(timeouts[1]);
    if json {
        println!("{}", show::json(&net, built, &matrix, &expectations));
    } else {
        show::text(&net, built, &matrix, &expectations);
        if hold {
            show::enter_hints(&net);
            let _ = std::io::stdin().read_line(&mut String::new());
        }
        println!("\ntorn down (the namespaces die with this process)");
    }
    if !expectations.passed() {
        eprintln!("netns-test: {}: an expectation failed ({})", file.display(), expectations.summary());
        return ExitCode::from(INVALID);
    }
    ExitCode::SUCCESS
}
