//! The packets of a test's capture files, decoded for the report page with `etherparse`: time,
//! direction, addresses, protocol, ports, TCP flags, ICMP type, length.
//!
//! ```ignore
//! let files = packets::decode(&dir, &[End { file: "a-eth0.pcap".into(), mac: Some(mac) }], 10_000);
//! // files[0].packets[0]: +0.512 ms, out, 10.0.0.1 → 10.0.0.2, ICMP, echo request id 7 seq 1, 98 bytes
//! ```
//!
//! Reads files only (never the kernel). A file holds at most its share of `budget` packets (the
//! first half and the last half of that share when it has more); the others are counted.

use etherparse::{LinkSlice, NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapReader;
use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;
use std::time::Duration;

/// The capture file of one interface, and how to tell what it sent.
#[derive(Debug, Clone)]
pub(crate) struct End {
    /// `a-eth0.pcap`
    pub(crate) file: String,
    /// The interface's MAC address: frames from it were sent by this end.
    pub(crate) mac: Option<[u8; 6]>,
}

/// One packet as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Packet {
    /// Seconds since the body started (since the file's first packet, when that is unknown).
    pub(crate) at: f64,
    /// Sent by this end (`true`), received (`false`), or cannot tell.
    pub(crate) out: Option<bool>,
    pub(crate) src: String,
    pub(crate) dst: String,
    /// `ICMP`, `TCP`, `UDP`, `ARP`, `ICMPv6`, `IPv4 proto 47`, `ether 0x88cc`
    pub(crate) proto: String,
    pub(crate) ports: Option<(u16, u16)>,
    /// TCP flags, the ICMP type, what an ARP packet asks.
    pub(crate) info: String,
    /// The length on the wire.
    pub(crate) len: u32,
}

/// One capture file, decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PacketFile {
    pub(crate) file: String,
    /// At most the file's share of the budget: its first and last packets.
    pub(crate) packets: Vec<Packet>,
    /// Where, in `packets`, the packets left out would be (`packets[..at]` came first).
    pub(crate) gap: Option<(usize, u64)>,
    /// Packets in the file.
    pub(crate) total: u64,
    /// Why the file could not be read, or stopped early.
    pub(crate) note: Option<String>,
}

/// Decodes `ends`' files in `dir`, `budget` packets in all at most.
pub(crate) fn decode(dir: &Path, ends: &[End], budget: usize) -> Vec<PacketFile> {
    let with_packets =
        ends.iter().filter(|e| std::fs::metadata(dir.join(&e.file)).is_ok_and(|m| m.len() > 24)).count().max(1);
    let share = (budget / with_packets).max(1);
    ends.iter().map(|e| decode_file(&dir.join(&e.file), e, share)).collect()
}

fn decode_file(path: &Path, end: &End, share: usize) -> PacketFile {
    let mut out = PacketFile { file: end.file.clone(), ..Default::default() };
    let reader = match File::open(path)
        .map_err(|e| e.to_string())
        .and_then(|f| PcapReader::new(std::io::BufReader::with_capacity(256 << 10, f)).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            out.note = Some(format!("cannot read {}: {e}", path.display()));
            return out;
        }
    };
    let mut reader = reader;
    let (head, tail_len) = (share.div_ceil(2), share / 2);
    let mut tail = std::collections::VecDeque::with_capacity(tail_len);
    let mut first: Option<Duration> = None;
    while let Some(p) = reader.next_packet() {
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                // A test killed while capturing leaves a last record half written.
                out.note = Some(format!("stopped at packet {}: {e}", out.total + 1));
                break;
            }
        };
        out.total += 1;
        let first = *first.get_or_insert(p.timestamp);
        let at = crate::clock::offset_of_wall(p.timestamp)
            .unwrap_or_else(|| p.timestamp.saturating_sub(first).as_secs_f64());
        if out.packets.len() < head {
            out.packets.push(packet(at, &p.data, p.orig_len, end.mac));
        } else if tail_len > 0 {
            if tail.len() == tail_len {
                tail.pop_front();
            }
            tail.push_back((at, p.data.into_owned(), p.orig_len));
        }
    }
    let shown = out.packets.len() + tail.len();
    if (shown as u64) < out.total {
        out.gap = Some((out.packets.len(), out.total - shown as u64));
    }
    out.packets.extend(tail.into_iter().map(|(at, data, len)| packet(at, &data, len, end.mac)));
    out
}

/// Decodes one Ethernet frame.
fn packet(at: f64, data: &[u8], len: u32, mac: Option<[u8; 6]>) -> Packet {
    let mut p = Packet {
        at,
        out: None,
        src: String::new(),
        dst: String::new(),
        proto: String::new(),
        ports: None,
        info: String::new(),
        len,
    };
    let sliced = match SlicedPacket::from_ethernet(data) {
        Ok(s) => s,
        Err(e) => {
            p.proto = "?".into();
            p.info = format!("not decoded: {e}");
            return p;
        }
    };
    if let Some(LinkSlice::Ethernet2(eth)) = &sliced.link {
        let src = eth.source();
        p.out = mac.map(|m| m == src);
        p.src = hex(&src);
        p.dst = hex(&eth.destination());
        p.proto = format!("ether 0x{:04x}", eth.ether_type().0);
    }
    match &sliced.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            p.src = h.source_addr().to_string();
            p.dst = h.destination_addr().to_string();
            p.proto = format!("IPv4 proto {}", h.protocol().0);
        }
        Some(NetSlice::Ipv6(ip)) => {
            let h = ip.header();
            p.src = h.source_addr().to_string();
            p.dst = h.destination_addr().to_string();
            p.proto = format!("IPv6 next header {}", h.next_header().0);
        }
        Some(NetSlice::Arp(arp)) => {
            p.proto = "ARP".into();
            if let Ok(a) = arp.to_packet().try_eth_ipv4() {
                let (s, t) = (std::net::Ipv4Addr::from(a.sender_ipv4), std::net::Ipv4Addr::from(a.target_ipv4));
                p.info = match a.operation.0 {
                    1 => format!("who has {t}? tell {s}"),
                    2 => format!("{s} is at {}", hex(&a.sender_mac)),
                    op => format!("operation {op}"),
                };
            }
        }
        None => {}
    }
    match &sliced.transport {
        Some(TransportSlice::Tcp(t)) => {
            p.proto = "TCP".into();
            p.ports = Some((t.source_port(), t.destination_port()));
            let flags = [
                (t.syn(), "SYN"),
                (t.fin(), "FIN"),
                (t.rst(), "RST"),
                (t.psh(), "PSH"),
                (t.ack(), "ACK"),
                (t.urg(), "URG"),
            ];
            let set: Vec<&str> = flags.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect();
            p.info = set.join(" ");
            if !t.payload().is_empty() {
                let _ = write!(p.info, " ({} bytes)", t.payload().len());
            }
        }
        Some(TransportSlice::Udp(u)) => {
            p.proto = "UDP".into();
            p.ports = Some((u.source_port(), u.destination_port()));
            p.info = format!("{} bytes", u.payload().len());
        }
        Some(TransportSlice::Icmpv4(i)) => {
            p.proto = "ICMP".into();
            p.info = icmpv4(i.type_u8(), i.code_u8());
            if matches!(i.type_u8(), 0 | 8) && i.slice().len() >= 8 {
                let b = i.slice();
                let _ =
                    write!(p.info, " id {} seq {}", u16::from_be_bytes([b[4], b[5]]), u16::from_be_bytes([b[6], b[7]]));
            }
        }
        Some(TransportSlice::Icmpv6(i)) => {
            p.proto = "ICMPv6".into();
            p.info = icmpv6(i.type_u8(), i.code_u8());
        }
        None => {}
    }
    p
}

fn icmpv4(t: u8, code: u8) -> String {
    match (t, code) {
        (0, _) => "echo reply".into(),
        (8, _) => "echo request".into(),
        (3, 0) => "net unreachable".into(),
        (3, 1) => "host unreachable".into(),
        (3, 3) => "port unreachable".into(),
        (3, 4) => "fragmentation needed".into(),
        (3, 13) => "administratively prohibited".into(),
        (3, c) => format!("destination unreachable (code {c})"),
        (11, _) => "time exceeded".into(),
        (5, _) => "redirect".into(),
        (t, c) => format!("type {t} code {c}"),
    }
}

fn icmpv6(t: u8, code: u8) -> String {
    match (t, code) {
        (1, 4) => "port unreachable".into(),
        (1, c) => format!("destination unreachable (code {c})"),
        (2, _) => "packet too big".into(),
        (3, _) => "time exceeded".into(),
        (128, _) => "echo request".into(),
        (129, _) => "echo reply".into(),
        (133, _) => "router solicitation".into(),
        (134, _) => "router advertisement".into(),
        (135, _) => "neighbour solicitation".into(),
        (136, _) => "neighbour advertisement".into(),
        (143, _) => "multicast listener report".into(),
        (t, c) => format!("type {t} code {c}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

    const A: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const B: [u8; 6] = [2, 0, 0, 0, 0, 2];

    /// An Ethernet + IPv4 frame from a to b carrying `l4` as protocol `proto`.
    fn ipv4(src: [u8; 6], dst: [u8; 6], proto: u8, l4: &[u8]) -> Vec<u8> {
        let mut f = [dst, src].concat();
        f.extend([0x08, 0x00]);
        let total = (20 + l4.len()) as u16;
        f.extend([0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, proto, 0, 0]);
        f.extend(if src == A { [10, 0, 0, 1, 10, 0, 0, 2] } else { [10, 0, 0, 2, 10, 0, 0, 1] });
        f.extend(l4);
        f
    }

    fn write(path: &Path, frames: &[Vec<u8>]) {
        let header = PcapHeader { datalink: pcap_file::DataLink::ETHERNET, ..Default::default() };
        let mut w = PcapWriter::with_header(File::create(path).unwrap(), header).unwrap();
        for (i, f) in frames.iter().enumerate() {
            w.write_packet(&PcapPacket::new(Duration::from_millis(1000 + i as u64), f.len() as u32, f)).unwrap();
        }
    }

    #[test]
    fn pings_tcp_flags_udp_ports_and_directions() {
        let dir = std::env::temp_dir().join(format!("netns-test-packets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let echo = [8, 0, 0, 0, 0, 7, 0, 1, 0xaa, 0xbb];
        let reply = [0, 0, 0, 0, 0, 7, 0, 1, 0xaa, 0xbb];
        let mut syn = vec![0x1f, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
        syn[13] = 0x12; // SYN ACK
        let udp = [0x13, 0x88, 0x00, 0x35, 0, 12, 0, 0, b'p', b'i', b'n', b'g'];
        write(
            &dir.join("a-eth0.pcap"),
            &[ipv4(A, B, 1, &echo), ipv4(B, A, 1, &reply), ipv4(A, B, 6, &syn), ipv4(A, B, 17, &udp)],
        );
        let files = decode(&dir, &[End { file: "a-eth0.pcap".into(), mac: Some(A) }], 100);
        let p = &files[0].packets;
        assert_eq!(files[0].total, 4);
        assert_eq!(
            (p[0].out, p[0].proto.as_str(), p[0].info.as_str()),
            (Some(true), "ICMP", "echo request id 7 seq 1")
        );
        assert_eq!((p[0].src.as_str(), p[0].dst.as_str()), ("10.0.0.1", "10.0.0.2"));
        assert_eq!((p[1].out, p[1].info.as_str()), (Some(false), "echo reply id 7 seq 1"));
        assert_eq!((p[2].proto.as_str(), p[2].ports, p[2].info.as_str()), ("TCP", Some((8000, 80)), "SYN ACK"));
        assert_eq!((p[3].proto.as_str(), p[3].ports, p[3].info.as_str()), ("UDP", Some((5000, 53)), "4 bytes"));
        assert!((p[1].at - p[0].at - 0.001).abs() < 1e-6, "{} {}", p[0].at, p[1].at);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_over_its_share_keeps_its_first_and_last_packets_and_a_missing_one_says_so() {
        let dir = std::env::temp_dir().join(format!("netns-test-packets-share-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let frames: Vec<Vec<u8>> = (0..10u8).map(|i| ipv4(A, B, 1, &[8, 0, 0, 0, 0, 7, 0, i, 0, 0])).collect();
        write(&dir.join("a-eth0.pcap"), &frames);
        let ends = [End { file: "a-eth0.pcap".into(), mac: Some(A) }, End { file: "b-eth0.pcap".into(), mac: None }];
        let files = decode(&dir, &ends, 4);
        let seqs: Vec<&str> = files[0].packets.iter().map(|p| p.info.as_str()).collect();
        assert_eq!(
            seqs,
            [
                "echo request id 7 seq 0",
                "echo request id 7 seq 1",
                "echo request id 7 seq 8",
                "echo request id 7 seq 9"
            ]
        );
        assert_eq!((files[0].total, files[0].gap), (10, Some((2, 6))));
        assert!(files[1].note.as_deref().is_some_and(|n| n.contains("cannot read")), "{:?}", files[1]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
