//! [`Ast`] -> validated [`Topology`], reporting every semantic error.
//!
//! Three passes over the statements: nodes are declared (in order of first appearance, with
//! their explicit interface names), then links and bridges make interfaces, then node options
//! and routes, which may name nodes declared later, are checked against them. Each statement
//! kind has its own file; this one holds what they share: nodes, interfaces, addresses.

mod addr;
mod bridge;
mod dns;
mod expect;
mod firewall;
mod link;
pub(crate) mod nat;
mod preset;

pub(crate) use firewall::inbound_iface;
mod node;
mod route;

use crate::ast::{Addr, Ast, Endpoint, ExpectStmt, Name, Span, Stmt};
use crate::error::Error;
use crate::model::{IfaceRef, Interface, Node, Peer, Topology};
use crate::suggest::did_you_mean;
use crate::text::at;
use addr::{ipv4_mapped, mapped_v4, not_host, overlap};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// What validation found.
pub(crate) struct Validated {
    /// The model; only meaningful when there are no errors at all.
    pub topo: Topology,
    /// Semantic errors that stand whatever else is wrong (duplicates, self-links, ...).
    pub errors: Vec<Error>,
    /// Errors that a statement lost to a syntax error could have caused: an unknown node (its
    /// defining link may be the one that failed) or an unreachable gateway (the node's address
    /// may be the one that failed). Only worth reporting when there were no syntax errors.
    pub knock_on: Vec<Error>,
}

/// Builds the model from the statements that parsed, collecting every semantic error.
pub(crate) fn validate(src: &str, ast: &Ast) -> Validated {
    let mut v = Validator::new(src);
    for stmt in &ast.stmts {
        match stmt {
            Stmt::Link(l) => {
                v.declare(&l.a);
                v.declare(&l.b);
            }
            Stmt::Bridge(b) => b.members.iter().for_each(|m| v.declare(m)),
            Stmt::NodeOpts(_) | Stmt::Route(_) | Stmt::Block(_) | Stmt::Expect(_) | Stmt::Dns(_) => {}
        }
    }
    for stmt in &ast.stmts {
        match stmt {
            Stmt::Link(l) => v.link(l),
            Stmt::Bridge(b) => v.bridge(b),
            Stmt::NodeOpts(_) | Stmt::Route(_) | Stmt::Block(_) | Stmt::Expect(_) | Stmt::Dns(_) => {}
        }
    }
    for stmt in &ast.stmts {
        match stmt {
            Stmt::NodeOpts(o) => v.node_opts(o),
            Stmt::Route(r) => v.route(r),
            Stmt::Block(b) => v.block(b),
            Stmt::Link(_) | Stmt::Bridge(_) | Stmt::Expect(_) | Stmt::Dns(_) => {}
        }
    }
    // DNS: servers, resolvers and records, once every node's options are known.
    v.dns(ast);
    // Expectations name nodes and addresses that a statement lost to a syntax error may declare.
    let expects: Vec<&ExpectStmt> =
        ast.stmts.iter().filter_map(|s| if let Stmt::Expect(e) = s { Some(&**e) } else { None }).collect();
    let (found, errors) = expect::resolve(&expects, &v.topo);
    v.topo.expects = found;
    v.knock_on.extend(errors);
    Validated { topo: v.topo, errors: v.errors, knock_on: v.knock_on }
}

struct Validator<'a> {
    src: &'a str,
    errors: Vec<Error>,
    /// See [`Validated::knock_on`].
    knock_on: Vec<Error>,
    topo: Topology,
    node_idx: HashMap<String, usize>,
    /// Per node: explicit interface names and where each was first written.
    explicit: Vec<HashMap<String, Span>>,
    /// Per node: the next `ethN` to try.
    next_eth: Vec<u32>,
    /// Every address so far and where it was written.
    addrs: HashMap<IpAddr, Span>,
    /// Per node: the valid addresses of its interfaces, with the interface's index and name.
    subnets: Vec<Vec<(usize, String, Addr)>>,
    /// See [`bridge`].
    bridges: bridge::Seen,
    /// See [`route`].
    routes: route::Seen,
    /// Per node: where its `nat=` was written.
    nat_spans: HashMap<usize, Span>,
}

impl<'a> Validator<'a> {
    fn new(src: &'a str) -> Self {
        Validator {
            src,
            errors: Vec::new(),
            knock_on: Vec::new(),
            topo: Topology {
                nodes: Vec::new(),
                bridges: Vec::new(),
                links: Vec::new(),
                expects: Vec::new(),
                records: Vec::new(),
            },
            node_idx: HashMap::new(),
            explicit: Vec::new(),
            next_eth: Vec::new(),
            addrs: HashMap::new(),
            subnets: Vec::new(),
            bridges: Default::default(),
            routes: Default::default(),
            nat_spans: HashMap::new(),
        }
    }

    /// Creates the endpoint's node if new and records its explicit interface name.
    fn declare(&mut self, ep: &Endpoint) {
        let n = match self.node_idx.get(&ep.node.text) {
            Some(&n) => n,
            None => {
                let n = self.topo.nodes.len();
                self.topo.nodes.push(Node {
                    name: ep.node.text.clone(),
                    interfaces: Vec::new(),
                    routes: Vec::new(),
                    forward: false,
                    nat: None,
                    blocks: Vec::new(),
                    dns: None,
                    resolver: None,
                    nat64: None,
                });
                self.node_idx.insert(ep.node.text.clone(), n);
                self.explicit.push(HashMap::new());
                self.subnets.push(Vec::new());
                self.next_eth.push(0);
                n
            }
        };
        if let Some(name) = &ep.ifname {
            if let Some(first) = self.explicit[n].get(&name.text) {
                let at = at(self.src, first.start);
                self.errors.push(Error::new(
                    name.span.clone(),
                    format!("interface `{}` is defined twice in node `{}` (first at {at})", name.text, ep.node.text),
                ));
            } else {
                self.explicit[n].insert(name.text.clone(), name.span.clone());
            }
        }
    }

    /// Adds the endpoint's interface to its (declared) node.
    fn iface(&mut self, ep: &Endpoint, peer: Peer, mtu: Option<u32>) -> IfaceRef {
        let node = self.node_idx[&ep.node.text];
        let name = match &ep.ifname {
            Some(n) => n.text.clone(),
            None => loop {
                let name = format!("eth{}", self.next_eth[node]);
                self.next_eth[node] += 1;
                if !self.explicit[node].contains_key(&name) {
                    break name;
                }
            },
        };
        let good = self.check_addrs(&ep.addrs, "an interface");
        self.no_ipv6_below_its_minimum_mtu(&ep.addrs, mtu);
        let iface = self.topo.nodes[node].interfaces.len();
        // Two interfaces of a node in overlapping subnets: which one a packet leaves by would
        // depend on route order (and the second prefix route may clash with the first).
        'addr: for a in &good {
            for (i, other, b) in &self.subnets[node] {
                if *i != iface && overlap(b.net, a.net) {
                    self.errors.push(
                        Error::new(
                            a.span.clone(),
                            format!(
                                "node `{}` has two interfaces in overlapping subnets {} ({other}) and {} ({name}): \
                                 routes would be ambiguous",
                                ep.node.text,
                                b.net.trunc(),
                                a.net.trunc()
                            ),
                        )
                        .help("give each interface of a node a subnet of its own, or put the nodes that share a subnet on a bridge"),
                    );
                    continue 'addr;
                }
            }
        }
        self.subnets[node].extend(good.into_iter().map(|a| (iface, name.clone(), a)));
        let ifaces = &mut self.topo.nodes[node].interfaces;
        ifaces.push(Interface { name, addrs: ep.addrs.iter().map(|a| a.net).collect(), peer, mtu });
        IfaceRef { node, iface }
    }

    /// Reports IPv6 addresses on a link whose MTU is below IPv6's minimum (1,280, RFC 8200): the
    /// kernel gives such a link no IPv6 at all, so the address could not be added.
    fn no_ipv6_below_its_minimum_mtu(&mut self, addrs: &[crate::ast::Addr], mtu: Option<u32>) {
        let Some(mtu) = mtu.filter(|&m| m < 1280) else { return };
        for a in addrs.iter().filter(|a| a.net.addr().is_ipv6()) {
            self.errors.push(
                Error::new(a.span.clone(), format!("IPv6 address {} on a link with mtu {mtu}", a.net)).help(
                    "the kernel turns IPv6 off on a link below IPv6's minimum MTU (1280): use `mtu=1280` or more, \
                     or only IPv4 addresses on this link",
                ),
            );
        }
    }

    /// Reports addresses that cannot be a host's (`what` is "an interface" or "a bridge") and
    /// addresses already used elsewhere; returns the others.
    fn check_addrs(&mut self, addrs: &[Addr], what: &str) -> Vec<Addr> {
        let mut good = Vec::new();
        for a in addrs {
            if let Some(e) = ipv4_mapped(a.net.addr(), &a.span) {
                let e = match a.net.prefix_len().checked_sub(96) {
                    Some(p) => e.help(format!("e.g. `{}/{p}`", mapped_v4(a.net.addr()).expect("mapped"))),
                    None => e,
                };
                self.errors.push(e);
                continue;
            }
            if let Some((why, help)) = not_host(a.net) {
                self.errors.push(
                    Error::new(a.span.clone(), format!("`{}` is {why}; {what} needs a unicast address", a.net.addr()))
                        .help(help),
                );
                continue;
            }
            if let Some(first) = self.addrs.get(&a.net.addr()) {
                let at = at(self.src, first.start);
                self.errors.push(Error::new(
                    a.span.clone(),
                    format!("address `{}` is used twice (first at {at})", a.net.addr()),
                ));
            } else {
                self.addrs.insert(a.net.addr(), a.span.clone());
                good.push(a.clone());
            }
        }
        good
    }

    /// The index of a node named in node options or a route.
    fn lookup(&mut self, name: &Name) -> Option<usize> {
        if let Some(&n) = self.node_idx.get(&name.text) {
            return Some(n);
        }
        let mut e = Error::new(name.span.clone(), format!("unknown node `{}`", name.text));
        let known: Vec<&str> = self.topo.nodes.iter().map(|n| n.name.as_str()).collect();
        e = if known.is_empty() {
            e.help("nodes are declared by links and bridges")
        } else {
            let mut list = known.iter().take(8).map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            if known.len() > 8 {
                list.push_str(", ...");
            }
            match did_you_mean(&name.text, known.iter().copied()) {
                Some(k) => e.help(format!("did you mean `{k}`? known nodes: {list}")),
                None => e.help(format!("nodes are declared by links and bridges; known nodes: {list}")),
            }
        };
        self.knock_on.push(e);
        None
    }

    /// The valid addresses of node `n` (see [`Self::subnets`]).
    fn node_subnets(&self, n: usize) -> impl Iterator<Item = (&str, IpNet)> {
        self.subnets[n].iter().map(|(_, i, a)| (i.as_str(), a.net))
    }
}
