//! The netns-test topology language: grammar, model and validation, with no Linux in sight.
//!
//! ```
//! use netns_test_topology::Topology;
//!
//! let t = Topology::parse("bridge br0 { ns1=192.168.1.1/24, ns2=192.168.1.2/24 }").unwrap();
//! assert_eq!(t.bridges[0].name, "br0");
//! assert_eq!(t.nodes.len(), 2);
//!
//! let err = Topology::parse("a=10.0.0.1/33 -- b=10.0.0.2/24").unwrap_err();
//! assert!(err.0[0].message.contains("prefix"));
//! ```
//!
//! Parsing is used by the `#[netns_test]` macro (at compile time), by the runtime and by the CLI,
//! so all three agree on every topology. The grammar follows.
//!
#![doc = include_str!("../GRAMMAR.md")]

mod ast;
mod conditions;
mod dns;
mod duration;
mod error;
mod expect;
mod firewall;
pub mod layout;
mod links;
mod model;
mod nat;
mod nat_options;
mod parse;
mod preset;
mod rule_text;
mod suggest;
mod text;
mod validate;

pub use conditions::{parse_link_options, Conditions, LinkOptions, Percent, Rate, CONDITION_OPTIONS};
pub use dns::{dns_name, DnsServer, Nat64, Record, RecordData, DEFAULT_TTL, MAX_TTL, RECORD_TYPES, WELL_KNOWN_PREFIX};
pub use duration::{parse_duration, DurationError};
pub use error::{Error, Errors};
pub use expect::{Expect, Probe, Target};
pub use firewall::{Action, Block, BlockProto, IcmpType};
pub use links::{LinkEnd, LinkId};
pub use model::*;
pub use nat::{Masquerade, Nat, NatType, Nptv6};
pub use nat_options::parse_nat_options;
pub use preset::Preset;
pub use rule_text::parse_rule;
pub use suggest::did_you_mean;

impl Topology {
    /// Parses and validates a topology, reporting every mistake found.
    ///
    /// ```
    /// use netns_test_topology::Topology;
    ///
    /// let t = Topology::parse("h=10.0.0.2/24 -- r=10.0.0.1/24; h: default via 10.0.0.1").unwrap();
    /// assert_eq!(t.nodes[0].routes.len(), 1);
    /// assert!(Topology::parse("h -- r; h: default via 10.0.0.1").is_err());
    /// ```
    ///
    /// Syntax and semantic errors are reported together, in source order. When there are
    /// syntax errors, the errors they may have caused (an unknown node, an unreachable
    /// gateway: the statement declaring it may be the one that failed) are left out.
    pub fn parse(src: &str) -> Result<Topology, Errors> {
        let (ast, mut errors) = parse::parse(src);
        let v = validate::validate(src, &ast);
        if errors.is_empty() {
            errors.extend(v.knock_on);
        }
        errors.extend(v.errors);
        if errors.is_empty() {
            Ok(v.topo)
        } else {
            // Stable: at the same spot a syntax error comes before a semantic one.
            errors.sort_by_key(|e| e.span.start);
            Err(Errors(errors))
        }
    }
}

impl std::str::FromStr for Topology {
    type Err = Errors;

    /// Same as [`Topology::parse`].
    ///
    /// ```
    /// let t: netns_test_topology::Topology = "a -- b".parse().unwrap();
    /// assert_eq!(t.links.len(), 1);
    /// ```
    fn from_str(src: &str) -> Result<Topology, Errors> {
        Topology::parse(src)
    }
}
