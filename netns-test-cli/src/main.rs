//! `netns-test up FILE`: bring a topology up rootless, print it and its reachability, tear down.

use clap::{Parser, Subcommand};
use netns_test::topology::{parse_duration, Peer};
use netns_test::{Net, Topology};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(version, about = "Bring netns-test topologies up in rootless network namespaces")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the topology, print its nodes and an ICMP reachability matrix, then tear it down.
    Up {
        /// A topology file in the netns-test grammar (see the README).
        file: PathBuf,
        /// How long to wait for each echo reply: `300ms`, `1s`, `2m`.
        #[arg(long, default_value = "300ms", value_parser = |s: &str| parse_duration(s).map_err(|e| e.to_string()))]
        ping_timeout: Duration,
        /// Keep the topology up until Enter is pressed, printing how to enter each node.
        #[arg(long)]
        hold: bool,
    },
    /// Only parse and validate the file; print the errors with their positions.
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Check { file } => match load(&file) {
            Ok(t) => {
                println!(
                    "{}: ok ({} nodes, {} bridges, {} links)",
                    file.display(),
                    t.nodes.len(),
                    t.bridges.len(),
                    t.links.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Cmd::Up { file, ping_timeout, hold } => {
            // First, while this process is still single-threaded.
            if let Err(e) = netns_test::isolate() {
                return fail(&format!("netns-test: {e}"));
            }
            let topology = match load(&file) {
                Ok(t) => t,
                Err(e) => return fail(&e),
            };
            let start = Instant::now();
            let net = match Net::build(topology) {
                Ok(n) => n,
                Err(e) => return fail(&format!("netns-test: building {} failed: {e}", file.display())),
            };
            let built = start.elapsed();
            print_nodes(&net, built);
            print_reachability(&net, ping_timeout);
            if hold {
                print_enter_hints(&net);
                let _ = std::io::stdin().read_line(&mut String::new());
            }
            println!("\ntorn down (the namespaces die with this process)");
            ExitCode::SUCCESS
        }
    }
}

fn load(file: &PathBuf) -> Result<Topology, String> {
    let src = std::fs::read_to_string(file).map_err(|e| format!("netns-test: cannot read {}: {e}", file.display()))?;
    Topology::parse(&src).map_err(|e| format!("{}: invalid topology\n{}", file.display(), e.render(&src)))
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::FAILURE
}

fn print_nodes(net: &Net, built: Duration) {
    let t = net.topology();
    println!(
        "topology up in {:.1} ms: {} nodes, {} bridges, {} veth pairs\n",
        built.as_secs_f64() * 1e3,
        t.nodes.len(),
        t.bridges.len(),
        t.links.len() + t.bridges.iter().map(|b| b.members.len()).sum::<usize>()
    );
    for node in net.nodes() {
        let n = &t.nodes[t.node_index(node.name()).unwrap()];
        let fwd = if n.forward { "  [forward]" } else { "" };
        println!("{}{fwd}", node.name());
        println!("  lo        127.0.0.1/8 ::1/128");
        for i in node.interfaces() {
            let addrs: Vec<_> = i.addrs.iter().map(|a| a.to_string()).collect();
            let peer = match i.peer {
                Peer::Link { peer, .. } => {
                    let (node, iface) = t.iface_name(peer);
                    format!("-> {node}:{iface}")
                }
                Peer::Bridge(b) => format!("-> bridge {}", t.bridges[b].name),
            };
            println!("  {:<9} {:<32} {peer}", i.name, if addrs.is_empty() { "-".to_string() } else { addrs.join(" ") });
        }
        for r in &n.routes {
            println!("  route     {} via {}", r.dest.map_or("default".into(), |d| d.to_string()), r.via);
        }
    }
    for b in &t.bridges {
        let addrs: Vec<_> = b.addrs.iter().map(|a| a.to_string()).collect();
        println!("bridge {} {}  ports: {}", b.name, addrs.join(" "), b.ports.join(", "));
    }
}

fn print_reachability(net: &Net, timeout: Duration) {
    let targets: Vec<(String, IpAddr)> = net.topology().all_addrs();
    if targets.is_empty() {
        println!("\nno addresses, no reachability to show");
        return;
    }
    println!("\nreachability (ICMP echo from the row's node to the column's address; round trip in ms):");
    let width = targets.iter().map(|(_, a)| a.to_string().len()).max().unwrap_or(0).max(8);
    let name_w = net.nodes().iter().map(|n| n.name().len()).max().unwrap_or(4).max(4);
    print!("{:name_w$}", "");
    for (_, a) in &targets {
        print!("  {:>width$}", a.to_string());
    }
    println!();
    let (mut ok, mut total) = (0, 0);
    for node in net.nodes() {
        print!("{:name_w$}", node.name());
        for (_, addr) in &targets {
            total += 1;
            let cell = match node.ping(*addr, timeout) {
                Ok(rtt) => {
                    ok += 1;
                    format!("{:.3}", rtt.as_secs_f64() * 1e3)
                }
                Err(_) => "-".to_string(),
            };
            print!("  {cell:>width$}");
        }
        println!();
    }
    println!("{ok} of {total} reachable");
}

fn print_enter_hints(net: &Net) {
    let pid = std::process::id();
    println!("\nholding the topology up; enter a node from another shell with:");
    for node in net.nodes() {
        println!(
            "  {:<8} nsenter --preserve-credentials -U -t {pid} --net=/proc/{pid}/fd/{}",
            node.name(),
            node.as_raw_fd()
        );
    }
    println!("press Enter to tear it down");
}
