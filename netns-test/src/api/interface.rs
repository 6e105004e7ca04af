//! [`Interface`]: an interface of a node or of the bridges' namespace.

use crate::kernel::view::NsView;
use ipnet::IpNet;
use std::io;
use std::net::Ipv6Addr;

/// An interface of a node or of the bridges' namespace: what the topology declared, and what the
/// kernel chose (index, MAC address, link-local address), read inside its namespace.
///
/// ```no_run
/// # fn f(net: &netns_test::Net) {
/// let eth0 = net.node("b").interface("eth0").unwrap();
/// let scope = eth0.index();
/// let peer = std::net::SocketAddrV6::new(eth0.link_local().unwrap(), 7000, 0, scope);
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct Interface<'a> {
    /// The kernel's name for it.
    pub name: &'a str,
    /// The addresses the topology declared, with prefix lengths.
    pub addrs: &'a [IpNet],
    pub(crate) model: Option<&'a netns_test_topology::Interface>,
    pub(crate) view: &'a NsView,
}

impl<'a> Interface<'a> {
    /// What the topology says of this node interface (peer, MTU); `None` for a bridge or port.
    pub fn model(&self) -> Option<&'a netns_test_topology::Interface> {
        self.model
    }

    /// The interface index (the scope id of its link-local addresses).
    ///
    /// # Panics
    /// If the interface is gone (the test deleted it).
    pub fn index(&self) -> u32 {
        let name = std::ffi::CString::new(self.name).expect("interface names have no NUL");
        // SAFETY: a valid C string.
        match self.view.run(|| unsafe { libc::if_nametoindex(name.as_ptr()) }) {
            0 => panic!("netns-test: interface `{}` not found: {}", self.name, io::Error::last_os_error()),
            index => index,
        }
    }

    /// The MAC address the kernel gave it.
    ///
    /// # Panics
    /// If the interface is gone (the test deleted it).
    pub fn mac(&self) -> [u8; 6] {
        let path = format!("/sys/class/net/{}/address", self.name);
        let text = self.view.run(|| std::fs::read_to_string(&path));
        let text = text.unwrap_or_else(|e| panic!("netns-test: reading {path}: {e}"));
        let bytes: Vec<u8> = text.trim().split(':').filter_map(|b| u8::from_str_radix(b, 16).ok()).collect();
        bytes.try_into().unwrap_or_else(|_| panic!("netns-test: {path} holds no MAC address: {text:?}"))
    }

    /// The kernel's `fe80::` address on it, usable at once (the topology is built with duplicate
    /// address detection off and waits for its multicast groups). `None` if it has none (IPv6
    /// disabled, or a bridge that is down).
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        let addrs = self.view.run(crate::kernel::ipv6::addresses).unwrap_or_default();
        addrs.into_iter().find(|a| a.scope_link && a.dev == self.name).map(|a| a.addr)
    }
}

impl std::fmt::Debug for Interface<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interface").field("name", &self.name).field("addrs", &self.addrs).finish()
    }
}
