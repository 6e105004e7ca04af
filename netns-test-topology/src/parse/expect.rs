//! `expect FROM ('->' | '-/->') TO [('tcp' | 'udp') '/' PORT]`.

use super::{node_stop, PResult, Parser};
use crate::ast::{ExpectStmt, ExpectTo, Span, Stmt};
use crate::error::Error;
use crate::Probe;
use std::net::IpAddr;

impl Parser<'_> {
    /// After the word `expect`: is this an expectation rather than a node called `expect`
    /// (`expect -- b`, `expect:eth0=..`, `expect [forward]`)?
    pub(super) fn at_expect(&mut self) -> bool {
        let after = self.pos;
        self.skip_ws();
        let yes = self.pos > after && !node_stop(self.peek().unwrap_or(b'\n')) && !self.at_dashdash();
        self.pos = after;
        yes
    }

    /// The rest of an `expect` statement, up to its end.
    pub(super) fn expect(&mut self) -> PResult<Stmt> {
        let start = self.pos;
        let end =
            self.b[start..].iter().position(|&c| matches!(c, b'\n' | b';' | b'#')).map_or(self.b.len(), |i| start + i);
        self.pos = end;
        parse_stmt(self.src, start, &self.src[start..end]).map(|e| Stmt::Expect(Box::new(e)))
    }
}

/// Parses the rest of an `expect` statement: `FROM ('->' | '-/->') TO [('tcp' | 'udp') '/' PORT]`.
///
/// `rest` is the source from just after the keyword; it ends at the statement's end (`;`, a
/// newline or a comment). Spans are offsets into the whole source (`base` is `rest`'s offset).
pub(super) fn parse_stmt(src: &str, base: usize, rest: &str) -> Result<ExpectStmt, Error> {
    let line = src[..base].matches('\n').count() + 1;
    let words = words(rest, base);
    let end = base + rest.trim_end().len();
    let usage = "write `expect a -> b`, `expect a -/-> b`, `expect a -> b tcp/80`, `expect a -> 10.0.0.2` \
                 or `expect a -> www.example.com tcp/80`";
    let word = |i: usize, what: &str| -> Result<(&str, Span), Error> {
        words.get(i).cloned().ok_or_else(|| Error::new(end..end, format!("expected {what}")).help(usage))
    };
    let (from, from_span) = word(0, "the node the probe starts from")?;
    if !is_node_name(from) {
        return Err(Error::new(from_span, format!("`{from}` is not a node name")).help(usage));
    }
    let (arrow, arrow_span) = word(1, "`->` or `-/->`")?;
    let reachable = match arrow {
        "->" => true,
        "-/->" => false,
        _ => return Err(Error::new(arrow_span, format!("expected `->` or `-/->`, found `{arrow}`")).help(usage)),
    };
    let (to, to_span) = word(2, "a node or an address")?;
    let target = match to.parse::<IpAddr>() {
        Ok(a) => ExpectTo::Addr(a),
        Err(_) if to.contains('/') => {
            return Err(Error::new(to_span, format!("`{to}`: write a single address, without a prefix length")))
        }
        Err(_) if is_node_name(to) => ExpectTo::Node(to.to_string()),
        Err(_) if to.contains('.') => match crate::dns::dns_name(to, "name") {
            Ok(name) => ExpectTo::Name(name),
            Err(m) => return Err(Error::new(to_span, m)),
        },
        Err(_) => {
            return Err(Error::new(to_span, format!("`{to}` is neither a node name, a domain name nor an address")))
        }
    };
    let probe = match words.get(3) {
        None => Probe::Icmp,
        Some((p, span)) => parse_probe(p, span.clone())?,
    };
    if let Some((_, span)) = words.get(4) {
        return Err(Error::new(span.start..end, "unexpected text after the expectation").help(usage));
    }
    Ok(ExpectStmt { from: (from.into(), from_span), to: (target, to_span), probe, reachable, line })
}

fn parse_probe(p: &str, span: Span) -> Result<Probe, Error> {
    let bad = || Error::new(span.clone(), format!("expected `tcp/PORT` or `udp/PORT`, found `{p}`"));
    let (proto, port) = p.split_once('/').ok_or_else(bad)?;
    let port: u16 = match port.parse() {
        Ok(0) | Err(_) => {
            return Err(Error::new(span.clone(), format!("`{port}` is not a port (1..65535)")));
        }
        Ok(n) => n,
    };
    match proto {
        "tcp" => Ok(Probe::Tcp(port)),
        "udp" => Ok(Probe::Udp(port)),
        _ => Err(bad().help("expectations probe `tcp/PORT` or `udp/PORT`; without one, ICMP echo")),
    }
}

/// Whitespace-separated words with their spans.
fn words(rest: &str, base: usize) -> Vec<(&str, Span)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in rest.char_indices().chain([(rest.len(), ' ')]) {
        match (c == ' ' || c == '\t' || c == '\r', start) {
            (true, Some(s)) => {
                out.push((&rest[s..i], base + s..base + i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

fn is_node_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
