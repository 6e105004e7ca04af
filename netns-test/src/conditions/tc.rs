//! tc qdiscs over netlink, built by hand: netlink-packet-route has typed options only for
//! fq_codel and ingress. `tbf` shapes the rate; `netem` adds delay, jitter, loss, duplication
//! and reordering where the kernel has it.
//!
//! ```ignore
//! let msgs = tc::qdiscs(ifindex, &conditions, mtu, /* netem: */ true);
//! tc::replace(&handle, ifindex, msgs).await?;
//! ```
//!
//! The bytes are the ones `tc` (iproute2 6.1) sends for the same parameters; the unit tests
//! below compare them.

use futures_util::StreamExt;
use netlink_packet_core::{
    DefaultNla, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netns_test_topology::Conditions;
use rtnetlink::Handle;
use std::time::Duration;

const TCA_OPTIONS: u16 = 2;
const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RATE64: u16 = 4;
const TCA_TBF_BURST: u16 = 6;
const TCA_NETEM_REORDER: u16 = 3;
const TC_LINKLAYER_ETHERNET: u8 = 1;
/// netem's packet limit (tc's default is 1000: too few for a fast link with a delay).
pub(crate) const NETEM_LIMIT: u32 = 10_000;
/// The root qdisc's handle, `1:`; a tbf under a netem sits at `1:1` with handle `10:`.
const ROOT_HANDLE: u32 = 0x0001_0000;
const CHILD_PARENT: u32 = 0x0001_0001;
const CHILD_HANDLE: u32 = 0x000a_0000;

/// psched ticks (what `tc` writes in time fields): 64 ns each.
fn ticks(d: Duration) -> u32 {
    (d.as_nanos() >> 6).min(u128::from(u32::MAX)) as u32
}

/// The qdiscs that give `ifindex` the conditions `c` on egress: a netem (when `netem` and `c`
/// needs one) with a tbf under it for the rate, or a tbf alone. Empty when nothing applies.
pub(crate) fn qdiscs(ifindex: u32, c: &Conditions, mtu: u32, netem: bool) -> Vec<TcMessage> {
    let netem = netem && c.needs_netem();
    let mut out = Vec::new();
    if netem {
        out.push(qdisc(ifindex, ROOT_HANDLE, TcHandle::ROOT, "netem", netem_options(c)));
    }
    if let Some(rate) = c.rate {
        let (handle, parent) = if netem { (CHILD_HANDLE, CHILD_PARENT.into()) } else { (ROOT_HANDLE, TcHandle::ROOT) };
        out.push(qdisc(ifindex, handle, parent, "tbf", tbf_options(rate.bytes_per_sec(), mtu)));
    }
    out
}

fn qdisc(ifindex: u32, handle: u32, parent: TcHandle, kind: &str, options: Vec<u8>) -> TcMessage {
    let mut m = TcMessage::with_index(ifindex as i32);
    m.header.handle = handle.into();
    m.header.parent = parent;
    m.attributes.push(TcAttribute::Kind(kind.to_string()));
    // Raw: netem's options start with a struct, followed by attributes.
    m.attributes.push(TcAttribute::Other(DefaultNla::new(TCA_OPTIONS, options)));
    m
}

/// `struct tc_netem_qopt` and, for reordering, `TCA_NETEM_REORDER`.
fn netem_options(c: &Conditions) -> Vec<u8> {
    let gap = u32::from(!c.reorder.is_zero());
    let mut o = Vec::with_capacity(36);
    for v in [ticks(c.delay), NETEM_LIMIT, c.loss.as_u32_scale(), gap, c.duplicate.as_u32_scale(), ticks(c.jitter)] {
        o.extend_from_slice(&v.to_ne_bytes());
    }
    if gap != 0 {
        nla(&mut o, TCA_NETEM_REORDER, &[c.reorder.as_u32_scale().to_ne_bytes(), 0u32.to_ne_bytes()].concat());
    }
    o
}

/// The burst (bytes at line speed) and queue limit of a tbf at `rate` bytes/s on a link of
/// `mtu`: a burst of 10 ms of traffic but at least two frames, and 50 ms of queue beyond it.
/// A small burst keeps a TCP transfer over a few seconds within a few percent of the rate; the
/// queue is deep enough for TCP to keep the link busy.
pub(crate) fn tbf_sizes(rate: u64, mtu: u32) -> (u32, u32) {
    let burst = (rate / 100).max(2 * (u64::from(mtu) + 14)).min(u64::from(u32::MAX / 2));
    let limit = (burst + rate / 20).min(u64::from(u32::MAX));
    (burst as u32, limit as u32)
}

/// `TCA_TBF_PARMS` (`struct tc_tbf_qopt`), `TCA_TBF_RATE64` when the rate needs it, and
/// `TCA_TBF_BURST`.
fn tbf_options(rate: u64, mtu: u32) -> Vec<u8> {
    let (burst, limit) = tbf_sizes(rate, mtu);
    let buffer = ticks(Duration::from_nanos((u128::from(burst) * 1_000_000_000 / u128::from(rate)) as u64));
    let mut qopt = Vec::with_capacity(36);
    // struct tc_ratespec rate: cell_log, linklayer, overhead, cell_align, mpu, rate. With the
    // link layer set the kernel needs no rate table.
    qopt.extend_from_slice(&[0, TC_LINKLAYER_ETHERNET]);
    qopt.extend_from_slice(&0u16.to_ne_bytes());
    qopt.extend_from_slice(&(-1i16).to_ne_bytes());
    qopt.extend_from_slice(&0u16.to_ne_bytes());
    qopt.extend_from_slice(&(rate.min(u64::from(u32::MAX)) as u32).to_ne_bytes());
    qopt.extend_from_slice(&[0; 12]); // peakrate: none
    for v in [limit, buffer, 0 /* mtu: no peak rate */] {
        qopt.extend_from_slice(&v.to_ne_bytes());
    }
    let mut o = Vec::new();
    nla(&mut o, TCA_TBF_PARMS, &qopt);
    if rate > u64::from(u32::MAX) {
        nla(&mut o, TCA_TBF_RATE64, &rate.to_ne_bytes());
    }
    nla(&mut o, TCA_TBF_BURST, &burst.to_ne_bytes());
    o
}

/// Appends one netlink attribute, padded to 4 bytes.
fn nla(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// Sends `msg` as `RTM_NEWQDISC` (create, fail if one is there) and waits for the answer.
pub(crate) async fn add(h: &Handle, msg: TcMessage) -> Result<(), rtnetlink::Error> {
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewQueueDiscipline(msg));
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    ack(h, req).await
}

/// Removes the root qdisc of `ifindex` (with whatever is under it); no qdisc is not an error.
pub(crate) async fn del_root(h: &Handle, ifindex: u32) -> Result<(), rtnetlink::Error> {
    let mut m = TcMessage::with_index(ifindex as i32);
    m.header.parent = TcHandle::ROOT;
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::DelQueueDiscipline(m));
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    match ack(h, req).await {
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENOENT => Ok(()),
        r => r,
    }
}

/// Replaces the root qdisc of `ifindex` with `msgs` (see [`qdiscs`]).
pub(crate) async fn replace(h: &Handle, ifindex: u32, msgs: Vec<TcMessage>) -> Result<(), rtnetlink::Error> {
    del_root(h, ifindex).await?;
    for m in msgs {
        add(h, m).await?;
    }
    Ok(())
}

async fn ack(h: &Handle, req: NetlinkMessage<RouteNetlinkMessage>) -> Result<(), rtnetlink::Error> {
    let mut h = h.clone();
    let mut resp = h.request(req)?;
    while let Some(msg) = resp.next().await {
        if let NetlinkPayload::Error(e) = msg.payload {
            if e.code.is_some() {
                return Err(rtnetlink::Error::NetlinkError(e));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    fn set(pairs: &[(&str, &str)]) -> Conditions {
        let mut text = String::new();
        for (k, v) in pairs {
            text.push_str(&format!("{k}={v}, "));
        }
        netns_test_topology::parse_link_options(text.trim_end_matches(", ")).unwrap().conditions
    }

    fn options(m: &TcMessage) -> Vec<u8> {
        let mut buf = vec![0; m.buffer_len()];
        m.emit(&mut buf);
        // header (20 bytes), then TCA_KIND, then TCA_OPTIONS: skip to the latter's value.
        let kind_len = u16::from_ne_bytes([buf[20], buf[21]]) as usize;
        let at = 20 + kind_len.next_multiple_of(4);
        buf[at + 4..].to_vec()
    }

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    /// `tc qdisc add dev lo root handle 1: netem limit 10000 delay 20ms 5ms reorder 5% loss 1%
    /// duplicate 2%`, captured with strace.
    #[test]
    fn netem_bytes_are_those_tc_sends() {
        let c = set(&[("delay", "20ms"), ("jitter", "5ms"), ("reorder", "5%"), ("loss", "1%"), ("duplicate", "2%")]);
        let msgs = qdiscs(1, &c, 1500, true);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].header.handle, TcHandle::from(0x0001_0000));
        assert_eq!(msgs[0].header.parent, TcHandle::ROOT);
        let tc = hex("b4 c4 04 00 10 27 00 00 29 5c 8f 02 01 00 00 00 52 b8 1e 05 2d 31 01 00 \
             0c 00 03 00 cd cc cc 0c 00 00 00 00");
        assert_eq!(options(&msgs[0]), tc);
    }

    /// `tc qdisc add dev lo root handle 1: tbf rate 10mbit burst 20000 limit 80000` (without the
    /// rate table, which the kernel does not need once the link layer is set).
    #[test]
    fn tbf_bytes_match_tc() {
        let (burst, limit) = (20_000u32, 80_000u32);
        let rate = 1_250_000u64;
        let mut o = tbf_options(rate, 1500);
        // Same layout with tc's burst and limit.
        o[28..32].copy_from_slice(&limit.to_ne_bytes());
        o[44..48].copy_from_slice(&burst.to_ne_bytes());
        o[32..36].copy_from_slice(&250_000u32.to_ne_bytes());
        let tc = hex("28 00 01 00 00 01 00 00 ff ff 00 00 d0 12 13 00 00 00 00 00 00 00 00 00 00 00 00 00 \
             80 38 01 00 90 d0 03 00 00 00 00 00 08 00 06 00 20 4e 00 00");
        assert_eq!(o, tc, "(tc sends cell_log 3 for its rate table: irrelevant without one)");
    }

    #[test]
    fn tbf_sits_under_netem_and_alone_at_the_root() {
        let c = set(&[("rate", "10mbit"), ("delay", "5ms")]);
        let both = qdiscs(7, &c, 1500, true);
        assert_eq!(both.len(), 2);
        assert_eq!(both[1].header.parent, TcHandle::from(CHILD_PARENT));
        let userspace = qdiscs(7, &c, 1500, false);
        assert_eq!(userspace.len(), 1);
        assert_eq!(userspace[0].header.parent, TcHandle::ROOT);
        assert!(qdiscs(7, &set(&[("loss", "1%")]), 1500, false).is_empty());
        // 40 Gbit/s needs the 64-bit rate.
        assert_eq!(tbf_options(5_000_000_000, 1500).len(), 40 + 12 + 8);
    }

    #[test]
    fn tbf_burst_holds_two_frames_and_ten_ms() {
        assert_eq!(tbf_sizes(1_250_000, 1500), (12_500, 12_500 + 62_500));
        assert_eq!(tbf_sizes(1_000, 1500).0, 3028);
        assert_eq!(tbf_sizes(1_000, 9000).0, 18_028);
    }
}
