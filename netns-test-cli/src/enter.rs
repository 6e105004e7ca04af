//! `exec` and `shell`: a program inside one node while the whole topology is live.

use crate::{fail, live};
use netns_test::Net;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitCode;

/// netns-test itself failed before the command ran.
const OWN_FAILURE: u8 = 125;
/// The command exists but cannot be executed.
const CANNOT_EXECUTE: u8 = 126;
/// The command was not found.
const NOT_FOUND: u8 = 127;

pub(crate) fn exec(file: &Path, node: &str, command: &[String]) -> ExitCode {
    let net = match live::build(file) {
        Ok((net, _)) => net,
        Err((msg, _)) => return fail(&msg, OWN_FAILURE),
    };
    run(&net, node, &command[0], &command[1..])
}

pub(crate) fn shell(file: &Path, node: Option<&str>) -> ExitCode {
    let net = match live::build(file) {
        Ok((net, _)) => net,
        Err((msg, _)) => return fail(&msg, OWN_FAILURE),
    };
    let node = node.map_or_else(|| net.nodes()[0].name().to_string(), str::to_string);
    let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
    let names: Vec<_> = net.nodes().iter().map(|n| n.name()).collect();
    eprintln!(
        "netns-test: {shell} in node `{node}` of {} (nodes: {}); leave it to tear the topology down",
        file.display(),
        names.join(", ")
    );
    run(&net, &node, &shell, &[])
}

/// Runs `program` in `node` with this process's stdin, stdout and stderr; its exit status.
fn run(net: &Net, node: &str, program: &str, args: &[String]) -> ExitCode {
    let Some(n) = net.nodes().iter().find(|n| n.name() == node) else {
        let names: Vec<_> = net.nodes().iter().map(|n| format!("`{}`", n.name())).collect();
        return fail(&format!("netns-test: no node `{node}`; the nodes are {}", names.join(", ")), OWN_FAILURE);
    };
    let status = n
        .command(program)
        .args(args)
        .env("NETNS_TEST_NODE", node)
        .env("PS1", format!("[netns-test {node}] \\w \\$ "))
        .status();
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => ExitCode::from(c as u8),
            (None, Some(sig)) => ExitCode::from(128 + sig as u8),
            _ => ExitCode::from(OWN_FAILURE),
        },
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound { NOT_FOUND } else { CANNOT_EXECUTE };
            fail(&format!("netns-test: cannot run `{program}` in `{node}`: {e}"), code)
        }
    }
}
