//! Raw `AF_PACKET` sockets bound to one interface, used by the link-condition forwarder and by
//! packet capture.
//!
//! ```ignore
//! let sock = packet::bound_socket(ifindex, libc::SOCK_NONBLOCK, |_| Ok(()))?;
//! ```

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A `SOCK_RAW` packet socket (plus `flags`, e.g. `SOCK_NONBLOCK`) seeing every protocol on
/// interface `ifindex` of the calling thread's namespace. `configure` sets socket options before
/// the bind, so no frame is queued before they apply.
pub(crate) fn bound_socket(
    ifindex: u32,
    flags: libc::c_int,
    configure: impl FnOnce(&OwnedFd) -> io::Result<()>,
) -> io::Result<OwnedFd> {
    // Protocol 0 until bound: no frame of another interface is ever queued.
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC | flags, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    configure(&fd)?;
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid start.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: binds with a properly sized sockaddr_ll.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Sets the `int` socket option `level`/`name` of `fd` to `value`.
pub(crate) fn set_int_option(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: an int option from a live int, on a socket we own.
    let r = unsafe {
        libc::setsockopt(fd.as_raw_fd(), level, name, (&value as *const i32).cast(), std::mem::size_of::<i32>() as u32)
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
