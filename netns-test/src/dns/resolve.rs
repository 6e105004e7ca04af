//! A name resolved the way node `from` would, over real packets to its DNS server, for
//! `expect a -> www.example.com tcp/80`: without the node's mount namespace a thread would read
//! the host's `/etc/resolv.conf`, so the query is sent from here, to the addresses that node's
//! `/etc/resolv.conf` lists.

use crate::core::Core;
use crate::core::Place;
use hickory_server::proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::{Name, RData, RecordType};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The A and AAAA addresses of `name` as node `from`'s DNS server gives them, within `timeout`.
pub(crate) fn resolve(core: &Core, from: usize, name: &str, timeout: Duration) -> io::Result<Vec<IpAddr>> {
    let servers = core.topology.nameservers(from);
    let ns = core.ns(Place::Node(from));
    let qname = Name::from_ascii(format!("{name}.")).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the node has no DNS server address to ask");
    for server in servers {
        let at = SocketAddr::new(server, 53);
        let any: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().unwrap();
        let sock = ns.run(|| UdpSocket::bind(any)).and_then(|s| s)?;
        sock.connect(at)?;
        let mut out = Vec::new();
        let mut answered = 0;
        for (id, qtype) in [(1u16, RecordType::A), (2, RecordType::AAAA)] {
            let mut m = Message::new(id, MessageType::Query, OpCode::Query);
            m.metadata.recursion_desired = true;
            m.add_query(Query::query(qname.clone(), qtype));
            sock.send(&m.to_vec().map_err(io::Error::other)?)?;
        }
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        while answered < 2 {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                last = io::Error::new(io::ErrorKind::TimedOut, format!("no answer from {at} within {timeout:?}"));
                break;
            }
            sock.set_read_timeout(Some(left))?;
            let n = match sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
                Err(e) => {
                    last = io::Error::new(e.kind(), format!("asking {at}: {e}"));
                    break;
                }
            };
            let Ok(m) = Message::from_vec(&buf[..n]) else { continue };
            answered += 1;
            match m.metadata.response_code {
                ResponseCode::NoError => {}
                code => {
                    last = io::Error::new(io::ErrorKind::NotFound, format!("{at} answered {code}"));
                    continue;
                }
            }
            out.extend(m.answers.iter().filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            }));
        }
        if !out.is_empty() {
            out.sort_by_key(|a| a.is_ipv6());
            return Ok(out);
        }
        if answered == 2 && last.kind() != io::ErrorKind::NotFound {
            last = io::Error::new(io::ErrorKind::NotFound, format!("{at} has no address for it"));
        }
    }
    Err(last)
}
