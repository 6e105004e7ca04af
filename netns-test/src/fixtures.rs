//! A test harness that turns a directory of topology files into tests, on libtest-mimic.
//!
//! ```no_run
//! // tests/topologies.rs, with `[[test]] name = "topologies"  harness = false` in Cargo.toml
//! fn main() {
//!     netns_test::fixtures::run("tests/topologies")
//! }
//! ```
//!
//! Every `*.topo` file under the directory (recursively) is one trial, named after its path
//! relative to the directory without the extension (`lan/bridge` for `lan/bridge.topo`), so
//! `cargo test --test topologies lan/` and `cargo nextest run -E 'test(lan/bridge)'` select as
//! usual. A trial builds its topology in its own sandboxed child process, exactly as a
//! `#[netns_test]` does, probes the file's `expect` lines with real packets, runs the checks
//! added with [`Fixtures::check`], and fails with a table of what was expected and what
//! happened. A file that does not parse is a failing trial showing the error's line and column.
//! When this machine cannot create user namespaces, every trial is reported as ignored (never
//! passed), and the reason is printed once. With `--nocapture`, passing trials print their
//! expectation table too.
//!
//! ```no_run
//! use netns_test::fixtures::Fixtures;
//!
//! fn main() {
//!     Fixtures::new("tests/topologies")
//!         .check(|net, path| {
//!             // runs in the first node of every fixture, after its expectations held
//!             assert!(!net.nodes().is_empty(), "{}", path.display());
//!         })
//!         .run()
//! }
//! ```

// The examples are a harness's `main`: that is the point.
#![allow(clippy::needless_doctest_main)]

use crate::api::Net;
use crate::private::IntoOutcome;
use crate::process::{self, ShouldPanic, Spec, Verdict};
use libtest_mimic::{Arguments, Failed, Trial};
use netns_test_topology::Topology;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A check run in the child after a fixture's expectations held: `(net, path) -> () or Result`.
type Check = dyn Fn(&Net, &Path) -> Result<(), String> + Send + Sync;

/// Runs every `*.topo` file under `dir` as a trial; see the [module docs](self).
///
/// A relative `dir` is taken from the crate's directory (`CARGO_MANIFEST_DIR`, as `cargo test`
/// and `cargo nextest` run test binaries), or from the current directory without it.
pub fn run(dir: impl AsRef<Path>) -> ! {
    Fixtures::new(dir).run()
}

/// A fixture harness with options: checks of its own per file, timeouts.
pub struct Fixtures {
    /// The directory as given, for messages.
    shown: PathBuf,
    /// The directory as resolved.
    dir: PathBuf,
    checks: Vec<Arc<Check>>,
    timeout: Duration,
    probe_timeout: Duration,
}

impl Fixtures {
    /// A harness for the `*.topo` files under `dir` (see [`run`] for how `dir` is resolved).
    pub fn new(dir: impl AsRef<Path>) -> Fixtures {
        let shown = dir.as_ref().to_path_buf();
        let dir = match std::env::var_os("CARGO_MANIFEST_DIR") {
            Some(root) if shown.is_relative() => Path::new(&root).join(&shown),
            _ => shown.clone(),
        };
        Fixtures {
            shown,
            dir,
            checks: Vec::new(),
            timeout: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(2),
        }
    }

    /// Adds a check run for every fixture, in the child, in its first node, after the fixture's
    /// expectations held. It may panic or return `Result<(), E: Debug>`, like a test body.
    pub fn check<R: IntoOutcome>(mut self, f: impl Fn(&Net, &Path) -> R + Send + Sync + 'static) -> Fixtures {
        self.checks.push(Arc::new(move |net: &Net, path: &Path| f(net, path).into_outcome()));
        self
    }

    /// How long one trial may take, build and checks included (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Fixtures {
        self.timeout = timeout;
        self
    }

    /// How long each `expect` probe may take, and so how long a `-/->` waits (default 2 s).
    /// The probes of a fixture run at the same time.
    pub fn probe_timeout(mut self, timeout: Duration) -> Fixtures {
        self.probe_timeout = timeout;
        self
    }

    /// Runs the trials the command line selects (libtest's arguments: filters, `--exact`,
    /// `--list`, `--ignored`, ...) and exits with libtest's status.
    pub fn run(self) -> ! {
        if let Some(name) = crate::env::child_test() {
            self.child(name);
        }
        let args = Arguments::from_args();
        if args.nocapture {
            // Still single-threaded: the trials' children inherit it.
            std::env::set_var(crate::env::FIXTURE_TABLE, "1");
        }
        let files = match topo_files(&self.dir) {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => exit_with(&format!("netns-test: no *.topo files under {}", self.dir.display())),
            Err(e) => exit_with(&format!("netns-test: cannot read the fixture directory {}: {e}", self.dir.display())),
        };
        let files = files.into_iter().map(|(name, path)| {
            let shown = self.shown.join(format!("{name}.topo"));
            (name, path, shown)
        });
        let unsupported = crate::sandbox::probe().err().map(|e| e.to_string());
        if let Some(why) = &unsupported {
            if !args.list {
                eprintln!("netns-test: the {} fixtures under {} are ignored: {why}", files.len(), self.shown.display());
            }
        }
        let (timeout, ignored) = (self.timeout, unsupported.is_some());
        let trials = files
            .map(|(name, path, shown)| {
                let why = unsupported.clone();
                Trial::test(name.clone(), move || trial(&name, &path, &shown, timeout, why)).with_ignored_flag(ignored)
            })
            .collect();
        libtest_mimic::run(&args, trials).exit()
    }

    /// In the trial's child process: build the fixture, probe its expectations, run the checks.
    fn child(&self, name: &str) -> ! {
        let path = self.dir.join(format!("{name}.topo"));
        let shown = self.shown.join(format!("{name}.topo"));
        let src = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("netns-test: cannot read {}: {e}", path.display()));
        let spec = spec(name, src, self.timeout);
        let body = |net: &Net| -> Result<(), String> {
            let found = net.check_expectations(self.probe_timeout);
            if crate::env::fixture_table() {
                println!("{}:\n{}\n{}", shown.display(), found.table(), found.summary());
            }
            if !found.passed() {
                return Err(format!("{}: an expectation failed\n{}", shown.display(), found.table()));
            }
            self.checks.iter().try_for_each(|check| check(net, &path))
        };
        process::run_child(&spec, &body)
    }
}

/// The parent's half of one trial: check the file, then run it in a sandboxed child.
fn trial(name: &str, path: &Path, shown: &Path, timeout: Duration, unsupported: Option<String>) -> Result<(), Failed> {
    let src = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if let Err(errs) = Topology::parse(&src) {
        let each: Vec<String> = errs.0.iter().map(|e| format!("{}:{}", shown.display(), e.render(&src))).collect();
        return Err(format!("invalid topology\n{}", each.join("\n\n")).into());
    }
    // Ignored unless asked for with `--ignored`/`--include-ignored`: then it fails, never passes.
    if let Some(why) = unsupported {
        return Err(format!("netns-test: cannot isolate `{name}`: {why}").into());
    }
    match process::supervise(&spec(name, src, timeout)) {
        Verdict::Passed => Ok(()),
        Verdict::Skipped(why) => Err(format!("netns-test: cannot isolate `{name}`: {why}").into()),
        other => Err(other.message(name).into()),
    }
}

/// The trial as the process model knows a test: its name, topology, node and timeout.
fn spec(name: &str, src: String, timeout: Duration) -> Spec {
    // One per trial in a process that runs a handful: leaking keeps `Spec` `'static` as the
    // macro's are.
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let node = Topology::parse(&src).ok().and_then(|t| t.nodes.first().map(|n| n.name.clone())).unwrap_or_default();
    Spec {
        path: leak(format!("fixtures::{name}")),
        topology: leak(src),
        node: leak(node),
        timeout,
        should_panic: ShouldPanic::No,
    }
}

/// `(name, path)` of every `*.topo` file under `dir`, sorted by name.
fn topo_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "topo") {
                let rel = path.strip_prefix(dir).expect("under dir").with_extension("");
                let name: Vec<String> =
                    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                out.push((name.join("/"), path));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn exit_with(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(101)
}
