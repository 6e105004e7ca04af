//! `NODE: block [inbound on IFACE] [PROTO] [from CIDR] [to CIDR] [drop | reject]` and
//! `NODE: allow [inbound on IFACE] [established] [PROTO] [from CIDR] [to CIDR]`: a node's firewall
//! statements, tried in declaration order (the first that matches decides).
//!
//! `PROTO` is `tcp`, `tcp/PORT`, `udp`, `udp/PORT`, `icmp [TYPE]` or `icmpv6 [TYPE]`; an address
//! without a prefix length is one host. Everything a statement can get wrong by itself (unknown
//! words, ports, ICMP types, families that disagree) is reported here.

use super::words::parse_cidr;
use super::{PResult, Parser};
use crate::ast::{BlockStmt, Name, Span, Stmt};
use crate::error::{Error, Errors};
use crate::firewall::{Action, Block, BlockProto, IcmpType};
use crate::suggest::did_you_mean;
use crate::text::{is_space, show};
use ipnet::IpNet;
use std::net::IpAddr;

const WORDS: [&str; 11] =
    ["tcp", "udp", "icmp", "icmpv6", "from", "to", "drop", "reject", "inbound", "on", "established"];
const EXAMPLES: &str = "e.g. `b: block udp`, `b: block tcp/80 from 10.0.0.0/24 reject`, `r: block icmp frag-needed`, \
                        `r: allow tcp/443`, `r: block inbound on eth1`";
const SHAPE: &str = "a rule is `block [inbound on IFACE] [tcp[/PORT] | udp[/PORT] | icmp [TYPE] | icmpv6 [TYPE]] \
                     [from CIDR] [to CIDR] [drop | reject]` or `allow [inbound on IFACE] [established] [PROTO] \
                     [from CIDR] [to CIDR]`";

/// One rule written alone (`block udp/53`), as the runtime's `Firewall::add` takes it: the
/// statement's own parser, so the same words and messages. Spans are into `text`; the
/// `inbound on` interface is returned with its span, to be checked against the node.
pub(crate) fn rule(text: &str) -> Result<(Block, Option<Name>), Errors> {
    let mut p = Parser::new(text);
    p.skip_ws();
    let node = Name { text: String::new(), span: p.pos..p.pos };
    let r = p.rule(node);
    let mut errors = std::mem::take(&mut p.errors);
    match r {
        Err(e) => errors.push(e),
        Ok(_) if p.pos < text.len() => errors.push(
            Error::new(p.pos..text.len(), format!("unexpected `{}` after the rule", show(text[p.pos..].trim_end())))
                .help("one rule at a time: call `add` once per rule"),
        ),
        Ok(Stmt::Block(b)) if errors.is_empty() => return Ok((b.block, b.inbound)),
        Ok(_) => {}
    }
    Err(Errors(errors))
}

/// A value and where it was written.
type Spanned<T> = (T, Span);

/// Ends a word of a block statement.
fn word_stop(c: u8) -> bool {
    is_space(c) || b"\n;#".contains(&c)
}

impl Parser<'_> {
    /// At the `:` after a node: is this `NODE: block ...` (and not an interface named `block`)?
    pub(super) fn is_block(&mut self) -> bool {
        let save = self.pos;
        self.pos += 1;
        self.skip_ws();
        let w = self.run(word_stop);
        let is = matches!(&self.src[w], "block" | "allow") && {
            self.skip_ws();
            !self.at_dashdash()
        };
        self.pos = save;
        is
    }

    /// The statement, at the `:`.
    pub(super) fn block(&mut self, node: Name) -> PResult<Stmt> {
        self.pos += 1;
        self.skip_ws();
        self.rule(node)
    }

    /// The rule after `NODE:`, at `block` or `allow`.
    fn rule(&mut self, node: Name) -> PResult<Stmt> {
        let kw = self.run(word_stop);
        let action = match &self.src[kw.clone()] {
            "allow" => Action::Allow,
            "block" => Action::Block,
            other => {
                let e = Error::new(kw.clone(), format!("unknown firewall action `{}`", show(other)));
                return Err(match did_you_mean(other, ["allow", "block"]) {
                    Some(k) => e.help(format!("did you mean `{k}`?")),
                    None => e.help(format!("{SHAPE}; {EXAMPLES}")),
                });
            }
        };
        let kw_text = &self.src[kw.clone()];
        let mut inbound: Option<Name> = None;
        let mut established: Option<Span> = None;
        let mut proto: Option<Spanned<BlockProto>> = None;
        let (mut from, mut to): (Option<Spanned<IpNet>>, Option<Spanned<IpNet>>) = (None, None);
        // `true` for reject.
        let mut verdict: Option<Spanned<bool>> = None;
        loop {
            self.skip_ws();
            if self.at_stmt_end() {
                break;
            }
            let w = self.run(word_stop);
            let text = &self.src[w.clone()];
            let (head, port) = match text.split_once('/') {
                Some((h, _)) => (h, Some(w.start + h.len() + 1..w.end)),
                None => (text, None),
            };
            match head {
                "tcp" | "udp" | "icmp" | "icmpv6" => {
                    if let Some((_, first)) = &proto {
                        return Err(Error::new(w, format!("a `{kw_text}` statement takes one protocol")).help(
                            format!(
                                "`{}` was given first; write one `{kw_text}` per protocol",
                                &self.src[first.clone()]
                            ),
                        ));
                    }
                    let p = match (head, port) {
                        ("tcp", p) => BlockProto::Tcp(p.map(|p| self.port(p)).transpose()?),
                        ("udp", p) => BlockProto::Udp(p.map(|p| self.port(p)).transpose()?),
                        (_, Some(p)) => {
                            return Err(Error::new(p, format!("{head} has no ports")).help(format!(
                                "ports go with `tcp` or `udp`; `{head}` takes a type, e.g. `{}`",
                                icmp_example(head)
                            )))
                        }
                        ("icmp", None) => BlockProto::Icmp(self.icmp_type(IcmpType::V4, "icmp")?),
                        _ => BlockProto::Icmpv6(self.icmp_type(IcmpType::V6, "icmpv6")?),
                    };
                    proto = Some((p, w));
                }
                "from" | "to" => {
                    let slot = if head == "from" { &from } else { &to };
                    if slot.is_some() {
                        return Err(Error::new(w, format!("`{head}` is given twice")));
                    }
                    self.skip_ws();
                    let a = self.run(word_stop);
                    if a.is_empty() {
                        return Err(self.expected(&format!("an address or subnet after `{head}`")).help(EXAMPLES));
                    }
                    let net = self.block_addr(a.clone())?;
                    if head == "from" {
                        from = Some((net, a));
                    } else {
                        to = Some((net, a));
                    }
                }
                "drop" | "reject" if action == Action::Allow => {
                    return Err(Error::new(w, format!("`{head}` goes with `block`, not `allow`")).help(
                        "`allow` lets the packets it matches through; write `block ...` to drop or reject them",
                    ));
                }
                "drop" | "reject" => {
                    if verdict.is_some() {
                        return Err(Error::new(w, "`drop` or `reject` is given twice"));
                    }
                    verdict = Some((head == "reject", w));
                }
                "established" if action == Action::Block => {
                    return Err(Error::new(w, "`established` goes with `allow`, not `block`").help(
                        "`block inbound on IFACE` already lets replies and related ICMP errors through; \
                         `allow established` lets every connection under way through",
                    ));
                }
                "established" => {
                    if established.is_some() {
                        return Err(Error::new(w, "`established` is given twice"));
                    }
                    established = Some(w);
                }
                "inbound" => {
                    if inbound.is_some() {
                        return Err(Error::new(w, "`inbound` is given twice"));
                    }
                    self.skip_ws();
                    let on = self.run(word_stop);
                    if &self.src[on.clone()] != "on" {
                        return Err(Error::new(on, "expected `on IFACE` after `inbound`")
                            .help("e.g. `r: block inbound on eth1`"));
                    }
                    self.skip_ws();
                    let i = self.run(word_stop);
                    if i.is_empty() {
                        return Err(self
                            .expected("an interface name after `inbound on`")
                            .help("e.g. `r: block inbound on eth1`"));
                    }
                    inbound = Some(Name { text: self.src[i.clone()].to_string(), span: i });
                }
                _ => {
                    let e = Error::new(w, format!("unknown word `{}` in a `{kw_text}` statement", show(text)));
                    return Err(match did_you_mean(head, WORDS) {
                        Some(k) => e.help(format!("did you mean `{k}`?")),
                        None => e.help(format!("{SHAPE}; {EXAMPLES}")),
                    });
                }
            }
        }
        if proto.is_none() && from.is_none() && to.is_none() && inbound.is_none() && established.is_none() {
            return Err(
                Error::new(node.span.start..kw.end, format!("`{kw_text}` needs something to match")).help(EXAMPLES)
            );
        }
        self.block_families(&proto, &from, &to)?;
        let mut block =
            Block::new(proto.map(|p| p.0), from.map(|f| f.0), to.map(|t| t.0), verdict.is_some_and(|a| a.0));
        block.action = action;
        block.inbound = inbound.as_ref().map(|i| i.text.clone());
        block.established = established.is_some();
        Ok(Stmt::Block(Box::new(BlockStmt { node, block, inbound })))
    }

    /// `80` in `tcp/80`.
    fn port(&mut self, span: Span) -> PResult<u16> {
        let t = &self.src[span.clone()];
        match t.parse::<u16>() {
            Ok(p) if p > 0 && t.bytes().all(|c| c.is_ascii_digit()) => Ok(p),
            _ => Err(Error::new(span, format!("invalid port `{}`", show(t))).help("a port is a number in 1..=65535")),
        }
    }

    /// The optional ICMP type after `icmp`/`icmpv6`: a known name, or nothing if the next word is
    /// another part of the statement.
    fn icmp_type(&mut self, known: &'static [IcmpType], proto: &str) -> PResult<Option<IcmpType>> {
        let save = self.pos;
        self.skip_ws();
        let w = self.run(word_stop);
        let text = &self.src[w.clone()];
        if text.is_empty() || WORDS.contains(&text) {
            self.pos = save;
            return Ok(None);
        }
        if let Some(t) = known.iter().find(|t| t.name == text) {
            return Ok(Some(*t));
        }
        let names = known.iter().map(|t| t.name);
        let e = Error::new(w, format!("unknown {proto} type `{}`", show(text)));
        Err(match did_you_mean(text, names.clone()) {
            Some(n) => e.help(format!("did you mean `{n}`?")),
            None => {
                e.help(format!("{proto} types: {}", names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")))
            }
        })
    }

    /// `10.0.0.0/24`, or `10.0.0.5` for one host; no host bits beyond the prefix.
    fn block_addr(&mut self, span: Span) -> PResult<IpNet> {
        let text = &self.src[span.clone()];
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(IpNet::from(ip));
        }
        let net = parse_cidr(self.src, span.clone())?;
        if net != net.trunc() {
            return Err(Error::new(span, format!("`{net}` has host bits set")).help(format!(
                "write the subnet `{}` or the host `{}`",
                net.trunc(),
                net.addr()
            )));
        }
        Ok(net)
    }

    /// The protocol and the addresses must agree on IPv4 or IPv6.
    fn block_families(
        &self,
        proto: &Option<Spanned<BlockProto>>,
        from: &Option<Spanned<IpNet>>,
        to: &Option<Spanned<IpNet>>,
    ) -> PResult<()> {
        let v6 = |n: &IpNet| matches!(n, IpNet::V6(_));
        if let (Some((f, _)), Some((t, ts))) = (from, to) {
            if v6(f) != v6(t) {
                return Err(Error::new(ts.clone(), "`from` and `to` are of different families (IPv4 and IPv6)"));
            }
        }
        let Some((net, span)) = from.as_ref().or(to.as_ref()) else { return Ok(()) };
        match proto {
            Some((BlockProto::Icmp(_), _)) if v6(net) => {
                Err(Error::new(span.clone(), "`icmp` is IPv4's; this address is IPv6").help("for IPv6 write `icmpv6`"))
            }
            Some((BlockProto::Icmpv6(_), _)) if !v6(net) => {
                Err(Error::new(span.clone(), "`icmpv6` is IPv6's; this address is IPv4").help("for IPv4 write `icmp`"))
            }
            _ => Ok(()),
        }
    }
}

fn icmp_example(proto: &str) -> &'static str {
    if proto == "icmp" {
        "icmp frag-needed"
    } else {
        "icmpv6 packet-too-big"
    }
}
