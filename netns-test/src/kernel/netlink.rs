//! Netlink at run time: one handle per namespace on a short-lived thread ([`netlink`]), and
//! the small requests the features share (look up a link, bring it up, add addresses and
//! routes, read the routes in place).
//!
//! ```ignore
//! let index = netlink(&[&ns], |h| async move { Ok(link_by_name(&h[0], "eth0").await?.header.index) })?;
//! ```

use crate::error::{Error, Result};
use crate::kernel::ns::NetNs;
use futures_util::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{RouteHeader, RouteMessage};
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A route as the framework keeps it: `dest` (`None`: default) via `via`.
pub(crate) type RouteSpec = (Option<IpNet>, IpAddr);

/// Runs `f` with one netlink handle per namespace of `nss`, on a short-lived thread with its
/// own runtime: callers may be inside a tokio runtime already, or in any namespace.
pub(crate) fn netlink<R, Fut>(nss: &[&NetNs], f: impl FnOnce(Vec<Handle>) -> Fut + Send) -> Result<R>
where
    R: Send,
    Fut: Future<Output = Result<R>>,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(Error::io("starting a netlink runtime"))?;
            let _enter = rt.enter();
            let mut handles = Vec::with_capacity(nss.len());
            for ns in nss {
                ns.enter().map_err(Error::io("entering a namespace"))?;
                // The socket stays in the namespace it was made in.
                let (conn, h, _) = rtnetlink::new_connection().map_err(Error::io("opening a netlink socket"))?;
                tokio::spawn(conn);
                handles.push(h);
            }
            rt.block_on(f(handles))
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// The link called `name` in `h`'s namespace.
pub(crate) async fn link_by_name(h: &Handle, name: &str) -> Result<LinkMessage> {
    let mut links = h.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(Error::Runtime(format!("no interface `{name}`"))),
        Err(e) => Err(Error::netlink(format!("looking up interface `{name}`"))(e)),
    }
}

/// IPv6's minimum link MTU (RFC 8200). The kernel gives a link below it no IPv6 at all: no
/// `net/ipv6/conf/<link>`, no link-local address, no IPv6 address, and makes it all afresh
/// (from `conf/default`) when the MTU rises to it again.
pub(crate) const IPV6_MIN_MTU: u32 = 1280;

/// The MTU of a link as the kernel has it.
pub(crate) fn link_mtu(m: &LinkMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Mtu(m) => Some(*m),
        _ => None,
    })
}

/// No duplicate detection for the link-local address the kernel makes when `name` comes up
/// (1–2 s during which neighbour discovery through it stalls); written in its namespace.
/// Nothing to do for a link whose MTU is below [`IPV6_MIN_MTU`]: it has no IPv6 to detect
/// duplicates on, nor the sysctl (and if its MTU rises later, its new conf comes from
/// `conf/default`, 0 in every node); nor on a kernel without IPv6. Any other failure is an
/// error.
pub(crate) fn no_dad(ns: &NetNs, name: &str, mtu: u32) -> Result<()> {
    if mtu < IPV6_MIN_MTU {
        return Ok(());
    }
    ns.run(|| crate::kernel::ns::NetSysctls::here()?.ipv6(&format!("conf/{name}/accept_dad"), "0"))
        .and_then(|r| r)
        .map_err(Error::io(format!("turning off duplicate address detection on {name} (mtu {mtu})")))
}

pub(crate) async fn set_up(h: &Handle, index: u32, up: bool, what: &str) -> Result<()> {
    let msg = if up { LinkUnspec::new_with_index(index).up() } else { LinkUnspec::new_with_index(index).down() };
    let verb = if up { "bringing up" } else { "taking down" };
    h.link().set(msg.build()).execute().await.map_err(Error::netlink(format!("{verb} {what}")))
}

pub(crate) fn exists(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -libc::EEXIST)
}

/// Adds `addrs` to `index`; those already there are fine. IPv6 ones without `IFA_F_NODAD`, as at
/// build time (see `builder::requests::address`): duplicate detection is off, and "not
/// tentative" then means the solicited-node group is joined.
pub(crate) async fn add_addrs(h: &Handle, index: u32, addrs: &[IpNet], what: &str) -> Result<()> {
    for a in addrs {
        let req = h.address().add(index, a.addr(), a.prefix_len());
        match req.execute().await {
            Err(e) if !exists(&e) => return Err(Error::netlink(format!("adding {a} to {what}"))(e)),
            _ => {}
        }
    }
    Ok(())
}

/// The route to `dest` (`None`: default) via `via`, as added and deleted.
pub(crate) fn route_message(dest: Option<IpNet>, via: IpAddr) -> netlink_packet_route::route::RouteMessage {
    match (via, dest) {
        (IpAddr::V4(via), dest) => {
            let b = RouteMessageBuilder::<Ipv4Addr>::new().gateway(via);
            match dest {
                Some(IpNet::V4(d)) => b.destination_prefix(d.addr(), d.prefix_len()),
                _ => b,
            }
            .build()
        }
        (IpAddr::V6(via), dest) => {
            let b = RouteMessageBuilder::<Ipv6Addr>::new().gateway(via);
            match dest {
                Some(IpNet::V6(d)) => b.destination_prefix(d.addr(), d.prefix_len()),
                _ => b,
            }
            .build()
        }
    }
}

/// `10.2.0.0/24 via 10.1.0.1`, `default via fd00::1`.
pub(crate) fn show_route((dest, via): RouteSpec) -> String {
    format!("{} via {via}", dest.map_or_else(|| "default".to_string(), |d| d.to_string()))
}

/// A route of a node's main table as the kernel has it: a route that is *in place*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelRoute {
    pub v4: bool,
    /// `None`: default.
    pub dest: Option<IpNet>,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    /// The message as dumped, for putting it back.
    pub msg: RouteMessage,
}

impl KernelRoute {
    /// Whether it goes where `r` goes: same family, same destination.
    pub(crate) fn same_dest(&self, r: RouteSpec) -> bool {
        self.v4 == r.1.is_ipv4() && self.dest == r.0.filter(|d| d.prefix_len() > 0)
    }

    /// Whether it is `r`.
    pub(crate) fn is(&self, r: RouteSpec) -> bool {
        self.same_dest(r) && self.via == Some(r.1)
    }

    /// A dumped route of the main table (`None`: another table, or not IPv4 or IPv6).
    pub(crate) fn from_message(msg: RouteMessage) -> Option<KernelRoute> {
        use netlink_packet_route::route::{RouteAddress, RouteAttribute};
        use netlink_packet_route::AddressFamily;
        let ip = |a: &RouteAddress| match a {
            RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
            RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
            _ => None,
        };
        let v4 = match msg.header.address_family {
            AddressFamily::Inet => true,
            AddressFamily::Inet6 => false,
            _ => return None,
        };
        let (mut table, mut dest, mut via, mut oif) = (u32::from(msg.header.table), None, None, None);
        for a in &msg.attributes {
            match a {
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Destination(d) => dest = ip(d),
                RouteAttribute::Gateway(g) => via = ip(g),
                RouteAttribute::Oif(i) => oif = Some(*i),
                _ => {}
            }
        }
        if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
            return None;
        }
        let dest = match dest {
            Some(d) if msg.header.destination_prefix_length > 0 => {
                Some(IpNet::new(d, msg.header.destination_prefix_length).ok()?)
            }
            _ => None,
        };
        Some(KernelRoute { v4, dest, via, oif, msg })
    }

    /// `10.2.0.0/24 via 10.1.0.1`, `default via fd00::1`, `10.2.0.0/24 (no gateway)`.
    pub(crate) fn show(&self) -> String {
        let dest = self.dest.map_or_else(|| "default".to_string(), |d| d.to_string());
        match self.via {
            Some(via) => format!("{dest} via {via}"),
            None => format!("{dest} (no gateway)"),
        }
    }
}

/// The routes of the main table of `h`'s namespace, both families.
pub(crate) async fn kernel_routes(h: &Handle) -> Result<Vec<KernelRoute>> {
    let dump = h.route().get(RouteMessage::default()).execute();
    let msgs: Vec<RouteMessage> = dump.try_collect().await.map_err(Error::netlink("reading the routes"))?;
    Ok(msgs.into_iter().filter_map(KernelRoute::from_message).collect())
}
