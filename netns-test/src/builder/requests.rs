//! Netlink requests built as plain values, without a kernel: the "builder" half of an
//! rtnetlink-style builder/execute split (`super::execute` is the other half).
//!
//! ```ignore
//! let req = requests::link_up(1, "a:lo");
//! assert_eq!(req.flags, requests::CREATE);
//! execute(&handle, req).await?;
//! ```

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::{AddressMessageBuilder, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::RawFd;

/// The header flags of every request here, as rtnetlink sets them for `add` and `set`: create,
/// fail if it exists, acknowledge.
pub(crate) const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

/// One request: the message, its header flags, and what it does in words (for errors).
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) message: RouteNetlinkMessage,
    pub(crate) flags: u16,
    pub(crate) what: String,
    /// The link type the request creates, when the kernel may lack it: its name and kernel
    /// option (`("veth", "VETH")`), for an error that names the fix.
    pub(crate) link_kind: Option<(&'static str, &'static str)>,
}

impl Request {
    fn new(message: RouteNetlinkMessage, what: String) -> Request {
        Request { message, flags: CREATE, what, link_kind: None }
    }
}

/// A bridge with a chosen index, up (even without addresses: a capture on it needs it up).
pub(crate) fn bridge(name: &str, index: u32, mtu: Option<u32>) -> Request {
    let mut b = LinkBridge::new(name).index(index).up();
    if let Some(mtu) = mtu {
        b = b.mtu(mtu);
    }
    Request {
        link_kind: Some(("bridge", "BRIDGE")),
        ..Request::new(RouteNetlinkMessage::NewLink(b.build()), format!("creating bridge {name}"))
    }
}

/// A veth end created inside a node's namespace (held by `ns`), brought up later from inside.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeEnd<'a> {
    pub(crate) name: &'a str,
    pub(crate) index: u32,
    pub(crate) ns: RawFd,
}

/// The first end of a veth pair: in a node too, or a bridge port in the requesting namespace.
#[derive(Debug, Clone, Copy)]
pub(crate) enum End<'a> {
    Node(NodeEnd<'a>),
    /// Enslaved to the bridge with index `bridge` and up at once (no one else will bring it up).
    BridgePort {
        name: &'a str,
        index: u32,
        bridge: u32,
    },
}

/// A veth pair created with both ends already where they belong (no link is ever moved: a move
/// costs 12–37 ms and flushes addresses). The peer cannot be brought up in the same request
/// (the kernel answers ENOTCONN).
pub(crate) fn veth(end: End, peer: NodeEnd, mtu: Option<u32>, what: String) -> Request {
    let mut p = LinkUnspec::new_with_name(peer.name).index(peer.index).setns_by_fd(peer.ns);
    let e = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth);
    let mut e = match end {
        End::Node(n) => e.name(n.name.to_string()).index(n.index).setns_by_fd(n.ns),
        End::BridgePort { name, index, bridge } => e.name(name.to_string()).index(index).controller(bridge).up(),
    };
    if let Some(mtu) = mtu {
        p = p.mtu(mtu);
        e = e.mtu(mtu);
    }
    let msg = e.set_info_data(InfoData::Veth(InfoVeth::Peer(p.build()))).build();
    Request { link_kind: Some(("veth", "VETH")), ..Request::new(RouteNetlinkMessage::NewLink(msg), what) }
}

/// Sets a link administratively up; `what` names it (`a:eth0`).
pub(crate) fn link_up(index: u32, what: &str) -> Request {
    let msg = LinkUnspec::new_with_index(index).up().build();
    Request::new(RouteNetlinkMessage::SetLink(msg), format!("bringing up {what}"))
}

/// An address on a link. IPv6 ones carry no `IFA_F_NODAD`: duplicate address detection is off
/// in every namespace (`accept_dad` 0), so the kernel marks the address tentative only until it
/// has joined its solicited-node group, which the readiness wait relies on. (With `NODAD` the
/// address is never tentative and the group is joined later, from a workqueue.)
pub(crate) fn address(index: u32, addr: IpAddr, prefix: u8, what: &str) -> Request {
    let msg = match addr {
        IpAddr::V4(a) => AddressMessageBuilder::<Ipv4Addr>::new().index(index).address(a, prefix).build(),
        IpAddr::V6(a) => AddressMessageBuilder::<Ipv6Addr>::new().index(index).address(a, prefix).build(),
    };
    Request::new(RouteNetlinkMessage::NewAddress(msg), format!("adding {addr}/{prefix} to {what}"))
}

/// A route through a gateway, to `dest` or (without one) the default route, in node `node`.
pub(crate) fn route(dest: Option<IpNet>, via: IpAddr, node: &str) -> Request {
    let msg = crate::kernel::netlink::route_message(dest, via);
    let dest = dest.map_or("default".to_string(), |d| d.to_string());
    Request::new(RouteNetlinkMessage::NewRoute(msg), format!("adding route {dest} via {via} in node `{node}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::address::{AddressAttribute, AddressMessage};
    use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
    use netlink_packet_route::route::{RouteAddress, RouteAttribute};

    fn link(req: &Request) -> &LinkMessage {
        match &req.message {
            RouteNetlinkMessage::NewLink(m) | RouteNetlinkMessage::SetLink(m) => m,
            other => panic!("not a link message: {other:?}"),
        }
    }

    fn name(m: &LinkMessage) -> Option<&str> {
        m.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.as_str()),
            _ => None,
        })
    }

    fn has(m: &LinkMessage, want: &LinkAttribute) -> bool {
        m.attributes.contains(want)
    }

    /// The peer message nested in a veth request.
    fn peer(m: &LinkMessage) -> &LinkMessage {
        let info = m.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(i) => Some(i),
            _ => None,
        });
        assert!(info.unwrap().contains(&LinkInfo::Kind(InfoKind::Veth)), "{info:?}");
        info.unwrap()
            .iter()
            .find_map(|i| match i {
                LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))) => Some(p),
                _ => None,
            })
            .expect("a veth peer")
    }

    fn addr(req: &Request) -> &AddressMessage {
        match &req.message {
            RouteNetlinkMessage::NewAddress(m) => m,
            other => panic!("not an address message: {other:?}"),
        }
    }

    #[test]
    fn every_request_creates_exclusively_and_asks_for_an_ack() {
        for r in [
            bridge("br0", 2, None),
            link_up(1, "a:lo"),
            address(3, "10.0.0.1".parse().unwrap(), 24, "a:eth0"),
            route(None, "10.0.0.254".parse().unwrap(), "a"),
        ] {
            assert_eq!(r.flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, "{}", r.what);
        }
    }

    #[test]
    fn a_veth_between_two_nodes_puts_each_end_in_its_namespace_and_neither_up() {
        let a = NodeEnd { name: "eth0", index: 5, ns: 10 };
        let b = NodeEnd { name: "eth1", index: 6, ns: 11 };
        let req = veth(End::Node(a), b, Some(1400), "creating veth a:eth0 -- b:eth1".into());
        assert_eq!(req.link_kind, Some(("veth", "VETH")));
        let (end, peer) = (link(&req), peer(link(&req)));
        assert_eq!((name(end), end.header.index), (Some("eth0"), 5));
        assert_eq!((name(peer), peer.header.index), (Some("eth1"), 6));
        assert!(has(end, &LinkAttribute::NetNsFd(10)) && has(peer, &LinkAttribute::NetNsFd(11)));
        assert!(has(end, &LinkAttribute::Mtu(1400)) && has(peer, &LinkAttribute::Mtu(1400)));
        assert!(!end.header.flags.contains(LinkFlags::Up) && !peer.header.flags.contains(LinkFlags::Up));
        assert!(!end.attributes.iter().any(|a| matches!(a, LinkAttribute::Controller(_))));
    }

    #[test]
    fn a_bridge_port_stays_here_enslaved_and_up_and_its_peer_goes_to_the_node() {
        let port = End::BridgePort { name: "br0-p0", index: 3, bridge: 2 };
        let node = NodeEnd { name: "eth0", index: 7, ns: 12 };
        let req = veth(port, node, None, "creating veth a:eth0 on bridge br0".into());
        let (end, peer) = (link(&req), peer(link(&req)));
        assert!(has(end, &LinkAttribute::Controller(2)));
        assert!(end.header.flags.contains(LinkFlags::Up) && end.header.change_mask.contains(LinkFlags::Up));
        assert!(!end.attributes.iter().any(|a| matches!(a, LinkAttribute::NetNsFd(_) | LinkAttribute::Mtu(_))));
        assert!(has(peer, &LinkAttribute::NetNsFd(12)) && !peer.header.flags.contains(LinkFlags::Up));
        assert_eq!(name(peer), Some("eth0"));
    }

    #[test]
    fn a_bridge_has_its_index_mtu_and_kind() {
        let req = bridge("br0", 2, Some(9000));
        let m = link(&req);
        assert_eq!((name(m), m.header.index), (Some("br0"), 2));
        assert!(has(m, &LinkAttribute::Mtu(9000)) && m.header.flags.contains(LinkFlags::Up));
        assert!(has(m, &LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)])));
        assert_eq!(req.link_kind, Some(("bridge", "BRIDGE")));
        assert_eq!(req.what, "creating bridge br0");
    }

    #[test]
    fn link_up_sets_only_the_up_flag() {
        let req = link_up(1, "a:lo");
        assert!(matches!(req.message, RouteNetlinkMessage::SetLink(_)));
        let m = link(&req);
        assert_eq!(m.header.index, 1);
        assert_eq!((m.header.flags, m.header.change_mask), (LinkFlags::Up, LinkFlags::Up));
        assert_eq!(req.what, "bringing up a:lo");
    }

    #[test]
    fn addresses_carry_no_flags_ipv6_ones_no_nodad() {
        let v6 = address(4, "fd00::1".parse().unwrap(), 64, "a:eth0");
        let m = addr(&v6);
        assert_eq!((m.header.index, m.header.prefix_len), (4, 64));
        assert!(!m.attributes.iter().any(|a| matches!(a, AddressAttribute::Flags(_))), "no IFA_F_NODAD: see `address`");
        assert!(m.attributes.contains(&AddressAttribute::Address("fd00::1".parse().unwrap())));
        assert_eq!(v6.what, "adding fd00::1/64 to a:eth0");
        let v4 = address(4, "10.0.0.1".parse().unwrap(), 24, "a:eth0");
        assert!(!addr(&v4).attributes.iter().any(|a| matches!(a, AddressAttribute::Flags(_))));
        assert!(addr(&v4).attributes.contains(&AddressAttribute::Local("10.0.0.1".parse().unwrap())));
    }

    #[test]
    fn routes_have_their_gateway_and_destination_or_are_default() {
        let req = route(Some("10.1.0.0/16".parse().unwrap()), "10.0.0.254".parse().unwrap(), "a");
        let RouteNetlinkMessage::NewRoute(m) = &req.message else { panic!("{req:?}") };
        assert_eq!(m.header.destination_prefix_length, 16);
        assert!(m.attributes.contains(&RouteAttribute::Gateway(RouteAddress::Inet("10.0.0.254".parse().unwrap()))));
        assert!(m.attributes.contains(&RouteAttribute::Destination(RouteAddress::Inet("10.1.0.0".parse().unwrap()))));
        assert_eq!(req.what, "adding route 10.1.0.0/16 via 10.0.0.254 in node `a`");
        let default = route(None, "fd00::fe".parse().unwrap(), "b");
        let RouteNetlinkMessage::NewRoute(m) = &default.message else { panic!() };
        assert_eq!(m.header.destination_prefix_length, 0);
        assert!(!m.attributes.iter().any(|a| matches!(a, RouteAttribute::Destination(_))));
        assert_eq!(default.what, "adding route default via fd00::fe in node `b`");
    }
}
