//! DNS: the records a topology declares (`dns NAME TYPE VALUE [ttl=..]`), its DNS server nodes
//! (`d [dns]`, `d [dns, dns64]`) and which server each node asks (`h [resolver=d]`).
//!
//! ```
//! use netns_test_topology::{RecordData, Topology};
//!
//! let t = Topology::parse("h=10.0.0.1/24 -- d=10.0.0.53/24\nd [dns]\ndns www.example.com A 203.0.113.10 ttl=30").unwrap();
//! assert_eq!(t.records[0].name, "www.example.com");
//! assert_eq!(t.records[0].ttl, 30);
//! assert_eq!(t.records[0].data, RecordData::A("203.0.113.10".parse().unwrap()));
//! assert_eq!(t.nodes[0].resolver, Some(1));
//! assert_eq!(t.nameservers(0), ["10.0.0.53".parse::<std::net::IpAddr>().unwrap()]);
//! ```

use crate::error::{Error, Errors};
use crate::text::show;
use ipnet::{IpNet, Ipv6Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// The TTL of a record declared without `ttl=`, in seconds.
pub const DEFAULT_TTL: u32 = 60;

/// The largest TTL a record may have (RFC 2181 §8: 2³¹ − 1 seconds).
pub const MAX_TTL: u32 = i32::MAX as u32;

/// The well-known NAT64 prefix (RFC 6052), used by `dns64` and `nat64=` unless
/// `dns64-prefix=` says otherwise.
pub const WELL_KNOWN_PREFIX: Ipv6Net = match Ipv6Net::new(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
    Ok(n) => n,
    Err(_) => panic!("a valid prefix"),
};

/// The record types the grammar (and `Dns::add` at run time) takes.
pub const RECORD_TYPES: [&str; 5] = ["A", "AAAA", "CNAME", "SRV", "TXT"];

/// One declared record: `dns www.example.com A 203.0.113.10 ttl=30`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// Lower case, without the trailing dot.
    pub name: String,
    /// Seconds ([`DEFAULT_TTL`] unless `ttl=` says otherwise).
    pub ttl: u32,
    pub data: RecordData,
}

/// What a record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// The canonical name (lower case, without the trailing dot).
    Cname(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        /// Lower case, without the trailing dot.
        target: String,
    },
    /// The character strings, each at most 255 bytes.
    Txt(Vec<String>),
}

impl RecordData {
    /// The type as the grammar writes it: `A`, `AAAA`, `CNAME`, `SRV`, `TXT`.
    ///
    /// ```
    /// assert_eq!(netns_test_topology::RecordData::Cname("x".into()).type_name(), "CNAME");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            RecordData::A(_) => "A",
            RecordData::Aaaa(_) => "AAAA",
            RecordData::Cname(_) => "CNAME",
            RecordData::Srv { .. } => "SRV",
            RecordData::Txt(_) => "TXT",
        }
    }
}

impl fmt::Display for RecordData {
    /// The value as the grammar writes it: `203.0.113.10`, `0 0 5000 www.example.com`, `"v=1"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordData::A(a) => write!(f, "{a}"),
            RecordData::Aaaa(a) => write!(f, "{a}"),
            RecordData::Cname(n) => f.write_str(n),
            RecordData::Srv { priority, weight, port, target } => write!(f, "{priority} {weight} {port} {target}"),
            RecordData::Txt(strings) => {
                let quoted: Vec<String> =
                    strings.iter().map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))).collect();
                f.write_str(&quoted.join(" "))
            }
        }
    }
}

impl fmt::Display for Record {
    /// As a `dns` statement writes it, without the keyword: `www.example.com A 203.0.113.10 ttl=60`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ttl={}", self.name, self.data.type_name(), self.data, self.ttl)
    }
}

/// A node's DNS server: `d [dns]`, `d [dns, dns64]`, `d [dns, dns64, dns64-prefix=2001:db8:64::/96]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DnsServer {
    /// `dns64`: the prefix AAAA records are synthesized in (RFC 6147) for names with A records only.
    pub dns64: Option<Ipv6Net>,
}

/// A node's stateful NAT64 (RFC 6146): `r [nat64=eth1]` translates IPv6 packets to `prefix`
/// into IPv4 from `iface`'s address, and the answers back.
///
/// ```
/// let t = netns_test_topology::Topology::parse("h=fd00::2/64 -- r:eth0=fd00::1/64; r:eth1=203.0.113.1/24 -- s=203.0.113.10/24; r [nat64=eth1]").unwrap();
/// let nat64 = t.nodes[1].nat64.as_ref().unwrap();
/// assert_eq!((nat64.iface.as_str(), nat64.addr.to_string(), nat64.prefix.to_string()), ("eth1", "203.0.113.1".into(), "64:ff9b::/96".into()));
/// assert!(t.nodes[1].forward);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Nat64 {
    /// The IPv4 side.
    pub iface: String,
    /// Its first IPv4 address: what IPv4 hosts see.
    pub addr: Ipv4Addr,
    /// The IPv6 prefix IPv4 addresses are embedded in: the topology's `dns64-prefix` if its
    /// DNS64 servers agree on one, else 64:ff9b::/96.
    pub prefix: Ipv6Net,
}

impl Record {
    /// A record as the grammar writes it, for records added at run time (`Dns::add`): the same
    /// checks and messages as a `dns` statement; the TTL is [`DEFAULT_TTL`]. Error spans are
    /// byte ranges of `value`, or empty when the name or the type is what is wrong.
    ///
    /// ```
    /// use netns_test_topology::{Record, RecordData};
    ///
    /// let r = Record::parse("API.example.com.", "CNAME", "www.example.com").unwrap();
    /// assert_eq!((r.name.as_str(), r.data), ("api.example.com", RecordData::Cname("www.example.com".into())));
    /// let e = Record::parse("www.example.com", "A", "2001:db8::1").unwrap_err();
    /// assert!(e.0[0].message.contains("an A record holds an IPv4 address"), "{e}");
    /// ```
    pub fn parse(name: &str, rtype: &str, value: &str) -> Result<Record, Errors> {
        let name = dns_name(name, "record name").map_err(|m| Errors(vec![Error::new(0..0, m)]))?;
        let words = words(value, 0).map_err(|e| Errors(vec![e]))?;
        let rtype = Word { text: rtype.to_string(), span: 0..0, quoted: false };
        let data = record_data(&rtype, &words, value.len()).map_err(|e| Errors(vec![e]))?;
        Ok(Record { name, ttl: DEFAULT_TTL, data })
    }
}

/// Checks a domain name and returns it in lower case without the trailing dot; `what` names it
/// in the message ("record name", "CNAME target").
///
/// ```
/// use netns_test_topology::dns_name;
/// assert_eq!(dns_name("WWW.Example.com.", "name").unwrap(), "www.example.com");
/// assert!(dns_name("-bad.example.com", "name").unwrap_err().contains("must not start or end with `-`"));
/// ```
pub fn dns_name(text: &str, what: &str) -> Result<String, String> {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() {
        return Err(format!("empty {what}"));
    }
    if name.len() > 253 {
        return Err(format!("{what} `{}` is {} bytes; a domain name has at most 253", show(text), name.len()));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("{what} `{}` has an empty label (`..`)", show(text)));
        }
        if label == "*" {
            return Err(format!("{what} `{}`: wildcard names are not supported; declare each name", show(text)));
        }
        if label.len() > 63 {
            return Err(format!(
                "label `{label}` of `{}` is {} bytes; a label has at most 63",
                show(text),
                label.len()
            ));
        }
        if let Some(c) = label.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
            return Err(format!(
                "invalid character `{}` in {what} `{}`: labels are ASCII letters, digits, `-` and `_`",
                crate::text::show_char(c),
                show(text)
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` of `{}` must not start or end with `-`", show(text)));
        }
    }
    Ok(name.to_ascii_lowercase())
}

/// A word of a `dns` statement: its text (unquoted) and span, and whether it was quoted.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub text: String,
    pub span: Range<usize>,
    pub quoted: bool,
}

/// Splits `rest` (at offset `base` of the source) into words; a word that starts with `"` runs
/// to the closing `"` (`\"` and `\\` escape), spaces included.
pub(crate) fn words(rest: &str, base: usize) -> Result<Vec<Word>, Error> {
    let b = rest.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b' ' | b'\t' | b'\r') {
            i += 1;
            continue;
        }
        let start = i;
        if b[i] == b'"' {
            let mut text = String::new();
            i += 1;
            loop {
                match rest[i..].chars().next() {
                    None => {
                        return Err(Error::new(base + start..base + rest.len(), "unclosed `\"`")
                            .help("close the TXT string with `\"`"))
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') if matches!(b.get(i + 1), Some(b'"' | b'\\')) => {
                        text.push(b[i + 1] as char);
                        i += 2;
                    }
                    Some(c) => {
                        text.push(c);
                        i += c.len_utf8();
                    }
                }
            }
            if i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r') {
                return Err(Error::new(base + i..base + i + 1, "expected a space after the closing `\"`"));
            }
            out.push(Word { text, span: base + start..base + i, quoted: true });
        } else {
            while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r') {
                i += 1;
            }
            out.push(Word { text: rest[start..i].to_string(), span: base + start..base + i, quoted: false });
        }
    }
    Ok(out)
}

/// The data of a record of type `rtype` from its value words; `end` is where the statement
/// ends (for "expected ..." at the end).
pub(crate) fn record_data(rtype: &Word, value: &[Word], end: usize) -> Result<RecordData, Error> {
    let t = rtype.text.to_ascii_uppercase();
    let usage = |t: &str| match t {
        "A" => "e.g. `dns www.example.com A 203.0.113.10`",
        "AAAA" => "e.g. `dns www.example.com AAAA 2001:db8::10`",
        "CNAME" => "e.g. `dns api.example.com CNAME www.example.com`",
        "SRV" => "e.g. `dns _svc._udp.example.com SRV 0 0 5000 www.example.com` (priority, weight, port, target)",
        _ => "e.g. `dns example.com TXT \"v=1\"`",
    };
    if !RECORD_TYPES.contains(&t.as_str()) {
        let e = Error::new(rtype.span.clone(), format!("unknown record type `{}`", show(&rtype.text)));
        return Err(match crate::did_you_mean(&rtype.text, RECORD_TYPES) {
            Some(k) => e.help(format!("did you mean `{k}`?")),
            None => e.help("record types: `A`, `AAAA`, `CNAME`, `SRV`, `TXT`"),
        });
    }
    let help = usage(&t);
    let Some(first) = value.first() else {
        let article = if t == "A" || t == "AAAA" { "an" } else { "a" };
        return Err(Error::new(end..end, format!("{article} {t} record needs a value")).help(help));
    };
    let one = || -> Result<&Word, Error> {
        match value.get(1) {
            Some(extra) => Err(Error::new(
                extra.span.start..value.last().unwrap().span.end,
                format!(
                    "{} {t} record has one value; unexpected `{}`",
                    if t == "CNAME" { "a" } else { "an" },
                    show(&extra.text)
                ),
            )
            .help(help)),
            None => Ok(first),
        }
    };
    let addr = |w: &Word| -> Result<IpAddr, Error> {
        if w.text.contains('/') && w.text.parse::<IpNet>().is_ok() {
            return Err(Error::new(w.span.clone(), format!("`{}`: write an address, without a prefix length", w.text)));
        }
        w.text
            .parse()
            .map_err(|_| Error::new(w.span.clone(), format!("invalid IP address `{}`", show(&w.text))).help(help))
    };
    let name = |w: &Word, what: &str| -> Result<String, Error> {
        if w.text.parse::<IpAddr>().is_ok() {
            return Err(Error::new(w.span.clone(), format!("a {what} is a name, not an address"))
                .help("point the name at an address with an `A` or `AAAA` record instead"));
        }
        dns_name(&w.text, what).map_err(|m| Error::new(w.span.clone(), m))
    };
    match t.as_str() {
        "A" => match addr(one()?)? {
            IpAddr::V4(a) => Ok(RecordData::A(a)),
            IpAddr::V6(a) => {
                Err(Error::new(first.span.clone(), format!("`{a}` is IPv6: an A record holds an IPv4 address"))
                    .help(format!("write `AAAA {a}`")))
            }
        },
        "AAAA" => match addr(one()?)? {
            IpAddr::V6(a) => Ok(RecordData::Aaaa(a)),
            IpAddr::V4(a) => {
                Err(Error::new(first.span.clone(), format!("`{a}` is IPv4: an AAAA record holds an IPv6 address"))
                    .help(format!("write `A {a}`")))
            }
        },
        "CNAME" => Ok(RecordData::Cname(name(one()?, "CNAME target")?)),
        "SRV" => {
            if value.len() != 4 {
                let span = first.span.start..value.last().unwrap().span.end;
                return Err(Error::new(span, format!("an SRV record has 4 values, found {}", value.len())).help(help));
            }
            let num = |w: &Word, what: &str| -> Result<u16, Error> {
                w.text.parse().map_err(|_| {
                    Error::new(w.span.clone(), format!("SRV {what} `{}` is not a number in 0..=65535", show(&w.text)))
                        .help(help)
                })
            };
            Ok(RecordData::Srv {
                priority: num(&value[0], "priority")?,
                weight: num(&value[1], "weight")?,
                port: num(&value[2], "port")?,
                target: name(&value[3], "SRV target")?,
            })
        }
        _ => {
            let mut strings = Vec::new();
            for w in value {
                if !w.quoted {
                    return Err(Error::new(w.span.clone(), "TXT strings are quoted")
                        .help(format!("write `\"{}\"`", w.text.replace('"', "\\\""))));
                }
                if w.text.len() > 255 {
                    return Err(Error::new(
                        w.span.clone(),
                        format!("a TXT string has at most 255 bytes; this one has {}", w.text.len()),
                    )
                    .help("split it into several quoted strings"));
                }
                strings.push(w.text.clone());
            }
            Ok(RecordData::Txt(strings))
        }
    }
}

/// A TTL: seconds (`300`) or a duration in whole seconds (`30s`, `5m`).
pub(crate) fn ttl(text: &str, span: Range<usize>) -> Result<u32, Error> {
    let help = "a TTL is seconds: `ttl=300`, `ttl=30s` or `ttl=5m`";
    let bad = || Error::new(span.clone(), format!("invalid TTL `{}`", show(text))).help(help);
    let secs: u64 = if !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()) {
        text.parse().unwrap_or(u64::MAX)
    } else {
        let d = crate::parse_duration(text).map_err(|_| bad())?;
        if d.subsec_nanos() != 0 {
            return Err(Error::new(span, format!("TTL `{text}` is not whole seconds")).help(help));
        }
        d.as_secs()
    };
    u32::try_from(secs)
        .ok()
        .filter(|&s| s <= MAX_TTL)
        .ok_or_else(|| Error::new(span, format!("TTL `{text}` is too long (at most {MAX_TTL} seconds)")))
}

impl crate::Topology {
    /// The nodes that run a DNS server (`[dns]`), in order.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse("a -- d; d [dns]").unwrap();
    /// assert_eq!(t.dns_nodes(), [1]);
    /// ```
    pub fn dns_nodes(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].dns.is_some()).collect()
    }

    /// The addresses node `node` sends its DNS queries to (its `/etc/resolv.conf`), best first,
    /// at most 3 (glibc reads no more): the addresses of its resolver that are on one of its own
    /// subnets, then those of a family it has an address in; its own when it is the server.
    /// Empty when the topology has no DNS server.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse(
    ///     "h=10.0.1.2/24 -- r=10.0.1.1/24; r=10.0.2.1/24|fd00::1/64 -- d=10.0.2.53/24|fd00::53/64; d [dns]",
    /// ).unwrap();
    /// let ns: Vec<String> = t.nameservers(0).iter().map(|a| a.to_string()).collect();
    /// assert_eq!(ns, ["10.0.2.53"]); // h has no IPv6 address
    /// assert_eq!(t.nameservers(1).len(), 2);
    /// ```
    pub fn nameservers(&self, node: usize) -> Vec<IpAddr> {
        let Some(server) = self.nodes.get(node).and_then(|n| n.resolver) else { return Vec::new() };
        let addrs =
            |n: usize| -> Vec<IpNet> { self.nodes[n].interfaces.iter().flat_map(|i| i.addrs.clone()).collect() };
        let theirs = addrs(server);
        if server == node {
            let mut own: Vec<IpAddr> = theirs.iter().map(|a| a.addr()).collect();
            own.sort_by_key(|a| a.is_ipv6()); // stable: IPv4 first
            own.truncate(3);
            return own;
        }
        let mine = addrs(node);
        let on_link = |a: &IpNet| mine.iter().any(|m| m.contains(&a.addr()));
        let family = |a: &IpNet| mine.iter().any(|m| m.addr().is_ipv4() == a.addr().is_ipv4());
        let mut out: Vec<IpAddr> = theirs.iter().filter(|a| on_link(a)).map(|a| a.addr()).collect();
        out.extend(theirs.iter().filter(|a| !on_link(a) && family(a)).map(|a| a.addr()));
        out.truncate(3);
        out
    }

    /// Every name the DNS servers answer for on their own: each node (all its addresses) and
    /// each `node.iface` (that interface's), with their addresses, as in `/etc/hosts`.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24").unwrap();
    /// let names: Vec<String> = t.host_names().into_iter().map(|(n, a)| format!("{n} {}", a.len())).collect();
    /// assert_eq!(names, ["a 1", "a.eth0 1", "b 1", "b.eth0 1"]);
    /// ```
    pub fn host_names(&self) -> Vec<(String, Vec<IpAddr>)> {
        let mut out = Vec::new();
        for n in &self.nodes {
            let all = n.interfaces.iter().flat_map(|i| i.addrs.iter().map(|a| a.addr())).collect();
            out.push((n.name.to_ascii_lowercase(), all));
            for i in &n.interfaces {
                out.push((
                    format!("{}.{}", n.name, i.name).to_ascii_lowercase(),
                    i.addrs.iter().map(|a| a.addr()).collect(),
                ));
            }
        }
        out
    }
}
