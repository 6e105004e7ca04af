//! `allow` and `block` statements of routers and hosts (a node's firewall), as validated model
//! values. A node's rules are tried in declaration order and the first that matches decides.
//!
//! ```
//! let t = netns_test_topology::Topology::parse(
//!     "a=10.0.0.1/24 -- b=10.0.0.2/24; b: allow udp/53; b: block udp; b: block inbound on eth0",
//! )
//! .unwrap();
//! let rules: Vec<String> = t.nodes[1].blocks.iter().map(|r| r.to_string()).collect();
//! assert_eq!(rules, ["allow udp/53", "block udp", "block inbound on eth0"]);
//! ```

use ipnet::IpNet;

/// One firewall statement, `allow` or `block`: `b: block tcp/80 from 10.0.0.0/24 reject` drops
/// (or rejects) the packets the node receives, forwards or sends that match; `r: allow tcp/443`
/// lets them through, whatever the rules after it say. `block inbound on eth1` is stateful: it
/// drops what arrives on `eth1` unless it belongs to a connection the node saw go out (or
/// forwarded out), or is an ICMP error about one.
///
/// ```
/// use netns_test_topology::{BlockProto, Topology};
///
/// let t = Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24; b: block tcp/80 from 10.0.0.0/24 reject").unwrap();
/// let block = &t.nodes[1].blocks[0];
/// assert_eq!((block.proto, block.reject), (Some(BlockProto::Tcp(Some(80))), true));
/// assert_eq!(block.to_string(), "block tcp/80 from 10.0.0.0/24 reject");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Block {
    /// `allow` or `block`.
    pub action: Action,
    /// `inbound on IFACE`: only packets arriving on this interface (received or forwarded); for
    /// `block`, only those that start something new (not replies, not related ICMP errors).
    pub inbound: Option<String>,
    /// `established` (with `allow`): packets of connections already under way, and ICMP errors
    /// about them (`ct state established,related`).
    pub established: bool,
    /// `None`: any protocol.
    pub proto: Option<BlockProto>,
    /// Source addresses (`from`).
    pub from: Option<IpNet>,
    /// Destination addresses (`to`).
    pub to: Option<IpNet>,
    /// Answer with a TCP reset or ICMP "port unreachable" instead of dropping silently
    /// (`block` only).
    pub reject: bool,
}

/// What a firewall statement does with the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `allow`: accepted; later rules are not tried.
    Allow,
    /// `block`: dropped or rejected.
    Block,
}

impl Block {
    pub(crate) fn new(proto: Option<BlockProto>, from: Option<IpNet>, to: Option<IpNet>, reject: bool) -> Block {
        Block { action: Action::Block, inbound: None, established: false, proto, from, to, reject }
    }
}

/// What a `block` statement matches.
///
/// ```
/// use netns_test_topology::{BlockProto, Topology};
///
/// let t = Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24; b: block udp; b: block icmp").unwrap();
/// assert_eq!(t.nodes[1].blocks[0].proto, Some(BlockProto::Udp(None)));
/// assert!(matches!(t.nodes[1].blocks[1].proto, Some(BlockProto::Icmp(None))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockProto {
    /// `tcp` or `tcp/80`: any TCP or that destination port.
    Tcp(Option<u16>),
    /// `udp` or `udp/53`.
    Udp(Option<u16>),
    /// `icmp` or `icmp frag-needed`.
    Icmp(Option<IcmpType>),
    /// `icmpv6` or `icmpv6 packet-too-big`.
    Icmpv6(Option<IcmpType>),
}

/// An ICMP or ICMPv6 message type, with its code when the name implies one.
///
/// ```
/// use netns_test_topology::{BlockProto, Topology};
///
/// let t = Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24; b: block icmp frag-needed").unwrap();
/// let Some(BlockProto::Icmp(Some(ty))) = t.nodes[1].blocks[0].proto else { panic!() };
/// assert_eq!((ty.name, ty.ty, ty.code), ("frag-needed", 3, Some(4)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpType {
    /// The name in the grammar (`frag-needed`).
    pub name: &'static str,
    /// The ICMP type.
    pub ty: u8,
    /// The ICMP code, when the name implies one.
    pub code: Option<u8>,
}

impl IcmpType {
    /// ICMP (IPv4) names.
    ///
    /// ```
    /// assert!(netns_test_topology::IcmpType::V4.iter().any(|t| t.name == "echo-request" && t.ty == 8));
    /// ```
    pub const V4: &'static [IcmpType] = &[
        IcmpType { name: "echo-reply", ty: 0, code: None },
        IcmpType { name: "destination-unreachable", ty: 3, code: None },
        IcmpType { name: "port-unreachable", ty: 3, code: Some(3) },
        IcmpType { name: "frag-needed", ty: 3, code: Some(4) },
        IcmpType { name: "echo-request", ty: 8, code: None },
        IcmpType { name: "time-exceeded", ty: 11, code: None },
    ];
    /// ICMPv6 names.
    ///
    /// ```
    /// assert!(netns_test_topology::IcmpType::V6.iter().any(|t| t.name == "packet-too-big" && t.ty == 2));
    /// ```
    pub const V6: &'static [IcmpType] = &[
        IcmpType { name: "destination-unreachable", ty: 1, code: None },
        IcmpType { name: "port-unreachable", ty: 1, code: Some(4) },
        IcmpType { name: "packet-too-big", ty: 2, code: None },
        IcmpType { name: "time-exceeded", ty: 3, code: None },
        IcmpType { name: "echo-request", ty: 128, code: None },
        IcmpType { name: "echo-reply", ty: 129, code: None },
    ];
}

impl std::fmt::Display for Block {
    /// The statement as written in the grammar (canonical spelling).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.action {
            Action::Allow => "allow",
            Action::Block => "block",
        })?;
        if let Some(i) = &self.inbound {
            write!(f, " inbound on {i}")?;
        }
        if self.established {
            f.write_str(" established")?;
        }
        match self.proto {
            None => {}
            Some(BlockProto::Tcp(p)) | Some(BlockProto::Udp(p)) => {
                let name = if matches!(self.proto, Some(BlockProto::Tcp(_))) { "tcp" } else { "udp" };
                write!(f, " {name}")?;
                if let Some(p) = p {
                    write!(f, "/{p}")?;
                }
            }
            Some(BlockProto::Icmp(t)) | Some(BlockProto::Icmpv6(t)) => {
                let name = if matches!(self.proto, Some(BlockProto::Icmp(_))) { "icmp" } else { "icmpv6" };
                write!(f, " {name}")?;
                if let Some(t) = t {
                    write!(f, " {}", t.name)?;
                }
            }
        }
        if let Some(n) = self.from {
            write!(f, " from {n}")?;
        }
        if let Some(n) = self.to {
            write!(f, " to {n}")?;
        }
        if self.reject {
            f.write_str(" reject")?;
        }
        Ok(())
    }
}
