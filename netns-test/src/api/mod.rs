//! The public handles: [`Net`], [`Node`], [`Bridge`], [`Interface`], [`Link`], [`Nat`], [`Firewall`]: thin, each
//! method a short call down into a feature room or the core.
//!
//! ```no_run
//! # fn f(net: &netns_test::Net) {
//! let b = net.node("b");                      // Node: a handle on node b
//! b.run(|| std::net::UdpSocket::bind("10.0.0.2:5000").unwrap());
//! # }
//! ```

mod bridge;
#[cfg(feature = "dns")]
mod dns;
mod firewall;
mod interface;
mod link;
mod nat;
mod net;
mod node;

pub use bridge::Bridge;
#[cfg(feature = "dns")]
pub use dns::{Dns, Query, Rcode};
pub use firewall::Firewall;
pub use interface::Interface;
pub use link::Link;
pub use nat::{Mapping, Nat, Protocol};
pub use net::Net;
pub use node::Node;

/// `run`, `spawn`, `command`, `tokio_command` and `block_on`, written once for nodes and bridges.
macro_rules! placed {
    ($example:literal) => {
        /// Runs `f` on the calling thread, moved into this namespace (network, `/proc/net`,
        /// `/sys`, hostname) for the call, and back afterwards, also if `f` panics.
        ///
        /// Sockets created in `f` belong here and stay whichever thread uses them later; threads
        /// `f` starts with `std::thread::spawn` stay here too.
        ///
        /// ```no_run
        /// # fn f(net: &netns_test::Net) {
        /// let listener = net.node("b").run(|| std::net::TcpListener::bind("10.0.0.2:7000").unwrap());
        /// # }
        /// ```
        pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
            self.view.run(f)
        }

        /// Runs `f` on a new thread inside this namespace; `join` returns its result (or its
        /// panic).
        pub fn spawn<F, R>(&self, f: F) -> std::thread::JoinHandle<R>
        where
            F: FnOnce() -> R + Send + 'static,
            R: Send + 'static,
        {
            self.view.spawn(format!("netns-{}", self.name()), f)
        }

        /// A [`std::process::Command`] whose process runs inside this namespace, with its
        /// `/proc/net`, `/sys/class/net`, hostname and `/etc/hosts`.
        ///
        /// The process is in the test's process group, so it never outlives the test: it is
        /// killed when the test ends, however it ends.
        ///
        /// ```no_run
        /// # fn f(net: &netns_test::Net) {
        #[doc = concat!("let out = net.node(\"", $example, "\").command(\"cat\").arg(\"/proc/net/dev\").output().unwrap();")]
        /// # }
        /// ```
        ///
        /// In a test, what the program writes to the stdout and stderr it inherits becomes part of
        /// the node's log (printed with the failure, tagged `[node]`, and on the report page);
        /// output the test redirects (`.output()`, `Stdio::piped()`, a file) is left alone.
        pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
            let mut cmd = self.view.command(program.as_ref());
            crate::logs::capture_output(&mut cmd, self.name(), program.as_ref());
            cmd
        }

        /// Like [`command`](Self::command), for tokio.
        #[cfg(feature = "tokio")]
        pub fn tokio_command(&self, program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
            tokio::process::Command::from(self.command(program))
        }

        /// Runs `fut` to completion on a tokio current-thread runtime whose thread is in here.
        ///
        /// From synchronous code only: inside an `async` test body (already on a runtime) create
        /// sockets with [`run`](Self::run) instead and use them from the body's runtime.
        #[cfg(feature = "tokio")]
        pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
            self.run(|| crate::runtime::block_on(crate::runtime::Flavor::CurrentThread, fut))
        }
    };
}
pub(crate) use placed;
