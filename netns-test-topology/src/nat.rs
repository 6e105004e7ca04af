//! NAT of routers (`r [nat=eth1, nat-type=..., hairpin, udp-timeout=..]`), as validated model
//! values.
//!
//! ```
//! use netns_test_topology::NatType;
//! assert_eq!("full-cone".parse::<NatType>(), Ok(NatType::FullCone));
//! assert!(NatType::FullCone.endpoint_independent_mapping());
//! ```

use ipnet::Ipv6Net;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// A router's NAT: `r [nat=eth1, nat-type=..., hairpin, udp-timeout=30s, tcp-timeout=2m]`.
///
/// ```
/// use netns_test_topology::{Nat, NatType, Topology};
/// use std::time::Duration;
///
/// let t = Topology::parse("c=10.0.1.2/24 -- r:eth0=10.0.1.1/24; r:eth1=203.0.113.1/24 -- s=203.0.113.10/24; r [nat=eth1, hairpin, udp-timeout=30s]").unwrap();
/// let nat = t.nodes[1].nat.as_ref().unwrap();
/// let v4 = nat.ipv4.as_ref().unwrap();
/// assert_eq!((v4.iface.as_str(), v4.addr.to_string()), ("eth1", "203.0.113.1".to_string()));
/// assert_eq!((nat.kind, nat.hairpin), (NatType::PortRestricted, true));
/// assert_eq!((nat.udp_timeout, nat.tcp_timeout), (Duration::from_secs(30), Nat::DEFAULT_TCP_TIMEOUT));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Nat {
    /// `nat=IFACE`: IPv4 leaving through `iface` is translated to `addr`, the interface's first
    /// IPv4 address.
    pub ipv4: Option<Masquerade<Ipv4Addr>>,
    /// `nat66=IFACE`: IPv6 leaving through `iface` is translated to `addr`, the interface's
    /// first IPv6 address that is not link-local; the same `nat-type` and timeouts as IPv4.
    pub ipv6: Option<Masquerade<Ipv6Addr>>,
    /// `nptv6=IFACE, nptv6-prefix=PREFIX`: stateless IPv6 prefix translation (RFC 6296).
    pub nptv6: Option<Nptv6>,
    /// `nat-type=`; port-restricted if not given.
    pub kind: NatType,
    /// Inside hosts can reach each other through the outside address and mapped port.
    pub hairpin: bool,
    /// `udp-timeout=` (or `timeout=`): how long a UDP mapping lives without outbound packets.
    pub udp_timeout: Duration,
    /// `tcp-timeout=` (or `timeout=`): how long an established TCP mapping lives idle.
    pub tcp_timeout: Duration,
}

/// One family's address translation: what leaves through `iface` gets `addr` as its source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Masquerade<A> {
    /// The outside interface.
    pub iface: String,
    /// The outside address: the interface's first address of the family.
    pub addr: A,
}

/// `r [nptv6=eth1, nptv6-prefix=2001:db8:1::/48]`: IPv6 leaving through `iface` from the
/// `inside` prefix leaves from the same host in the `outside` prefix and back, one to one and
/// without state, checksum-neutral (RFC 6296: the prefix is replaced and one 16-bit word after
/// it adjusted so the checksum of the addresses is unchanged).
///
/// ```
/// let t = netns_test_topology::Topology::parse(
///     "c=fd00:1:0:1::2/64 -- r:eth0=fd00:1:0:1::1/64; r:eth1=2001:db8:ff::1/64 -- s=2001:db8:ff::10/64
///      r [nptv6=eth1, nptv6-prefix=2001:db8:1::/48]",
/// )
/// .unwrap();
/// let npt = t.nodes[1].nat.as_ref().unwrap().nptv6.as_ref().unwrap();
/// assert_eq!((npt.inside.to_string(), npt.outside.to_string()), ("fd00:1::/48".into(), "2001:db8:1::/48".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Nptv6 {
    /// The outside interface.
    pub iface: String,
    /// The inside prefix: the router's inside IPv6 networks, to the outside prefix's length.
    pub inside: Ipv6Net,
    /// `nptv6-prefix=`.
    pub outside: Ipv6Net,
}

impl Nat {
    /// A UDP mapping's lifetime unless `udp-timeout=` says otherwise: 5 minutes, RFC 4787
    /// REQ-5's recommendation ("MUST NOT expire in less than two minutes ... RECOMMENDED 5
    /// minutes or more").
    pub const DEFAULT_UDP_TIMEOUT: Duration = Duration::from_secs(300);
    /// An idle established TCP mapping's lifetime unless `tcp-timeout=` says otherwise: 2 hours
    /// 4 minutes, RFC 5382 REQ-5's minimum (also OpenWrt's `nf_conntrack_tcp_timeout_established`).
    pub const DEFAULT_TCP_TIMEOUT: Duration = Duration::from_secs(7440);
    /// The longest timeout the grammar takes: conntrack keeps timeouts in 32-bit jiffies.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

    pub(crate) fn new(ipv4: Option<Masquerade<Ipv4Addr>>, kind: NatType, hairpin: bool) -> Nat {
        Nat {
            ipv4,
            ipv6: None,
            nptv6: None,
            kind,
            hairpin,
            udp_timeout: Nat::DEFAULT_UDP_TIMEOUT,
            tcp_timeout: Nat::DEFAULT_TCP_TIMEOUT,
        }
    }

    /// Whether it translates statefully (`nat=` or `nat66=`): `nat-type`, `hairpin` and the
    /// timeouts apply.
    pub fn stateful(&self) -> bool {
        self.ipv4.is_some() || self.ipv6.is_some()
    }

    /// The option list that declares this NAT, as a topology would write it (defaults left
    /// out): `nat=eth1, nat-type=symmetric, udp-timeout=30s`.
    ///
    /// ```
    /// let t = netns_test_topology::Topology::parse("r:eth1=203.0.113.1/24 -- s; r [nat=eth1, timeout=1m]").unwrap();
    /// assert_eq!(t.nodes[0].nat.as_ref().unwrap().options(), "nat=eth1, udp-timeout=1m, tcp-timeout=1m");
    /// ```
    pub fn options(&self) -> String {
        let mut o = Vec::new();
        if let Some(v4) = &self.ipv4 {
            o.push(format!("nat={}", v4.iface));
        }
        if let Some(v6) = &self.ipv6 {
            o.push(format!("nat66={}", v6.iface));
        }
        if let Some(npt) = &self.nptv6 {
            o.push(format!("nptv6={}, nptv6-prefix={}", npt.iface, npt.outside));
        }
        if self.kind != NatType::default() {
            o.push(format!("nat-type={}", self.kind));
        }
        if self.hairpin {
            o.push("hairpin".into());
        }
        if self.udp_timeout != Nat::DEFAULT_UDP_TIMEOUT {
            o.push(format!("udp-timeout={}", show_duration(self.udp_timeout)));
        }
        if self.tcp_timeout != Nat::DEFAULT_TCP_TIMEOUT {
            o.push(format!("tcp-timeout={}", show_duration(self.tcp_timeout)));
        }
        o.join(", ")
    }
}

/// `90s`, `2m`, `500ms`: the shortest exact form in the grammar's units.
pub(crate) fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        _ if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        _ if ms % 1000 == 0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}
/// NAT behaviours in RFC 4787 terms: how mappings are made (endpoint-independent or not) and which
/// outside packets may come back in through them (filtering).
///
/// ```
/// use netns_test_topology::NatType;
///
/// assert_eq!("symmetric".parse::<NatType>(), Ok(NatType::Symmetric));
/// assert_eq!(NatType::default().to_string(), "port-restricted");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum NatType {
    /// Endpoint-independent mapping, address-and-port-dependent filtering: the common
    /// home-router NAT. The default.
    #[default]
    PortRestricted,
    /// Endpoint-independent mapping, address-dependent filtering.
    AddressRestricted,
    /// Endpoint-independent mapping and filtering: anyone may send to a mapped port.
    FullCone,
    /// Endpoint-dependent mapping with a random port per destination, address-and-port-dependent
    /// filtering: enterprise and carrier NAT. Hole punching through it fails.
    Symmetric,
}

impl NatType {
    /// Every type with its name in the grammar.
    ///
    /// ```
    /// let names: Vec<&str> = netns_test_topology::NatType::ALL.iter().map(|(_, n)| *n).collect();
    /// assert!(names.contains(&"full-cone"));
    /// ```
    pub const ALL: [(NatType, &'static str); 4] = [
        (NatType::PortRestricted, "port-restricted"),
        (NatType::AddressRestricted, "address-restricted"),
        (NatType::FullCone, "full-cone"),
        (NatType::Symmetric, "symmetric"),
    ];

    /// The name used in the grammar (`nat-type=full-cone`).
    ///
    /// ```
    /// assert_eq!(netns_test_topology::NatType::FullCone.name(), "full-cone");
    /// ```
    pub fn name(self) -> &'static str {
        NatType::ALL.iter().find(|(t, _)| *t == self).map(|(_, n)| *n).unwrap_or("?")
    }

    /// Whether one inside address and port keeps one outside port whatever the destination.
    ///
    /// ```
    /// use netns_test_topology::NatType;
    ///
    /// assert!(NatType::AddressRestricted.endpoint_independent_mapping());
    /// assert!(!NatType::Symmetric.endpoint_independent_mapping());
    /// ```
    pub fn endpoint_independent_mapping(self) -> bool {
        self != NatType::Symmetric
    }
}

impl std::str::FromStr for NatType {
    type Err = ();

    fn from_str(s: &str) -> Result<NatType, ()> {
        NatType::ALL.iter().find(|(_, n)| *n == s).map(|(t, _)| *t).ok_or(())
    }
}

impl std::fmt::Display for NatType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
