//! Netfilter netlink sockets: nf_tables batches ([`super::nft::send`]), and requests outside
//! them, a dump (every answer until `NLMSG_DONE`) or a request acknowledged once: ctnetlink
//! ([`super::conntrack`]) and set elements ([`super::nft::read`]).

use super::nft::wire::{messages, NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

const NLM_F_DUMP: u16 = 0x300;
const NLMSG_DONE: u16 = 3;
/// How long the kernel may take to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// A netfilter netlink socket of one namespace (the calling thread's when it was opened),
/// for many requests.
///
/// Keep one open where several changes follow each other: closing a netfilter netlink socket
/// while nf_tables has objects waiting to be freed (after a commit that deleted a table, chain
/// or rule, in any namespace) waits for their RCU grace period in the kernel
/// (`nft_rcv_nl_event` flushes the destroy work): 10–25 ms on a loaded machine, where the
/// change itself takes 1–3 ms.
#[derive(Debug)]
pub(crate) struct NfSocket(Socket);

impl NfSocket {
    /// A socket in the calling thread's namespace.
    pub(crate) fn open() -> io::Result<NfSocket> {
        let mut socket = Socket::new(NETLINK_NETFILTER).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("opening a netfilter netlink socket: {e} (the kernel needs CONFIG_NETFILTER_NETLINK)"),
            )
        })?;
        socket.bind_auto()?;
        Ok(NfSocket(socket))
    }

    /// Sends message `ty` (subsystem << 8 | message) for `family` with attributes `attrs` as a
    /// dump request; the payloads (after `nfgenmsg`) of the answers of that subsystem.
    pub(crate) fn dump(&self, ty: u16, family: u8, attrs: &[u8]) -> io::Result<Vec<Vec<u8>>> {
        self.send(&message(ty, family, NLM_F_REQUEST | NLM_F_DUMP, attrs))?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = self.recv(&mut buf)?;
            for (t, _, _, payload) in messages(&buf[..n]) {
                match t {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => return Err(error(payload).unwrap_or_else(|| io::Error::other("a truncated error"))),
                    _ if t >> 8 == ty >> 8 && payload.len() >= 4 => out.push(payload[4..].to_vec()),
                    _ => {}
                }
            }
        }
    }

    /// Sends message `ty` for `family` and waits for its acknowledgement.
    pub(crate) fn request(&self, ty: u16, family: u8, attrs: &[u8]) -> io::Result<()> {
        self.send(&message(ty, family, NLM_F_REQUEST | NLM_F_ACK, attrs))?;
        let mut buf = vec![0u8; 8192];
        loop {
            let n = self.recv(&mut buf)?;
            for (t, _, _, payload) in messages(&buf[..n]) {
                if t == NLMSG_ERROR {
                    return error(payload).map_or(Ok(()), Err);
                }
            }
        }
    }

    pub(crate) fn send(&self, bytes: &[u8]) -> io::Result<()> {
        self.0.send_to(bytes, &SocketAddr::new(0, 0), 0)?;
        Ok(())
    }

    /// The next answers, within [`ANSWER_TIMEOUT`].
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        // SAFETY: the descriptor belongs to the socket, which outlives this borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(self.0.as_raw_fd()) };
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(ANSWER_TIMEOUT.as_millis() as i32).unwrap_or(PollTimeout::MAX);
        if poll(&mut fds, timeout)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer from the kernel within {ANSWER_TIMEOUT:?}"),
            ));
        }
        self.0.recv(&mut &mut buf[..], 0)
    }
}

/// The error an `NLMSG_ERROR` payload carries (`None`: an acknowledgement).
fn error(payload: &[u8]) -> Option<io::Error> {
    let code = i32::from_ne_bytes(payload.get(0..4)?.try_into().ok()?);
    (code != 0).then(|| io::Error::from_raw_os_error(-code))
}

/// One request: `nlmsghdr`, `nfgenmsg`, attributes.
fn message(ty: u16, family: u8, flags: u16, attrs: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + attrs.len();
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&ty.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
    b.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    b.extend_from_slice(&[family, 0, 0, 0]); // nfgenmsg: family, version 0, res_id 0
    b.extend_from_slice(attrs);
    b
}

/// The attributes of `buf`: `(type without flags, value)`.
pub(crate) fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let ty = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((ty, &buf[4..len]));
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    out
}
