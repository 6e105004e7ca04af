//! IP/ICMP translation (SIIT, RFC 7915) between IPv6 packets to a NAT64 prefix and IPv4, on
//! whole Ethernet frames: the stateless half of the NAT64. Each IPv6 client gets an address of
//! a private IPv4 pool ([`Mapping`]); the router's own nf_tables then translates that address
//! and its ports to the outside address (the stateful half, RFC 6146's binding table being
//! conntrack's).
//!
//! ```text
//! IPv6  fd00:1::2 -> 64:ff9b::cb00:710a   TCP/UDP/ICMPv6 echo, ICMPv6 errors, fragments
//!   <-> IPv4  100.64.0.1 -> 203.0.113.10  TCP/UDP/ICMP echo, ICMP errors (frag-needed -> PTB)
//! ```
//!
//! Checksums of unfragmented packets are computed anew (a frame handed over by the kernel may
//! carry only the pseudo-header sum, for the hardware to finish); a first fragment's is
//! adjusted for the new pseudo-header (RFC 1624).

use ipnet::Ipv6Net;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

pub(crate) const ETH_IPV4: u16 = 0x0800;
pub(crate) const ETH_IPV6: u16 = 0x86dd;
const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;
const FRAGMENT: u8 = 44;
/// RFC 7915 §5.1: a translated packet up to this size may be fragmented on the IPv4 side (DF
/// clear); a larger one gets DF, and its sender an ICMPv6 Packet Too Big.
const DF_ABOVE: usize = 1260;
const IPV6_MIN_MTU: u32 = 1280;

/// IPv6 clients and their IPv4 pool addresses, both ways.
pub(crate) struct Mapping {
    prefix: Ipv6Net,
    pool: ipnet::Ipv4Net,
    next: u32,
    to4: HashMap<Ipv6Addr, Ipv4Addr>,
    to6: HashMap<Ipv4Addr, Ipv6Addr>,
    ident: u16,
}

impl Mapping {
    pub(crate) fn new(prefix: Ipv6Net, pool: ipnet::Ipv4Net) -> Mapping {
        Mapping { prefix, pool, next: 1, to4: HashMap::new(), to6: HashMap::new(), ident: 0 }
    }

    /// The pool address of `client`, given on first use; `None` when the pool is used up.
    fn pool_addr(&mut self, client: Ipv6Addr) -> Option<Ipv4Addr> {
        if let Some(&a) = self.to4.get(&client) {
            return Some(a);
        }
        let size = 1u32 << (32 - self.pool.prefix_len());
        if self.next >= size - 1 {
            return None;
        }
        let a = Ipv4Addr::from(u32::from(self.pool.network()) + self.next);
        self.next += 1;
        self.to4.insert(client, a);
        self.to6.insert(a, client);
        Some(a)
    }

    fn embed(&self, v4: Ipv4Addr) -> Ipv6Addr {
        let mut o = self.prefix.network().octets();
        o[12..].copy_from_slice(&v4.octets());
        Ipv6Addr::from(o)
    }

    fn extract(&self, v6: Ipv6Addr) -> Option<Ipv4Addr> {
        self.prefix.contains(&v6).then(|| {
            let o = v6.octets();
            Ipv4Addr::new(o[12], o[13], o[14], o[15])
        })
    }

    /// How many clients have a pool address.
    pub(crate) fn clients(&self) -> usize {
        self.to4.len()
    }
}

/// `sizeof(struct virtio_net_hdr)`: what a `PACKET_VNET_HDR` socket puts before each frame.
pub(crate) const VNET_HDR: usize = 10;
const VNET_NEEDS_CSUM: u8 = 1;
const GSO_NONE: u8 = 0;
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const GSO_ECN: u8 = 0x80;

/// A TCP segmentation request (from a virtio-net header): the segments' payload size and ECN.
#[derive(Clone, Copy)]
struct Gso {
    size: u16,
    ecn: bool,
}

/// Translates one frame read with its virtio-net header (`PACKET_VNET_HDR`) into `out`, header
/// first: a TCP super-packet (GSO) stays one, its headers translated and its checksum left to
/// the kernel, so the router segments it after translation, not before.
pub(crate) fn vnet_frame(m: &mut Mapping, input: &[u8], mac: [u8; 6], gw: [u8; 6], out: &mut Vec<u8>) -> Option<()> {
    let h = input.get(..VNET_HDR)?;
    let gso = match h[1] & !GSO_ECN {
        GSO_NONE => None,
        GSO_TCPV4 | GSO_TCPV6 => Some(Gso { size: u16::from_le_bytes([h[4], h[5]]), ecn: h[1] & GSO_ECN != 0 }),
        // UDP segmentation offload and the like: not translated (counted as dropped).
        _ => return None,
    };
    out.clear();
    out.resize(VNET_HDR, 0);
    let l3 = frame_into(m, &input[VNET_HDR..], mac, gw, gso, out)?;
    if let Some(g) = gso {
        let l4 = VNET_HDR + 14 + l3;
        let tcp_len = (out.get(l4 + 12)? >> 4) as u16 * 4;
        let v4 = l3 == 20;
        let (start, hdr_len) = ((14 + l3) as u16, (14 + l3) as u16 + tcp_len);
        out[0] = VNET_NEEDS_CSUM;
        out[1] = if v4 { GSO_TCPV4 } else { GSO_TCPV6 } | if g.ecn { GSO_ECN } else { 0 };
        out[2..4].copy_from_slice(&hdr_len.to_le_bytes());
        out[4..6].copy_from_slice(&g.size.to_le_bytes());
        out[6..8].copy_from_slice(&start.to_le_bytes());
        out[8..10].copy_from_slice(&16u16.to_le_bytes());
    }
    Some(())
}

/// Translates one Ethernet frame read from the translator's side of the link into the frame
/// to send back (with `mac` as its destination, `gw` as its source), or `None` to drop it.
#[cfg(test)]
pub(crate) fn frame(m: &mut Mapping, input: &[u8], mac: [u8; 6], gw: [u8; 6]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    frame_into(m, input, mac, gw, None, &mut out)?;
    Some(out)
}

/// [`frame`] appended to `out`; the length of the new network header.
fn frame_into(
    m: &mut Mapping,
    input: &[u8],
    mac: [u8; 6],
    gw: [u8; 6],
    gso: Option<Gso>,
    out: &mut Vec<u8>,
) -> Option<usize> {
    if input.len() < 14 {
        return None;
    }
    let ethertype = u16::from_be_bytes([input[12], input[13]]);
    out.extend_from_slice(&mac);
    out.extend_from_slice(&gw);
    match ethertype {
        ETH_IPV6 => {
            out.extend_from_slice(&ETH_IPV4.to_be_bytes());
            six_to_four(m, &input[14..], out, gso)?;
            Some(20)
        }
        ETH_IPV4 => {
            out.extend_from_slice(&ETH_IPV6.to_be_bytes());
            four_to_six(m, &input[14..], out, gso)?;
            Some(40)
        }
        _ => None,
    }
}

/// For a GSO super-packet: the TCP checksum field as the kernel expects it before
/// segmenting, the pseudo-header's sum (with the whole length), not complemented.
fn partial(l4: &mut [u8], pseudo: &[u8]) {
    if l4.len() >= 18 {
        let sum = pseudo_sum(pseudo) as u16;
        l4[16..18].copy_from_slice(&sum.to_be_bytes());
    }
}

/// An IPv6 packet to the prefix -> IPv4, appended to `out`.
fn six_to_four(m: &mut Mapping, p: &[u8], out: &mut Vec<u8>, gso: Option<Gso>) -> Option<()> {
    if p.len() < 40 || p[0] >> 4 != 6 {
        return None;
    }
    let len = 40 + u16::from_be_bytes([p[4], p[5]]) as usize;
    let p = p.get(..len)?;
    let (src, dst) = (v6_at(p, 8), v6_at(p, 24));
    let dst4 = m.extract(dst)?;
    let src4 = m.pool_addr(src)?;
    let tos = (u16::from_be_bytes([p[0], p[1]]) >> 4) as u8;
    let ttl = p[7];
    let (mut next, mut body) = (p[6], &p[40..]);
    // A fragment header: its identification and offset go to the IPv4 header (RFC 7915 §5.1.1).
    let mut frag: Option<(u16, u16, bool)> = None;
    if next == FRAGMENT {
        let h = body.get(..8)?;
        let off_m = u16::from_be_bytes([h[2], h[3]]);
        let ident = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        frag = Some((ident as u16, off_m >> 3, off_m & 1 == 1));
        next = h[0];
        body = &body[8..];
    }
    let proto = match next {
        TCP | UDP => next,
        ICMPV6 => ICMP,
        _ => return None,
    };
    let first = frag.is_none_or(|(_, off, _)| off == 0);
    let mut l4 = body.to_vec();
    match (next, frag) {
        (ICMPV6, None) => icmp6_to_4(m, &mut l4)?,
        // ICMPv6 fragments: only echo, whose checksum cannot be redone from one piece.
        (ICMPV6, Some(_)) => return None,
        (_, None) => {
            let pseudo = pseudo4(src4, dst4, proto, l4.len());
            match gso {
                Some(_) if proto == TCP => partial(&mut l4, &pseudo),
                Some(_) => return None,
                None => checksum_l4(&mut l4, proto, &pseudo),
            }
        }
        (_, Some(_)) if first => {
            let at = if proto == TCP { 16 } else { 6 };
            let old = pseudo_sum(&v6_pair(src, dst));
            let new = pseudo_sum(&v4_pair(src4, dst4));
            adjust(&mut l4, at, old, new);
        }
        (_, Some(_)) => {}
    }
    let total = 20 + l4.len();
    // A super-packet is judged by its segments' size.
    let tcp_hdr = l4.get(12).map_or(20, |&b| (b >> 4) as usize * 4);
    let segment = gso.map_or(total, |g| (20 + tcp_hdr + g.size as usize).min(total));
    let (ident, flags_off) = match frag {
        Some((id, off, more)) => (id, off | if more { 0x2000 } else { 0 }),
        None if segment > DF_ABOVE => (0, 0x4000),
        None => {
            m.ident = m.ident.wrapping_add(1);
            (m.ident, 0)
        }
    };
    ipv4_header(out, tos, total, ident, flags_off, ttl, proto, src4, dst4);
    out.extend_from_slice(&l4);
    Some(())
}

/// An IPv4 packet to a pool address -> IPv6, appended to `out`.
fn four_to_six(m: &mut Mapping, p: &[u8], out: &mut Vec<u8>, gso: Option<Gso>) -> Option<()> {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return None;
    }
    let ihl = (p[0] & 0x0f) as usize * 4;
    let len = u16::from_be_bytes([p[2], p[3]]) as usize;
    let p = p.get(..len)?;
    if ihl < 20 || len < ihl {
        return None;
    }
    let flags_off = u16::from_be_bytes([p[6], p[7]]);
    if flags_off & 0x3fff != 0 {
        // A fragment: conntrack reassembles before the router forwards, so none should come.
        return None;
    }
    let (src4, dst4) = (v4_at(p, 12), v4_at(p, 16));
    let client = *m.to6.get(&dst4)?;
    let src = m.embed(src4);
    let (tos, ttl, proto) = (p[1], p[8], p[9]);
    let next = match proto {
        TCP | UDP => proto,
        ICMP => ICMPV6,
        _ => return None,
    };
    let mut l4 = p[ihl..].to_vec();
    if proto == ICMP {
        if gso.is_some() {
            return None;
        }
        icmp4_to_6(m, &mut l4, src, client)?;
    } else {
        let pseudo = pseudo6(src, client, next, l4.len());
        match gso {
            Some(_) if proto == TCP => partial(&mut l4, &pseudo),
            Some(_) => return None,
            None => checksum_l4(&mut l4, proto, &pseudo),
        }
    }
    ipv6_header(out, tos, l4.len(), next, ttl, src, client);
    out.extend_from_slice(&l4);
    Some(())
}

/// ICMPv6 -> ICMP in place (echo; errors with their inner packet translated).
fn icmp6_to_4(m: &mut Mapping, l4: &mut Vec<u8>) -> Option<()> {
    if l4.len() < 8 {
        return None;
    }
    let (ty, code) = (l4[0], l4[1]);
    let (t4, c4) = match (ty, code) {
        (128, 0) => (8, 0),
        (129, 0) => (0, 0),
        (1, 0 | 2 | 3) => (3, 1),
        (1, 1) => (3, 10),
        (1, 4) => (3, 3),
        (2, _) => {
            let mtu = u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]).saturating_sub(20).min(0xffff);
            l4[4..8].copy_from_slice(&[0, 0, (mtu >> 8) as u8, mtu as u8]);
            (3, 4)
        }
        (3, c) => (11, c),
        _ => return None,
    };
    if t4 != 8 && t4 != 0 {
        if ty != 2 {
            l4[4..8].fill(0);
        }
        let inner = inner6_to_4(m, &l4[8..])?;
        l4.truncate(8);
        l4.extend_from_slice(&inner);
    }
    l4[0] = t4;
    l4[1] = c4;
    l4[2..4].fill(0);
    let c = checksum(0, l4);
    l4[2..4].copy_from_slice(&c.to_be_bytes());
    Some(())
}

/// ICMP -> ICMPv6 in place; `src`/`dst` are the outer IPv6 addresses (for the checksum).
fn icmp4_to_6(m: &mut Mapping, l4: &mut Vec<u8>, src: Ipv6Addr, dst: Ipv6Addr) -> Option<()> {
    if l4.len() < 8 {
        return None;
    }
    let (ty, code) = (l4[0], l4[1]);
    let (t6, c6) = match (ty, code) {
        (8, 0) => (128, 0),
        (0, 0) => (129, 0),
        (3, 4) => {
            // Fragmentation needed: Packet Too Big with the IPv6 MTU, never below 1,280 (the
            // sender then sends 1,280-byte packets, which leave here with DF clear).
            let mtu = u16::from_be_bytes([l4[6], l4[7]]) as u32;
            let mtu = (if mtu == 0 { 1280 } else { mtu + 20 }).max(IPV6_MIN_MTU);
            l4[4..8].copy_from_slice(&mtu.to_be_bytes());
            (2, 0)
        }
        (3, 0 | 1 | 5 | 6 | 7 | 8 | 11 | 12) => (1, 0),
        (3, 3) => (1, 4),
        (3, 9 | 10 | 13 | 15) => (1, 1),
        (11, c) => (3, c),
        _ => return None,
    };
    if t6 >= 128 {
        // Echo: identifier, sequence and data unchanged.
    } else {
        if t6 != 2 {
            l4[4..8].fill(0);
        }
        let inner = inner4_to_6(m, &l4[8..])?;
        l4.truncate(8);
        l4.extend_from_slice(&inner);
        // An ICMPv6 error fits the IPv6 minimum MTU.
        l4.truncate(1280 - 40);
    }
    l4[0] = t6;
    l4[1] = c6;
    l4[2..4].fill(0);
    let c = checksum(pseudo_sum(&pseudo6(src, dst, ICMPV6, l4.len())), l4);
    l4[2..4].copy_from_slice(&c.to_be_bytes());
    Some(())
}

/// The packet inside an ICMPv6 error (sent by the IPv4 side, translated): its IPv4 form.
fn inner6_to_4(m: &Mapping, p: &[u8]) -> Option<Vec<u8>> {
    if p.len() < 40 {
        return None;
    }
    let (src, dst) = (v6_at(p, 8), v6_at(p, 24));
    let src4 = m.extract(src)?;
    let dst4 = *m.to4.get(&dst)?;
    let proto = if p[6] == ICMPV6 { ICMP } else { p[6] };
    let mut out = Vec::with_capacity(p.len());
    let total = 20 + u16::from_be_bytes([p[4], p[5]]) as usize;
    ipv4_header(&mut out, 0, total, 0, 0x4000, p[7], proto, src4, dst4);
    out.extend_from_slice(&p[40..]);
    Some(out)
}

/// The packet inside an ICMP error (a translated IPv6 packet): its IPv6 form.
fn inner4_to_6(m: &Mapping, p: &[u8]) -> Option<Vec<u8>> {
    if p.len() < 20 {
        return None;
    }
    let ihl = (p[0] & 0x0f) as usize * 4;
    let (src4, dst4) = (v4_at(p, 12), v4_at(p, 16));
    let src = *m.to6.get(&src4)?;
    let dst = m.embed(dst4);
    let next = if p[9] == ICMP { ICMPV6 } else { p[9] };
    let total = u16::from_be_bytes([p[2], p[3]]) as usize;
    let mut out = Vec::with_capacity(p.len() + 20);
    ipv6_header(&mut out, p[1], total.saturating_sub(ihl), next, p[8], src, dst);
    out.extend_from_slice(p.get(ihl..)?);
    Some(out)
}

#[allow(clippy::too_many_arguments)]
fn ipv4_header(
    out: &mut Vec<u8>,
    tos: u8,
    total: usize,
    ident: u16,
    flags_off: u16,
    ttl: u8,
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
) {
    let start = out.len();
    out.extend_from_slice(&[0x45, tos]);
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&ident.to_be_bytes());
    out.extend_from_slice(&flags_off.to_be_bytes());
    out.extend_from_slice(&[ttl, proto, 0, 0]);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
    let c = checksum(0, &out[start..]);
    out[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
}

fn ipv6_header(out: &mut Vec<u8>, tos: u8, payload: usize, next: u8, hops: u8, src: Ipv6Addr, dst: Ipv6Addr) {
    let first = 0x6000_0000u32 | (u32::from(tos) << 20);
    out.extend_from_slice(&first.to_be_bytes());
    out.extend_from_slice(&(payload as u16).to_be_bytes());
    out.extend_from_slice(&[next, hops]);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
}

fn v6_at(p: &[u8], at: usize) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&p[at..at + 16]).expect("16 bytes"))
}

fn v4_at(p: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(p[at], p[at + 1], p[at + 2], p[at + 3])
}

fn v4_pair(a: Ipv4Addr, b: Ipv4Addr) -> Vec<u8> {
    [a.octets(), b.octets()].concat()
}

fn v6_pair(a: Ipv6Addr, b: Ipv6Addr) -> Vec<u8> {
    [a.octets(), b.octets()].concat()
}

fn pseudo4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> Vec<u8> {
    let mut p = v4_pair(src, dst);
    p.extend_from_slice(&[0, proto]);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p
}

fn pseudo6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, len: usize) -> Vec<u8> {
    let mut p = v6_pair(src, dst);
    p.extend_from_slice(&(len as u32).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, next]);
    p
}

/// A TCP or UDP checksum computed anew over `pseudo` and the segment.
fn checksum_l4(l4: &mut [u8], proto: u8, pseudo: &[u8]) {
    let at = if proto == TCP { 16 } else { 6 };
    if l4.len() < at + 2 {
        return;
    }
    l4[at..at + 2].fill(0);
    let mut c = checksum(pseudo_sum(pseudo), l4);
    if proto == UDP && c == 0 {
        c = 0xffff;
    }
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// The ones' complement sum (not complemented) of `data`.
fn pseudo_sum(data: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    fold(sum)
}

fn fold(mut sum: u32) -> u32 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// The Internet checksum of `data` with `initial` (a pseudo-header sum) added.
fn checksum(initial: u32, data: &[u8]) -> u16 {
    !(fold(initial + pseudo_sum(data)) as u16)
}

/// RFC 1624: the checksum at `at` adjusted for a pseudo-header whose sum went from `old` to `new`.
fn adjust(l4: &mut [u8], at: usize, old: u32, new: u32) {
    if l4.len() < at + 2 {
        return;
    }
    let c = u16::from_be_bytes([l4[at], l4[at + 1]]);
    if c == 0 {
        return; // a UDP checksum left out (IPv4 senders only)
    }
    let sum = fold(u32::from(!c) + (0xffff - old as u16 as u32) + new);
    let c = !(sum as u16);
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const GW: [u8; 6] = [2, 0, 0, 0, 0, 2];

    fn mapping() -> Mapping {
        Mapping::new(netns_test_topology::WELL_KNOWN_PREFIX, "100.64.0.0/16".parse().unwrap())
    }

    fn udp6(src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
        let (src, dst): (Ipv6Addr, Ipv6Addr) = (src.parse().unwrap(), dst.parse().unwrap());
        let mut l4 = vec![0x30, 0x39, 0, 53, 0, 0, 0, 0];
        l4.extend_from_slice(payload);
        let n = l4.len() as u16;
        l4[4..6].copy_from_slice(&n.to_be_bytes());
        let pseudo = pseudo6(src, dst, UDP, l4.len());
        checksum_l4(&mut l4, UDP, &pseudo);
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ETH_IPV6.to_be_bytes());
        ipv6_header(&mut f, 0, l4.len(), UDP, 63, src, dst);
        f.extend_from_slice(&l4);
        f
    }

    /// A checksum over a whole packet with its checksum in place verifies to zero.
    fn verifies(pseudo: &[u8], l4: &[u8]) -> bool {
        checksum(pseudo_sum(pseudo), l4) == 0
    }

    #[test]
    fn udp_goes_to_ipv4_from_a_pool_address_and_back() {
        let mut m = mapping();
        let out = frame(&mut m, &udp6("fd00::2", "64:ff9b::cb00:710a", b"hello"), MAC, GW).unwrap();
        assert_eq!((&out[..6], &out[6..12], &out[12..14]), (&MAC[..], &GW[..], &[8u8, 0][..]));
        let ip = &out[14..];
        assert_eq!(
            (v4_at(ip, 12).to_string(), v4_at(ip, 16).to_string()),
            ("100.64.0.1".into(), "203.0.113.10".into())
        );
        assert_eq!(checksum(0, &ip[..20]), 0, "header checksum");
        assert_eq!(ip[6] & 0x40, 0, "small: DF clear");
        assert!(verifies(&pseudo4(v4_at(ip, 12), v4_at(ip, 16), UDP, ip.len() - 20), &ip[20..]));
        // The answer: from the server to the pool address, back to the client.
        let mut back = vec![0u8; 12];
        back.extend_from_slice(&ETH_IPV4.to_be_bytes());
        let mut l4 = ip[20..].to_vec();
        l4[..4].copy_from_slice(&[0, 53, 0x30, 0x39]);
        let pseudo = pseudo4(v4_at(ip, 16), v4_at(ip, 12), UDP, l4.len());
        checksum_l4(&mut l4, UDP, &pseudo);
        ipv4_header(&mut back, 0, 20 + l4.len(), 1, 0x4000, 64, UDP, v4_at(ip, 16), v4_at(ip, 12));
        back.extend_from_slice(&l4);
        let six = frame(&mut m, &back, MAC, GW).unwrap();
        let p = &six[14..];
        assert_eq!(
            (v6_at(p, 8).to_string(), v6_at(p, 24).to_string()),
            ("64:ff9b::cb00:710a".into(), "fd00::2".into())
        );
        assert!(verifies(&pseudo6(v6_at(p, 8), v6_at(p, 24), UDP, p.len() - 40), &p[40..]));
        assert_eq!(&p[48..], b"hello");
        assert_eq!(m.clients(), 1);
    }

    #[test]
    fn large_packets_get_df_and_frag_needed_comes_back_as_packet_too_big() {
        let mut m = mapping();
        let big = frame(&mut m, &udp6("fd00::2", "64:ff9b::cb00:710a", &[7; 1400]), MAC, GW).unwrap();
        let ip = big[14..].to_vec();
        assert_eq!(ip[6] & 0x40, 0x40, "over 1,260 bytes: DF");
        // The router's "fragmentation needed, MTU 1000", with the translated packet inside.
        let mut icmp = vec![3, 4, 0, 0, 0, 0, 0x03, 0xe8];
        icmp.extend_from_slice(&ip[..28]);
        let c = checksum(0, &icmp);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ETH_IPV4.to_be_bytes());
        ipv4_header(&mut f, 0, 20 + icmp.len(), 0, 0, 64, ICMP, "203.0.113.1".parse().unwrap(), v4_at(&ip, 12));
        f.extend_from_slice(&icmp);
        let six = frame(&mut m, &f, MAC, GW).unwrap();
        let p = &six[14..];
        assert_eq!((p[6], p[40], p[41]), (ICMPV6, 2, 0), "Packet Too Big");
        assert_eq!(u32::from_be_bytes([p[44], p[45], p[46], p[47]]), 1280, "1000 + 20, raised to the IPv6 minimum");
        assert!(verifies(&pseudo6(v6_at(p, 8), v6_at(p, 24), ICMPV6, p.len() - 40), &p[40..]));
        let inner = &p[48..];
        assert_eq!(
            (v6_at(inner, 8).to_string(), v6_at(inner, 24).to_string()),
            ("fd00::2".into(), "64:ff9b::cb00:710a".into())
        );
    }

    #[test]
    fn echo_requests_and_fragments_translate() {
        let mut m = mapping();
        let (src, dst): (Ipv6Addr, Ipv6Addr) = ("fd00::2".parse().unwrap(), "64:ff9b::a00:1".parse().unwrap());
        let mut icmp = vec![128, 0, 0, 0, 0x12, 0x34, 0, 1, b'x', b'y'];
        let c = checksum(pseudo_sum(&pseudo6(src, dst, ICMPV6, icmp.len())), &icmp);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ETH_IPV6.to_be_bytes());
        ipv6_header(&mut f, 0, icmp.len(), ICMPV6, 64, src, dst);
        f.extend_from_slice(&icmp);
        let out = frame(&mut m, &f, MAC, GW).unwrap();
        let ip = &out[14..];
        assert_eq!((ip[9], ip[20], ip[21]), (ICMP, 8, 0));
        assert_eq!(checksum(0, &ip[20..]), 0);
        // A first UDP fragment: the checksum (over the whole datagram) adjusted, the IPv4
        // fragment fields from the fragment header.
        let whole = udp6("fd00::2", "64:ff9b::a00:1", &[1; 100]);
        let (hdr, l4) = (&whole[14..54], &whole[54..]);
        let mut frag = whole[..14].to_vec();
        let mut h = hdr.to_vec();
        h[6] = FRAGMENT;
        h[4..6].copy_from_slice(&((8 + 56) as u16).to_be_bytes());
        frag.extend_from_slice(&h);
        frag.extend_from_slice(&[UDP, 0, 0, 1, 0, 0, 0xab, 0xcd]); // offset 0, M, ident 0xabcd
        frag.extend_from_slice(&l4[..56]);
        let out = frame(&mut m, &frag, MAC, GW).unwrap();
        let ip = &out[14..];
        assert_eq!(u16::from_be_bytes([ip[4], ip[5]]), 0xabcd);
        assert_eq!(u16::from_be_bytes([ip[6], ip[7]]), 0x2000, "MF, offset 0, DF clear");
        // The adjusted checksum verifies over the whole datagram with the IPv4 pseudo-header.
        let mut all = ip[20..].to_vec();
        all.extend_from_slice(&l4[56..]);
        assert!(verifies(&pseudo4(v4_at(ip, 12), v4_at(ip, 16), UDP, all.len()), &all));
    }
}
