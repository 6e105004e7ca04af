//! Where a test's files go (its packet captures, its log, its report page): one directory per
//! test, `target/netns-test/<crate>::<test>/`, the same from the test child and its parent.
//!
//! ```ignore
//! let [dir, fallback] = out_dir::dirs(&out_dir::test_path("fixture::link_down"));
//! // dir:      /…/target/netns-test/forensics::fixture::link_down
//! // fallback: /tmp/netns-test-1000/forensics::fixture::link_down
//! ```
//!
//! The cargo target directory is the one holding the test binary and a `CACHEDIR.TAG` (`./target`
//! if there is none); if that is not writable (a suite run by another user than the one who built
//! it), the fallback is `<temporary directory>/netns-test-<uid>/`.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The directory and its fallback for the test `path` (see [`test_path`]).
pub(crate) fn dirs(path: &str) -> [PathBuf; 2] {
    let [target, tmp] = roots();
    [target.join(path), tmp.join(path)]
}

/// `target/netns-test` and `<tmp>/netns-test-<uid>`, found once per process.
pub(crate) fn roots() -> [&'static Path; 2] {
    static ROOTS: OnceLock<[PathBuf; 2]> = OnceLock::new();
    let [a, b] = ROOTS.get_or_init(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        let target = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()).unwrap_or(Path::new("target"));
        [target.join("netns-test"), std::env::temp_dir().join(format!("netns-test-{}", outside_uid()))]
    });
    [a, b]
}

/// `<crate>::<test>`, the name `#[netns_test]` gives the test `name` (as libtest knows it): the
/// test binary's name without cargo's hash, and the test's name in it.
pub(crate) fn test_path(name: &str) -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe.file_name().and_then(|n| n.to_str()).unwrap_or("test");
    let krate = match stem.rsplit_once('-') {
        Some((krate, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => krate,
        _ => stem,
    };
    format!("{krate}::{name}")
}

/// In a test child: the path of the test it runs.
pub(crate) fn this_test() -> String {
    test_path(crate::env::child_test().unwrap_or("test"))
}

/// Creates (truncates) `name` in the test `path`'s directory, or in the fallback when the first
/// cannot be written; the file's path and the file.
pub(crate) fn create(path: &str, name: &str) -> io::Result<(PathBuf, File)> {
    let [dir, fallback] = dirs(path);
    let make = |dir: &Path| {
        std::fs::create_dir_all(dir)?;
        let file = dir.join(name);
        replace(&file).map(|f| (file, f))
    };
    make(&dir).or_else(|e| make(&fallback).map_err(|e2| io::Error::new(e2.kind(), format!("{e}; {e2}"))))
}

/// A new, empty file at `path`, in place of any file there. Not truncated in place: ext4 makes
/// a file truncated and written again reach the disk when it is closed (tens of milliseconds
/// here), which a new file does not.
pub(crate) fn replace(path: &Path) -> io::Result<File> {
    let _ = std::fs::remove_file(path);
    File::create(path)
}

/// The file `name` of the test `path`, in whichever of the two directories has it.
pub(crate) fn find(path: &str, name: &str) -> Option<PathBuf> {
    dirs(path).into_iter().map(|d| d.join(name)).find(|f| f.is_file())
}

/// The user running the tests, as the host knows it: inside the test's user namespace everyone
/// is 0 and `/proc/self/uid_map` says who that is (`0 <uid> 1`); outside, the real uid.
fn outside_uid() -> u32 {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let fields: Vec<&str> = map.split_whitespace().collect();
    match fields.as_slice() {
        [_, outside, count, ..] if *count != "4294967295" => outside.parse().unwrap_or(0),
        // SAFETY: getuid cannot fail.
        _ => unsafe { libc::getuid() },
    }
}
