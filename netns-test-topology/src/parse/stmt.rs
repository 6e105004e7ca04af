//! Statements: links, bridges, node options and routes (expectations: `expect.rs`).

use super::words::parse_cidr;
use super::{addr_stop, name_stop, node_stop, PResult, Parser, STMT_HELP};
use crate::ast::{Addr, BridgeStmt, Endpoint, LinkOpts, LinkStmt, Name, NodeOptsStmt, RouteStmt, Span, Stmt};
use crate::error::Error;
use crate::suggest::close_to;
use crate::text::show;
use ipnet::IpNet;
use std::net::IpAddr;

impl Parser<'_> {
    pub(super) fn stmt(&mut self) -> PResult<Stmt> {
        let start = self.pos;
        match self.b[start] {
            b'}' => return Err(Error::new(start..start + 1, "unmatched `}`")),
            b']' => return Err(Error::new(start..start + 1, "unmatched `]`")),
            b'{' => {
                return Err(
                    Error::new(start..start + 1, "unexpected `{`").help("a `{ .. }` member list follows `bridge NAME`")
                )
            }
            _ => {}
        }
        if self.at_dashdash() {
            return Err(Error::new(start..start + 2, "missing endpoint before `--`")
                .help("a link is written `a=10.0.0.1/24 -- b=10.0.0.2/24`"));
        }
        let word = self.run(node_stop);
        if word.is_empty() {
            return Err(self.expected("a node name or `bridge`").help(STMT_HELP));
        }
        if &self.src[word.clone()] == "bridge" {
            return self.bridge(word);
        }
        if &self.src[word.clone()] == "expect" && self.at_expect() {
            return self.expect();
        }
        if &self.src[word.clone()] == "dns" && self.at_dns() {
            return self.dns(word);
        }
        let node = self.name(word.clone());
        let after = self.pos;
        self.skip_ws();
        match self.peek() {
            Some(b':') if self.is_block() => {
                self.check_node_name(&node);
                return self.block(node);
            }
            Some(b':') if self.is_route() => {
                self.check_node_name(&node);
                return self.route(node);
            }
            Some(b'[') => {
                self.check_node_name(&node);
                return self.node_opts(node);
            }
            Some(c) if self.pos > after && !node_stop(c) && !self.at_dashdash() && !self.at_dash() => {
                // Two words in a row: `brige br0 { .. }`, `h1 default via ..`.
                let text = &self.src[word.clone()];
                let mut e = Error::new(word, format!("unknown keyword `{}`", show(text)));
                e = if close_to(text, "bridge") {
                    e.help("did you mean `bridge`?")
                } else if self.stmt_has_word("via") {
                    e.help("a route is written `h1: default via 10.0.0.1`")
                } else {
                    e.help(STMT_HELP)
                };
                return Err(e);
            }
            _ => {}
        }
        self.pos = after;
        self.check_node_name(&node);
        self.link(node)
    }

    /// Whether the rest of the statement contains the word `w`.
    pub(super) fn stmt_has_word(&self, w: &str) -> bool {
        let end = self.b[self.pos..]
            .iter()
            .position(|&c| matches!(c, b'\n' | b';' | b'#'))
            .map_or(self.b.len(), |i| self.pos + i);
        self.src[self.pos..end].split(|c: char| c.is_ascii_whitespace()).any(|x| x == w)
    }

    /// At the `:` after a node: is this `h: DEST via GW` rather than `r:eth0=..`?
    pub(super) fn is_route(&mut self) -> bool {
        let save = self.pos;
        self.pos += 1;
        self.skip_ws();
        let d = self.run(addr_stop);
        let text = &self.src[d];
        self.skip_ws();
        let via =
            self.b[self.pos..].starts_with(b"via") && !matches!(self.b.get(self.pos + 3), Some(&c) if !node_stop(c));
        let route = text == "default" || text == "via" || via || (text.contains('/') && text.parse::<IpNet>().is_ok());
        self.pos = save;
        route
    }

    /// `NODE ':' ('default' | CIDR) 'via' IP`, at the `:`.
    pub(super) fn route(&mut self, node: Name) -> PResult<Stmt> {
        self.pos += 1;
        self.skip_ws();
        let dest_span = self.run(addr_stop);
        let text = &self.src[dest_span.clone()];
        let mut valid = true;
        let dest = if text == "default" {
            None
        } else if text == "via" || text.is_empty() {
            return Err(Error::new(node.span.start..dest_span.end, "route is missing a destination")
                .help("write `default` or a subnet: `h1: 10.2.0.0/24 via 10.1.0.1`"));
        } else {
            match parse_cidr(self.src, dest_span.clone()) {
                Ok(net) if net != net.trunc() => {
                    self.errors.push(
                        Error::new(dest_span.clone(), format!("route destination `{net}` has host bits set"))
                            .help(format!("did you mean `{}`?", net.trunc())),
                    );
                    // Validated as what was meant.
                    Some(net.trunc())
                }
                Ok(net) => Some(net),
                Err(e) => {
                    let e = if close_to(text, "default") { e.help("did you mean `default`?") } else { e };
                    self.errors.push(e);
                    valid = false;
                    None
                }
            }
        };
        self.skip_ws();
        if self.at_stmt_end() {
            return Err(Error::new(dest_span, "route is missing `via GATEWAY`").help("e.g. `h1: default via 10.0.0.1`"));
        }
        let via_kw = self.run(node_stop);
        if &self.src[via_kw.clone()] != "via" {
            self.pos = via_kw.start;
            let help = if close_to(&self.src[via_kw.clone()], "via") {
                "did you mean `via`?"
            } else {
                "e.g. `h1: 10.2.0.0/24 via 10.1.0.1`"
            };
            return Err(self.expected("`via`").help(help));
        }
        self.skip_ws();
        let via_span = self.run(addr_stop);
        let text = &self.src[via_span.clone()];
        let via = if via_span.is_empty() {
            return Err(Error::new(via_kw, "expected a gateway address after `via`"));
        } else if text.contains('/') {
            self.errors.push(
                Error::new(via_span.clone(), format!("gateway `{}` must be a plain address", show(text)))
                    .help("remove the prefix length"),
            );
            valid = false;
            IpAddr::from([0, 0, 0, 0])
        } else {
            match text.parse() {
                Ok(ip) => ip,
                Err(_) => {
                    self.errors.push(Error::new(via_span.clone(), format!("invalid IP address `{}`", show(text))));
                    valid = false;
                    IpAddr::from([0, 0, 0, 0])
                }
            }
        };
        Ok(Stmt::Route(Box::new(RouteStmt { node, dest, dest_span, via, via_span, valid })))
    }

    /// `NODE '[' opts ']'`, at the `[`.
    pub(super) fn node_opts(&mut self, node: Name) -> PResult<Stmt> {
        let opts = self.opts()?;
        Ok(Stmt::NodeOpts(Box::new(NodeOptsStmt { node, opts })))
    }

    /// `ENDPOINT '--' ENDPOINT ['[' opts ']']`, with the first node already read.
    pub(super) fn link(&mut self, node: Name) -> PResult<Stmt> {
        let a = self.endpoint(Some(node))?;
        self.skip_ws();
        if !self.at_dashdash() {
            if self.at_stmt_end() {
                return Err(Error::new(
                    a.span.clone(),
                    format!("expected `--` and a second endpoint after `{}`", show(&self.src[a.span.clone()])),
                )
                .help("a link is written `a=10.0.0.1/24 -- b=10.0.0.2/24`"));
            }
            return Err(self.expected("`--`").help("a link is written `a -- b`"));
        }
        let dd = self.pos..self.pos + 2;
        self.pos += 2;
        self.skip_ws();
        if self.at_stmt_end() || matches!(self.peek(), Some(b'[' | b']' | b'{' | b'}')) {
            return Err(Error::new(dd, "expected an endpoint after `--`")
                .help("a link is written `a=10.0.0.1/24 -- b=10.0.0.2/24`"));
        }
        let b = self.endpoint(None)?;
        self.skip_ws();
        let opts = if self.peek() == Some(b'[') { self.opts()? } else { LinkOpts::default() };
        Ok(Stmt::Link(Box::new(LinkStmt { a, b, opts })))
    }

    /// `NODE [':' IFNAME] ['=' addrs]`; `node` is given when already read.
    pub(super) fn endpoint(&mut self, node: Option<Name>) -> PResult<Endpoint> {
        let node = match node {
            Some(n) => n,
            None => {
                let r = self.run(node_stop);
                if r.is_empty() {
                    return Err(self.expected("a node name"));
                }
                let n = self.name(r);
                if n.text == "bridge" {
                    return Err(Error::new(n.span, "`bridge` is a keyword, not a node name")
                        .help("bridges are declared on their own: `bridge br0 { a, b }`"));
                }
                self.check_node_name(&n);
                n
            }
        };
        let start = node.span.start;
        let mut end = node.span.end;
        self.skip_ws();
        let mut ifname = None;
        if self.peek() == Some(b':') {
            let colon = self.pos..self.pos + 1;
            self.pos += 1;
            self.skip_ws();
            let r = self.run(name_stop);
            if r.is_empty() {
                return Err(Error::new(colon, "expected an interface name after `:`"));
            }
            end = r.end;
            let n = self.name(r);
            self.check_ifname(&n, "interface");
            ifname = Some(n);
            self.skip_ws();
        }
        let mut addrs = Vec::new();
        if self.peek() == Some(b'=') {
            addrs = self.addrs()?;
            end = addrs.last().map_or(end, |a| a.span.end);
        }
        Ok(Endpoint { node, ifname, addrs, span: start..end })
    }

    /// `'=' CIDR ('|' CIDR)*`, at the `=`. Bad addresses are recorded and left out.
    pub(super) fn addrs(&mut self) -> PResult<Vec<Addr>> {
        let mut out = Vec::new();
        loop {
            let sep = self.pos..self.pos + 1;
            self.pos += 1;
            self.skip_ws();
            let r = self.run(addr_stop);
            if r.is_empty() {
                let what = &self.src[sep.clone()];
                return Err(Error::new(sep, format!("expected an address after `{what}`"))
                    .help("e.g. `10.0.0.1/24` or `fd00::1/64`"));
            }
            match parse_cidr(self.src, r.clone()) {
                Ok(net) => out.push(Addr { net, span: r }),
                Err(e) => self.errors.push(e),
            }
            self.skip_ws();
            if self.peek() != Some(b'|') {
                return Ok(out);
            }
        }
    }

    /// `'bridge' BRNAME ['=' addrs] '{' members '}' ['[' opts ']']`, after the keyword.
    pub(super) fn bridge(&mut self, kw: Span) -> PResult<Stmt> {
        self.skip_ws();
        let r = self.run(name_stop);
        if r.is_empty() {
            let e = if self.peek() == Some(b'{') {
                self.expected("a bridge name")
            } else {
                Error::new(kw, "expected a bridge name after `bridge`")
            };
            return Err(e.help("e.g. `bridge br0 { a=10.0.0.1/24, b=10.0.0.2/24 }`"));
        }
        let name = self.name(r);
        self.check_ifname(&name, "bridge");
        self.skip_ws();
        let addrs = if self.peek() == Some(b'=') { self.addrs()? } else { Vec::new() };
        self.skip_ws();
        if self.peek() != Some(b'{') {
            return Err(self.expected("`{`").help("e.g. `bridge br0 { a=10.0.0.1/24, b=10.0.0.2/24 }`"));
        }
        let open = self.pos;
        let Some(close) = self.find_close(open) else {
            if let Some(inner) = self.stray_open(open) {
                // `bridge br0 {{ a, b }`: skip the inner `{ .. }`, and the outer `}` if there is
                // one (`find_close` from the inner `}` finds the next `}` before any `{`).
                self.pos = match self.find_close(inner).and_then(|c| self.find_close(c)) {
                    Some(outer) => outer + 1,
                    None => inner,
                };
                return Err(
                    Error::new(inner..inner + 1, "unexpected `{`").help("a bridge's member list is written `{ a, b }`")
                );
            }
            self.pos += 1;
            return Err(Error::new(open..open + 1, "unclosed `{`").help("close the member list with `}`"));
        };
        self.pos += 1;
        let mut members = Vec::new();
        let mut member_opts = Vec::new();
        let mut bad = false;
        loop {
            self.skip_ws_nl();
            if self.pos >= close {
                break;
            }
            let res = self.endpoint(None).and_then(|ep| {
                self.skip_ws();
                let opts = self.member_opts()?;
                self.skip_ws_nl();
                match self.peek() {
                    _ if self.pos == close => Ok((ep, opts)),
                    Some(b',') => {
                        self.pos += 1;
                        Ok((ep, opts))
                    }
                    _ => Err(self.expected("`,` or `}`")),
                }
            });
            match res {
                Ok((ep, opts)) => {
                    members.push(ep);
                    member_opts.push(opts);
                }
                Err(e) => {
                    bad = true;
                    self.errors.push(e);
                    // Skip to the next member.
                    while self.pos < close {
                        match self.b[self.pos] {
                            b',' => {
                                self.pos += 1;
                                break;
                            }
                            b'#' => self.skip_comment(),
                            _ => self.pos += 1,
                        }
                    }
                }
            }
        }
        self.pos = close + 1;
        if members.is_empty() && !bad {
            return Err(Error::new(open..close + 1, format!("bridge `{}` has no members", name.text))
                .help("list the member nodes: `bridge br0 { a, b }`"));
        }
        self.skip_ws();
        let opts = if self.peek() == Some(b'[') { self.opts()? } else { LinkOpts::default() };
        Ok(Stmt::Bridge(Box::new(BridgeStmt { name, addrs, members, member_opts, opts })))
    }

    /// `[delay=20ms]` after a bridge member: conditions of its link only (the MTU is the
    /// bridge's, set after the braces).
    fn member_opts(&mut self) -> PResult<Option<LinkOpts>> {
        if self.peek() != Some(b'[') {
            return Ok(None);
        }
        let start = self.pos;
        let opts: LinkOpts = self.opts()?;
        if opts.mtu.is_some() {
            self.errors.push(
                Error::new(start..self.pos, "a bridge member cannot have its own `mtu`")
                    .help("the MTU is the bridge's: write `bridge br0 { a, b } [mtu=1400]`"),
            );
        }
        Ok(Some(opts))
    }
}
