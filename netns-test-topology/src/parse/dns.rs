//! `dns NAME TYPE VALUE.. ['ttl=' TTL]`: a record of the topology's DNS servers.

use super::{PResult, Parser};
use crate::ast::{DnsStmt, Stmt};
use crate::dns::{dns_name, record_data, ttl, words, Record, DEFAULT_TTL};
use crate::error::Error;

const USAGE: &str = "write `dns NAME TYPE VALUE`, e.g. `dns www.example.com A 203.0.113.10 ttl=60`";

impl Parser<'_> {
    /// After the word `dns`: is this a record rather than a node called `dns` (`dns -- b`,
    /// `dns [forward]`, `dns: default via ..`)? The same test as `expect`'s.
    pub(super) fn at_dns(&mut self) -> bool {
        self.at_expect()
    }

    /// The rest of a `dns` statement, up to its end (a newline, or a `;` or `#` outside quotes).
    pub(super) fn dns(&mut self, kw: std::ops::Range<usize>) -> PResult<Stmt> {
        let start = self.pos;
        let mut end = start;
        let mut quoted = false;
        while end < self.b.len() {
            match self.b[end] {
                b'\n' => break,
                b'"' => quoted = !quoted,
                b'\\' if quoted => end += 1,
                b';' | b'#' if !quoted => break,
                _ => {}
            }
            end += 1;
        }
        let end = end.min(self.b.len());
        self.pos = end;
        let rest = &self.src[start..end];
        let stmt_end = start + rest.trim_end().len();
        let mut w = words(rest, start)?;
        let mut ttl_value = DEFAULT_TTL;
        if let Some(last) = w.last().filter(|l| !l.quoted && l.text.starts_with("ttl=")) {
            let span = last.span.start + 4..last.span.end;
            ttl_value = ttl(&last.text[4..], span)?;
            w.pop();
        } else if let Some(bad) = w.iter().find(|x| !x.quoted && x.text.starts_with("ttl=")) {
            return Err(Error::new(bad.span.clone(), "`ttl=` comes last").help(USAGE));
        }
        let Some(name) = w.first() else {
            return Err(Error::new(kw, "expected a name after `dns`").help(USAGE));
        };
        let Some(rtype) = w.get(1) else {
            return Err(Error::new(stmt_end..stmt_end, "expected a record type (`A`, `AAAA`, `CNAME`, `SRV`, `TXT`)")
                .help(USAGE));
        };
        if name.quoted || name.text.parse::<std::net::IpAddr>().is_ok() {
            return Err(Error::new(name.span.clone(), format!("`{}` is not a domain name", name.text)).help(USAGE));
        }
        let record_name = dns_name(&name.text, "record name").map_err(|m| Error::new(name.span.clone(), m))?;
        let data = record_data(rtype, &w[2..], stmt_end)?;
        let record = Record { name: record_name, ttl: ttl_value, data };
        Ok(Stmt::Dns(Box::new(DnsStmt { record, name_span: name.span.clone(), span: kw.start..stmt_end })))
    }
}
