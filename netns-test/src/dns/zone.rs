//! What a DNS server knows: every name with its records, and how a question is answered
//! (RFC 1034 §4.3.2: through CNAMEs, with the chain in the answer; RFC 6147: DNS64). No wire
//! format here: `server.rs` turns an [`Answer`] into a message with hickory.

use ipnet::Ipv6Net;
use netns_test_topology::{Record, RecordData, Topology, DEFAULT_TTL};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The records of one server, by lower-case name without the trailing dot.
#[derive(Debug, Clone, Default)]
pub(crate) struct Zone {
    names: BTreeMap<String, Vec<(u32, RecordData)>>,
}

/// How a question was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The name (the end of the CNAME chain) does not exist.
    pub(crate) nxdomain: bool,
    /// The chain looped or was too long: SERVFAIL.
    pub(crate) broken: bool,
    /// The answer section: (owner name, TTL, data), CNAMEs first in chain order.
    pub(crate) records: Vec<(String, u32, RecordData)>,
}

/// The longest CNAME chain followed.
const MAX_CHAIN: usize = 16;

impl Zone {
    /// Every node and `node.iface` name with its addresses, and the topology's records.
    pub(crate) fn of(topo: &Topology) -> Zone {
        let mut zone = Zone::default();
        for (name, addrs) in topo.host_names() {
            let entry = zone.names.entry(name).or_default();
            for a in addrs {
                let data = match a {
                    std::net::IpAddr::V4(v4) => RecordData::A(v4),
                    std::net::IpAddr::V6(v6) => RecordData::Aaaa(v6),
                };
                if !entry.iter().any(|(_, d)| *d == data) {
                    entry.push((DEFAULT_TTL, data));
                }
            }
        }
        for r in &topo.records {
            let entry = zone.names.entry(r.name.clone()).or_default();
            if !entry.iter().any(|(_, d)| *d == r.data) {
                entry.push((r.ttl, r.data.clone()));
            }
        }
        zone
    }

    /// Adds a record, with the checks the grammar makes: not twice, a CNAME alone.
    pub(crate) fn add(&mut self, r: Record) -> Result<(), String> {
        let entry = self.names.entry(r.name.clone()).or_default();
        let is_cname = matches!(r.data, RecordData::Cname(_));
        if entry.iter().any(|(_, d)| *d == r.data) {
            return Err(format!("`{}` already has the record {} {}", r.name, r.data.type_name(), r.data));
        }
        if let Some((_, d)) = entry.iter().find(|(_, d)| is_cname || matches!(d, RecordData::Cname(_))) {
            return Err(format!(
                "`{}` has a {} record ({}): a CNAME must be alone (RFC 1034 §3.6.2); remove it first",
                r.name,
                d.type_name(),
                d
            ));
        }
        entry.push((r.ttl, r.data));
        Ok(())
    }

    /// Removes the records of type `rtype` of `name`; how many there were.
    pub(crate) fn remove(&mut self, name: &str, rtype: &str) -> usize {
        let Some(entry) = self.names.get_mut(name) else { return 0 };
        let before = entry.len();
        entry.retain(|(_, d)| d.type_name() != rtype);
        let removed = before - entry.len();
        if entry.is_empty() {
            self.names.remove(name);
        }
        removed
    }

    /// Sets the TTL of every record of `name`; how many there are.
    pub(crate) fn set_ttl(&mut self, name: &str, ttl: u32) -> usize {
        self.names.get_mut(name).map_or(0, |e| {
            e.iter_mut().for_each(|(t, _)| *t = ttl);
            e.len()
        })
    }

    /// Whether `name` has any record.
    #[cfg(test)]
    pub(crate) fn has(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// The answer to `qtype` (`"A"`, `"AAAA"`, `"ANY"`, ...) for `qname`, following CNAMEs; with
    /// `dns64`, AAAA records are synthesized from A records when a name has no AAAA.
    pub(crate) fn answer(&self, qname: &str, qtype: &str, dns64: Option<Ipv6Net>) -> Answer {
        let mut name = qname.to_string();
        let mut records = Vec::new();
        for _ in 0..MAX_CHAIN {
            let Some(entries) = self.names.get(&name) else {
                return Answer { nxdomain: true, broken: false, records };
            };
            if qtype != "CNAME" && qtype != "ANY" {
                if let Some((ttl, RecordData::Cname(target))) =
                    entries.iter().find(|(_, d)| matches!(d, RecordData::Cname(_)))
                {
                    records.push((name.clone(), *ttl, RecordData::Cname(target.clone())));
                    name = target.clone();
                    continue;
                }
            }
            let matching = entries.iter().filter(|(_, d)| qtype == "ANY" || d.type_name() == qtype);
            records.extend(matching.map(|(ttl, d)| (name.clone(), *ttl, d.clone())));
            if let (Some(prefix), "AAAA") = (dns64, qtype) {
                if !entries.iter().any(|(_, d)| matches!(d, RecordData::Aaaa(_))) {
                    let synthesized = entries.iter().filter_map(|(ttl, d)| match d {
                        RecordData::A(v4) => Some((name.clone(), *ttl, RecordData::Aaaa(synthesize(prefix, *v4)))),
                        _ => None,
                    });
                    records.extend(synthesized);
                }
            }
            return Answer { nxdomain: false, broken: false, records };
        }
        Answer { nxdomain: false, broken: true, records }
    }

    /// Every record as a line, `www.example.com A 203.0.113.10 ttl=60`, sorted by name.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, entries) in &self.names {
            for (ttl, d) in entries {
                out.push(format!("{name} {} {d} ttl={ttl}", d.type_name()));
            }
        }
        out
    }
}

/// The IPv6 address of `v4` inside a /96 prefix (RFC 6052 §2.2).
pub(crate) fn synthesize(prefix: Ipv6Net, v4: Ipv4Addr) -> Ipv6Addr {
    let p = prefix.network().octets();
    let mut o = [0u8; 16];
    o[..12].copy_from_slice(&p[..12]);
    o[12..].copy_from_slice(&v4.octets());
    Ipv6Addr::from(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(extra: &str) -> Zone {
        let t = Topology::parse(&format!("h=10.0.0.1/24|fd00::1/64 -- d=10.0.0.53/24\nd [dns]\n{extra}")).unwrap();
        Zone::of(&t)
    }

    #[test]
    fn node_names_and_records_answer_and_others_do_not_exist() {
        let z = zone("dns www.example.com A 203.0.113.10 ttl=30");
        let a = z.answer("h", "AAAA", None);
        assert_eq!(a.records, [("h".into(), DEFAULT_TTL, RecordData::Aaaa("fd00::1".parse().unwrap()))]);
        assert_eq!(z.answer("h.eth0", "A", None).records.len(), 1);
        let www = z.answer("www.example.com", "A", None);
        assert_eq!(www.records, [("www.example.com".into(), 30, RecordData::A("203.0.113.10".parse().unwrap()))]);
        // A name with no record of the type: no data, not NXDOMAIN.
        let nodata = z.answer("www.example.com", "AAAA", None);
        assert!(!nodata.nxdomain && nodata.records.is_empty());
        assert!(z.answer("nope.example.com", "A", None).nxdomain);
    }

    #[test]
    fn a_cname_answer_carries_the_chain_then_the_targets_addresses() {
        let z = zone("dns www.example.com A 203.0.113.10\ndns api.example.com CNAME web.example.com\ndns web.example.com CNAME www.example.com");
        let a = z.answer("api.example.com", "A", None);
        let types: Vec<(&str, &str)> = a.records.iter().map(|(n, _, d)| (n.as_str(), d.type_name())).collect();
        assert_eq!(types, [("api.example.com", "CNAME"), ("web.example.com", "CNAME"), ("www.example.com", "A")]);
        assert_eq!(z.answer("api.example.com", "CNAME", None).records.len(), 1);
        let mut dangling = zone("dns api.example.com CNAME gone.example.com");
        let a = dangling.answer("api.example.com", "A", None);
        assert!(a.nxdomain && a.records.len() == 1);
        assert!(dangling.add(Record::parse("api.example.com", "A", "203.0.113.1").unwrap()).is_err());
        assert_eq!(dangling.remove("api.example.com", "CNAME"), 1);
        assert!(!dangling.has("api.example.com"));
    }

    #[test]
    fn dns64_synthesizes_aaaa_only_for_names_without_one() {
        let z = zone("dns v4.example.com A 203.0.113.10\ndns both.example.com A 203.0.113.11\ndns both.example.com AAAA 2001:db8::11");
        let prefix = netns_test_topology::WELL_KNOWN_PREFIX;
        let a = z.answer("v4.example.com", "AAAA", Some(prefix));
        assert_eq!(a.records[0].2, RecordData::Aaaa("64:ff9b::cb00:710a".parse().unwrap()));
        let both = z.answer("both.example.com", "AAAA", Some(prefix));
        assert_eq!(both.records, [("both.example.com".into(), 60, RecordData::Aaaa("2001:db8::11".parse().unwrap()))]);
        assert!(z.answer("v4.example.com", "AAAA", None).records.is_empty());
    }
}
