//! What the parser read: statements with byte spans, not yet checked against each other.
//!
//! The parser produces it ([`crate::parse`]), validation consumes it ([`crate::validate`]); neither
//! depends on the other. A new statement kind or option is added here first.

use crate::firewall::Block;
use crate::nat::NatType;
use ipnet::IpNet;
use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

/// A byte range of the topology text.
pub(crate) type Span = Range<usize>;

/// The statements of a topology that could be parsed, in source order.
#[derive(Debug, Default)]
pub(crate) struct Ast {
    pub stmts: Vec<Stmt>,
}

#[derive(Debug)]
pub(crate) enum Stmt {
    /// `a -- b [opts]`
    Link(Box<LinkStmt>),
    /// `bridge br0 { a, b } [opts]`
    Bridge(Box<BridgeStmt>),
    /// `r [forward]`
    NodeOpts(Box<NodeOptsStmt>),
    /// `h: default via 10.0.0.1`
    Route(Box<RouteStmt>),
    /// `expect a -> b tcp/80`
    Expect(Box<ExpectStmt>),
    /// `b: block tcp/80 from 10.0.0.0/24`, `r: allow tcp/443`
    Block(Box<BlockStmt>),
    /// `dns www.example.com A 203.0.113.10 [ttl=60]`
    Dns(Box<DnsStmt>),
}

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

/// `ENDPOINT -- ENDPOINT [opts]`
#[derive(Debug)]
pub(crate) struct LinkStmt {
    pub a: Endpoint,
    pub b: Endpoint,
    pub opts: LinkOpts,
}

/// `bridge NAME[=addrs] { members } [opts]`
#[derive(Debug)]
pub(crate) struct BridgeStmt {
    pub name: Name,
    pub addrs: Vec<Addr>,
    pub members: Vec<Endpoint>,
    /// `h1 [delay=20ms]` inside the braces: options of that member's link only.
    pub member_opts: Vec<Option<LinkOpts>>,
    pub opts: LinkOpts,
}

/// `NODE [opts]`
#[derive(Debug)]
pub(crate) struct NodeOptsStmt {
    pub node: Name,
    pub opts: NodeOpts,
}

/// `NODE: (default | CIDR) via IP`
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

/// The options of a link or a bridge's links (`[mtu=1400, delay=20ms]`); bad ones were reported
/// and left out.
#[derive(Debug, Default, Clone)]
pub(crate) struct LinkOpts {
    pub mtu: Option<u32>,
    pub conditions: crate::Conditions,
}

/// The options of a node (`[forward]`); bad ones were reported and left out.
#[derive(Debug, Default, Clone)]
pub(crate) struct NodeOpts {
    pub forward: bool,
    /// `nat=IFACE`: the outside interface.
    pub nat: Option<Name>,
    /// `nat66=IFACE`, `nptv6=IFACE`.
    pub nat66: Option<Name>,
    pub nptv6: Option<Name>,
    /// `nptv6-prefix=` and where it was written.
    pub nptv6_prefix: Option<(ipnet::Ipv6Net, Span)>,
    /// `nat-type=...` and where it was written.
    pub nat_type: Option<(NatType, Span)>,
    /// `hairpin`, where written.
    pub hairpin: Option<Span>,
    /// `udp-timeout=`, `tcp-timeout=` and `timeout=` (both), each with where it was written.
    pub udp_timeout: Option<(Duration, Span)>,
    pub tcp_timeout: Option<(Duration, Span)>,
    pub timeout: Option<(Duration, Span)>,
    /// `preset=NAME` and where it was written.
    pub preset: Option<(crate::preset::Preset, Span)>,
    /// `wan=IFACE`: a preset's outside interface.
    pub wan: Option<Name>,
    /// `dns`, where written: the node runs a DNS server.
    pub dns: Option<Span>,
    /// `dns64`, where written.
    pub dns64: Option<Span>,
    /// `dns64-prefix=PREFIX` and where it was written.
    pub dns64_prefix: Option<(ipnet::Ipv6Net, Span)>,
    /// `resolver=NODE`: the DNS server this node asks.
    pub resolver: Option<Name>,
    /// `nat64=IFACE`: stateful NAT64 to that interface's IPv4 address.
    pub nat64: Option<Name>,
}

/// `NODE: block|allow [inbound on IFACE] [established] [PROTO] [from CIDR] [to CIDR] [drop | reject]`, checked as far as it can be
/// alone (a protocol and addresses of one family).
#[derive(Debug)]
pub(crate) struct BlockStmt {
    pub node: Name,
    pub block: Block,
    /// `inbound on IFACE`: the interface as written, checked against the node.
    pub inbound: Option<Name>,
}

/// An `expect` statement as parsed, before names are resolved.
#[derive(Debug)]
pub(crate) struct ExpectStmt {
    pub from: (String, Span),
    pub to: (ExpectTo, Span),
    pub probe: crate::Probe,
    pub reachable: bool,
    pub line: usize,
}

#[derive(Debug)]
pub(crate) enum ExpectTo {
    Node(String),
    Addr(IpAddr),
    /// A domain name (lower case, no trailing dot), resolved through the topology's DNS.
    Name(String),
}

/// `dns NAME TYPE VALUE.. [ttl=..]`, checked as far as it can be alone.
#[derive(Debug)]
pub(crate) struct DnsStmt {
    pub record: crate::dns::Record,
    /// The name as written.
    pub name_span: Span,
    /// The whole statement.
    pub span: Span,
}
