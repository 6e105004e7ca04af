//! DNS: which nodes run a server (`[dns, dns64, dns64-prefix=..]`), which one each node asks
//! (`[resolver=d]`), and the records (`dns NAME TYPE VALUE`) checked against each other.

use super::Validator;
use crate::ast::{Ast, DnsStmt, Name, Span, Stmt};
use crate::dns::{DnsServer, RecordData, WELL_KNOWN_PREFIX};
use crate::error::Error;
use crate::text::at;
use std::collections::HashMap;

impl Validator<'_> {
    pub(super) fn dns(&mut self, ast: &Ast) {
        let n = self.topo.nodes.len();
        // Per node: where `dns` was first written, `dns64`, its prefix, `resolver=`.
        let mut dns: Vec<Option<Span>> = vec![None; n];
        let mut dns64: Vec<Option<Span>> = vec![None; n];
        let mut prefix: Vec<Option<(ipnet::Ipv6Net, Span)>> = vec![None; n];
        let mut resolver: Vec<Option<Name>> = vec![None; n];
        for stmt in &ast.stmts {
            let Stmt::NodeOpts(o) = stmt else { continue };
            // An unknown node was reported by `node_opts`.
            let Some(&i) = self.node_idx.get(&o.node.text) else { continue };
            dns[i] = dns[i].take().or(o.opts.dns.clone());
            dns64[i] = dns64[i].take().or(o.opts.dns64.clone());
            prefix[i] = prefix[i].take().or(o.opts.dns64_prefix.clone());
            if let Some(r) = &o.opts.resolver {
                match &resolver[i] {
                    Some(first) => {
                        let first = at(self.src, first.span.start);
                        let msg = format!("node `{}` has `resolver` twice (first at {first})", o.node.text);
                        self.errors.push(Error::new(r.span.clone(), msg));
                    }
                    None => resolver[i] = Some(r.clone()),
                }
            }
        }
        for i in 0..n {
            let name = self.topo.nodes[i].name.clone();
            if let (Some(span), None) = (&dns64[i], &dns[i]) {
                let e = Error::new(span.clone(), format!("`dns64` needs a DNS server: node `{name}` has no `dns`"));
                self.errors.push(e.help(format!("write `{name} [dns, dns64]`")));
            }
            if let (Some((_, span)), None) = (&prefix[i], &dns64[i]) {
                let e = Error::new(span.clone(), "`dns64-prefix` needs `dns64`");
                self.errors.push(e.help(format!("write `{name} [dns, dns64, dns64-prefix=..]`")));
            }
            if dns[i].is_some() {
                let dns64 = dns64[i].as_ref().map(|_| prefix[i].as_ref().map_or(WELL_KNOWN_PREFIX, |p| p.0));
                self.topo.nodes[i].dns = Some(DnsServer { dns64 });
            }
        }
        let servers: Vec<usize> = (0..n).filter(|&i| dns[i].is_some()).collect();
        let mut undecided = Vec::new();
        for i in 0..n {
            let chosen = match &resolver[i] {
                Some(r) => match self.lookup(r) {
                    Some(d) if dns[d].is_some() => Some(d),
                    Some(_) => {
                        let e = Error::new(r.span.clone(), format!("node `{}` runs no DNS server", r.text));
                        let help = match servers.first() {
                            Some(&s) => format!(
                                "give it `{} [dns]`, or name a DNS node (`{}`)",
                                r.text, self.topo.nodes[s].name
                            ),
                            None => format!("give it one: `{} [dns]`", r.text),
                        };
                        self.errors.push(e.help(help));
                        None
                    }
                    None => None,
                },
                None if dns[i].is_some() => Some(i),
                None if servers.len() == 1 => Some(servers[0]),
                None if servers.len() > 1 => {
                    undecided.push(i);
                    None
                }
                None => None,
            };
            self.topo.nodes[i].resolver = chosen;
        }
        if let (Some(&first), Some(&second)) = (undecided.first(), servers.get(1)) {
            let names: Vec<String> = undecided.iter().map(|&i| format!("`{}`", self.topo.nodes[i].name)).collect();
            let servers_named: Vec<String> =
                servers.iter().map(|&i| format!("`{}`", self.topo.nodes[i].name)).collect();
            let e = Error::new(
                dns[second].clone().expect("a server"),
                format!(
                    "{} DNS servers ({}): {} {} must say which one {} ask{}",
                    servers.len(),
                    servers_named.join(", "),
                    if names.len() > 1 { "nodes" } else { "node" },
                    names.join(", "),
                    if names.len() > 1 { "they" } else { "it" },
                    if names.len() > 1 { "" } else { "s" },
                ),
            );
            let (node, server) = (&self.topo.nodes[first].name, &self.topo.nodes[servers[0]].name);
            self.errors.push(e.help(format!("e.g. `{node} [resolver={server}]`")));
        }
        self.nat64(ast);
        let records: Vec<&DnsStmt> =
            ast.stmts.iter().filter_map(|s| if let Stmt::Dns(d) = s { Some(&**d) } else { None }).collect();
        if let (Some(first), true) = (records.first(), servers.is_empty()) {
            let e = Error::new(first.span.clone(), "`dns` records need a DNS server, and no node runs one");
            let node = self.topo.nodes.first().map_or("d", |n| n.name.as_str());
            self.errors.push(e.help(format!("run one in a node: `{node} [dns]`")));
        }
        self.records(&records);
    }

    /// `nat64=IFACE`: an interface of the node with an IPv4 address; implies `forward`.
    fn nat64(&mut self, ast: &Ast) {
        // The prefix: the DNS64 servers' if they agree on one.
        let mut prefixes: Vec<ipnet::Ipv6Net> =
            self.topo.nodes.iter().filter_map(|n| n.dns.and_then(|d| d.dns64)).collect();
        prefixes.dedup();
        let prefix = match prefixes[..] {
            [p] => p,
            _ => WELL_KNOWN_PREFIX,
        };
        let mut seen: HashMap<usize, Span> = HashMap::new();
        for stmt in &ast.stmts {
            let Stmt::NodeOpts(o) = stmt else { continue };
            let (Some(iface), Some(&n)) = (&o.opts.nat64, self.node_idx.get(&o.node.text)) else { continue };
            if let Some(first) = seen.get(&n) {
                let first = at(self.src, first.start);
                let msg = format!("node `{}` has `nat64` twice (first at {first})", o.node.text);
                self.errors.push(Error::new(iface.span.clone(), msg));
                continue;
            }
            seen.insert(n, iface.span.clone());
            let node = &self.topo.nodes[n];
            let Some(i) = node.interfaces.iter().find(|i| i.name == iface.text) else {
                let names: Vec<String> = node.interfaces.iter().map(|i| format!("`{}`", i.name)).collect();
                let e =
                    Error::new(iface.span.clone(), format!("node `{}` has no interface `{}`", node.name, iface.text));
                self.knock_on
                    .push(e.help(format!("its interfaces: {}; `nat64=` names the IPv4 side", names.join(", "))));
                continue;
            };
            let Some(addr) = i.addrs.iter().find_map(|a| match a.addr() {
                std::net::IpAddr::V4(v4) => Some(v4),
                std::net::IpAddr::V6(_) => None,
            }) else {
                let e = Error::new(
                    iface.span.clone(),
                    format!("`nat64={}` needs an IPv4 address on `{}`", iface.text, iface.text),
                );
                self.knock_on.push(e.help("NAT64 translates to the IPv4 side's first IPv4 address"));
                continue;
            };
            let node = &mut self.topo.nodes[n];
            node.forward = true;
            node.nat64 = Some(crate::Nat64 { iface: iface.text.clone(), addr, prefix });
        }
    }

    /// Duplicates, CNAMEs beside other data or on a node's name, and CNAME loops.
    fn records(&mut self, records: &[&DnsStmt]) {
        let hosts: HashMap<String, ()> = self.topo.host_names().into_iter().map(|(n, _)| (n, ())).collect();
        // Per name: the records kept so far, with where each was written.
        let mut by_name: HashMap<&str, Vec<(&RecordData, Span)>> = HashMap::new();
        for r in records {
            let name = r.record.name.as_str();
            let earlier = by_name.entry(name).or_default();
            let span = r.span.clone();
            let first_at = |s: &Span| at(self.src, s.start);
            let clash = if let Some((_, s)) = earlier.iter().find(|(d, _)| **d == r.record.data) {
                Some(Error::new(span.clone(), format!("this record is declared twice (first at {})", first_at(s))))
            } else if let Some((_, s)) = earlier.iter().find(|(d, _)| matches!(d, RecordData::Cname(_))) {
                Some(
                    Error::new(
                        span.clone(),
                        format!("`{name}` is a CNAME (at {}): a CNAME has no other data", first_at(s)),
                    )
                    .help("RFC 1034 §3.6.2: give the other record to the CNAME's target, or drop the CNAME"),
                )
            } else if let (RecordData::Cname(_), Some((d, s))) = (&r.record.data, earlier.first()) {
                Some(
                    Error::new(
                        span.clone(),
                        format!(
                            "`{name}` has other data (the {} at {}): a CNAME must be alone",
                            d.type_name(),
                            first_at(s)
                        ),
                    )
                    .help("RFC 1034 §3.6.2: a name with a CNAME has no other record"),
                )
            } else if matches!(r.record.data, RecordData::Cname(_)) && hosts.contains_key(name) {
                Some(
                    Error::new(
                        r.name_span.clone(),
                        format!("`{name}` is a node's name, with its addresses: it cannot be a CNAME"),
                    )
                    .help("give the alias another name"),
                )
            } else {
                None
            };
            match clash {
                Some(e) => self.errors.push(e),
                None => {
                    earlier.push((&r.record.data, span));
                    self.topo.records.push(r.record.clone());
                }
            }
        }
        // CNAME loops: follow each chain until it ends or comes back.
        let cname = |n: &str| {
            by_name.get(n).and_then(|v| {
                v.iter().find_map(|(d, s)| match d {
                    RecordData::Cname(t) => Some((t.as_str(), s.clone())),
                    _ => None,
                })
            })
        };
        let mut reported: Vec<&str> = Vec::new();
        for r in records {
            let start = r.record.name.as_str();
            let Some((mut next, span)) = cname(start) else { continue };
            let mut seen = vec![start];
            while let Some((t, _)) = cname(next) {
                if seen.contains(&next) {
                    break;
                }
                seen.push(next);
                next = t;
            }
            if seen.contains(&next) && !seen.iter().any(|s| reported.contains(s)) {
                reported.extend(seen.iter().copied());
                let chain = seen.iter().chain([&next]).map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" -> ");
                self.errors.push(
                    Error::new(span, format!("CNAME loop: {chain}")).help("end the chain at a name with addresses"),
                );
            }
        }
    }
}
