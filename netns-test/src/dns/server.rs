//! The wire side: hickory-server listens (UDP and TCP, port 53 of each address) and calls
//! [`Handler`], which asks [`Shared`] what to answer and encodes it with hickory.

use super::Rcode;
use super::Shared;
use crate::kernel::ns::NetNs;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Edns, Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, SRV, TXT};
use hickory_server::proto::rr::{Name, RData, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use netns_test_topology::RecordData;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The largest UDP answer offered to clients that use EDNS (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;

/// Starts the server thread in `ns`, listening on port 53 of each of `addrs`; returns once it
/// listens (or why it cannot). Dropping the returned sender stops it.
pub(super) fn spawn(
    ns: NetNs,
    addrs: Vec<IpAddr>,
    shared: Arc<Shared>,
) -> io::Result<tokio::sync::oneshot::Sender<()>> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new().name(format!("netns-dns-{}", shared.name)).spawn(move || {
        let fail = |e: io::Error| drop(ready_tx.send(Err(e)));
        if let Err(e) = ns.enter() {
            return fail(io::Error::new(e.kind(), format!("entering the node: {e}")));
        }
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => return fail(e),
        };
        rt.block_on(async {
            let mut server = hickory_server::Server::new(Handler { shared });
            for a in addrs {
                let at = SocketAddr::new(a, 53);
                let bound = std::net::UdpSocket::bind(at).and_then(|u| {
                    u.set_nonblocking(true)?;
                    let t = std::net::TcpListener::bind(at)?;
                    t.set_nonblocking(true)?;
                    Ok((tokio::net::UdpSocket::from_std(u)?, tokio::net::TcpListener::from_std(t)?))
                });
                match bound {
                    Ok((udp, tcp)) => {
                        server.register_socket(udp);
                        server.register_listener(tcp, Duration::from_secs(5), 16);
                    }
                    Err(e) => return fail(io::Error::new(e.kind(), format!("listening on {at}: {e}"))),
                }
            }
            let _ = ready_tx.send(Ok(()));
            let _ = stop_rx.await;
            let _ = server.shutdown_gracefully().await;
        });
    })?;
    ready_rx.recv().map_err(|_| io::Error::other("the server thread ended before it listened"))??;
    Ok(stop_tx)
}

struct Handler {
    shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(&self, request: &Request, mut response: R) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        let Ok(info) = request.request_info() else {
            metadata.response_code = ResponseCode::FormErr;
            let msg = MessageResponseBuilder::from_message_request(request).build_no_records(metadata);
            return response.send_response(msg).await.unwrap_or_else(|_| header(metadata));
        };
        let tcp = info.protocol == Protocol::Tcp;
        let name = info.query.name().to_string();
        let name = name.strip_suffix('.').unwrap_or(&name).to_ascii_lowercase();
        let qtype = info.query.query_type().to_string();
        let d = self.shared.decide(request.src(), tcp, &name, &qtype);
        if d.fail == Some(Rcode::Timeout) {
            return header(metadata);
        }
        if !d.delay.is_zero() {
            tokio::time::sleep(d.delay).await;
        }
        // EDNS answered with EDNS, at most the client's size and ours.
        let edns = request.edns.as_ref().map(|theirs| {
            let mut e = Edns::new();
            e.set_max_payload(theirs.max_payload().clamp(512, EDNS_PAYLOAD));
            e
        });
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(e) = &edns {
            builder.edns(e);
        }
        metadata.response_code = match d.fail {
            Some(Rcode::ServFail) => ResponseCode::ServFail,
            Some(Rcode::Refused) => ResponseCode::Refused,
            Some(Rcode::NxDomain) => ResponseCode::NXDomain,
            _ if d.answer.broken => ResponseCode::ServFail,
            _ if d.answer.nxdomain => ResponseCode::NXDomain,
            _ => ResponseCode::NoError,
        };
        let records: Vec<Record> = if d.fail.is_some() || d.truncate {
            Vec::new()
        } else {
            d.answer.records.iter().filter_map(|(owner, ttl, data)| record(owner, *ttl, data)).collect()
        };
        metadata.truncation = d.truncate;
        let none: &[Record] = &[];
        let msg = builder.build(metadata, &records, none, none, none);
        response.send_response(msg).await.unwrap_or_else(|_| header(metadata))
    }
}

/// What the server reports about a query it sent nothing for (or could not send).
fn header(metadata: Metadata) -> ResponseInfo {
    ResponseInfo::from(Header { metadata, counts: HeaderCounts::default() })
}

/// A record in hickory's form.
fn record(owner: &str, ttl: u32, data: &RecordData) -> Option<Record> {
    let name = |n: &str| Name::from_ascii(format!("{n}.")).ok();
    let rdata = match data {
        RecordData::A(a) => RData::A(A(*a)),
        RecordData::Aaaa(a) => RData::AAAA(AAAA(*a)),
        RecordData::Cname(target) => RData::CNAME(CNAME(name(target)?)),
        RecordData::Srv { priority, weight, port, target } => {
            RData::SRV(SRV::new(*priority, *weight, *port, name(target)?))
        }
        RecordData::Txt(strings) => RData::TXT(TXT::new(strings.clone())),
    };
    Some(Record::from_rdata(name(owner)?, ttl, rdata))
}
