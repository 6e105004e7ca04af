//! What an address can be: a host's, a gateway's; and how two subnets relate.

use crate::ast::Span;
use crate::error::Error;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};

/// Whether two subnets overlap: the same, or one inside the other (of the same family).
pub(super) fn overlap(a: IpNet, b: IpNet) -> bool {
    let (a, b) = (a.trunc(), b.trunc());
    a.contains(&b) || b.contains(&a)
}

/// The IPv4 address of an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`).
pub(super) fn mapped_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    }
}

/// An error if `ip` is IPv4-mapped: the kernel would not use it as the IPv4 address meant.
pub(super) fn ipv4_mapped(ip: IpAddr, span: &Span) -> Option<Error> {
    let v4 = mapped_v4(ip)?;
    Some(Error::new(span.clone(), format!("`{ip}` is an IPv4-mapped address; write the IPv4 address `{v4}`")))
}

/// Why `ip` can be no host's address, whatever its subnet: unspecified, loopback, multicast or
/// the IPv4 limited broadcast.
pub(super) fn not_unicast(ip: IpAddr) -> Option<&'static str> {
    let why = if ip.is_unspecified() {
        "the unspecified address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
        "the broadcast address"
    } else {
        return None;
    };
    Some(why)
}

/// Why `net`'s address cannot be a host's, with help: not unicast, or the network or broadcast
/// address of its IPv4 subnet (which /31 and /32 do not have).
pub(super) fn not_host(net: IpNet) -> Option<(String, String)> {
    if let Some(why) = not_unicast(net.addr()) {
        return Some((why.to_string(), "use a unicast address, e.g. `10.0.0.1/24` or `fd00::1/64`".to_string()));
    }
    let IpNet::V4(v4) = net else { return None };
    let subnet = v4.trunc();
    let which = if v4.prefix_len() > 30 {
        return None;
    } else if v4.addr() == subnet.network() {
        "network"
    } else if v4.addr() == subnet.broadcast() {
        "broadcast"
    } else {
        return None;
    };
    let first = subnet.hosts().next().unwrap_or(subnet.network());
    Some((
        format!("the {which} address of `{subnet}`"),
        format!("use a host address of the subnet, e.g. `{first}/{}`", v4.prefix_len()),
    ))
}

pub(super) fn fam(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}
