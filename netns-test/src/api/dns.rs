//! [`Dns`]: a handle on a DNS server node while the test runs (the `dns` feature).

use crate::core::Core;
pub use crate::dns::{Query, Rcode};
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::Duration;

/// The DNS server of one node (`d [dns]`), from [`Net::dns`](crate::Net::dns) or
/// [`Net::dns_of`](crate::Net::dns_of): change its records, make names fail or answer late,
/// truncate its UDP answers, and see every query it received.
///
/// ```no_run
/// # use netns_test::{netns_test, Net, Rcode};
/// # use std::time::Duration;
/// #[netns_test(topology = "h=10.0.0.1/24 -- d=10.0.0.53/24; d [dns]")]
/// fn dns(net: &Net) {
///     let dns = net.dns();
///     dns.add("www.example.com", "A", "203.0.113.10").unwrap();
///     dns.fail("api.example.com", Rcode::ServFail).unwrap();
///     dns.delay("*", Duration::from_millis(50)).unwrap();
///     dns.truncate_udp(true).unwrap();
///     net.node("h").run(|| std::net::ToSocketAddrs::to_socket_addrs("www.example.com:80").unwrap());
///     assert!(dns.queries().iter().any(|q| q.name == "www.example.com" && q.tcp));
/// }
/// ```
///
/// Each change applies to the next query and is written to the test's journal (shown by a
/// failing test's dump, with the server's records and its last queries).
pub struct Dns<'a> {
    pub(crate) core: &'a Core,
    pub(crate) server: Arc<crate::dns::Shared>,
}

impl Dns<'_> {
    /// The name of the node the server runs in.
    pub fn node(&self) -> &str {
        &self.core.topology.nodes[self.server.node].name
    }

    /// Adds a record, written as a `dns` statement writes it (`"A"`, `"203.0.113.10"`; `"TXT"`,
    /// `"\"v=1\""`), with the default TTL (60 s). The checks are the grammar's: a value of the
    /// wrong type, a second CNAME or a CNAME beside other data are errors.
    pub fn add(&self, name: &str, rtype: &str, value: &str) -> Result<()> {
        let r = netns_test_topology::Record::parse(name, rtype, value).map_err(|e| {
            Error::Runtime(format!("dns {}: `{name} {rtype} {value}`: {}", self.node(), e.render(value)))
        })?;
        self.server.add(r)
    }

    /// Removes every record of type `rtype` of `name` (an error if there is none). Clients
    /// that cached an answer keep it until its TTL runs out.
    pub fn remove(&self, name: &str, rtype: &str) -> Result<()> {
        let name = self.name(name)?;
        let rtype = rtype.to_ascii_uppercase();
        self.server.remove(&name, &rtype)
    }

    /// Sets the TTL of every record of `name`, in whole seconds.
    pub fn set_ttl(&self, name: &str, ttl: Duration) -> Result<()> {
        let name = self.name(name)?;
        if ttl.subsec_nanos() != 0 || ttl.as_secs() > u64::from(netns_test_topology::MAX_TTL) {
            return Err(Error::Runtime(format!(
                "dns {}: a TTL is whole seconds up to {}; {ttl:?} is not",
                self.node(),
                netns_test_topology::MAX_TTL
            )));
        }
        self.server.set_ttl(&name, ttl.as_secs() as u32)
    }

    /// Makes every query for `name` (`"*"`: for any name) fail with `rcode` until
    /// [`clear_fail`](Self::clear_fail).
    pub fn fail(&self, name: &str, rcode: Rcode) -> Result<()> {
        let name = self.name_or_any(name)?;
        self.server.fail(&name, Some(rcode));
        Ok(())
    }

    /// Undoes [`fail`](Self::fail) for `name` (or `"*"`).
    pub fn clear_fail(&self, name: &str) -> Result<()> {
        let name = self.name_or_any(name)?;
        self.server.fail(&name, None);
        Ok(())
    }

    /// Delays every answer for `name` (`"*"`: for any name) by `delay`; `Duration::ZERO`
    /// removes the delay. A name's own delay takes precedence over `"*"`'s.
    pub fn delay(&self, name: &str, delay: Duration) -> Result<()> {
        let name = self.name_or_any(name)?;
        self.server.delay(&name, delay);
        Ok(())
    }

    /// Sets the TC bit on every UDP answer (with no records), so clients retry over TCP.
    pub fn truncate_udp(&self, on: bool) -> Result<()> {
        self.server.truncate_udp(on);
        Ok(())
    }

    /// Every query received since the network was built, oldest first.
    pub fn queries(&self) -> Vec<Query> {
        self.server.queries()
    }

    /// The records the server answers from now, one line each
    /// (`www.example.com A 203.0.113.10 ttl=60`), node names included, sorted by name.
    pub fn records(&self) -> Vec<String> {
        self.server.records()
    }

    fn name(&self, name: &str) -> Result<String> {
        netns_test_topology::dns_name(name, "name").map_err(|e| Error::Runtime(format!("dns {}: {e}", self.node())))
    }

    fn name_or_any(&self, name: &str) -> Result<String> {
        if name == "*" {
            return Ok(name.into());
        }
        self.name(name)
    }
}

impl std::fmt::Debug for Dns<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns").field("node", &self.node()).finish()
    }
}
