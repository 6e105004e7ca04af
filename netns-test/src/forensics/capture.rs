//! Packet capture: every interface of every node, from the body's start, into pcap files.
//!
//! ```ignore
//! let capture = Capture::start(dir, &[("a".into(), &ns_a), ("b".into(), &ns_b)])?;
//! // ... the body runs ...
//! let summary = capture.stop(); // files complete and closed: a-eth0.pcap, b-eth0.pcap, ...
//! ```
//!
//! One thread per node, inside it, reads an `AF_PACKET` socket per interface (no tcpdump, no
//! libpcap) and writes `<node>-<iface>.pcap` with the `pcap-file` crate: Ethernet link type,
//! kernel receive timestamps in nanoseconds. Each file stops growing at `FILE_LIMIT`; the
//! summary says how many packets were left out.

use super::read::Netlink;
use crate::kernel::ns::NetNs;
use netlink_packet_route::link::{LinkAttribute, LinkLayerType, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, LinkAddr, MsgFlags};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufWriter, IoSliceMut, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

/// The most a capture file grows to (16 MiB); later packets are counted, not written.
pub(crate) const FILE_LIMIT: u64 = 16 << 20;
/// Bytes kept of each packet: veth passes GSO packets of up to 64 KiB.
const SNAPLEN: u32 = 65535;
/// When no packet comes for this long, buffered packets go to disk.
const IDLE_FLUSH: Duration = Duration::from_millis(100);
const PACKET_OUTGOING: u8 = 4;

/// Running capture threads; `stop` ends them.
pub(crate) struct Capture {
    dir: PathBuf,
    /// Closing it wakes every thread for its last read.
    stop: OwnedFd,
    threads: Vec<JoinHandle<Vec<FileSummary>>>,
}

/// What one file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileSummary {
    pub(crate) file: String,
    pub(crate) packets: u64,
    /// Packets left out because the file reached `FILE_LIMIT`.
    pub(crate) over_limit: u64,
    /// Packets the kernel dropped because the capture did not keep up.
    pub(crate) kernel_drops: u64,
    /// Why this interface could not be captured, if it could not.
    pub(crate) error: Option<String>,
}

impl Capture {
    /// Starts capturing in each `(node name, namespace)`; returns once every socket is bound.
    pub(crate) fn start(dir: &Path, nodes: &[(String, &NetNs)]) -> io::Result<Capture> {
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e), // another user's
            _ => std::fs::create_dir_all(dir)?,
        }
        let (stop_r, stop) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let stop_r = Arc::new(stop_r);
        let mut threads = Vec::new();
        let mut ready = Vec::new();
        for (name, ns) in nodes {
            let (ns, name, dir, stop_r) = (ns.try_clone()?, name.clone(), dir.to_path_buf(), stop_r.clone());
            let (tx, rx) = mpsc::channel();
            ready.push(rx);
            threads.push(std::thread::Builder::new().name(format!("capture-{name}")).spawn(move || {
                let node = ns.enter().and_then(|()| NodeCapture::open(&name, &dir));
                match node {
                    Ok(node) => {
                        let _ = tx.send(Ok(()));
                        node.run(&stop_r)
                    }
                    Err(e) => {
                        let _ = tx.send(Err(io::Error::new(e.kind(), format!("node `{name}`: {e}"))));
                        Vec::new()
                    }
                }
            })?);
        }
        let capture = Capture { dir: dir.to_path_buf(), stop, threads };
        for rx in ready {
            rx.recv().map_err(|_| io::Error::other("a capture thread died"))??;
        }
        Ok(capture)
    }

    /// The directory the files are in.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads what is still queued, closes every file, and says what each holds.
    pub(crate) fn stop(self) -> Vec<FileSummary> {
        drop(self.stop);
        self.threads.into_iter().flat_map(|t| t.join().unwrap_or_default()).collect()
    }
}

/// The sockets and files of one node.
struct NodeCapture {
    ifaces: Vec<Iface>,
    failed: Vec<FileSummary>,
}

struct Iface {
    sock: OwnedFd,
    /// `lo` sees each packet twice (sent and received): only the received copy is kept.
    loopback: bool,
    writer: PcapWriter<SharedFile>,
    /// The same file as `writer`'s, to flush it.
    file: SharedFile,
    summary: FileSummary,
    written: u64,
    dirty: bool,
}

impl NodeCapture {
    /// Binds a socket to each of the calling thread's interfaces and creates its file.
    fn open(node: &str, dir: &Path) -> io::Result<NodeCapture> {
        let links = Netlink::open()?.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
        let mut ifaces = Vec::new();
        let mut failed = Vec::new();
        for msg in links {
            let RouteNetlinkMessage::NewLink(m) = msg else { continue };
            let Some(name) = m.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            }) else {
                continue;
            };
            let file = format!("{node}-{name}.pcap");
            let loopback = match m.header.link_layer_type {
                LinkLayerType::Ether => false,
                LinkLayerType::Loopback => true,
                other => {
                    failed.push(FileSummary::failed(file, format!("link type {other:?} is not captured")));
                    continue;
                }
            };
            match Iface::open(m.header.index, loopback, &dir.join(&file), file.clone()) {
                Ok(i) => ifaces.push(i),
                Err(e) => failed.push(FileSummary::failed(file, e.to_string())),
            }
        }
        Ok(NodeCapture { ifaces, failed })
    }

    /// Copies packets to the files until `stop` closes, then drains the sockets once more.
    fn run(mut self, stop: &OwnedFd) -> Vec<FileSummary> {
        let mut buf = vec![0u8; SNAPLEN as usize];
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
        loop {
            let mut fds: Vec<libc::pollfd> = std::iter::once(stop.as_raw_fd())
                .chain(self.ifaces.iter().map(|i| i.sock.as_raw_fd()))
                .map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 })
                .collect();
            // SAFETY: a valid array of pollfds we own.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, IDLE_FLUSH.as_millis() as i32) };
            if n == 0 {
                self.ifaces.iter_mut().for_each(Iface::flush);
                continue;
            }
            if n < 0 {
                continue; // EINTR
            }
            for (i, fd) in self.ifaces.iter_mut().zip(&fds[1..]) {
                if fd.revents != 0 {
                    i.drain(&mut buf, &mut cmsg);
                }
            }
            if fds[0].revents != 0 {
                break;
            }
        }
        let mut out = self.failed;
        for mut i in self.ifaces {
            i.drain(&mut buf, &mut cmsg);
            i.flush();
            i.summary.kernel_drops = kernel_drops(&i.sock);
            out.push(i.summary);
        }
        out
    }
}

impl Iface {
    fn open(index: u32, loopback: bool, path: &Path, file: String) -> io::Result<Iface> {
        let sock = packet_socket(index)?;
        setsockopt(&sock, sockopt::ReceiveTimestampns, &true)?;
        let header = PcapHeader {
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::native(),
            ..Default::default()
        };
        let shared = SharedFile(Rc::new(RefCell::new(BufWriter::with_capacity(64 << 10, File::create(path)?))));
        let writer = PcapWriter::with_header(shared.clone(), header).map_err(io::Error::other)?;
        let summary = FileSummary { file, packets: 0, over_limit: 0, kernel_drops: 0, error: None };
        Ok(Iface { sock, loopback, writer, file: shared, summary, written: 24, dirty: false })
    }

    /// Writes every packet queued on the socket.
    fn drain(&mut self, buf: &mut [u8], cmsg: &mut [u8]) {
        loop {
            let mut iov = [IoSliceMut::new(buf)];
            let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC;
            let msg = match recvmsg::<LinkAddr>(self.sock.as_raw_fd(), &mut iov, Some(cmsg), flags) {
                Ok(m) => m,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return, // EAGAIN: nothing left
            };
            if self.loopback && msg.address.is_some_and(|a| a.pkttype() == PACKET_OUTGOING) {
                continue;
            }
            let stamp = msg.cmsgs().ok().and_then(|mut c| {
                c.find_map(|c| match c {
                    ControlMessageOwned::ScmTimestampns(t) => {
                        Some(Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32))
                    }
                    _ => None,
                })
            });
            let len = msg.bytes;
            let kept = len.min(SNAPLEN as usize);
            let stamp = stamp.unwrap_or_else(|| {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
            });
            let record = 16 + kept as u64;
            if self.written + record > FILE_LIMIT {
                self.summary.over_limit += 1;
                continue;
            }
            let packet = PcapPacket::new(stamp, len as u32, &buf[..kept]);
            match self.writer.write_packet(&packet) {
                Ok(n) => {
                    self.written += n as u64;
                    self.summary.packets += 1;
                    self.dirty = true;
                }
                Err(e) => {
                    self.summary.error.get_or_insert_with(|| format!("writing: {e}"));
                    self.summary.over_limit += 1;
                }
            }
        }
    }

    fn flush(&mut self) {
        if std::mem::take(&mut self.dirty) {
            if let Err(e) = self.file.flush() {
                self.summary.error.get_or_insert_with(|| format!("writing: {e}"));
            }
        }
    }
}

/// A buffered file that both the pcap writer and its owner (to flush it) hold.
#[derive(Clone)]
struct SharedFile(Rc<RefCell<BufWriter<File>>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

impl FileSummary {
    fn failed(file: String, why: String) -> FileSummary {
        FileSummary { file, packets: 0, over_limit: 0, kernel_drops: 0, error: Some(why) }
    }
}

/// An `AF_PACKET` socket receiving every packet (both directions) of one interface.
fn packet_socket(index: u32) -> io::Result<OwnedFd> {
    crate::kernel::packet::bound_socket(index, libc::SOCK_NONBLOCK, |_| Ok(()))
}

/// `PACKET_STATISTICS`: packets the kernel dropped for lack of buffer space on this socket.
fn kernel_drops(sock: &OwnedFd) -> u64 {
    const PACKET_STATISTICS: libc::c_int = 6;
    let mut stats = [0u32; 2]; // struct tpacket_stats { tp_packets, tp_drops }
    let mut len = std::mem::size_of_val(&stats) as libc::socklen_t;
    // SAFETY: getsockopt into a buffer of the size we pass.
    let r = unsafe {
        libc::getsockopt(sock.as_raw_fd(), libc::SOL_PACKET, PACKET_STATISTICS, stats.as_mut_ptr().cast(), &mut len)
    };
    if r == 0 {
        u64::from(stats[1])
    } else {
        0
    }
}
