//! `netns-test`: check, bring up, enter and draw topology files, rootless.
//!
//! `main` reads the command line and dispatches; `live` builds a topology in this process's own
//! namespaces, `show` prints it (text or JSON), `enter` runs programs in its nodes, `graph` draws it, `report`
//! lists and opens the report pages failing tests left.

mod enter;
mod graph;
mod live;
mod report;
mod show;

use clap::{Parser, Subcommand};
use netns_test::Topology;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit status:
  0    success
  1    a file is unreadable or not a valid topology, or (up) an expectation failed
  2    usage error
  3    the topology could not be built (user namespaces unavailable, a netlink failure)
  exec and shell pass the command's own status through (128+N when killed by signal N);
  125  netns-test itself failed before the command ran, 126 the command cannot be executed,
  127  the command was not found";

#[derive(Parser)]
#[command(
    version,
    about = "Bring netns-test topologies up in rootless network namespaces",
    after_help = format!("Examples:
  netns-test check fixtures/*.topo
  netns-test up fixtures/router.topo
  netns-test up fixtures/router.topo --json | jq .reachability
  netns-test exec fixtures/router.topo h1 -- ip route
  netns-test shell fixtures/router.topo r
  netns-test graph fixtures/two-lans.topo > two-lans.svg
  netns-test report                      # the report pages failing tests left, newest first

Everything runs in user and network namespaces this process creates: no root, no sudo, and
nothing is left behind when it exits.

{EXIT_CODES}")
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Parse and validate files; print each error with its LINE:COL.
    #[command(after_help = "Examples:
  netns-test check fixtures/router.topo
  netns-test check fixtures/*.topo     # exit status 1 if any file has an error")]
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Build the topology, print it and its ICMP reachability, check its `expect` lines, tear down.
    #[command(after_help = "Examples:
  netns-test up fixtures/router.topo              # exit status 1 if an `expect` line fails
  netns-test up fixtures/router.topo --json       # nodes, interfaces, addresses, routes,
                                                  # reachability and expectations; only JSON on stdout
  netns-test up fixtures/router.topo --hold       # keep it up until Enter, printing nsenter lines")]
    Up {
        /// A topology file in the netns-test grammar (see the README).
        file: PathBuf,
        /// How long to wait for each echo reply of the reachability matrix: `300ms`, `1s`, `2m`.
        #[arg(long, default_value = "300ms", value_parser = duration)]
        ping_timeout: Duration,
        /// How long each `expect` probe may take (so how long a `-/->` waits to be sure).
        #[arg(long, default_value = "2s", value_parser = duration)]
        expect_timeout: Duration,
        /// Print one JSON document on stdout instead of text.
        #[arg(long)]
        json: bool,
        /// Keep the topology up until Enter is pressed, printing how to enter each node.
        #[arg(long, conflicts_with = "json")]
        hold: bool,
    },
    /// Run a command inside a node of the live topology (like `ip netns exec`).
    #[command(after_help = "Examples:
  netns-test exec fixtures/router.topo h1 -- ip -br addr
  netns-test exec fixtures/router.topo h1 -- ping -c1 10.2.0.2
The command's exit status is passed through.")]
    Exec {
        file: PathBuf,
        node: String,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// An interactive $SHELL inside a node (default: the first), the whole topology live.
    #[command(after_help = "Examples:
  netns-test shell fixtures/router.topo       # in h1, the first node
  netns-test shell fixtures/router.topo r     # in the router
Leave the shell to tear the topology down. $NETNS_TEST_NODE names the node inside.")]
    Shell { file: PathBuf, node: Option<String> },
    /// Draw the topology as SVG on stdout (nodes, bridges, links with interfaces and addresses).
    #[command(after_help = "Examples:
  netns-test graph fixtures/two-lans.topo > two-lans.svg
  netns-test graph fixtures/two-lans.topo --dot | dot -Tpng > two-lans.png")]
    Graph {
        file: PathBuf,
        /// Print Graphviz dot text instead of SVG.
        #[arg(long)]
        dot: bool,
    },
    /// List the report pages failing tests left (verdict, time, test, path), newest first.
    #[command(after_help = "Examples:
  netns-test report                          # under target/netns-test
  netns-test report target/netns-test
  netns-test report --open link_down         # open a test's report.html with xdg-open
A failing test writes target/netns-test/<crate>::<test>/report.html (NETNS_TEST_REPORT=0: none,
=all: passing tests too); a test that passes again removes its old one.")]
    Report {
        /// The directory holding one directory per test (default: target/netns-test).
        dir: Option<PathBuf>,
        /// Open the report of the test with this name (or the one whose name contains it).
        #[arg(long, value_name = "NAME")]
        open: Option<String>,
    },
}

/// Exit status for an unreadable or invalid file, or a failed expectation.
const INVALID: u8 = 1;
/// Exit status when the topology cannot be built.
const UNBUILDABLE: u8 = 3;

fn main() -> ExitCode {
    // Like other command-line tools, end quietly when stdout's reader goes (`up | head`), rather
    // than panicking on the failed write. SAFETY: restores a signal's default disposition.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    match cli.command {
        Cmd::Check { files } => check(&files),
        Cmd::Up { file, ping_timeout, expect_timeout, json, hold } => {
            live::up(&file, [ping_timeout, expect_timeout], json, hold)
        }
        Cmd::Exec { file, node, command } => enter::exec(&file, &node, &command),
        Cmd::Shell { file, node } => enter::shell(&file, node.as_deref()),
        Cmd::Report { dir, open } => report::run(dir.as_deref(), open.as_deref()),
        Cmd::Graph { file, dot } => match load(&file) {
            Ok(t) => {
                print!("{}", if dot { graph::dot(&t) } else { graph::svg(&t) });
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e, INVALID),
        },
    }
}

fn check(files: &[PathBuf]) -> ExitCode {
    let mut bad = 0;
    for file in files {
        match load(file) {
            Ok(t) => println!(
                "{}: ok ({} nodes, {} bridges, {} links, {} expectations)",
                file.display(),
                t.nodes.len(),
                t.bridges.len(),
                t.links.len(),
                t.expects.len()
            ),
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} files have errors", files.len());
        return ExitCode::from(INVALID);
    }
    ExitCode::SUCCESS
}

/// Reads and validates a topology file; the error is ready to print (`FILE:LINE:COL: ...`).
fn load(file: &Path) -> Result<Topology, String> {
    let src = std::fs::read_to_string(file).map_err(|e| format!("netns-test: cannot read {}: {e}", file.display()))?;
    Topology::parse(&src).map_err(|errs| {
        let each: Vec<String> = errs.0.iter().map(|e| format!("{}:{}", file.display(), e.render(&src))).collect();
        each.join("\n\n")
    })
}

fn fail(msg: &str, code: u8) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(code)
}

fn duration(s: &str) -> Result<Duration, String> {
    netns_test::topology::parse_duration(s).map_err(|e| e.to_string())
}
