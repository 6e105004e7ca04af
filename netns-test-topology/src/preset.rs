//! Router presets: `r [preset=home, wan=eth1]`, each a documented expansion into the grammar's
//! own node options and firewall rules, made where the option list is written (so its rules come
//! in declaration order with the node's other rules). Options after the preset in the same list
//! override it (`r [preset=home, wan=eth1, nat-type=full-cone]`).
//!
//! | preset | expands to (`WAN` the `wan=` interface) |
//! |---|---|
//! | `home` | `r [nat=WAN]` (port-restricted); `r: block inbound on WAN` |
//! | `corporate` | `r [nat=WAN, nat-type=symmetric]`; `r: allow established`, `r: allow tcp/80`, `r: allow tcp/443`, `r: allow udp/53`, `r: block tcp`, `r: block udp` |
//! | `hotel` | `r [nat=WAN]` (port-restricted); `r: allow established`, `r: allow udp/53`, `r: block udp` |
//! | `cgnat` | `r [nat=WAN, nat-type=symmetric]` (its inside is usually 100.64.0.0/10, RFC 6598: declare it so) |
//! | `cloud` | `r [nat=WAN, nat-type=full-cone]` |
//! | `public` | `r [forward]` (no `wan=`) |
//!
//! ```
//! let t = netns_test_topology::Topology::parse(
//!     "lan=10.0.0.2/24 -- r:eth0=10.0.0.1/24; r:eth1=203.0.113.1/24 -- isp; r [preset=home, wan=eth1]",
//! )
//! .unwrap();
//! let r = &t.nodes[1];
//! assert_eq!(r.nat.as_ref().unwrap().kind.to_string(), "port-restricted");
//! assert_eq!(r.blocks[0].to_string(), "block inbound on eth1");
//! ```

use crate::nat::NatType;

/// A router preset (`preset=NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// A home router: port-restricted NAT, new inbound connections dropped.
    Home,
    /// A corporate gateway: symmetric NAT; only TCP 80 and 443 and UDP 53 (and their replies).
    Corporate,
    /// A hotel's captive network: port-restricted NAT; UDP blocked except DNS.
    Hotel,
    /// Carrier-grade NAT: symmetric.
    Cgnat,
    /// A cloud provider's gateway: full-cone NAT.
    Cloud,
    /// A public router: forwarding only.
    Public,
}

impl Preset {
    /// Every preset with its name.
    pub const ALL: &'static [(Preset, &'static str)] = &[
        (Preset::Home, "home"),
        (Preset::Corporate, "corporate"),
        (Preset::Hotel, "hotel"),
        (Preset::Cgnat, "cgnat"),
        (Preset::Cloud, "cloud"),
        (Preset::Public, "public"),
    ];

    /// The NAT type it gives the `wan=` interface; `None`: no NAT (and no `wan=`).
    pub fn nat_type(self) -> Option<NatType> {
        match self {
            Preset::Home | Preset::Hotel => Some(NatType::PortRestricted),
            Preset::Corporate | Preset::Cgnat => Some(NatType::Symmetric),
            Preset::Cloud => Some(NatType::FullCone),
            Preset::Public => None,
        }
    }

    /// The firewall rules it adds, in order, as written after `NODE:`.
    ///
    /// ```
    /// use netns_test_topology::Preset;
    /// assert_eq!(Preset::Hotel.rules("eth1"), ["allow established", "allow udp/53", "block udp"]);
    /// ```
    pub fn rules(self, wan: &str) -> Vec<String> {
        let rules: &[&str] = match self {
            Preset::Home => return vec![format!("block inbound on {wan}")],
            Preset::Corporate => {
                &["allow established", "allow tcp/80", "allow tcp/443", "allow udp/53", "block tcp", "block udp"]
            }
            Preset::Hotel => &["allow established", "allow udp/53", "block udp"],
            Preset::Cgnat | Preset::Cloud | Preset::Public => &[],
        };
        rules.iter().map(|r| r.to_string()).collect()
    }
}

impl std::str::FromStr for Preset {
    type Err = ();

    fn from_str(s: &str) -> Result<Preset, ()> {
        Preset::ALL.iter().find(|(_, n)| *n == s).map(|(p, _)| *p).ok_or(())
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Preset::ALL.iter().find(|(p, _)| p == self).map_or("?", |(_, n)| n))
    }
}
