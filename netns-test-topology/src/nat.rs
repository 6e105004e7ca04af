//! NAT of routers (`r [nat=eth1, nat-type=..., hairpin]`), as validated model values.
//!
//! ```
//! use netns_test_topology::NatType;
//! assert_eq!("full-cone".parse::<NatType>(), Ok(NatType::FullCone));
//! assert!(NatType::FullCone.endpoint_independent_mapping());
//! ```

use std::net::Ipv4Addr;

/// `r [nat=eth1, nat-type=..., hairpin]`: what leaves the node through `iface` is translated to
/// `addr`, the interface's first IPv4 address. IPv4 only: IPv6 is routed untranslated.
///
/// ```
/// use netns_test_topology::{NatType, Topology};
///
/// let t = Topology::parse("c=10.0.1.2/24 -- r:eth0=10.0.1.1/24; r:eth1=203.0.113.1/24 -- s=203.0.113.10/24; r [nat=eth1, hairpin]").unwrap();
/// let nat = t.nodes[1].nat.as_ref().unwrap();
/// assert_eq!((nat.iface.as_str(), nat.addr.to_string()), ("eth1", "203.0.113.1".to_string()));
/// assert_eq!((nat.kind, nat.hairpin), (NatType::PortRestricted, true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Nat {
    /// The outside interface (`nat=eth1`).
    pub iface: String,
    /// The outside address: the interface's first IPv4 address.
    pub addr: Ipv4Addr,
    /// `nat-type=`; port-restricted if not given.
    pub kind: NatType,
    /// Inside hosts can reach each other through the outside address and mapped port.
    pub hairpin: bool,
}

impl Nat {
    pub(crate) fn new(iface: String, addr: Ipv4Addr, kind: NatType, hairpin: bool) -> Nat {
        Nat { iface, addr, kind, hairpin }
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
