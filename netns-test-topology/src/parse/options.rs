//! Option lists, `[forward]` after a node and `[mtu=1400]` after a link or a bridge: which options
//! each takes and how their values are read.
//!
//! To add an option: a field in [`NodeOpts`] or [`LinkOpts`] (in `ast.rs`), an entry in its
//! `KNOWN` table below (for hints), and an arm in its `set`.

use super::{opt_stop, PResult, Parser};
use crate::ast::{LinkOpts, NodeOpts, Span};
use crate::duration::{parse_duration, DurationError};
use crate::error::Error;
use crate::nat::{Nat, NatType};
use crate::preset::Preset;
use crate::suggest::did_you_mean;
use crate::text::show;
use std::time::Duration;

/// A known option, for hints: its name and how it is written.
pub(super) struct Known {
    pub name: &'static str,
    /// As listed in "link options: `mtu=N`".
    pub written: &'static str,
    /// A whole statement using it, as in "write `a -- b [mtu=1400]`".
    pub example: &'static str,
}

/// The options one kind of statement takes.
pub(super) trait OptionList: Default {
    /// `"node"` or `"link"`.
    const KIND: &'static str;
    const KNOWN: &'static [Known];
    /// The options of the other kind, to say where a misplaced option belongs.
    type Other: OptionList;
    /// Applies option `name` (with `key` its span, `value` the span after `=`), reporting bad
    /// values; false if there is no such option here.
    fn set(&mut self, p: &mut Parser<'_>, name: &str, key: Span, value: Option<Span>) -> bool;
    /// Checks the options together, once all are read (`list`: the whole `[..]`).
    fn finish(&mut self, _p: &mut Parser<'_>, _list: Span) {}
}

impl OptionList for NodeOpts {
    const KIND: &'static str = "node";
    const KNOWN: &'static [Known] = &[
        Known { name: "forward", written: "forward", example: "NODE [forward]" },
        Known { name: "nat", written: "nat=IFACE", example: "r [nat=eth1]" },
        Known { name: "nat-type", written: "nat-type=TYPE", example: "r [nat=eth1, nat-type=full-cone]" },
        Known { name: "nat66", written: "nat66=IFACE", example: "r [nat66=eth1]" },
        Known { name: "nptv6", written: "nptv6=IFACE", example: "r [nptv6=eth1, nptv6-prefix=2001:db8:1::/48]" },
        Known {
            name: "nptv6-prefix",
            written: "nptv6-prefix=PREFIX",
            example: "r [nptv6=eth1, nptv6-prefix=2001:db8:1::/48]",
        },
        Known { name: "hairpin", written: "hairpin", example: "r [nat=eth1, hairpin]" },
        Known { name: "udp-timeout", written: "udp-timeout=TIME", example: "r [nat=eth1, udp-timeout=30s]" },
        Known { name: "tcp-timeout", written: "tcp-timeout=TIME", example: "r [nat=eth1, tcp-timeout=10m]" },
        Known { name: "timeout", written: "timeout=TIME", example: "r [nat=eth1, timeout=1m]" },
        Known { name: "preset", written: "preset=NAME", example: "r [preset=home, wan=eth1]" },
        Known { name: "wan", written: "wan=IFACE", example: "r [preset=home, wan=eth1]" },
        Known { name: "dns", written: "dns", example: "d [dns]" },
        Known { name: "dns64", written: "dns64", example: "d [dns, dns64]" },
        Known {
            name: "dns64-prefix",
            written: "dns64-prefix=PREFIX/96",
            example: "d [dns, dns64, dns64-prefix=2001:db8:64::/96]",
        },
        Known { name: "resolver", written: "resolver=NODE", example: "h [resolver=d]" },
        Known { name: "nat64", written: "nat64=IFACE", example: "r [nat64=eth1]" },
    ];
    type Other = LinkOpts;

    fn set(&mut self, p: &mut Parser<'_>, name: &str, key: Span, value: Option<Span>) -> bool {
        match name {
            "forward" => self.forward = p.flag(name, key, value),
            "nat" => {
                if let Some(v) = p.value(name, key, value, "r [nat=eth1]") {
                    let iface = p.name(v);
                    p.check_ifname(&iface, "interface");
                    self.nat = Some(iface);
                }
            }
            "nat66" | "nptv6" => {
                let example = Self::KNOWN.iter().find(|k| k.name == name).map_or("", |k| k.example);
                if let Some(v) = p.value(name, key, value, example) {
                    let iface = p.name(v);
                    p.check_ifname(&iface, "interface");
                    if name == "nat66" {
                        self.nat66 = Some(iface);
                    } else {
                        self.nptv6 = Some(iface);
                    }
                }
            }
            "nptv6-prefix" => {
                if let Some(v) = p.value(name, key, value, "r [nptv6=eth1, nptv6-prefix=2001:db8:1::/48]") {
                    self.nptv6_prefix = p.nptv6_prefix(v.clone()).map(|n| (n, v));
                }
            }
            "nat-type" => {
                if let Some(v) = p.value(name, key, value, "r [nat=eth1, nat-type=full-cone]") {
                    self.nat_type = p.nat_type(v.clone()).map(|t| (t, v));
                }
            }
            "hairpin" => {
                p.flag(name, key.clone(), value);
                self.hairpin = Some(key);
            }
            "udp-timeout" | "tcp-timeout" | "timeout" => {
                let example = Self::KNOWN.iter().find(|k| k.name == name).map_or("", |k| k.example);
                if let Some(v) = p.value(name, key, value, example) {
                    let t = p.nat_timeout(name, v.clone()).map(|t| (t, v));
                    match name {
                        "udp-timeout" => self.udp_timeout = t,
                        "tcp-timeout" => self.tcp_timeout = t,
                        _ => self.timeout = t,
                    }
                }
            }
            "preset" | "wan" => self.preset_opt(p, name, key, value),
            "dns" | "dns64" => {
                p.flag(name, key.clone(), value);
                *if name == "dns" { &mut self.dns } else { &mut self.dns64 } = Some(key);
            }
            "dns64-prefix" => {
                if let Some(v) = p.value(name, key, value, "d [dns, dns64, dns64-prefix=2001:db8:64::/96]") {
                    self.dns64_prefix = p.dns64_prefix(v);
                }
            }
            "resolver" => {
                if let Some(v) = p.value(name, key, value, "h [resolver=d]") {
                    let node = p.name(v);
                    p.check_node_name(&node);
                    self.resolver = Some(node);
                }
            }
            "nat64" => {
                if let Some(v) = p.value(name, key, value, "r [nat64=eth1]") {
                    let iface = p.name(v);
                    p.check_ifname(&iface, "interface");
                    self.nat64 = Some(iface);
                }
            }
            _ => return false,
        }
        true
    }
}

impl OptionList for LinkOpts {
    const KIND: &'static str = "link";
    const KNOWN: &'static [Known] = &[
        Known { name: "mtu", written: "mtu=N", example: "a -- b [mtu=1400]" },
        Known { name: "rate", written: "rate=10mbit", example: "a -- b [rate=10mbit]" },
        Known { name: "delay", written: "delay=20ms", example: "a -- b [delay=20ms]" },
        Known { name: "jitter", written: "jitter=5ms", example: "a -- b [delay=20ms, jitter=5ms]" },
        Known { name: "loss", written: "loss=1%", example: "a -- b [loss=1%]" },
        Known { name: "duplicate", written: "duplicate=1%", example: "a -- b [duplicate=1%]" },
        Known { name: "reorder", written: "reorder=5%", example: "a -- b [delay=10ms, reorder=5%]" },
    ];
    type Other = NodeOpts;

    fn set(&mut self, p: &mut Parser<'_>, name: &str, key: Span, value: Option<Span>) -> bool {
        match name {
            "mtu" => {
                if let Some(v) = p.value(name, key, value, "[mtu=1400]") {
                    self.mtu = p.mtu(v);
                }
            }
            _ if crate::CONDITION_OPTIONS.contains(&name) => self.condition(p, name, key, value),
            _ => return false,
        }
        true
    }

    fn finish(&mut self, p: &mut Parser<'_>, list: Span) {
        if let Err(e) = self.conditions.check() {
            p.errors.push(Error { span: list, message: e.message, help: e.help });
        }
    }
}

impl LinkOpts {
    /// A link condition (`delay=20ms`, ...): its value read by [`crate::Conditions`].
    fn condition(&mut self, p: &mut Parser<'_>, name: &str, key: Span, value: Option<Span>) {
        let example = Self::KNOWN.iter().find(|k| k.name == name).map_or("", |k| k.written);
        let Some(v) = p.value(name, key, value, &format!("[{example}]")) else { return };
        if let Some(Err(e)) = self.conditions.set(name, &p.src[v.clone()]) {
            p.errors.push(Error { span: v, message: e.message, help: e.help });
        }
    }
}

impl Parser<'_> {
    /// `'[' opt (',' opt)* ']'`, at the `[`. Bad options are reported and left out.
    pub(super) fn opts<O: OptionList>(&mut self) -> PResult<O> {
        let open = self.pos..self.pos + 1;
        self.pos += 1;
        let mut opts = O::default();
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
            let src = self.src;
            let k = &src[key.clone()];
            if seen.contains(&k) {
                self.errors.push(Error::new(key.clone(), format!("duplicate option `{}`", show(k))));
            }
            seen.push(k);
            if !opts.set(self, k, key.clone(), value) {
                let e = unknown::<O>(k, key);
                self.errors.push(e);
            }
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    opts.finish(self, open.start..self.pos);
                    return Ok(opts);
                }
                _ if self.at_stmt_end() => {
                    return Err(Error::new(open, "unclosed `[`").help("close the option list with `]`"))
                }
                _ => return Err(self.expected("`,` or `]`")),
            }
        }
    }

    /// A flag, which takes no value: reports one if given. Always true (the flag was written).
    fn flag(&mut self, name: &str, key: Span, value: Option<Span>) -> bool {
        if let Some(v) = value {
            self.errors.push(Error::new(key.start..v.end, format!("option `{name}` takes no value")));
        }
        true
    }

    /// The value of option `name`, or an error (with `example`, e.g. `[mtu=1400]`) if it has none.
    fn value(&mut self, name: &str, key: Span, value: Option<Span>, example: &str) -> Option<Span> {
        match value {
            Some(v) if !v.is_empty() => Some(v),
            _ => {
                self.errors
                    .push(Error::new(key, format!("option `{name}` needs a value")).help(format!("e.g. `{example}`")));
                None
            }
        }
    }

    /// A NAT type by its name, with a did-you-mean.
    fn nat_type(&mut self, v: Span) -> Option<NatType> {
        let t = &self.src[v.clone()];
        if let Ok(kind) = t.parse() {
            return Some(kind);
        }
        let names = NatType::ALL.iter().map(|(_, n)| *n);
        let e = Error::new(v, format!("unknown nat-type `{}`", show(t)));
        self.errors.push(match did_you_mean(t, names.clone()) {
            Some(n) => e.help(format!("did you mean `{n}`?")),
            None => e.help(format!("nat types: {}", names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))),
        });
        None
    }

    /// A NAT mapping timeout: a duration (`30s`, `2m`) of whole seconds, as conntrack counts
    /// them, up to [`Nat::MAX_TIMEOUT`].
    fn nat_timeout(&mut self, name: &str, v: Span) -> Option<Duration> {
        let t = &self.src[v.clone()];
        let e = match parse_duration(t) {
            Ok(d) if d.subsec_millis() != 0 => {
                Error::new(v, format!("{name} `{}` is not a whole number of seconds", show(t))).help(
                    match d.as_secs() {
                        0 => "the kernel's connection tracking counts NAT timeouts in seconds: write `1s`".to_string(),
                        n => format!(
                            "the kernel's connection tracking counts NAT timeouts in seconds: write `{n}s` or `{}s`",
                            n + 1
                        ),
                    },
                )
            }
            Ok(d) if d <= Nat::MAX_TIMEOUT => return Some(d),
            Ok(_) | Err(DurationError::TooLong) => Error::new(v, format!("{name} `{}` is too long", show(t)))
                .help("at most `10080m` (a week): the kernel keeps connection timeouts in 32-bit jiffies"),
            Err(DurationError::Zero) => Error::new(v, format!("{name} must be longer than zero"))
                .help("a mapping that never lives cannot be used: e.g. `1s`"),
            Err(_) => Error::new(v, format!("invalid {name} `{}`", show(t)))
                .help("a NAT timeout is a whole number and a unit: `30s`, `2m` (also `ms`, `min`)"),
        };
        self.errors.push(e);
        None
    }

    /// The outside prefix of NPTv6: IPv6, at most /64 (RFC 6296's translation adjusts a 16-bit
    /// word within the first 64 bits), no host bits.
    fn nptv6_prefix(&mut self, v: Span) -> Option<ipnet::Ipv6Net> {
        let net = match super::words::parse_cidr(self.src, v.clone()) {
            Ok(n) => n,
            Err(e) => {
                self.errors.push(e);
                return None;
            }
        };
        let t = &self.src[v.clone()];
        let e = match net {
            ipnet::IpNet::V4(_) => Error::new(v, format!("nptv6-prefix `{t}` is an IPv4 prefix"))
                .help("NPTv6 translates IPv6 prefixes: e.g. `nptv6-prefix=2001:db8:1::/48`; for IPv4 write `nat=IFACE`"),
            ipnet::IpNet::V6(n) if n.prefix_len() > 64 => Error::new(v, format!("nptv6-prefix `{t}` is longer than /64"))
                .help("RFC 6296 translates prefixes of /64 or shorter (a /48 is usual): the interface identifier stays the host's"),
            ipnet::IpNet::V6(n) if n.trunc() != n => Error::new(v, format!("nptv6-prefix `{t}` has host bits set"))
                .help(format!("write the prefix itself: `{}`", n.trunc())),
            ipnet::IpNet::V6(n) => return Some(n),
        };
        self.errors.push(e);
        None
    }

    /// A DNS64 prefix: an IPv6 /96 (RFC 6052's other lengths split the IPv4 address around
    /// bits 64..71, which this translator does not do).
    fn dns64_prefix(&mut self, v: Span) -> Option<(ipnet::Ipv6Net, Span)> {
        let net = match super::words::parse_cidr(self.src, v.clone()) {
            Ok(ipnet::IpNet::V6(n)) => n,
            Ok(ipnet::IpNet::V4(n)) => {
                let e = Error::new(v, format!("`{n}` is IPv4: a DNS64 prefix is an IPv6 /96"));
                self.errors.push(e.help("e.g. `dns64-prefix=64:ff9b::/96` (the well-known prefix, the default)"));
                return None;
            }
            Err(e) => {
                self.errors.push(e);
                return None;
            }
        };
        if net.prefix_len() != 96 || net != net.trunc() {
            let e = Error::new(v, format!("DNS64 prefix `{net}` must be a /96 without host bits"));
            self.errors.push(e.help(format!("e.g. `{}/96`", net.trunc().network())));
            return None;
        }
        Some((net, v))
    }

    /// An MTU, 68..=65535.
    fn mtu(&mut self, v: Span) -> Option<u32> {
        let t = &self.src[v.clone()];
        match t.parse::<u32>() {
            _ if !t.bytes().all(|c| c.is_ascii_digit()) => {
                self.errors.push(Error::new(v, format!("invalid mtu `{}`: expected a number", show(t))))
            }
            Ok(n) if (68..=65535).contains(&n) => return Some(n),
            // Digits only: too large for a u32 is out of range too.
            n => {
                let shown = n.map_or_else(|_| t.trim_start_matches('0').to_string(), |n| n.to_string());
                self.errors
                    .push(Error::new(v, format!("mtu {shown} is out of range")).help("the MTU must be in 68..=65535"))
            }
        }
        None
    }
}

/// The error for an option `k` that `O` does not take, with the most useful hint.
fn unknown<O: OptionList>(k: &str, key: Span) -> Error {
    let e = Error::new(key, format!("unknown option `{}`", show(k)));
    if let Some(other) = <O::Other as OptionList>::KNOWN.iter().find(|o| o.name == k) {
        let kind = <O::Other as OptionList>::KIND;
        return e.help(format!("`{k}` is a {kind} option: write `{}`", other.example));
    }
    match did_you_mean(k, O::KNOWN.iter().map(|o| o.name)) {
        Some(own) => e.help(format!("did you mean `{own}`?")),
        None => {
            let list: Vec<String> = O::KNOWN.iter().map(|o| format!("`{}`", o.written)).collect();
            e.help(format!("{} options: {}", O::KIND, list.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option listed for hints is one `set` takes, and the other way round.
    fn known_are_taken<O: OptionList>() {
        for k in O::KNOWN {
            let src = format!("[{}=1400]", k.name);
            let mut p = Parser::new(&src);
            p.pos = 1;
            assert!(O::default().set(&mut p, k.name, 1..1 + k.name.len(), None), "{} not taken", k.name);
        }
        let mut p = Parser::new("[x]");
        assert!(!O::default().set(&mut p, "no-such-option", 1..2, None));
    }

    #[test]
    fn tables_match_setters() {
        known_are_taken::<NodeOpts>();
        known_are_taken::<LinkOpts>();
    }
}

impl NodeOpts {
    /// `preset=NAME` (first in its list: what follows overrides it) and `wan=IFACE`.
    fn preset_opt(&mut self, p: &mut Parser<'_>, name: &str, key: Span, value: Option<Span>) {
        let Some(v) = p.value(name, key.clone(), value, "r [preset=home, wan=eth1]") else { return };
        if name == "wan" {
            let iface = p.name(v);
            p.check_ifname(&iface, "interface");
            self.wan = Some(iface);
            return;
        }
        if self.forward || self.nat.is_some() || self.nat_type.is_some() || self.hairpin.is_some() {
            p.errors.push(
                Error::new(key.start..v.end, "`preset` comes first in its option list").help(
                    "the options after it override it: write e.g. `r [preset=home, wan=eth1, nat-type=full-cone]`",
                ),
            );
            return;
        }
        let t = &p.src[v.clone()];
        match t.parse::<Preset>() {
            Ok(preset) => self.preset = Some((preset, v)),
            Err(()) => {
                let names = Preset::ALL.iter().map(|(_, n)| *n);
                let e = Error::new(v, format!("unknown preset `{}`", show(t)));
                p.errors.push(match did_you_mean(t, names.clone()) {
                    Some(n) => e.help(format!("did you mean `{n}`?")),
                    None => {
                        e.help(format!("presets: {}", names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")))
                    }
                });
            }
        }
    }
}
