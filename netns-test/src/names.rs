//! Node names through the ordinary resolver. Without a DNS node: a generated `/etc/hosts` (the
//! host's, plus every node and `NODE.IFNAME`) and an `/etc/gai.conf` that puts IPv4 first,
//! mounted over the host's files in every node's view.
//!
//! ```text
//! 10.0.0.2    b        # every declared address of node b, IPv4 first
//! fd00::2     b
//! 10.0.0.2    b.eth0   # the addresses of b's interface eth0
//! ```
//!
//! With a DNS node (`d [dns]`) the names come from it, over real packets: `/etc/hosts` is the
//! host's alone, `/etc/nsswitch.conf` says `hosts: files dns` (no mDNS, no systemd-resolved,
//! which would ask the host's network), and each node gets its own `/etc/resolv.conf`:
//!
//! ```text
//! nameserver 10.0.0.53          # its DNS node's addresses, on-link ones first (at most 3)
//! options timeout:1 attempts:2
//! ```

use netns_test_topology::Topology;
use std::ffi::CStr;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const HOSTS: &CStr = c"/etc/hosts";
const GAI_CONF: &CStr = c"/etc/gai.conf";
const NSSWITCH: &CStr = c"/etc/nsswitch.conf";
const RESOLV_CONF: &CStr = c"/etc/resolv.conf";

/// The generated files, mounted by each view.
pub(crate) struct Files {
    hosts: String,
    /// `None` when the host has no `/etc/gai.conf` to mount over (then glibc's RFC 6724 order),
    /// or when the topology declares no IPv6 address (no name has both families to order).
    gai: Option<String>,
    /// With a DNS node: `/etc/nsswitch.conf` (hosts from files, then DNS only).
    nsswitch: Option<String>,
    /// With a DNS node: each node's `/etc/resolv.conf`.
    resolv: Vec<Option<String>>,
}

impl Files {
    pub(crate) fn for_topology(topo: &Topology) -> Files {
        let host = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let gai = has_ipv6(topo).then(|| std::fs::read_to_string("/etc/gai.conf").ok()).flatten();
        let dns = topo.nodes.iter().any(|n| n.dns.is_some());
        // Without the file glibc asks DNS first anyway (`dns [!UNAVAIL=return] files`).
        let nsswitch =
            dns.then(|| std::fs::read_to_string("/etc/nsswitch.conf").ok()).flatten().map(|h| nsswitch_conf(&h));
        let resolv = (0..topo.nodes.len()).map(|n| dns.then(|| resolv_conf(topo, n))).collect();
        let hosts = if dns { host_only(&host) } else { hosts_file(&host, topo) };
        Files { hosts, gai: gai.map(|g| gai_conf(&g)), nsswitch, resolv }
    }

    /// Mounts the files over the host's in the calling thread's mount namespace, from a private
    /// tmpfs that is never attached anywhere else.
    pub(crate) fn overlay(&self) -> io::Result<()> {
        let tmp = detached_tmpfs()?;
        overlay_file(&tmp, c"hosts", &self.hosts, HOSTS)?;
        if let Some(gai) = &self.gai {
            overlay_file(&tmp, c"gai.conf", gai, GAI_CONF)?;
        }
        if let Some(nsswitch) = &self.nsswitch {
            overlay_file(&tmp, c"nsswitch.conf", nsswitch, NSSWITCH)?;
        }
        Ok(())
    }

    /// What node `node`'s view mounts on its own (its `/etc/resolv.conf`), if anything.
    ///
    /// glibc keeps one parsed `resolv.conf` per process and reloads it when the file's size,
    /// inode or times change, not its device: two nodes' files on two fresh tmpfs would often
    /// look alike (same inode number, same size, same time) and a thread in one node would use
    /// the other's servers. So every such file of the process is made in one tmpfs, where each
    /// has its own inode.
    pub(crate) fn node_overlay(&self, node: usize) -> Option<crate::kernel::view::Files> {
        let resolv = self.resolv.get(node)?.clone()?;
        Some(std::sync::Arc::new(move || {
            static TMP: std::sync::OnceLock<Result<OwnedFd, i32>> = std::sync::OnceLock::new();
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let tmp = TMP.get_or_init(|| detached_tmpfs().map_err(|e| e.raw_os_error().unwrap_or(libc::EIO)));
            let tmp = tmp.as_ref().map_err(|&e| io::Error::from_raw_os_error(e))?;
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = std::ffi::CString::new(format!("resolv.conf.{n}")).expect("no NUL");
            overlay_file(tmp, &name, &resolv, RESOLV_CONF)
                .map_err(|e| io::Error::new(e.kind(), format!("mounting /etc/resolv.conf: {e}")))
        }))
    }
}

/// The host's `/etc/hosts` alone: with a DNS node, the topology's names come from it.
fn host_only(host: &str) -> String {
    let mut out = host.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("# netns-test: the topology's names come from its DNS server (see /etc/resolv.conf)\n");
    out
}

/// The host's `/etc/nsswitch.conf` with its `hosts:` line replaced by `files dns`: no module
/// that could ask the host's network (mDNS, systemd-resolved, NIS).
fn nsswitch_conf(host: &str) -> String {
    let mut out: String =
        host.lines().filter(|l| !l.trim_start().starts_with("hosts:")).flat_map(|l| [l, "\n"]).collect();
    out.push_str("# netns-test: names from /etc/hosts, then the topology's DNS server only\nhosts: files dns\n");
    out
}

/// Node `node`'s `/etc/resolv.conf`: its DNS node's addresses, short timeouts (a test waiting
/// for a lost query waits 1 s per try, not glibc's 5), no search list.
fn resolv_conf(topo: &Topology, node: usize) -> String {
    let mut out = String::from("# netns-test: the topology's DNS server");
    if let Some(r) = topo.nodes[node].resolver {
        out.push_str(&format!(", node `{}`", topo.nodes[r].name));
    }
    out.push('\n');
    let servers = topo.nameservers(node);
    if servers.is_empty() {
        // No address of the server's families: the resolver falls back to 127.0.0.1, where
        // nothing answers in this namespace; say so rather than leave the host's.
        out.push_str("# it has no address this node can reach\nnameserver 127.0.0.1\n");
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    out.push_str("options timeout:1 attempts:2\n");
    out
}

/// Whether any node or bridge of `topo` has an IPv6 address.
fn has_ipv6(topo: &Topology) -> bool {
    let nodes = topo.nodes.iter().flat_map(|n| &n.interfaces).flat_map(|i| &i.addrs);
    nodes.chain(topo.bridges.iter().flat_map(|b| &b.addrs)).any(|a| a.addr().is_ipv6())
}

/// The host's `/etc/hosts`, then one line per node address and per interface address.
fn hosts_file(host: &str, topo: &Topology) -> String {
    let mut out = String::with_capacity(host.len() + 64 * topo.nodes.len());
    out.push_str(host);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("# netns-test: the topology's nodes\n");
    let ipv4_first = |addrs: &mut Vec<IpAddr>| addrs.sort_by_key(|a| a.is_ipv6()); // stable
    for node in &topo.nodes {
        let mut all: Vec<IpAddr> = node.interfaces.iter().flat_map(|i| i.addrs.iter().map(|a| a.addr())).collect();
        ipv4_first(&mut all);
        for a in all {
            out.push_str(&format!("{a}\t{}\n", node.name));
        }
        for iface in &node.interfaces {
            let mut addrs: Vec<IpAddr> = iface.addrs.iter().map(|a| a.addr()).collect();
            ipv4_first(&mut addrs);
            for a in addrs {
                out.push_str(&format!("{a}\t{}.{}\n", node.name, iface.name));
            }
        }
    }
    out
}

/// The RFC 6724 precedence table with IPv4 (as `::ffff:0:0/96`) above every IPv6 prefix. glibc
/// replaces its whole default table when the file has any `precedence` line, so the host's
/// precedence lines are kept (IPv4's raised) or, if it has none, the defaults are written out.
fn gai_conf(host: &str) -> String {
    // glibc's built-in table, IPv4's line aside.
    const DEFAULTS: &str = "precedence ::1/128 50\nprecedence ::/0 40\nprecedence 2002::/16 30\nprecedence ::/96 20\n";
    let is_v4 = |l: &str| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.first() == Some(&"precedence") && f.get(1) == Some(&"::ffff:0:0/96")
    };
    let has_precedence = host.lines().any(|l| l.split_whitespace().next() == Some("precedence"));
    let mut out: String = host.lines().filter(|l| !is_v4(l)).flat_map(|l| [l, "\n"]).collect();
    out.push_str("# netns-test: node names resolve to IPv4 first\n");
    if !has_precedence {
        out.push_str(DEFAULTS);
    }
    out.push_str("precedence ::ffff:0:0/96 100\n");
    out
}

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
/// Follow a symbolic link at the target (`/etc/resolv.conf` is often one).
const MOVE_MOUNT_T_SYMLINKS: libc::c_uint = 0x10;

/// A tmpfs mounted nowhere (`fsopen` + `fsmount`), reachable only through its descriptor.
fn detached_tmpfs() -> io::Result<OwnedFd> {
    // SAFETY: plain syscalls on valid C strings; each returned descriptor is owned right away.
    unsafe {
        let fs = owned(libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), FSOPEN_CLOEXEC))?;
        let none = std::ptr::null::<libc::c_char>();
        if libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), FSCONFIG_CMD_CREATE, none, none, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        owned(libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0))
    }
}

/// Writes `content` to `name` in `tmp` and mounts that file over `target`.
fn overlay_file(tmp: &OwnedFd, name: &CStr, content: &str, target: &CStr) -> io::Result<()> {
    // SAFETY: plain syscalls on descriptors we own and valid C strings.
    unsafe {
        let fd = libc::openat(tmp.as_raw_fd(), name.as_ptr(), libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC, 0o644);
        let file = std::fs::File::from(owned(fd as libc::c_long)?);
        io::Write::write_all(&mut &file, content.as_bytes())?;
        let tree = owned(libc::syscall(
            libc::SYS_open_tree,
            tmp.as_raw_fd(),
            name.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        ))?;
        let moved = libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS,
        );
        if moved != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A descriptor returned by a syscall, or the error it reported.
fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_and_interface_is_listed_ipv4_first_after_the_host_entries() {
        let topo = Topology::parse("a:eth0=fd00::1/64|10.0.0.1/24 -- b=10.0.0.2/24").unwrap();
        let f = hosts_file("127.0.0.1 localhost", &topo);
        let lines: Vec<&str> = f.lines().collect();
        assert_eq!(lines[0], "127.0.0.1 localhost");
        assert_eq!(
            &lines[2..],
            ["10.0.0.1\ta", "fd00::1\ta", "10.0.0.1\ta.eth0", "fd00::1\ta.eth0", "10.0.0.2\tb", "10.0.0.2\tb.eth0"]
        );
    }

    #[test]
    fn gai_conf_is_generated_only_when_a_name_can_have_both_families() {
        let v4 = Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24").unwrap();
        let dual = Topology::parse("a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24").unwrap();
        let bridged = Topology::parse("bridge br0 = fd00::9/64 { a=10.0.0.1/24, b=10.0.0.2/24 }").unwrap();
        assert!(!has_ipv6(&v4) && has_ipv6(&dual) && has_ipv6(&bridged));
        assert!(Files::for_topology(&v4).gai.is_none());
        let host_has_one = std::path::Path::new("/etc/gai.conf").exists();
        assert_eq!(Files::for_topology(&dual).gai.is_some(), host_has_one);
    }

    #[test]
    fn with_a_dns_node_names_come_from_it() {
        let topo = Topology::parse("a=10.0.0.1/24|fd00::1/64 -- d=10.0.0.53/24|fd00::53/64; d [dns]").unwrap();
        let f = Files::for_topology(&topo);
        assert!(!f.hosts.contains("10.0.0.1"), "node names are the DNS server's: {}", f.hosts);
        assert_eq!(
            f.resolv[0].as_deref().unwrap(),
            "# netns-test: the topology's DNS server, node `d`\nnameserver 10.0.0.53\nnameserver fd00::53\n\
             options timeout:1 attempts:2\n"
        );
        let ns = nsswitch_conf("passwd: files\nhosts:          files mdns4_minimal [NOTFOUND=return] dns\n");
        assert_eq!(ns.lines().filter(|l| l.starts_with("hosts:")).collect::<Vec<_>>(), ["hosts: files dns"]);
        assert!(ns.starts_with("passwd: files\n"));
        let plain = Files::for_topology(&Topology::parse("a -- b").unwrap());
        assert!(plain.nsswitch.is_none() && plain.resolv.iter().all(Option::is_none));
    }

    #[test]
    fn gai_conf_raises_ipv4_and_keeps_the_hosts_table() {
        let empty = gai_conf("# only comments\n");
        assert!(empty.contains("precedence ::/0 40") && empty.ends_with("precedence ::ffff:0:0/96 100\n"));
        let custom = gai_conf("label ::1/128 0\nprecedence ::1/128 50\nprecedence ::ffff:0:0/96 10\n");
        assert!(custom.contains("label ::1/128 0") && !custom.lines().any(|l| l == "precedence ::ffff:0:0/96 10"));
        assert!(!custom.contains("precedence ::/0 40"), "the host's own table is kept as it is");
    }
}
