//! Topology text -> AST with byte spans.
//!
//! A hand-written, contextual parser: addresses (which contain `:`) are lexed only where an
//! address is expected. On a syntax error the parser records it, skips to the next statement
//! separator (`;` or a newline outside `{ }`) and goes on, so every bad statement is reported.
//! The statements it could make sense of are returned too, so they can be validated as well.

use crate::error::{show, show_char, Error};
use ipnet::IpNet;
use std::net::IpAddr;
use std::ops::Range;

pub(crate) type Span = Range<usize>;

/// A name (node, interface or bridge) and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Name {
    pub text: String,
    pub span: Span,
}

/// An address with prefix length (`10.0.0.1/24`); the span covers the whole CIDR text.
#[derive(Debug, Clone)]
pub(crate) struct Addr {
    pub net: IpNet,
    pub span: Span,
}

/// `node[:ifname][=addr|addr..]`
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub node: Name,
    pub ifname: Option<Name>,
    pub addrs: Vec<Addr>,
    pub span: Span,
}

#[derive(Debug)]
pub(crate) struct LinkStmt {
    pub a: Endpoint,
    pub b: Endpoint,
    pub mtu: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct BridgeStmt {
    pub name: Name,
    pub addrs: Vec<Addr>,
    pub members: Vec<Endpoint>,
    pub mtu: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct RouteStmt {
    pub node: Name,
    /// `None` for `default`.
    pub dest: Option<IpNet>,
    pub dest_span: Span,
    pub via: IpAddr,
    pub via_span: Span,
    /// False when the destination or the gateway was malformed (already reported); `dest` and
    /// `via` are then placeholders and must not be checked.
    pub valid: bool,
}

#[derive(Debug)]
pub(crate) enum Stmt {
    Link(Box<LinkStmt>),
    Bridge(Box<BridgeStmt>),
    NodeOpts { node: Name, forward: bool },
    Route(Box<RouteStmt>),
}

/// The statements of a topology that could be parsed.
#[derive(Debug)]
pub(crate) struct Ast {
    pub stmts: Vec<Stmt>,
}

/// Parses `src`: the statements that could be parsed and every syntax error, in source order.
///
/// A statement with an error inside (a bad address, name or option) is kept without the bad
/// part; one that could not be parsed at all is left out.
pub(crate) fn parse(src: &str) -> (Ast, Vec<Error>) {
    let mut p = Parser { src, b: src.as_bytes(), pos: 0, errors: Vec::new() };
    let mut stmts = Vec::new();
    loop {
        p.skip_ws();
        match p.peek() {
            None => break,
            Some(b'\n' | b';') => {
                p.pos += 1;
                continue;
            }
            _ => {}
        }
        match p.stmt() {
            Ok(s) => {
                p.skip_ws();
                if !p.at_stmt_end() {
                    // The statement itself is complete: keep it, and report what follows.
                    let e = p.trailing();
                    p.errors.push(e);
                    p.recover();
                }
                stmts.push(s);
            }
            Err(e) => {
                p.errors.push(e);
                p.recover();
            }
        }
    }
    if p.errors.is_empty() && stmts.is_empty() {
        p.errors.push(
            Error::new(0..src.len(), "empty topology")
                .help("write at least one link or bridge, e.g. `a=10.0.0.1/24 -- b=10.0.0.2/24`"),
        );
    }
    p.errors.sort_by_key(|e| e.span.start);
    (Ast { stmts }, p.errors)
}

type PResult<T> = Result<T, Error>;

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Errors that did not stop the current statement (bad address, bad name, ...).
    errors: Vec<Error>,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

/// Ends a node name.
fn node_stop(c: u8) -> bool {
    is_ws(c) || b"\n;#:=[]{},|".contains(&c)
}

/// Ends an interface or bridge name (`:` and `/` are kept, to be reported as invalid).
fn name_stop(c: u8) -> bool {
    is_ws(c) || b"\n;#=[]{},|".contains(&c)
}

/// Ends an address.
fn addr_stop(c: u8) -> bool {
    is_ws(c) || b"\n;#|,{}[]".contains(&c)
}

/// Ends an option name or value.
fn opt_stop(c: u8) -> bool {
    is_ws(c) || b"\n;#=,{}[]".contains(&c)
}

/// Node names appear in messages and thread names: keep them sane.
const MAX_NODE_NAME: usize = 64;

const STMT_HELP: &str = "a statement is a link `a -- b`, a bridge `bridge br0 { a, b }`, \
                         node options `r [forward]` or a route `h: default via 10.0.0.1`";

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at_dashdash(&self) -> bool {
        self.b[self.pos..].starts_with(b"--")
    }

    /// At a dash that is not `--` (`-`, `–`, `—`, `−`): a misspelt link.
    fn at_dash(&self) -> bool {
        self.src[self.pos..].starts_with(['-', '\u{2013}', '\u{2014}', '\u{2212}'])
    }

    /// Skips spaces, tabs and a comment, but not the newline ending it.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if is_ws(c) {
                self.pos += 1;
            } else if c == b'#' {
                self.skip_comment();
            } else {
                break;
            }
        }
    }

    /// Like [`Self::skip_ws`], also skipping newlines (inside `{ }`).
    fn skip_ws_nl(&mut self) {
        loop {
            self.skip_ws();
            if self.peek() == Some(b'\n') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn skip_comment(&mut self) {
        self.pos = self.b[self.pos..].iter().position(|&c| c == b'\n').map_or(self.b.len(), |i| self.pos + i);
    }

    fn at_stmt_end(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n' | b';'))
    }

    /// Consumes a run of bytes until `stop` or `--`. Always ends on a char boundary, since
    /// every stop byte is ASCII.
    fn run(&mut self, stop: fn(u8) -> bool) -> Span {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if stop(c) || self.at_dashdash() {
                break;
            }
            self.pos += 1;
        }
        start..self.pos
    }

    /// The token at `pos`, for "found ..." messages: its span and a description.
    fn token_at(&self, pos: usize) -> (Span, String) {
        match self.b.get(pos) {
            None => (pos..pos, "end of input".into()),
            Some(b'\n') => (pos..pos, "end of line".into()),
            Some(_) if self.b[pos..].starts_with(b"--") => (pos..pos + 2, "`--`".into()),
            Some(&c) if addr_stop(c) || c == b'=' || c == b':' => (pos..pos + 1, format!("`{}`", c as char)),
            Some(_) => {
                let mut end = pos;
                while end < self.b.len() && !node_stop(self.b[end]) && !self.b[end..].starts_with(b"--") {
                    end += 1;
                }
                if end == pos {
                    end = pos + self.src[pos..].chars().next().map_or(1, char::len_utf8);
                }
                (pos..end, format!("`{}`", show(&self.src[pos..end])))
            }
        }
    }

    /// "expected X, found Y" at the current position.
    fn expected(&self, what: &str) -> Error {
        let (span, found) = self.token_at(self.pos);
        Error::new(span, format!("expected {what}, found {found}"))
    }

    /// Error for leftover text after a complete statement.
    fn trailing(&self) -> Error {
        let (span, found) = self.token_at(self.pos);
        match &self.src[span.clone()] {
            "}" => Error::new(span, "unmatched `}`"),
            "]" => Error::new(span, "unmatched `]`"),
            "--" => {
                Error::new(span, "unexpected `--`").help("a link joins exactly two endpoints: write `a -- b; b -- c`")
            }
            _ => Error::new(span, format!("unexpected {found}")).help("separate statements with `;` or a newline"),
        }
    }

    /// Skips to the next statement separator, jumping over balanced `{ }`.
    fn recover(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b'\n' | b';' => break,
                b'#' => self.skip_comment(),
                b'{' => match self.find_close(self.pos) {
                    Some(close) => self.pos = close + 1,
                    None => self.pos += 1,
                },
                _ => self.pos += 1,
            }
        }
    }

    /// The `}` closing the `{` at `open`, skipping comments; `None` if another `{` or the end
    /// comes first.
    fn find_close(&self, open: usize) -> Option<usize> {
        let mut i = open + 1;
        while i < self.b.len() {
            match self.b[i] {
                b'}' => return Some(i),
                b'{' => return None,
                b'#' => {
                    while i < self.b.len() && self.b[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        None
    }

    /// When the `{` at `open` has no `}` because another `{` comes first: that `{`, if it is a
    /// stray one (`{{ a, b }`) rather than the start of the next bridge statement, which would
    /// mean the first `{` is the unclosed one.
    fn stray_open(&self, open: usize) -> Option<usize> {
        let mut i = open + 1;
        while i < self.b.len() {
            match self.b[i] {
                b'}' => return None,
                b'{' => break,
                b'#' => i = self.b[i..].iter().position(|&c| c == b'\n').map_or(self.b.len(), |k| i + k),
                _ => i += 1,
            }
        }
        if i >= self.b.len() {
            return None;
        }
        // The text between the last separator and the inner `{`: a new `bridge ..` statement?
        let from =
            self.b[open + 1..i].iter().rposition(|&c| matches!(c, b'\n' | b';')).map_or(open + 1, |k| open + 2 + k);
        let before = self.src[from..i].trim_start_matches([' ', '\t', '\r']);
        let new_bridge = before.strip_prefix("bridge").is_some_and(|r| r.starts_with([' ', '\t']));
        (!new_bridge).then_some(i)
    }

    fn name(&self, span: Span) -> Name {
        Name { text: self.src[span.clone()].to_string(), span }
    }

    fn stmt(&mut self) -> PResult<Stmt> {
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
        let node = self.name(word.clone());
        let after = self.pos;
        self.skip_ws();
        match self.peek() {
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
    fn stmt_has_word(&self, w: &str) -> bool {
        let end = self.b[self.pos..]
            .iter()
            .position(|&c| matches!(c, b'\n' | b';' | b'#'))
            .map_or(self.b.len(), |i| self.pos + i);
        self.src[self.pos..end].split(|c: char| c.is_ascii_whitespace()).any(|x| x == w)
    }

    /// At the `:` after a node: is this `h: DEST via GW` rather than `r:eth0=..`?
    fn is_route(&mut self) -> bool {
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
    fn route(&mut self, node: Name) -> PResult<Stmt> {
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
    fn node_opts(&mut self, node: Name) -> PResult<Stmt> {
        let opts = self.opts(false)?;
        Ok(Stmt::NodeOpts { node, forward: opts.forward })
    }

    /// `ENDPOINT '--' ENDPOINT ['[' opts ']']`, with the first node already read.
    fn link(&mut self, node: Name) -> PResult<Stmt> {
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
        let mtu = if self.peek() == Some(b'[') { self.opts(true)?.mtu } else { None };
        Ok(Stmt::Link(Box::new(LinkStmt { a, b, mtu })))
    }

    /// `NODE [':' IFNAME] ['=' addrs]`; `node` is given when already read.
    fn endpoint(&mut self, node: Option<Name>) -> PResult<Endpoint> {
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
    fn addrs(&mut self) -> PResult<Vec<Addr>> {
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
    fn bridge(&mut self, kw: Span) -> PResult<Stmt> {
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
        let mut bad = false;
        loop {
            self.skip_ws_nl();
            if self.pos >= close {
                break;
            }
            let res = self.endpoint(None).and_then(|ep| {
                self.skip_ws_nl();
                match self.peek() {
                    _ if self.pos == close => Ok(ep),
                    Some(b',') => {
                        self.pos += 1;
                        Ok(ep)
                    }
                    _ => Err(self.expected("`,` or `}`")),
                }
            });
            match res {
                Ok(ep) => members.push(ep),
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
        let mtu = if self.peek() == Some(b'[') { self.opts(true)?.mtu } else { None };
        Ok(Stmt::Bridge(Box::new(BridgeStmt { name, addrs, members, mtu })))
    }

    /// `'[' opt (',' opt)* ']'`, at the `[`: node options, or link options if `link`.
    fn opts(&mut self, link: bool) -> PResult<Opts> {
        let open = self.pos..self.pos + 1;
        self.pos += 1;
        let mut opts = Opts::default();
        let mut seen: Vec<&str> = Vec::new();
        loop {
            self.skip_ws();
            if self.at_stmt_end() {
                return Err(Error::new(open, "unclosed `[`").help("close the option list with `]`"));
            }
            if self.peek() == Some(b']') && seen.is_empty() {
                return Err(Error::new(open.start..self.pos + 1, "empty option list"));
            }
            let key = self.run(opt_stop);
            if key.is_empty() {
                return Err(self.expected("an option"));
            }
            self.skip_ws();
            let mut value = None;
            if self.peek() == Some(b'=') {
                self.pos += 1;
                self.skip_ws();
                value = Some(self.run(opt_stop));
                self.skip_ws();
            }
            let k = &self.src[key.clone()];
            if seen.contains(&k) {
                self.errors.push(Error::new(key.clone(), format!("duplicate option `{}`", show(k))));
            }
            seen.push(k);
            let value_text = value.clone().map(|v| &self.src[v]);
            match (k, link) {
                ("forward", false) => {
                    opts.forward = true;
                    if let Some(v) = value {
                        self.errors.push(Error::new(key.start..v.end, "option `forward` takes no value"));
                    }
                }
                ("mtu", true) => match (value, value_text) {
                    (Some(v), Some(t)) if !t.is_empty() => match t.parse::<u32>() {
                        _ if !t.bytes().all(|c| c.is_ascii_digit()) => {
                            self.errors.push(Error::new(v, format!("invalid mtu `{}`: expected a number", show(t))))
                        }
                        Ok(n) if (68..=65535).contains(&n) => opts.mtu = Some(n),
                        // Digits only: too large for a u32 is out of range too.
                        n => {
                            let shown = n.map_or_else(|_| t.trim_start_matches('0').to_string(), |n| n.to_string());
                            self.errors.push(
                                Error::new(v, format!("mtu {shown} is out of range"))
                                    .help("the MTU must be in 68..=65535"),
                            )
                        }
                    },
                    _ => self
                        .errors
                        .push(Error::new(key.clone(), "option `mtu` needs a value").help("e.g. `[mtu=1400]`")),
                },
                _ => {
                    let (own, other) = if link { ("mtu", "forward") } else { ("forward", "mtu") };
                    let mut e = Error::new(key.clone(), format!("unknown option `{}`", show(k)));
                    e = if k == other {
                        e.help(if link {
                            "`forward` is a node option: write `NODE [forward]`"
                        } else {
                            "`mtu` is a link option: write `a -- b [mtu=1400]`"
                        })
                    } else if close_to(k, own) {
                        e.help(format!("did you mean `{own}`?"))
                    } else if link {
                        e.help("link options: `mtu=N`")
                    } else {
                        e.help("node options: `forward`")
                    };
                    self.errors.push(e);
                }
            }
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(opts);
                }
                _ if self.at_stmt_end() => {
                    return Err(Error::new(open, "unclosed `[`").help("close the option list with `]`"))
                }
                _ => return Err(self.expected("`,` or `]`")),
            }
        }
    }

    /// Records an error if `n` is not an identifier `[A-Za-z_][A-Za-z0-9_-]*` (not ending in `-`)
    /// of at most [`MAX_NODE_NAME`] bytes.
    fn check_node_name(&mut self, n: &Name) {
        let t = &n.text;
        if t == "bridge" {
            self.errors.push(Error::new(n.span.clone(), "`bridge` is a keyword, not a node name"));
        } else if let Some((i, c)) =
            t.char_indices().find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        {
            let at = n.span.start + i;
            self.errors.push(
                Error::new(
                    at..at + c.len_utf8(),
                    format!("invalid character `{}` in node name `{}`", show_char(c), show(t)),
                )
                .help("node names may contain ASCII letters, digits, `_` and `-`"),
            );
        } else if !t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            self.errors.push(Error::new(n.span.clone(), format!("node name `{t}` must start with a letter or `_`")));
        } else if t.ends_with('-') {
            self.errors.push(Error::new(n.span.clone(), format!("node name `{t}` must not end with `-`")));
        } else if t.len() > MAX_NODE_NAME {
            self.errors.push(Error::new(
                n.span.clone(),
                format!("node name `{t}` is {} bytes; at most {MAX_NODE_NAME}", t.len()),
            ));
        }
    }

    /// Records an error if `n` is not a valid kernel interface name (`kind` is "interface" or
    /// "bridge").
    fn check_ifname(&mut self, n: &Name, kind: &str) {
        let t = &n.text;
        if let Some((i, c)) = t.char_indices().find(|&(_, c)| !(c.is_ascii_alphanumeric() || "_.-".contains(c))) {
            let at = n.span.start + i;
            self.errors.push(
                Error::new(
                    at..at + c.len_utf8(),
                    format!("invalid character `{}` in {kind} name `{}`", show_char(c), show(t)),
                )
                .help("interface names may contain ASCII letters, digits, `_`, `-` and `.`"),
            );
        } else if t.len() > 15 {
            self.errors.push(Error::new(
                n.span.clone(),
                format!("{kind} name `{t}` is {} bytes; Linux allows at most 15", t.len()),
            ));
        } else if t == "." || t == ".." {
            self.errors.push(Error::new(n.span.clone(), format!("{kind} name `{t}` is not allowed")));
        } else if t == "lo" {
            self.errors
                .push(Error::new(n.span.clone(), format!("{kind} name `lo` is reserved for the loopback interface")));
        }
    }
}

#[derive(Default)]
struct Opts {
    forward: bool,
    mtu: Option<u32>,
}

/// Parses `IP/PREFIX` at `span` of `src`, with a pointed error.
fn parse_cidr(src: &str, span: Span) -> PResult<IpNet> {
    let text = &src[span.clone()];
    let Some(slash) = text.find('/') else {
        return match text.parse::<IpAddr>() {
            Ok(ip) => Err(Error::new(span, format!("missing prefix length in `{text}`"))
                .help(format!("write e.g. `{text}/{}`", if ip.is_ipv4() { 24 } else { 64 }))),
            Err(_) => Err(Error::new(span, format!("invalid IP address `{}`", show(text)))),
        };
    };
    let ip_span = span.start..span.start + slash;
    let ip: IpAddr = src[ip_span.clone()]
        .parse()
        .map_err(|_| Error::new(ip_span.clone(), format!("invalid IP address `{}`", show(&src[ip_span.clone()]))))?;
    let pfx_span = span.start + slash..span.end;
    let digits = &text[slash + 1..];
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let pfx = match digits.parse::<u8>() {
        Ok(p) if digits.bytes().all(|c| c.is_ascii_digit()) => p,
        _ => return Err(Error::new(pfx_span, format!("invalid prefix length `/{}`", show(digits)))),
    };
    if pfx > max {
        let fam = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
        return Err(Error::new(pfx_span, format!("prefix length /{pfx} is too long for {fam} (at most {max})")));
    }
    Ok(IpNet::new(ip, pfx).expect("prefix checked"))
}

/// Whether `a` looks like a misspelling of `b`: edit distance at most 2 (at most half of `b`),
/// ignoring case, so `BRIDGE` and `Bridg` are close to `bridge`.
pub(crate) fn close_to(a: &str, b: &str) -> bool {
    a != b && edit_distance(&a.to_lowercase(), &b.to_lowercase()) <= 2.min(b.len() / 2)
}

/// Edit distance counting a swap of two neighbours as one edit (`mut` -> `mtu`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && ca == b[j - 1] && a[i - 1] == cb {
                cur[j + 1] = cur[j + 1].min(before[j - 1] + 1);
            }
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}
