//! The bottom floor: thin helpers over the kernel that know nothing of topologies or tests.
//! Namespaces (`ns`), a node's view of `/proc`, `/sys` and its hostname (`view`), IPv6 address
//! states (`ipv6`), netlink requests at run time (`netlink`) and link readiness (`ready`), ICMP
//! echo (`ping`), packet sockets (`packet`), nf_tables messages (`nft`) and the connection
//! tracking table (`conntrack`).
//!
//! ```ignore
//! let ns = kernel::ns::NetNs::new_with(|| Ok(()))?;     // an anonymous network namespace
//! ns.run(|| kernel::ns::write_sysctl("net/ipv4/ip_forward", "1"))??;
//! ```

pub(crate) mod conntrack;
pub(crate) mod ipv6;
pub(crate) mod netlink;
pub(crate) mod nfnl;
pub(crate) mod nft;
pub(crate) mod ns;
pub(crate) mod packet;
pub(crate) mod ping;
pub(crate) mod ready;
pub(crate) mod view;
