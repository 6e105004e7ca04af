//! Names and addresses: what a valid node, interface or bridge name is, and CIDR parsing.

use super::{PResult, Parser};
use crate::ast::{Name, Span};
use crate::error::Error;
use crate::text::{show, show_char};
use ipnet::IpNet;
use std::net::IpAddr;

/// Node names appear in messages and thread names: keep them sane.
const MAX_NODE_NAME: usize = 64;

impl Parser<'_> {
    /// of at most [`MAX_NODE_NAME`] bytes.
    pub(super) fn check_node_name(&mut self, n: &Name) {
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
    pub(super) fn check_ifname(&mut self, n: &Name, kind: &str) {
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

/// Parses `IP/PREFIX` at `span` of `src`, with a pointed error.
pub(super) fn parse_cidr(src: &str, span: Span) -> PResult<IpNet> {
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
