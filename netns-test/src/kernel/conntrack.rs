//! The connection tracking table of the calling thread's namespace: its timeouts (per-namespace
//! sysctls), and flushing and reading it over ctnetlink (`NFNL_SUBSYS_CTNETLINK`), hand-encoded
//! as [`super::nft::wire`] does for nf_tables. No `conntrack` binary.
//!
//! ```ignore
//! ns.run(|| conntrack::set_timeouts(Duration::from_secs(30), Duration::from_secs(600)))??;
//! let socket = ns.run(NfSocket::open)??;
//! let flows = conntrack::dump(&socket)?;            // every entry, IPv4 and IPv6
//! conntrack::flush(&socket)?;                       // every entry forgotten at once
//! ```
//!
//! Why sysctls for the timeouts rather than nf_tables `ct timeout` objects: the sysctls are per
//! network namespace, writable by the test's user namespace (checked on 6.18), and apply to the
//! flows that exist already from their next packet on, which a run-time change of the timeout
//! needs; a `ct timeout` policy is attached to a flow when it is created and kept. Both count
//! in seconds.

use super::nfnl::{attrs, NfSocket};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;

// Attributes (`include/uapi/linux/netfilter/nfnetlink_conntrack.h`).
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_STATUS: u16 = 3;
const CTA_TIMEOUT: u16 = 7;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTO_ICMP_ID: u16 = 4;
const CTA_PROTO_ICMPV6_ID: u16 = 7;

/// `IPS_SRC_NAT`, `IPS_DST_NAT`: the entry's source (destination) is translated.
pub(crate) const IPS_SRC_NAT: u32 = 1 << 4;
pub(crate) const IPS_DST_NAT: u32 = 1 << 5;

/// The mapping timeouts of the calling thread's namespace: UDP (replied or not) and established
/// TCP flows idle longer than these are forgotten. Whole seconds (the sysctls' unit).
pub(crate) fn set_timeouts(udp: Duration, tcp: Duration) -> io::Result<()> {
    let (udp, tcp) = (udp.as_secs().max(1).to_string(), tcp.as_secs().max(1).to_string());
    for (key, value) in [
        ("nf_conntrack_udp_timeout", &udp),
        ("nf_conntrack_udp_timeout_stream", &udp),
        ("nf_conntrack_tcp_timeout_established", &tcp),
    ] {
        super::ns::write_sysctl(&format!("net/netfilter/{key}"), value)?;
    }
    Ok(())
}

/// One end of a flow as conntrack keeps it: addresses, protocol, ports (the ICMP echo id as
/// both ports for ICMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tuple {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) src_port: u16,
    pub(crate) dst_port: u16,
}

/// One conntrack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...
    pub(crate) proto: u8,
    /// As the first packet was seen: the side that started the flow is `src`.
    pub(crate) original: Tuple,
    /// As answers are expected: after a translation, `dst` is the translated source.
    pub(crate) reply: Tuple,
    /// `IPS_*` bits.
    pub(crate) status: u32,
    /// Seconds until it expires, rounded down.
    pub(crate) timeout: Duration,
}

/// A translated flow: the inside endpoint, the outside endpoint it appears as, the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Translated {
    pub(crate) proto: u8,
    pub(crate) inside: (IpAddr, u16),
    pub(crate) outside: (IpAddr, u16),
    pub(crate) peer: (IpAddr, u16),
    pub(crate) expires_in: Duration,
}

impl Entry {
    /// The flow as a translation, if the entry translates it: an inside host's flow out (source
    /// NAT), or an outside host's flow in through a mapped port (destination NAT). Entries of
    /// both (hairpin) are the sender's.
    pub(crate) fn translated(&self) -> Option<Translated> {
        let (o, r) = (self.original, self.reply);
        let (inside, outside, peer) = if self.status & IPS_SRC_NAT != 0 {
            ((o.src, o.src_port), (r.dst, r.dst_port), (o.dst, o.dst_port))
        } else if self.status & IPS_DST_NAT != 0 {
            ((r.src, r.src_port), (o.dst, o.dst_port), (o.src, o.src_port))
        } else {
            return None;
        };
        Some(Translated { proto: self.proto, inside, outside, peer, expires_in: self.timeout })
    }
}

/// Forgets every entry of the calling thread's namespace (IPv4 and IPv6) at once.
pub(crate) fn flush(socket: &NfSocket) -> io::Result<()> {
    socket.request((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE, 0, &[]).map_err(|e| {
        io::Error::new(e.kind(), format!("flushing the conntrack table: {e} (the kernel needs CONFIG_NF_CT_NETLINK)"))
    })
}

/// Every entry of the calling thread's namespace, IPv4 and IPv6.
///
/// This walks the kernel's whole conntrack hash table (shared by every namespace, 262,144
/// buckets on a machine with 24 GiB), locking each bucket: about 10 ms here, whatever the
/// namespace holds.
pub(crate) fn dump(socket: &NfSocket) -> io::Result<Vec<Entry>> {
    let answers = socket.dump((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET, 0, &[]).map_err(|e| {
        io::Error::new(e.kind(), format!("reading the conntrack table: {e} (the kernel needs CONFIG_NF_CT_NETLINK)"))
    })?;
    Ok(answers.iter().filter_map(|a| entry(a)).collect())
}

fn be16(v: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(v.get(..2)?.try_into().ok()?))
}

fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

fn entry(buf: &[u8]) -> Option<Entry> {
    let (mut orig, mut reply, mut status, mut timeout) = (None, None, 0, 0);
    for (ty, v) in attrs(buf) {
        match ty {
            CTA_TUPLE_ORIG => orig = tuple(v),
            CTA_TUPLE_REPLY => reply = tuple(v),
            CTA_STATUS => status = be32(v)?,
            CTA_TIMEOUT => timeout = be32(v)?,
            _ => {}
        }
    }
    let ((proto, original), (_, reply)) = (orig?, reply?);
    Some(Entry { proto, original, reply, status, timeout: Duration::from_secs(timeout.into()) })
}

fn tuple(buf: &[u8]) -> Option<(u8, Tuple)> {
    let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let mut t = Tuple { src: unspecified, dst: unspecified, src_port: 0, dst_port: 0 };
    let mut proto = None;
    for (ty, v) in attrs(buf) {
        match ty {
            CTA_TUPLE_IP => {
                for (ty, a) in attrs(v) {
                    let v4 = || Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(a).ok()?)));
                    let v6 = || Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(a).ok()?)));
                    match ty {
                        CTA_IP_V4_SRC => t.src = v4()?,
                        CTA_IP_V4_DST => t.dst = v4()?,
                        CTA_IP_V6_SRC => t.src = v6()?,
                        CTA_IP_V6_DST => t.dst = v6()?,
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for (ty, p) in attrs(v) {
                    match ty {
                        CTA_PROTO_NUM => proto = p.first().copied(),
                        CTA_PROTO_SRC_PORT => t.src_port = be16(p)?,
                        CTA_PROTO_DST_PORT => t.dst_port = be16(p)?,
                        CTA_PROTO_ICMP_ID | CTA_PROTO_ICMPV6_ID => (t.src_port, t.dst_port) = (be16(p)?, be16(p)?),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Some((proto?, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attributes as the kernel writes them: host-order headers, nested flag, padding.
    fn attr(ty: u16, value: &[u8]) -> Vec<u8> {
        let mut v = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(value);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn nested(ty: u16, parts: &[Vec<u8>]) -> Vec<u8> {
        attr(ty | 0x8000, &parts.concat())
    }

    fn tuple_attr(ty: u16, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        nested(
            ty,
            &[
                nested(CTA_TUPLE_IP, &[attr(CTA_IP_V4_SRC, &src), attr(CTA_IP_V4_DST, &dst)]),
                nested(
                    CTA_TUPLE_PROTO,
                    &[
                        attr(CTA_PROTO_NUM, &[17]),
                        attr(CTA_PROTO_SRC_PORT, &sport.to_be_bytes()),
                        attr(CTA_PROTO_DST_PORT, &dport.to_be_bytes()),
                    ],
                ),
            ],
        )
    }

    #[test]
    fn a_source_translated_entry_is_the_inside_hosts_mapping() {
        let buf = [
            tuple_attr(CTA_TUPLE_ORIG, [10, 0, 1, 2], [203, 0, 113, 10], 4000, 5000),
            tuple_attr(CTA_TUPLE_REPLY, [203, 0, 113, 10], [203, 0, 113, 1], 5000, 1024),
            attr(CTA_STATUS, &(IPS_SRC_NAT | 0x8).to_be_bytes()),
            attr(CTA_TIMEOUT, &29u32.to_be_bytes()),
        ]
        .concat();
        let e = entry(&buf).unwrap();
        assert_eq!((e.proto, e.timeout), (17, Duration::from_secs(29)));
        let t = e.translated().unwrap();
        assert_eq!(t.inside, ("10.0.1.2".parse().unwrap(), 4000));
        assert_eq!(t.outside, ("203.0.113.1".parse().unwrap(), 1024));
        assert_eq!(t.peer, ("203.0.113.10".parse().unwrap(), 5000));
        let plain = Entry { status: 0x8, ..e };
        assert_eq!(plain.translated(), None, "an untranslated flow is no mapping");
    }
}
