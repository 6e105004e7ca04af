//! The tokio runtimes test bodies and `Node::block_on` run on.
//!
//! A current-thread runtime runs everything on the calling thread, so it lives wherever that
//! thread is. A multi-thread runtime's workers and blocking threads enter, when they start, the
//! namespaces of the thread that built the runtime (see [`Here::of_this_thread`]): they are in the body's
//! node however and wherever tokio spawns them.

/// How an async body is driven, as `flavor = ".."` / `worker_threads = N` on the attribute say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Everything on the body's thread (the default).
    CurrentThread,
    /// A multi-thread runtime with this many workers (0: tokio's default, one per core).
    MultiThread { workers: usize },
}

/// Runs `fut` to completion on a runtime of `flavor` whose threads are where the caller is.
/// Only the async API (the `tokio` feature) drives futures.
#[cfg(feature = "tokio")]
pub(crate) fn block_on<F: std::future::Future>(flavor: Flavor, fut: F) -> F::Output {
    use crate::kernel::view::Here;
    let rt = match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Flavor::MultiThread { workers } => {
            let here = Here::of_this_thread().expect("netns-test: cannot open this thread's namespaces");
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if workers > 0 {
                b.worker_threads(workers);
            }
            b.enable_all()
                .on_thread_start(move || {
                    here.enter_for_good().expect("netns-test: a runtime thread cannot enter the node")
                })
                .build()
        }
    };
    rt.expect("netns-test: cannot start a tokio runtime").block_on(fut)
}
