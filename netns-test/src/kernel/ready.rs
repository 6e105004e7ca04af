//! Readiness of links at run time and at build time: which ends are not operationally up yet
//! ([`still_down`]), waiting for them and for IPv6 addresses ([`wait_ready`]), and, when one does
//! not come up, an error that names the link, both ends' states and what was waited for
//! ([`not_up`]).
//!
//! ```ignore
//! let want = LinkWant { index, name: "a:eth0".into(), link: "a:eth0 -- b:eth0".into(), peer: None };
//! wait_ready(&h, &[want], &ns, &[]).await?;
//! ```

use crate::error::{Error, Result};
use crate::kernel::ns::NetNs;
use futures_util::TryStreamExt;
use netlink_packet_route::link::{LinkAttribute, State};
use rtnetlink::Handle;
use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

/// One link end to see operationally up, and what to say of it should it not come up.
#[derive(Clone)]
pub(crate) struct LinkWant {
    pub(crate) index: u32,
    /// This end: `a:eth0`, `bridge port b0p1`, `bridge br0`.
    pub(crate) name: String,
    /// The link it belongs to: `a:eth0 -- b:eth0`, `h1:eth0 -- br0`.
    pub(crate) link: String,
    /// The other end, whose state a timeout reports: its namespace's handle, index and name
    /// (`None` for a bridge, whose carrier follows its ports).
    pub(crate) peer: Option<(Handle, u32, String)>,
}

/// Links to see up, per namespace: the handle to ask, and that namespace's ends.
pub(crate) type PendingLinks = Vec<(Handle, Vec<LinkWant>)>;

/// Above this many pending links, a round first asks for one of them alone and lists the whole
/// namespace only once that one is up: a listing costs about 5 µs of kernel time per link there
/// (every attribute and statistic of every link), so re-listing a namespace of 1,000 bridge
/// ports each round would cost more than the wait itself.
const LIST_ALL_ABOVE: usize = 16;

/// The links of `want` that are not operationally up yet.
pub(crate) async fn still_down((h, want): (Handle, Vec<LinkWant>)) -> Result<(Handle, Vec<LinkWant>)> {
    if want.len() > LIST_ALL_ABOVE && !is_up(&h, want[0].index).await? {
        return Ok((h, want));
    }
    let mut up = HashMap::new();
    let mut links = h.link().get().execute();
    while let Some(msg) = links.try_next().await.map_err(Error::netlink("listing links"))? {
        up.insert(msg.header.index, is_oper_up(&msg));
    }
    let down = want.into_iter().filter(|w| !up.get(&w.index).copied().unwrap_or(false)).collect();
    Ok((h, down))
}

/// Whether the link with this index is operationally up (one small request, no listing).
async fn is_up(h: &Handle, index: u32) -> Result<bool> {
    let mut reply = h.link().get().match_index(index).execute();
    let msg = reply.try_next().await.map_err(Error::netlink(format!("asking for link {index}")))?;
    Ok(msg.is_some_and(|m| is_oper_up(&m)))
}

fn is_oper_up(msg: &netlink_packet_route::link::LinkMessage) -> bool {
    msg.attributes.iter().any(|a| matches!(a, LinkAttribute::OperState(State::Up)))
}

/// What the kernel says of one link end, read over netlink when a wait times out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EndState {
    /// No link with that index in that namespace.
    Missing,
    /// The request failed; why.
    Unreadable(String),
    Present {
        /// `IFF_UP`: brought up.
        admin_up: bool,
        /// `IFLA_CARRIER` (`IFF_LOWER_UP` when absent).
        carrier: bool,
        /// `IFLA_OPERSTATE`, as `ip link` prints it (`UP`, `LOWERLAYERDOWN`, ...).
        oper: &'static str,
    },
}

impl std::fmt::Display for EndState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndState::Missing => f.write_str("absent"),
            EndState::Unreadable(why) => write!(f, "unreadable ({why})"),
            EndState::Present { admin_up, carrier, oper } => write!(
                f,
                "admin {}, carrier {}, operstate {oper}",
                if *admin_up { "up" } else { "down" },
                if *carrier { "on" } else { "off" }
            ),
        }
    }
}

/// The state of the link with this index in `h`'s namespace.
async fn end_state(h: &Handle, index: u32) -> EndState {
    use netlink_packet_route::link::LinkFlags;
    let mut reply = h.link().get().match_index(index).execute();
    let msg = match reply.try_next().await {
        Ok(Some(m)) => m,
        Ok(None) => return EndState::Missing,
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => return EndState::Missing,
        Err(e) => return EndState::Unreadable(e.to_string()),
    };
    let carrier = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::Carrier(c) => Some(*c != 0),
        _ => None,
    });
    let oper = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::OperState(s) => Some(oper_name(*s)),
        _ => None,
    });
    EndState::Present {
        admin_up: msg.header.flags.contains(LinkFlags::Up),
        carrier: carrier.unwrap_or(msg.header.flags.contains(LinkFlags::LowerUp)),
        oper: oper.unwrap_or("UNKNOWN"),
    }
}

/// An operational state as `ip link` names it.
fn oper_name(s: State) -> &'static str {
    match s {
        State::Unknown => "UNKNOWN",
        State::NotPresent => "NOTPRESENT",
        State::Down => "DOWN",
        State::LowerLayerDown => "LOWERLAYERDOWN",
        State::Testing => "TESTING",
        State::Dormant => "DORMANT",
        State::Up => "UP",
        _ => "OTHER",
    }
}

/// The error for links that did not come up within `timeout`: the first one by name, what was
/// waited for, both its ends' states as the kernel reports them now, and what those mean.
pub(crate) async fn not_up(pending: PendingLinks, timeout: Duration) -> Error {
    let mut all = pending.into_iter().flat_map(|(h, want)| want.into_iter().map(move |w| (h.clone(), w)));
    let Some((h, first)) = all.next() else {
        return Error::NotReady(timeout, "links not up (which was not recorded)".into());
    };
    let mut ends = vec![(first.name.clone(), end_state(&h, first.index).await)];
    if let Some((ph, pi, pname)) = &first.peer {
        ends.push((pname.clone(), end_state(ph, *pi).await));
    }
    let rest: Vec<String> = all.map(|(_, w)| w.name).collect();
    Error::NotReady(timeout, not_up_message(&first, &ends, &rest))
}

/// [`not_up`]'s text, from the states read.
fn not_up_message(first: &LinkWant, ends: &[(String, EndState)], rest: &[String]) -> String {
    let states: Vec<String> = ends.iter().map(|(name, s)| format!("{name}: {s}")).collect();
    let mut msg = format!(
        "link {} did not come up: waited for {} to be operationally up (operstate UP: both ends \
         administratively up, carrier on, and the carrier applied by the kernel's link watcher); \
         now {}. {}",
        first.link,
        first.name,
        states.join("; "),
        diagnosis(ends)
    );
    if !rest.is_empty() {
        const SHOWN: usize = 5;
        let more = if rest.len() > SHOWN { format!(", and {} more", rest.len() - SHOWN) } else { String::new() };
        let shown = rest.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
        msg.push_str(&format!(" Also not up: {shown}{more}."));
    }
    msg
}

/// What the ends' states say about why a link is not up.
fn diagnosis(ends: &[(String, EndState)]) -> String {
    if let Some((name, _)) = ends.iter().find(|(_, s)| *s == EndState::Missing) {
        return format!("{name} does not exist: it was deleted, or its namespace is gone.");
    }
    let present: Vec<(&String, bool, bool, &str)> = (ends.iter())
        .filter_map(|(n, s)| match s {
            EndState::Present { admin_up, carrier, oper } => Some((n, *admin_up, *carrier, *oper)),
            _ => None,
        })
        .collect();
    if present.len() < ends.len() {
        return "The state of an end could not be read.".into();
    }
    if let Some((name, ..)) = present.iter().find(|(_, admin_up, ..)| !admin_up) {
        return format!(
            "{name} is administratively down, so the link has no carrier: nothing brought it up \
             (while building a topology, a bug in netns-test: please report it with the topology), \
             or something took it down."
        );
    }
    if present.iter().all(|(.., oper)| *oper == "UP") {
        return "It is up now: it came up just after the deadline. The kernel was slow to apply \
                the carrier: its link watcher needs the rtnl lock, which freeing a large earlier \
                topology can hold for seconds."
            .into();
    }
    if present.iter().any(|(_, _, carrier, _)| !carrier) {
        return "Every end is administratively up, yet the link has no carrier (a veth gets one as \
                soon as both its ends are up, a bridge once one of its ports forwards)."
            .into();
    }
    "The carrier is on, but the kernel's link watcher has not applied it yet: it needs the rtnl \
     lock, which freeing a large earlier topology can hold for seconds (leave a pause after \
     dropping one, or build it on a quieter machine)."
        .into()
}

/// Waits until the link ends of `links` (in `h`'s namespace) are operationally up, and every
/// IPv6 address of `v6` is usable (see [`crate::kernel::ipv6::unsettled`], read in `ns`), for up to 10 s.
pub(crate) async fn wait_ready(h: &Handle, links: &[LinkWant], ns: &NetNs, v6: &[(String, Ipv6Addr)]) -> Result<()> {
    wait_ready_within(h, links, ns, v6, Duration::from_secs(10)).await
}

/// [`wait_ready`] for at most `timeout`.
pub(crate) async fn wait_ready_within(
    h: &Handle,
    links: &[LinkWant],
    ns: &NetNs,
    v6: &[(String, Ipv6Addr)],
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    loop {
        let (_, down) = still_down((h.clone(), links.to_vec())).await?;
        let missing = ns
            .run(|| crate::kernel::ipv6::unsettled(v6.to_vec()))
            .and_then(|r| r)
            .map_err(Error::io("reading /proc/thread-self/net/if_inet6"))?;
        if down.is_empty() && missing.is_empty() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            if !down.is_empty() {
                return Err(not_up(vec![(h.clone(), down)], timeout).await);
            }
            let (dev, a) = &missing[0];
            return Err(Error::NotReady(timeout, format!("{dev}: {a} is not usable yet")));
        }
        tokio::time::sleep(Duration::from_micros(300)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(name: &str, link: &str) -> LinkWant {
        LinkWant { index: 7, name: name.into(), link: link.into(), peer: None }
    }

    fn up(admin_up: bool, carrier: bool, oper: &'static str) -> EndState {
        EndState::Present { admin_up, carrier, oper }
    }

    #[test]
    fn a_link_not_up_is_named_with_both_ends_states_and_what_was_waited_for() {
        let w = want("a:eth0", "a:eth0 -- b:eth0");
        let ends = [("a:eth0".to_string(), up(true, false, "DOWN")), ("b:eth0".into(), up(false, false, "DOWN"))];
        let msg = not_up_message(&w, &ends, &[]);
        assert!(
            msg.starts_with("link a:eth0 -- b:eth0 did not come up: waited for a:eth0 to be operationally up"),
            "{msg}"
        );
        assert!(msg.contains("a:eth0: admin up, carrier off, operstate DOWN"), "{msg}");
        assert!(msg.contains("b:eth0: admin down, carrier off, operstate DOWN"), "{msg}");
        assert!(msg.contains("b:eth0 is administratively down") && msg.contains("bug in netns-test"), "{msg}");
        assert!(!msg.contains("kernel may be busy") && !msg.contains("rtnl"), "not the kernel's fault: {msg}");
    }

    #[test]
    fn an_ends_state_is_read_over_netlink() {
        // Read-only, in whatever namespace the unit tests run in: its `lo` (index 1) and an index
        // no namespace has.
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        let _enter = rt.enter();
        let (conn, h, _) = rtnetlink::new_connection().unwrap();
        rt.spawn(conn);
        let lo = rt.block_on(end_state(&h, 1));
        assert!(matches!(lo, EndState::Present { carrier: true, oper: "UNKNOWN" | "UP" | "DOWN", .. }), "lo: {lo}");
        assert_eq!(rt.block_on(end_state(&h, 0x7fff_fff0)), EndState::Missing);
    }

    #[test]
    fn the_kernel_is_blamed_only_when_the_carrier_is_on_and_not_applied() {
        let w = want("a:eth0", "a:eth0 -- b:eth0");
        let on = |oper| [("a:eth0".to_string(), up(true, true, oper)), ("b:eth0".into(), up(true, true, "UP"))];
        let late = not_up_message(&w, &on("DOWN"), &[]);
        assert!(late.contains("link watcher has not applied it yet") && late.contains("rtnl"), "{late}");
        let now_up = not_up_message(&w, &on("UP"), &[]);
        assert!(now_up.contains("just after the deadline"), "{now_up}");
        let gone = not_up_message(&w, &[("a:eth0".into(), EndState::Missing)], &[]);
        assert!(gone.contains("a:eth0: absent") && gone.contains("does not exist"), "{gone}");
        let rest: Vec<String> = (0..8).map(|i| format!("n{i}:eth0")).collect();
        let many = not_up_message(&w, &on("DOWN"), &rest);
        assert!(many.ends_with("Also not up: n0:eth0, n1:eth0, n2:eth0, n3:eth0, n4:eth0, and 3 more."), "{many}");
    }
}
