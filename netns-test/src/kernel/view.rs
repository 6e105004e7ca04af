//! What a node looks like from inside: its network, `/proc/net`, `/sys/class/net`, hostname and
//! names, for every thread and program placed in it.
//!
//! A network namespace alone is not a host: `/proc/net` follows the process's main thread,
//! `/sys/class/net` shows the namespace of whoever mounted sysfs, and the hostname is shared.
//! So each node (and the bridges' namespace) gets, the first time anything enters it, a *view*:
//!
//! - a mount namespace, copied from the one [`Net::build`](crate::Net::build) ran in, with a
//!   fresh sysfs mounted on `/sys` from inside the node (sysfs shows its mounter's network
//!   namespace), `/proc/<pid>/net` (what `/proc/net` and `/proc/self/net` lead to) bind-mounted
//!   from a thread that lives in the node, and the generated `/etc/hosts` (see `names`: mounted
//!   once in the mount namespace the views are copied from);
//! - a UTS namespace whose hostname is the node's name.
//!
//! A *keeper* thread makes the view and then sleeps in it forever: `/proc/<pid>/task/<keeper>/net`
//! always shows the node. The one exception is a node built in the test child's own network
//! namespace (node 0 of a topology without bridges, where the body runs by default): its view is
//! the child's own mount and UTS namespaces, with `/proc/self/net` bound to that of the
//! sandbox's PID 1, which lives in that namespace and never leaves it ([`NsView::adopt`]); no
//! copy, no keeper. Entering a view moves the calling thread into all three namespaces
//! (mount, UTS, network); leaving moves it back. A thread or process created by a thread in a
//! view starts in that view (the kernel copies the creator's namespaces).

use crate::kernel::ns::{restoring, NetNs};
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::{Arc, OnceLock};

/// The mount, UTS and network namespaces of a thread, held by descriptor.
#[derive(Debug)]
pub(crate) struct Here {
    mnt: File,
    uts: File,
    net: File,
}

impl Here {
    /// The calling thread's namespaces (`/proc/self` would name the main thread's).
    pub(crate) fn capture() -> io::Result<Here> {
        let open = |kind: &str| File::open(format!("/proc/thread-self/ns/{kind}"));
        Ok(Here { mnt: open("mnt")?, uts: open("uts")?, net: open("net")? })
    }

    /// The calling thread's mount and UTS namespaces with `net`, which must be the calling
    /// thread's network namespace (a duplicated descriptor is cheaper than opening it again).
    fn capture_with(net: &NetNs) -> io::Result<Here> {
        let open = |kind: &str| File::open(format!("/proc/thread-self/ns/{kind}"));
        Ok(Here { mnt: open("mnt")?, uts: open("uts")?, net: File::from(net.as_fd().try_clone_to_owned()?) })
    }

    /// Moves the calling thread into these namespaces, keeping its working directory (by path:
    /// entering a mount namespace resets it to `/`). Raw syscalls and a stack buffer only, so a
    /// `pre_exec` hook may call it.
    pub(crate) fn enter_raw(&self) -> io::Result<()> {
        enter_raw(self.mnt.as_raw_fd(), self.uts.as_raw_fd(), self.net.as_raw_fd())
    }

    /// The identity (device, inode) of the network namespace.
    pub(crate) fn net_id(&self) -> io::Result<(u64, u64)> {
        ns_id(&self.net)
    }

    /// Moves the calling thread here for good (new threads, runtime workers).
    pub(crate) fn enter_for_good(self: &Arc<Self>) -> io::Result<()> {
        self.enter_raw()?;
        AT.with(|at| *at.borrow_mut() = Some(self.clone()));
        Ok(())
    }

    /// Runs `f` with the calling thread in these namespaces, then moves it back, even if `f`
    /// panics.
    pub(crate) fn run<R>(self: &Arc<Self>, f: impl FnOnce() -> R) -> R {
        let back = Here::of_this_thread().expect("netns-test: cannot open this thread's namespaces");
        if Arc::ptr_eq(&back, self) {
            return f();
        }
        self.enter_for_good().expect("netns-test: cannot enter the node's namespaces");
        restoring(f, || back.enter_for_good().expect("netns-test: cannot return to the previous namespaces"))
    }

    /// Where the calling thread is: the namespaces this module last moved it into, or those it
    /// had before (opened once per thread: opening `/proc/thread-self/ns/*` costs ~50 µs each).
    pub(crate) fn of_this_thread() -> io::Result<Arc<Here>> {
        if let Some(here) = AT.with(|at| at.borrow().clone()) {
            return Ok(here);
        }
        let here = Arc::new(Here::capture()?);
        AT.with(|at| *at.borrow_mut() = Some(here.clone()));
        Ok(here)
    }
}

thread_local! {
    /// See [`Here::of_this_thread`]. A thread that moves itself with `setns(2)` leaves this
    /// stale: `run` then brings it back to where it was before that.
    static AT: std::cell::RefCell<Option<Arc<Here>>> = const { std::cell::RefCell::new(None) };
}

fn enter_raw(mnt: RawFd, uts: RawFd, net: RawFd) -> io::Result<()> {
    let check = |r: libc::c_int| if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) };
    let mut cwd = [0u8; libc::PATH_MAX as usize];
    // SAFETY: plain syscalls on open descriptors and a buffer we own. unshare(CLONE_FS) gives
    // this thread its own root and working directory (threads it created share them until then),
    // which setns(CLONE_NEWNS) requires.
    unsafe {
        let have_cwd = !libc::getcwd(cwd.as_mut_ptr().cast(), cwd.len()).is_null();
        check(libc::unshare(libc::CLONE_FS))?;
        check(libc::setns(mnt, libc::CLONE_NEWNS))?;
        check(libc::setns(uts, libc::CLONE_NEWUTS))?;
        check(libc::setns(net, libc::CLONE_NEWNET))?;
        if have_cwd {
            libc::chdir(cwd.as_ptr().cast()); // stays at `/` if the directory is not there
        }
    }
    Ok(())
}

/// What every view of one network is a copy of: a mount namespace with the topology's
/// `/etc/hosts` mounted (see `names`), in which nothing is shared (so nothing a view mounts can
/// reach it or another view).
///
/// The first topology built in a mount namespace (the test child's own, or the one
/// [`isolate`](crate::isolate) made) uses that namespace itself; a topology built while another
/// one's base is in use (a `Net::build` in a test body, a program building several) gets a copy,
/// so its names never cover the first topology's.
pub(crate) struct Base {
    mnt: File,
    /// Which namespace it is ([`ns_id`]).
    id: NsId,
    /// Whether this `Base` claimed its namespace (see [`claim`]) and releases it on drop.
    claimed: bool,
}

impl Base {
    /// A base made from the calling thread's mount namespace (which must be this process's own),
    /// with `files` run in it to mount what the topology's nodes see (their `/etc/hosts`).
    pub(crate) fn capture(files: &(dyn Fn() -> io::Result<()> + Sync)) -> io::Result<Arc<Base>> {
        let here = File::open("/proc/thread-self/ns/mnt")?;
        let id = ns_id(&here)?;
        if claim(id) {
            let base = Base { mnt: here, id, claimed: true }; // unclaimed on drop, even on error
            prepare(files)?;
            return Ok(Arc::new(base));
        }
        let copy = std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: unshare on this short-lived thread only.
                if unsafe { libc::unshare(libc::CLONE_FS | libc::CLONE_NEWNS) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                prepare(files)?;
                File::open("/proc/thread-self/ns/mnt")
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })?;
        Ok(Arc::new(Base { id: ns_id(&copy)?, mnt: copy, claimed: false }))
    }

    /// Whether the calling thread is in this mount namespace.
    fn is_here(&self) -> bool {
        File::open("/proc/thread-self/ns/mnt").and_then(|f| ns_id(&f)).is_ok_and(|id| id == self.id)
    }
}

impl Drop for Base {
    fn drop(&mut self) {
        if self.claimed {
            bases().lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
        }
    }
}

/// A namespace's identity: the device and inode of its `/proc/.../ns/*` file.
type NsId = (u64, u64);

fn ns_id(ns: &File) -> io::Result<NsId> {
    use std::os::unix::fs::MetadataExt;
    ns.metadata().map(|m| (m.dev(), m.ino()))
}

/// The mount namespaces in use as a base; an identity is reused only after its namespace is
/// freed, and a claimed one is held open by its `Base`.
fn bases() -> &'static std::sync::Mutex<std::collections::HashSet<NsId>> {
    static BASES: OnceLock<std::sync::Mutex<std::collections::HashSet<NsId>>> = OnceLock::new();
    BASES.get_or_init(Default::default)
}

fn claim(id: NsId) -> bool {
    bases().lock().unwrap_or_else(|e| e.into_inner()).insert(id)
}

/// Makes every mount of the calling thread's mount namespace private (once per base, not per
/// view) and mounts the generated files.
fn prepare(files: &(dyn Fn() -> io::Result<()> + Sync)) -> io::Result<()> {
    mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE)
        .map_err(|e| io::Error::new(e.kind(), format!("making / private: {e}")))?;
    files().map_err(|e| io::Error::new(e.kind(), format!("mounting /etc/hosts: {e}")))
}

/// What one view mounts on its own, in its mount namespace (a node's `/etc/resolv.conf`).
/// Unwind-safe, as a `Net` is (tests catch panics around its handles).
pub(crate) type Files =
    Arc<dyn Fn() -> io::Result<()> + Send + Sync + std::panic::RefUnwindSafe + std::panic::UnwindSafe>;

/// A network namespace with its view, made on first use: where a node's (or the bridges') code
/// and programs run.
pub(crate) struct NsView {
    net: Arc<NetNs>,
    /// The UTS hostname; `None` keeps the host's.
    hostname: Option<String>,
    base: Arc<Base>,
    /// Mounted in this view only, after the base's files.
    files: Option<Files>,
    view: OnceLock<Result<Arc<Here>, String>>,
}

impl NsView {
    pub(crate) fn new(net: Arc<NetNs>, hostname: Option<String>, base: Arc<Base>) -> NsView {
        NsView { net, hostname, base, files: None, view: OnceLock::new() }
    }

    /// The same place, with `files` mounted in its view only.
    pub(crate) fn with_files(mut self, files: Option<Files>) -> NsView {
        self.files = files;
        self
    }

    /// A place whose view is the calling thread's own mount and UTS namespaces, when the
    /// calling thread is in `net` and in `base` and PID 1 of this process's PID namespace lives
    /// in `net` (a node built in the test child's own namespace): no keeper thread and no copy
    /// of the mount namespace; sysfs is mounted from here, `/proc/self/net` bound to PID 1's,
    /// which never leaves the node. When that does not hold, the place is an ordinary one (its
    /// view is made on first use).
    pub(crate) fn adopt(
        net: Arc<NetNs>,
        hostname: String,
        base: Arc<Base>,
        files: Option<Files>,
    ) -> io::Result<NsView> {
        let place = NsView::new(net, Some(hostname), base).with_files(files);
        let net_of = |path: &str| File::open(path).and_then(|f| ns_id(&f)).ok();
        let pid1_here = net_of("/proc/thread-self/ns/net").is_some_and(|id| Some(id) == net_of("/proc/1/ns/net"));
        if !place.base.is_here() || !pid1_here {
            return Ok(place);
        }
        let name = place.hostname.as_deref().unwrap_or_default();
        mount(Some(c"/proc/1/net"), c"/proc/self/net", None, libc::MS_BIND)
            .and_then(|()| make_here(name))
            .and_then(|()| place.files.as_ref().map_or(Ok(()), |f| f()))
            .map_err(|e| io::Error::new(e.kind(), format!("the view of node `{name}`: {e}")))?;
        let here = Arc::new(Here::capture_with(&place.net)?);
        AT.with(|at| *at.borrow_mut() = Some(here.clone()));
        let _ = place.view.set(Ok(here));
        Ok(place)
    }

    pub(crate) fn netns(&self) -> &NetNs {
        &self.net
    }

    /// The view, made by a keeper thread the first time.
    ///
    /// # Panics
    /// If the view cannot be made; the message says which step failed and why.
    pub(crate) fn view(&self) -> &Arc<Here> {
        let made = self.view.get_or_init(|| {
            self.make_view().map(Arc::new).map_err(|e| {
                let what = self.hostname.as_deref().map_or("the bridges".into(), |n| format!("node `{n}`"));
                format!("netns-test: cannot make the view of {what}: {e}")
            })
        });
        made.as_ref().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `f` on the calling thread, inside this place, and moves the thread back afterwards.
    pub(crate) fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        self.view().run(f)
    }

    /// Runs `f` on a new thread inside this place.
    pub(crate) fn spawn<F, R>(&self, name: String, f: F) -> std::thread::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let here = self.view().clone();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                here.enter_for_good().expect("netns-test: cannot enter the node's namespaces");
                f()
            })
            .expect("netns-test: cannot spawn a thread")
    }

    /// A command whose process starts inside this place.
    pub(crate) fn command(self: &Arc<Self>, program: &std::ffi::OsStr) -> std::process::Command {
        use std::os::unix::process::CommandExt;
        self.view();
        let mut cmd = std::process::Command::new(program);
        let place = self.clone();
        // SAFETY: enter_raw is raw syscalls on a stack buffer: no allocation, async-signal-safe
        // (the view exists already: `get` does not initialise).
        unsafe {
            cmd.pre_exec(move || match place.view.get() {
                Some(Ok(view)) => view.enter_raw(),
                _ => Err(io::Error::from_raw_os_error(libc::ENOENT)),
            })
        };
        cmd
    }

    fn make_view(&self) -> io::Result<Here> {
        let (tx, rx) = std::sync::mpsc::channel();
        let base = self.base.clone();
        let net = self.net.try_clone()?;
        let hostname = self.hostname.clone();
        let files = self.files.clone();
        let start = std::time::Instant::now();
        let keeper = std::thread::Builder::new()
            .name(format!("netns-view-{}", self.hostname.as_deref().unwrap_or("bridges")))
            .stack_size(64 * 1024)
            .spawn(move || {
                let made = keep(&base, &net, hostname.as_deref(), files.as_ref());
                let ok = made.is_ok();
                let _ = tx.send(made);
                // Sleep in the view for good: its /proc/<pid>/task/<this thread>/net is the node's
                // /proc/net, bind-mounted.
                if ok {
                    loop {
                        std::thread::park();
                    }
                }
            });
        keeper?;
        let view = rx.recv().map_err(|_| io::Error::other("the keeper thread died"))?;
        if crate::env::tracing() {
            let name = self.hostname.as_deref().unwrap_or("the bridges");
            eprintln!("netns-test: view of {name} made in {:.2} ms", start.elapsed().as_secs_f64() * 1e3);
        }
        view
    }
}

/// The keeper's work: make the view around the calling thread and return its namespaces.
fn keep(base: &Base, net: &NetNs, hostname: Option<&str>, files: Option<&Files>) -> io::Result<Here> {
    let step = |what: &'static str| move |e: io::Error| io::Error::new(e.kind(), format!("{what}: {e}"));
    let check = |r: libc::c_int| if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) };
    // SAFETY: plain syscalls on this thread's own namespaces. The base shares nothing (see
    // `prepare`), so the copy shares nothing either: nothing mounted here reaches another view.
    unsafe {
        check(libc::unshare(libc::CLONE_FS)).map_err(step("unshare(CLONE_FS)"))?;
        check(libc::setns(base.mnt.as_raw_fd(), libc::CLONE_NEWNS))
            .map_err(step("entering the test's mount namespace"))?;
        check(libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWUTS))
            .map_err(step("unshare(CLONE_NEWNS | CLONE_NEWUTS)"))?;
    }
    net.enter().map_err(step("entering the network namespace"))?;
    mount(Some(c"/proc/thread-self/net"), c"/proc/self/net", None, libc::MS_BIND)
        .map_err(step("bind-mounting /proc/thread-self/net on /proc/self/net"))?;
    make_here(hostname.unwrap_or_default())?;
    if let Some(files) = files {
        files()?;
    }
    Here::capture_with(net)
}

/// Mounts a sysfs on `/sys` from the calling thread (sysfs shows its mounter's network
/// namespace) and names the UTS namespace `hostname` (unless empty).
fn make_here(hostname: &str) -> io::Result<()> {
    let step = |what: &'static str| move |e: io::Error| io::Error::new(e.kind(), format!("{what}: {e}"));
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    mount(Some(c"sysfs"), c"/sys", Some(c"sysfs"), flags).map_err(step("mounting sysfs on /sys"))?;
    if !hostname.is_empty() {
        // SAFETY: a valid buffer and its length.
        if unsafe { libc::sethostname(hostname.as_ptr().cast(), hostname.len()) } != 0 {
            return Err(step("sethostname")(io::Error::last_os_error()));
        }
    }
    Ok(())
}

fn mount(src: Option<&CStr>, target: &CStr, fstype: Option<&CStr>, flags: libc::c_ulong) -> io::Result<()> {
    let p = |s: Option<&CStr>| s.map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: valid C strings or null, as mount(2) allows.
    if unsafe { libc::mount(p(src), target.as_ptr(), p(fstype), flags, std::ptr::null()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
