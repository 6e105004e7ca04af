//! AST -> validated [`Topology`], reporting every semantic error.

use crate::error::Error;
use crate::model::{Bridge, IfaceRef, Interface, Link, Node, Peer, Route, Topology};
use crate::parse::{close_to, Addr, Ast, Endpoint, Name, Span, Stmt};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

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
pub(crate) fn validate(src: &str, ast: Ast) -> Validated {
    let mut v = Validator {
        src,
        errors: Vec::new(),
        knock_on: Vec::new(),
        topo: Topology { nodes: Vec::new(), bridges: Vec::new(), links: Vec::new() },
        node_idx: HashMap::new(),
        explicit: Vec::new(),
        next_eth: Vec::new(),
        addrs: HashMap::new(),
        subnets: Vec::new(),
    };

    // Pass 1: nodes in order of first appearance, and the explicit interface names of each.
    for stmt in &ast.stmts {
        match stmt {
            Stmt::Link(l) => {
                v.declare(&l.a);
                v.declare(&l.b);
            }
            Stmt::Bridge(b) => b.members.iter().for_each(|m| v.declare(m)),
            Stmt::NodeOpts { .. } | Stmt::Route(_) => {}
        }
    }

    // Pass 2: interfaces, links and bridges, in source order.
    let mut bridge_names: HashMap<&str, Span> = HashMap::new();
    let mut bridge_subnets: Vec<(&str, IpNet)> = Vec::new();
    for stmt in &ast.stmts {
        match stmt {
            Stmt::Link(l) => {
                if l.a.node.text == l.b.node.text {
                    v.errors.push(
                        Error::new(l.b.node.span.clone(), format!("link from node `{}` to itself", l.a.node.text))
                            .help("a link joins two different nodes"),
                    );
                    continue;
                }
                let idx = v.topo.links.len();
                let a = v.iface(&l.a, Peer::Link(idx), l.mtu);
                let b = v.iface(&l.b, Peer::Link(idx), l.mtu);
                v.topo.links.push(Link { a, b, mtu: l.mtu });
            }
            Stmt::Bridge(b) => {
                if is_port_name(&b.name.text) {
                    v.errors.push(
                        Error::new(
                            b.name.span.clone(),
                            format!("bridge name `{}` is reserved for bridge ports", b.name.text),
                        )
                        .help(
                            "the bridge-side veth ends are named `b<N>p<M>` in the same namespace; \
                             pick another name, e.g. `br0`",
                        ),
                    );
                }
                if let Some(first) = bridge_names.get(b.name.text.as_str()) {
                    let at = line_col(src, first.start);
                    v.errors.push(Error::new(
                        b.name.span.clone(),
                        format!("bridge `{}` is defined twice (first at {at})", b.name.text),
                    ));
                } else {
                    bridge_names.insert(&b.name.text, b.name.span.clone());
                }
                let idx = v.topo.bridges.len();
                let good = v.check_addrs(&b.addrs, "a bridge");
                // All bridges are in the test's own namespace: their subnets must not overlap.
                'addr: for a in &good {
                    for (other, net) in &bridge_subnets {
                        if *other != b.name.text && overlap(*net, a.net) {
                            v.errors.push(
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
                bridge_subnets.extend(good.iter().map(|a| (b.name.text.as_str(), a.net)));
                let mut seen: HashMap<&str, Span> = HashMap::new();
                let mut members = Vec::new();
                for m in &b.members {
                    if let Some(first) = seen.get(m.node.text.as_str()) {
                        let at = line_col(src, first.start);
                        v.errors.push(Error::new(
                            m.node.span.clone(),
                            format!("node `{}` is in bridge `{}` twice (first at {at})", m.node.text, b.name.text),
                        ));
                        continue;
                    }
                    seen.insert(&m.node.text, m.node.span.clone());
                    members.push(v.iface(m, Peer::Bridge(idx), b.mtu));
                }
                let ports = (0..members.len()).map(|i| format!("b{idx}p{i}")).collect();
                v.topo.bridges.push(Bridge {
                    name: b.name.text.clone(),
                    addrs: b.addrs.iter().map(|a| a.net).collect(),
                    members,
                    ports,
                    mtu: b.mtu,
                });
            }
            Stmt::NodeOpts { .. } | Stmt::Route(_) => {}
        }
    }

    // Pass 3: node options and routes, which may name nodes declared later.
    // (node, destination or `None` for default, IPv4) -> where first written, and as what.
    type RouteKey = (usize, Option<IpNet>, bool);
    let mut routes: HashMap<RouteKey, (Span, Option<IpNet>)> = HashMap::new();
    for stmt in &ast.stmts {
        match stmt {
            Stmt::NodeOpts { node, forward } => {
                if let Some(n) = v.lookup(node) {
                    v.topo.nodes[n].forward |= forward;
                }
            }
            Stmt::Route(r) => {
                let Some(n) = v.lookup(&r.node) else { continue };
                if !r.valid {
                    continue;
                }
                if let Some(e) = ipv4_mapped(r.via, &r.via_span) {
                    v.errors.push(e);
                    continue;
                }
                if let Some(dest) = r.dest {
                    if dest.addr().is_ipv4() != r.via.is_ipv4() {
                        v.errors.push(Error::new(
                            r.via_span.clone(),
                            format!(
                                "gateway `{}` is {} but destination `{dest}` is {}",
                                r.via,
                                fam(r.via),
                                fam(dest.addr())
                            ),
                        ));
                        continue;
                    }
                }
                if let Some(why) = not_unicast(r.via) {
                    let msg = format!("gateway `{}` is {why}; a gateway must be a unicast address", r.via);
                    v.errors.push(
                        Error::new(r.via_span.clone(), msg)
                            .help("the gateway is a host address in one of the node's subnets"),
                    );
                } else {
                    v.check_gateway(n, &r.node.text, r.via, &r.via_span);
                }
                // `0.0.0.0/0` and `::/0` are `default` (whose family is the gateway's).
                let any = if r.via.is_ipv4() { "0.0.0.0/0" } else { "::/0" };
                let to: IpNet = r.dest.unwrap_or_else(|| any.parse().expect("valid"));
                let dest = r.dest.map_or("default".to_string(), |d| d.to_string());
                if let Some((i, net)) = v.subnets[n]
                    .iter()
                    .map(|(_, i, a)| (i, a.net))
                    .find(|(_, a)| a.trunc() == to && a.prefix_len() < a.max_prefix_len())
                {
                    v.errors.push(
                        Error::new(
                            r.dest_span.clone(),
                            format!("route to `{dest}` clashes with node `{}`'s own subnet on {i}", r.node.text),
                        )
                        .help(format!(
                            "`{}` is reached directly through {i} (address `{net}`); remove this route",
                            net.trunc()
                        )),
                    );
                }
                let key = (n, (to.prefix_len() > 0).then_some(to), r.via.is_ipv4());
                if let Some((first, first_dest)) = routes.get(&key) {
                    let at = line_col(src, first.start);
                    // Written two ways, `default` and `0.0.0.0/0`: say which route it is.
                    let two_ways = r.dest.is_some() != first_dest.is_some();
                    let shown = if two_ways { "default" } else { &dest };
                    let mut e = Error::new(
                        r.dest_span.clone(),
                        format!("route to `{shown}` is defined twice in node `{}` (first at {at})", r.node.text),
                    );
                    if two_ways {
                        e = e.help(format!("`{any}` is the default route"));
                    }
                    v.errors.push(e);
                } else {
                    routes.insert(key, (r.dest_span.clone(), r.dest));
                }
                v.topo.nodes[n].routes.push(Route { dest: r.dest, via: r.via });
            }
            Stmt::Link(_) | Stmt::Bridge(_) => {}
        }
    }

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
}

impl Validator<'_> {
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
                let at = line_col(self.src, first.start);
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
                let at = line_col(self.src, first.start);
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
            match known.iter().find(|k| close_to(&name.text, k)) {
                Some(k) => e.help(format!("did you mean `{k}`? known nodes: {list}")),
                None => e.help(format!("nodes are declared by links and bridges; known nodes: {list}")),
            }
        };
        self.knock_on.push(e);
        None
    }

    /// Reports a gateway that is the node's own address or outside all its subnets.
    fn check_gateway(&mut self, n: usize, node: &str, via: IpAddr, span: &Span) {
        let nets: Vec<_> = self.topo.nodes[n]
            .interfaces
            .iter()
            .flat_map(|i| &i.addrs)
            .filter(|a| a.addr().is_ipv4() == via.is_ipv4())
            .collect();
        if nets.iter().any(|a| a.addr() == via) {
            self.errors
                .push(Error::new(span.clone(), format!("gateway `{via}` is an address of node `{node}` itself")));
        } else if !nets.iter().any(|a| a.contains(&via)) {
            let help = if nets.is_empty() {
                format!("node `{node}` has no {} address", fam(via))
            } else {
                let subnets: Vec<String> = nets.iter().map(|a| a.trunc().to_string()).collect();
                format!("the gateway must be in one of the subnets of `{node}`: {}", subnets.join(", "))
            };
            self.knock_on.push(
                Error::new(span.clone(), format!("gateway `{via}` is not reachable from node `{node}`")).help(help),
            );
        } else if let Some(net) = nets
            .iter()
            .map(|a| a.trunc())
            .find(|net| via.is_ipv4() && net.prefix_len() <= 30 && (via == net.network() || via == net.broadcast()))
        {
            let which = if via == net.network() { "network" } else { "broadcast" };
            self.errors.push(Error::new(
                span.clone(),
                format!("gateway `{via}` is the {which} address of `{net}`; a gateway must be a unicast address"),
            ));
        }
    }
}

/// Whether two subnets overlap: the same, or one inside the other (of the same family).
fn overlap(a: IpNet, b: IpNet) -> bool {
    let (a, b) = (a.trunc(), b.trunc());
    a.contains(&b) || b.contains(&a)
}

/// The IPv4 address of an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`).
fn mapped_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    }
}

/// An error if `ip` is IPv4-mapped: the kernel would not use it as the IPv4 address meant.
fn ipv4_mapped(ip: IpAddr, span: &Span) -> Option<Error> {
    let v4 = mapped_v4(ip)?;
    Some(Error::new(span.clone(), format!("`{ip}` is an IPv4-mapped address; write the IPv4 address `{v4}`")))
}

/// Why `ip` can be no host's address, whatever its subnet: unspecified, loopback, multicast or
/// the IPv4 limited broadcast.
fn not_unicast(ip: IpAddr) -> Option<&'static str> {
    let why = if ip.is_unspecified() {
        "the unspecified address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
        "the broadcast address"
    } else {
        return None;
    };
    Some(why)
}

/// Why `net`'s address cannot be a host's, with help: not unicast, or the network or broadcast
/// address of its IPv4 subnet (which /31 and /32 do not have).
fn not_host(net: IpNet) -> Option<(String, String)> {
    if let Some(why) = not_unicast(net.addr()) {
        return Some((why.to_string(), "use a unicast address, e.g. `10.0.0.1/24` or `fd00::1/64`".to_string()));
    }
    let IpNet::V4(v4) = net else { return None };
    let subnet = v4.trunc();
    let which = if v4.prefix_len() > 30 {
        return None;
    } else if v4.addr() == subnet.network() {
        "network"
    } else if v4.addr() == subnet.broadcast() {
        "broadcast"
    } else {
        return None;
    };
    let first = subnet.hosts().next().unwrap_or(subnet.network());
    Some((
        format!("the {which} address of `{subnet}`"),
        format!("use a host address of the subnet, e.g. `{first}/{}`", v4.prefix_len()),
    ))
}

/// Whether `name` has the form `b<digits>p<digits>` of generated bridge port names.
fn is_port_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('b') else { return false };
    let Some((bridge, port)) = rest.split_once('p') else { return false };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    digits(bridge) && digits(port)
}

fn fam(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// `line:col` (1-based, columns in chars) of a byte offset, as in [`Error::render`].
fn line_col(src: &str, off: usize) -> String {
    let before = &src[..off.min(src.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    format!("{}:{}", before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}
