//! `bridge br0[=addrs] { members } [opts]`: a bridge in the test's own namespace, one veth per
//! member.

use super::addr::overlap;
use super::Validator;
use crate::ast::{BridgeStmt, Span};
use crate::error::Error;
use crate::model::{Bridge, Peer};
use crate::text::at;
use ipnet::IpNet;
use std::collections::HashMap;

/// The bridges so far: where each name was first written, and the subnets of their addresses.
#[derive(Default)]
pub(super) struct Seen {
    names: HashMap<String, Span>,
    subnets: Vec<(String, IpNet)>,
}

impl Validator<'_> {
    pub(super) fn bridge(&mut self, b: &BridgeStmt) {
        if is_port_name(&b.name.text) {
            self.errors.push(
                Error::new(b.name.span.clone(), format!("bridge name `{}` is reserved for bridge ports", b.name.text))
                    .help(
                        "the bridge-side veth ends are named `b<N>p<M>` in the same namespace; \
                         pick another name, e.g. `br0`",
                    ),
            );
        }
        if let Some(first) = self.bridges.names.get(&b.name.text) {
            let at = at(self.src, first.start);
            self.errors.push(Error::new(
                b.name.span.clone(),
                format!("bridge `{}` is defined twice (first at {at})", b.name.text),
            ));
        } else {
            self.bridges.names.insert(b.name.text.clone(), b.name.span.clone());
        }
        let idx = self.topo.bridges.len();
        let good = self.check_addrs(&b.addrs, "a bridge");
        // All bridges are in the test's own namespace: their subnets must not overlap.
        'addr: for a in &good {
            for (other, net) in &self.bridges.subnets {
                if *other != b.name.text && overlap(*net, a.net) {
                    self.errors.push(
                        Error::new(
                            a.span.clone(),
                            format!(
                                "bridges `{other}` and `{}` have addresses in overlapping subnets {} and {}: \
                                 routes would be ambiguous",
                                b.name.text,
                                net.trunc(),
                                a.net.trunc()
                            ),
                        )
                        .help(
                            "all bridges are in the test's own namespace: give each bridge a subnet of its \
                             own, or put the nodes on one bridge",
                        ),
                    );
                    continue 'addr;
                }
            }
        }
        self.bridges.subnets.extend(good.iter().map(|a| (b.name.text.clone(), a.net)));
        // The bridge takes its smallest port's MTU.
        self.no_ipv6_below_its_minimum_mtu(&b.addrs, b.opts.mtu);
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut members = Vec::new();
        let mut conditions = Vec::new();
        for (m, own) in b.members.iter().zip(&b.member_opts) {
            if let Some(first) = seen.get(m.node.text.as_str()) {
                let at = at(self.src, first.start);
                self.errors.push(Error::new(
                    m.node.span.clone(),
                    format!("node `{}` is in bridge `{}` twice (first at {at})", m.node.text, b.name.text),
                ));
                continue;
            }
            seen.insert(&m.node.text, m.node.span.clone());
            members.push(self.iface(m, Peer::Bridge(idx), b.opts.mtu));
            // A member's own options replace the bridge's conditions for its link.
            conditions.push(own.as_ref().map_or(b.opts.conditions, |o| o.conditions));
        }
        if members.len() > Bridge::MAX_MEMBERS {
            self.errors.push(
                Error::new(
                    b.name.span.clone(),
                    format!(
                        "bridge `{}` has {} members, but a Linux bridge takes at most 1,023 ports \
                         (`BR_MAX_PORTS` is 1,024, port 0 is reserved)",
                        b.name.text,
                        members.len()
                    ),
                )
                .help(
                    "split the LAN over several bridges, each with a subnet of its own, and route between \
                     them through a node that is a member of each (`r [forward]`), or use fewer members",
                ),
            );
        }
        let ports = (0..members.len()).map(|i| format!("b{idx}p{i}")).collect();
        self.topo.bridges.push(Bridge {
            name: b.name.text.clone(),
            addrs: b.addrs.iter().map(|a| a.net).collect(),
            members,
            ports,
            mtu: b.opts.mtu,
            conditions,
        });
    }
}

/// Whether `name` has the form `b<digits>p<digits>` of generated bridge port names.
fn is_port_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('b') else { return false };
    let Some((bridge, port)) = rest.split_once('p') else { return false };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    digits(bridge) && digits(port)
}
