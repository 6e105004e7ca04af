//! Packets the kernel dropped for want of room in what every network namespace on the machine
//! shares: the IPv6 and IPv4 neighbour tables and the per-CPU receive backlog. A test that fails
//! because of them shows no fault of its own (a ping unanswered, no neighbour entry at all), so
//! the parent says so.
//!
//! ```ignore
//! let before = machine_drops::snapshot(); // the parent, before spawning the child
//! // ... the test fails ...
//! if let Some(note) = before.and_then(|b| machine_drops::drops_since(&b)) { /* show it */ }
//! // netns-test: while this test ran, the kernel dropped packets for want of room in what every
//! // network namespace on this machine shares (for this test or anything running beside it):
//! //   IPv6 neighbour table full 3 times (net.ipv6.neigh.default.gc_thresh3 = 1024): each time
//! //     a packet that needed a new neighbour entry was dropped
//! // Fix: run fewer tests or nodes at once (--test-threads), or raise the limit on the host,
//! // as root: sysctl -w net.ipv6.neigh.default.gc_thresh3=8192
//! ```
//!
//! The counters are the sum over the per-CPU rows of one hex column: `table_fulls` of
//! `/proc/net/stat/{ndisc,arp}_cache`, which exist only in the machine's initial network
//! namespace, and `dropped` (the second) of `/proc/net/softnet_stat`, global but visible in every
//! namespace. The parent runs in the runner's namespace; a counter it cannot read is left out,
//! silently. The files stay open; a snapshot is one `pread` of each into a buffer, kept as the
//! kernel wrote it and parsed only if the test fails (`snapshot_cost` below measures it).

use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;

/// One counter: where it is, how to find its column, what it means and which sysctl limits it.
struct Counter {
    file: &'static str,
    /// The name the header line gives the column; `None`: the file has no header line.
    header: Option<&'static [u8]>,
    /// Its column, from 0.
    column: usize,
    sysctl: &'static str,
    /// `{n} {what}` on the note's line, e.g. "IPv6 neighbour table full 3 times".
    what: fn(u64) -> String,
    /// What a grown counter meant, after the limit.
    meaning: &'static str,
    /// The limit to suggest, given the current one.
    raise: fn(Option<u64>) -> u64,
}

fn times(n: u64) -> &'static str {
    if n == 1 {
        "time"
    } else {
        "times"
    }
}

const NEIGHBOUR_MEANING: &str = "each time a packet that needed a new neighbour entry was dropped";

const COUNTERS: [Counter; 3] = [
    Counter {
        file: "/proc/net/stat/ndisc_cache",
        header: Some(b"table_fulls"),
        column: 12,
        sysctl: "net.ipv6.neigh.default.gc_thresh3",
        what: |n| format!("IPv6 neighbour table full {n} {}", times(n)),
        meaning: NEIGHBOUR_MEANING,
        raise: |limit| limit.map_or(8192, |l| (l * 8).max(8192)),
    },
    Counter {
        file: "/proc/net/stat/arp_cache",
        header: Some(b"table_fulls"),
        column: 12,
        sysctl: "net.ipv4.neigh.default.gc_thresh3",
        what: |n| format!("IPv4 neighbour table (ARP) full {n} {}", times(n)),
        meaning: NEIGHBOUR_MEANING,
        raise: |limit| limit.map_or(8192, |l| (l * 8).max(8192)),
    },
    Counter {
        file: "/proc/net/softnet_stat",
        header: None,
        column: 1,
        sysctl: "net.core.netdev_max_backlog",
        what: |n| format!("receive backlog full: {n} {} dropped", if n == 1 { "packet" } else { "packets" }),
        meaning: "a CPU's queue of packets received (from a veth too) and not yet processed",
        raise: |limit| limit.map_or(10_000, |l| (l * 10).max(10_000)),
    },
];

/// One counter as read: the sum of its column and the number of rows summed (a CPU brought
/// online or offline between two readings changes the rows: such a pair is not compared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reading {
    sum: u64,
    rows: u32,
}

/// The counter files at one moment, as the kernel wrote them (`None` where unreadable): parsed
/// only when a test fails, so that the snapshot itself costs no more than reading them.
#[derive(Debug)]
pub(crate) struct Snapshot([Option<Vec<u8>>; 3]);

impl Snapshot {
    fn readings(&self) -> [Option<Reading>; 3] {
        let mut out = [None; 3];
        for ((o, text), c) in out.iter_mut().zip(&self.0).zip(&COUNTERS) {
            *o = text.as_deref().and_then(|t| sum_column(t, c));
        }
        out
    }
}

/// The counter files, opened once per process; `None` where they cannot be opened.
fn files() -> &'static [Option<File>; 3] {
    static FILES: OnceLock<[Option<File>; 3]> = OnceLock::new();
    FILES.get_or_init(|| COUNTERS.map(|c| File::open(c.file).ok()))
}

/// The counters now, or `None` when none of them can be read here.
pub(crate) fn snapshot() -> Option<Snapshot> {
    let files = files();
    if files.iter().all(Option::is_none) {
        return None;
    }
    let mut snap = Snapshot([None, None, None]);
    for (slot, file) in snap.0.iter_mut().zip(files) {
        *slot = file.as_ref().and_then(read);
    }
    Some(snap)
}

/// A whole counter file, read from offset 0 (a many-CPU `softnet_stat` is tens of KiB).
///
/// A read that returns less than `PIECE - MAX_ROW` bytes was the last: the kernel's `seq_file`
/// fills a read with whole rows until the reader's buffer or its own (a page at least) is full,
/// and these rows are under 256 bytes. That spares a system call per file (0.7 µs).
fn read(file: &File) -> Option<Vec<u8>> {
    const PIECE: usize = 4096;
    const MAX_ROW: usize = 1024;
    // Zeroed by the allocator: no byte loop in an unoptimised build.
    let mut text = vec![0u8; PIECE];
    let mut len = 0;
    loop {
        if text.len() - len < PIECE {
            text.resize(len + PIECE, 0); // past 4 KiB only: a machine with many CPUs
        }
        match file.read_at(&mut text[len..len + PIECE], len as u64) {
            Ok(n) => {
                len += n;
                if n < PIECE - MAX_ROW {
                    text.truncate(len);
                    return Some(text);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// The note for a failure if any counter grew since `before` (read again now), else `None`.
pub(crate) fn drops_since(before: &Snapshot) -> Option<String> {
    let after = snapshot()?;
    let grown = grown(&before.readings(), &after.readings());
    if grown.iter().all(|&n| n == 0) {
        return None;
    }
    let limits = COUNTERS.map(|c| read_sysctl(c.sysctl));
    render(&grown, &limits)
}

/// How much each counter grew; 0 where it did not, or was not read both times alike.
fn grown(before: &[Option<Reading>; 3], after: &[Option<Reading>; 3]) -> [u64; 3] {
    let mut out = [0; 3];
    for (o, (b, a)) in out.iter_mut().zip(before.iter().zip(after)) {
        if let (Some(b), Some(a)) = (b, a) {
            if a.rows == b.rows {
                *o = a.sum.saturating_sub(b.sum);
            }
        }
    }
    out
}

/// `net.core.netdev_max_backlog` from `/proc/sys/net/core/netdev_max_backlog`, if readable.
fn read_sysctl(name: &str) -> Option<u64> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The note: a line per counter that grew (`grown[i]` > 0), with its limit where known
/// (`limits[i]`), and the fix. `None` if nothing grew.
fn render(grown: &[u64; 3], limits: &[Option<u64>; 3]) -> Option<String> {
    if grown.iter().all(|&n| n == 0) {
        return None;
    }
    let mut out = String::from(
        "netns-test: while this test ran, the kernel dropped packets for want of room in what every network \
         namespace on this machine shares (for this test or anything running beside it):\n",
    );
    let mut raise = Vec::new();
    for ((c, &n), &limit) in COUNTERS.iter().zip(grown).zip(limits) {
        if n == 0 {
            continue;
        }
        let _ = write!(out, "  {}", (c.what)(n));
        if let Some(l) = limit {
            let _ = write!(out, " ({} = {l})", c.sysctl);
        }
        let _ = writeln!(out, ": {}", c.meaning);
        raise.push(format!("{}={}", c.sysctl, (c.raise)(limit)));
    }
    let _ = writeln!(
        out,
        "Fix: run fewer tests or nodes at once (--test-threads), or raise the {} on the host, as root: sysctl -w {}",
        if raise.len() == 1 { "limit" } else { "limits" },
        raise.join(" ")
    );
    Some(out)
}

/// `counter`'s hex column of `text`, summed over its rows (one per CPU), after checking the
/// header names the column (where the file has one). `None` when the file is not as expected:
/// no rows, a row without the column, something not hex in it, or another header.
fn sum_column(text: &[u8], counter: &Counter) -> Option<Reading> {
    let mut lines = std::str::from_utf8(text).ok()?.lines().filter(|l| !l.trim().is_empty());
    if let Some(name) = counter.header {
        let header = lines.next()?;
        if header.split_whitespace().nth(counter.column)?.as_bytes() != name {
            return None;
        }
    }
    let (mut sum, mut rows) = (0u64, 0u32);
    for line in lines {
        let field = line.split_whitespace().nth(counter.column)?;
        sum = sum.saturating_add(u64::from_str_radix(field, 16).ok()?);
        rows += 1;
    }
    (rows > 0).then_some(Reading { sum, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/net/stat/ndisc_cache` of a 2-CPU machine (kernel 6.18) after many load runs.
    const NDISC: &str = "\
entries  allocs   destroys hash_grows lookups  hits     res_failed rcv_probes_mcast rcv_probes_ucast periodic_gc_runs forced_gc_runs unresolved_discards table_fulls
00000000 000a0620 000a10d9 00000002   00007ac7 00003177 00000002   0000310d         00000001         00000000         0000079d       00000000            000004be
00000000 000a040a 0009f951 00000006   0000756e 00002e48 00000002   00002dbe         00000000         00000567         000003ba       00000000            00000128
";

    /// `/proc/net/softnet_stat` of the same machine: no header, a row per online CPU.
    const SOFTNET: &str = "\
0437f368 001161ed 000000ab 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
04048de8 001277ed 000000cd 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000
";

    fn sum(text: &str, counter: usize) -> Option<Reading> {
        sum_column(text.as_bytes(), &COUNTERS[counter])
    }

    #[test]
    fn per_cpu_rows_are_summed_in_hex() {
        assert_eq!(sum(NDISC, 0), Some(Reading { sum: 0x4be + 0x128, rows: 2 }));
        assert_eq!(sum(SOFTNET, 2), Some(Reading { sum: 0x1161ed + 0x1277ed, rows: 2 }));
        // No newline at the end, upper-case hex, tabs.
        assert_eq!(sum("1 A\t2\n1 f", 2), Some(Reading { sum: 0x19, rows: 2 }));
    }

    #[test]
    fn a_file_not_as_expected_is_not_read() {
        assert_eq!(sum("", 0), None, "empty");
        assert_eq!(sum(NDISC.lines().next().unwrap(), 0), None, "header alone: no rows");
        let renamed = NDISC.replace("table_fulls", "table_full");
        assert_eq!(sum(&renamed, 0), None, "another column name");
        let old_kernel =
            NDISC.replace(" table_fulls", "").replace("            000004be", "").replace("            00000128", "");
        assert_eq!(sum(&old_kernel, 0), None, "no such column");
        assert_eq!(sum("00000001 0000zz01\n", 2), None, "not hex");
        assert_eq!(sum("00000001\n", 2), None, "a row too short");
    }

    #[test]
    fn only_growth_read_alike_both_times_counts() {
        let r = |sum, rows| Some(Reading { sum, rows });
        let before = [r(10, 2), r(5, 2), r(100, 2)];
        let after = [r(13, 2), r(5, 2), r(90, 2)];
        assert_eq!(grown(&before, &after), [3, 0, 0], "unchanged, and a decrease (a wrapped counter) are 0");
        let after = [None, r(6, 2), r(120, 3)];
        assert_eq!(grown(&before, &after), [0, 1, 0], "unreadable, and a CPU brought online, are 0");
    }

    #[test]
    fn the_note_names_what_grew_with_the_limits_known() {
        assert_eq!(render(&[0, 0, 0], &[Some(1024), Some(1024), Some(1000)]), None);
        assert_eq!(
            render(&[3, 0, 12], &[Some(1024), None, Some(1000)]).unwrap(),
            "netns-test: while this test ran, the kernel dropped packets for want of room in what every network \
             namespace on this machine shares (for this test or anything running beside it):\n  \
             IPv6 neighbour table full 3 times (net.ipv6.neigh.default.gc_thresh3 = 1024): each time a packet that \
             needed a new neighbour entry was dropped\n  \
             receive backlog full: 12 packets dropped (net.core.netdev_max_backlog = 1000): a CPU's queue of packets \
             received (from a veth too) and not yet processed\n\
             Fix: run fewer tests or nodes at once (--test-threads), or raise the limits on the host, as root: sysctl \
             -w net.ipv6.neigh.default.gc_thresh3=8192 net.core.netdev_max_backlog=10000\n"
        );
        let note = render(&[0, 1, 0], &[None, None, None]).unwrap();
        assert!(note.contains("\n  IPv4 neighbour table (ARP) full 1 time: each time"), "{note}");
        assert!(
            note.ends_with("raise the limit on the host, as root: sysctl -w net.ipv4.neigh.default.gc_thresh3=8192\n")
        );
    }

    /// The files of this machine, if it shows them: read alike twice, never decreasing.
    #[test]
    fn the_machines_counters_read_alike_twice() {
        let Some(a) = snapshot() else { return };
        let b = snapshot().unwrap();
        for (x, y) in a.readings().iter().zip(&b.readings()) {
            assert_eq!(x.is_some(), y.is_some());
            if let (Some(x), Some(y)) = (x, y) {
                assert!(y.sum >= x.sum && y.rows == x.rows, "{x:?} then {y:?}");
            }
        }
    }

    /// `cargo test -p netns-test --lib snapshot_cost -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement: prints the cost of one snapshot"]
    fn snapshot_cost() {
        let _ = snapshot();
        let n = 10_000;
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(snapshot());
        }
        let each = start.elapsed() / n;
        eprintln!("snapshot: {each:?} each ({:?})", snapshot().map(|s| s.readings()));
    }
}
