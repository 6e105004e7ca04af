//! What the kernel says about a namespace's IPv6 addresses, from `/proc/thread-self/net`: used to
//! wait until they are usable and to find an interface's link-local address.

use std::io;
use std::net::Ipv6Addr;

/// `IFA_F_TENTATIVE`: duplicate address detection has not finished.
const TENTATIVE: u32 = 0x40;

/// One line of `/proc/net/if_inet6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    pub(crate) addr: Ipv6Addr,
    pub(crate) scope_link: bool,
    pub(crate) tentative: bool,
    pub(crate) dev: String,
}

/// The calling thread's namespace's IPv6 addresses (none if the kernel runs without IPv6).
pub(crate) fn addresses() -> io::Result<Vec<Address>> {
    match std::fs::read_to_string("/proc/thread-self/net/if_inet6") {
        Ok(table) => Ok(parse_if_inet6(&table)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// What of `want` is not usable yet in the calling thread's namespace. An address is usable once
/// it exists and is not tentative (duplicate address detection). That also means its device has
/// joined the address's solicited-node group, without which neighbour solicitations for it are
/// dropped: the kernel joins the group first, then clears the tentative flag
/// (`addrconf_dad_begin`, with or without duplicate address detection). This holds for every
/// address netns-test adds, which is why none is added with `IFA_F_NODAD`: such an address is
/// never tentative and joins its group later, from a workqueue. So `/proc/net/igmp6` need not
/// be read. Without IPv6 in the kernel there is nothing to wait for.
pub(crate) fn unsettled(mut want: Vec<(String, Ipv6Addr)>) -> io::Result<Vec<(String, Ipv6Addr)>> {
    let addrs = match std::fs::read_to_string("/proc/thread-self/net/if_inet6") {
        Ok(table) => parse_if_inet6(&table),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    want.retain(|(dev, ip)| !addrs.iter().any(|a| a.addr == *ip && a.dev == *dev && !a.tentative));
    Ok(want)
}

fn parse_if_inet6(table: &str) -> Vec<Address> {
    table
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [hex, _index, _plen, scope, flags, dev] = f[..] else { return None };
            let addr = u128::from_str_radix(hex, 16).ok().map(Ipv6Addr::from)?;
            let scope = u32::from_str_radix(scope, 16).ok()?;
            let flags = u32::from_str_radix(flags, 16).ok()?;
            Some(Address { addr, scope_link: scope == 0x20, tentative: flags & TENTATIVE != 0, dev: dev.to_string() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_inet6_lines_are_parsed_with_scope_and_tentative_flag() {
        let t = "fe80000000000000a8bbccfffedd0001 02 40 20 c0     eth0\n\
                 fd000000000000000000000000000001 02 40 00 80     eth0\n";
        let a = parse_if_inet6(t);
        assert_eq!(a[0].addr, "fe80::a8bb:ccff:fedd:1".parse::<Ipv6Addr>().unwrap());
        assert!(a[0].scope_link && a[0].tentative && a[0].dev == "eth0");
        assert!(!a[1].scope_link && !a[1].tentative);
    }
}
