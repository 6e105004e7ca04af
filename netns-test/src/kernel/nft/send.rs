//! Sends a ruleset to the calling thread's network namespace and checks every acknowledgement.

use super::expr::Expr;
use super::ruleset::Ruleset;
use super::wire::{messages, NLMSG_ERROR};
use crate::kernel::nfnl::NfSocket;
use std::io;

/// Why a ruleset was refused: the message that failed, the kernel's error, and a likely cause.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) what: String,
    pub(crate) source: io::Error,
    pub(crate) hint: String,
}

/// Installs `rules` in one nf_tables transaction (all or nothing) in the calling thread's
/// namespace, on a socket of its own.
pub(crate) fn install(rules: &Ruleset) -> Result<(), Refused> {
    let socket = NfSocket::open().map_err(|source| Refused {
        what: "opening an nf_tables netlink socket".into(),
        source,
        hint: "the kernel has no nfnetlink: netns-test needs CONFIG_NETFILTER_NETLINK and CONFIG_NF_TABLES".into(),
    })?;
    install_on(&socket, rules)
}

/// Installs `rules` in one nf_tables transaction (all or nothing) in the namespace of `socket`.
pub(crate) fn install_on(socket: &NfSocket, rules: &Ruleset) -> Result<(), Refused> {
    let refused = |what: &str| {
        let what = what.to_string();
        move |source| Refused { what, source, hint: String::new() }
    };
    let (batch, acked) = rules.encode();
    socket.send(&batch).map_err(refused("sending the nf_tables batch"))?;

    let mut pending: Vec<u32> = acked.iter().map(|(seq, _)| *seq).collect();
    let mut first_error: Option<(u32, i32)> = None;
    let mut buf = vec![0u8; 1 << 16];
    while !pending.is_empty() {
        let n = socket.recv(&mut buf).map_err(refused("reading the kernel's nf_tables answer"))?;
        for (ty, _, _, payload) in messages(&buf[..n]) {
            if ty != NLMSG_ERROR || payload.len() < 4 + 16 {
                continue;
            }
            let code = i32::from_ne_bytes(payload[0..4].try_into().unwrap());
            // The header of the message this answers follows the error code.
            let seq = u32::from_ne_bytes(payload[4 + 8..4 + 12].try_into().unwrap());
            pending.retain(|s| *s != seq);
            if code != 0 && first_error.is_none() {
                first_error = Some((seq, -code));
            }
            if code != 0 && !acked.iter().any(|(s, _)| *s == seq) {
                // The batch itself was refused (e.g. EPERM on its first message): no more answers.
                pending.clear();
            }
        }
    }
    let Some((seq, errno)) = first_error else { return Ok(()) };
    let what = acked.iter().find(|(s, _)| *s == seq).map_or("starting the nf_tables transaction", |(_, w)| w);
    Err(Refused { what: what.to_string(), source: io::Error::from_raw_os_error(errno), hint: hint(rules, what, errno) })
}

/// The likely cause of `errno` on the message `what`.
pub(super) fn hint(rules: &Ruleset, what: &str, errno: i32) -> String {
    match errno {
        libc::EPERM => "the test's namespace lacks CAP_NET_ADMIN over its network namespace".into(),
        libc::ENOENT | libc::EOPNOTSUPP | libc::EAFNOSUPPORT => {
            // The expressions of the failing rule, with the kernel options providing them.
            let mut configs: Vec<String> = rules
                .tables
                .iter()
                .flat_map(|t| &t.chains)
                .flat_map(|c| &c.rules)
                .filter(|r| what.contains(&format!("`{}`", r.text)))
                .flat_map(|r| r.exprs.iter().map(|e: &Expr| format!("`{}` ({})", e.name(), e.config())))
                .collect();
            configs.dedup();
            if configs.is_empty() {
                "the kernel lacks nf_tables or its NAT support (CONFIG_NF_TABLES, CONFIG_NFT_NAT, \
                 CONFIG_NF_TABLES_INET)"
                    .into()
            } else {
                format!("the kernel may lack one of the expressions this rule uses: {}", configs.join(", "))
            }
        }
        _ => String::new(),
    }
}
