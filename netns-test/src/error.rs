//! Runtime errors: each names the cause and, where there is one, the fix.

use std::io;

/// What went wrong while isolating a test or building its topology.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel refused to create a user namespace for this user.
    #[error("cannot create a user namespace ({step}: {source}).\n{hint}")]
    UserNamespace { step: &'static str, source: io::Error, hint: &'static str },

    /// The kernel refused another part of a test's sandbox (a namespace limit, a process limit).
    #[error("cannot make the test's sandbox ({step}: {source}).\n{hint}")]
    Sandbox { step: String, source: io::Error, hint: String },

    /// `Net::build` was called outside namespaces this process made, where it would change the host.
    #[error(
        "refusing to build a topology outside namespaces this process made for itself (it \
         would change the host's or a container's network): run it inside #[netns_test], or \
         call netns_test::isolate() first thing in main"
    )]
    NotIsolated,

    /// The namespace lacks a capability needed to configure it.
    #[error(
        "the test's user namespace lacks {0} (a security module such as AppArmor may restrict \
         user namespaces: check `sysctl kernel.apparmor_restrict_unprivileged_userns`)"
    )]
    MissingCapability(caps::Capability),

    /// The kernel lacks a link type the topology needs.
    #[error(
        "the kernel has no `{kind}` link type ({source}); netns-test needs CONFIG_{config}: \
         load it with `modprobe {kind}` on the host or use a kernel built with it"
    )]
    MissingLinkKind { kind: &'static str, config: &'static str, source: rtnetlink::Error },

    /// A netlink request failed.
    #[error("{what}: {source}")]
    Netlink { what: String, source: rtnetlink::Error },

    /// A system call failed.
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },

    /// The kernel refused a node's NAT or firewall rules (nf_tables).
    #[error("node `{node}`: {what}: {source}{hint}")]
    Nftables { node: String, what: String, source: io::Error, hint: String },

    /// A change asked for while the test runs cannot be made; the message says why.
    #[error("{0}")]
    Runtime(String),

    /// Link options given at run time (`Link::set`) are not valid; the messages are those a
    /// topology gets at compile time.
    #[error("invalid link options `{text}`:\n{rendered}")]
    InvalidOptions { text: String, rendered: String },

    /// NAT options given at run time (`Nat::set`) are not valid; the messages are those a
    /// topology gets at compile time.
    #[error("node `{node}`: invalid NAT options `{text}`:\n{rendered}")]
    InvalidNatOptions { node: String, text: String, rendered: String },
    /// A firewall rule given at run time (`Firewall::add`, `remove`) is not valid; the messages
    /// are those a topology gets at compile time.
    #[error("invalid firewall rule `{text}` for node `{node}`:\n{rendered}")]
    InvalidRule { node: String, text: String, rendered: String },

    /// The topology was changed after parsing so that its parts no longer fit together (an
    /// index out of range, a link whose ends disagree); nothing was built.
    #[error("the topology was changed after parsing and is inconsistent: {0}; build it from text (`Topology::parse`) instead")]
    InconsistentTopology(String),

    /// Links or IPv6 addresses did not become ready in time.
    #[error("the topology was not ready after {0:?}: {1}")]
    NotReady(std::time::Duration, String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }

    pub(crate) fn netlink(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Error {
        let what = what.into();
        move |source| Error::Netlink { what, source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The text of a panic payload (`panic!("..")` carries a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}
