//! The fixture harness (`netns_test::fixtures`), run as a user's `harness = false` target would
//! be: the `fixture_harness` example on the files of `tests/harness/`, with libtest's arguments.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The example binary cargo built next to this test (`target/<profile>/examples/`).
fn harness() -> Command {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let exe: PathBuf = deps.parent().unwrap().join("examples/fixture_harness");
    assert!(exe.exists(), "{} is missing: `cargo test` builds examples; run `cargo build --examples`", exe.display());
    let mut cmd = Command::new(exe);
    cmd.env("FIXTURE_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/harness"));
    cmd
}

fn run(cmd: &mut Command) -> (Option<i32>, String) {
    let Output { status, stdout, stderr } = cmd.output().unwrap();
    (status.code(), format!("{}{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr)))
}

#[test]
fn lists_one_trial_per_file_named_by_relative_path() {
    let (code, out) = run(harness().args(["--list", "--format", "terse"]));
    assert_eq!(code, Some(0), "{out}");
    let names: Vec<&str> = out.lines().collect();
    assert_eq!(names, ["bad-syntax: test", "good: test", "sub/isolated: test", "wrong-expect: test"], "{out}");
}

#[test]
fn passing_fixtures_pass_and_an_exact_filter_runs_one() {
    let (code, out) = run(harness().args(["sub/isolated", "--exact", "--nocapture"]));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("test sub/isolated ... ok") && out.contains("1 passed; 0 failed"), "{out}");
    assert!(out.contains("c -/-> a tcp/22") && out.contains("3 of 3 expectation probes as expected"), "{out}");
    let (code, out) = run(harness().arg("good"));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("test good ... ok") && out.contains("1 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out"),
        "{out}"
    );
}

#[test]
fn a_failed_expectation_fails_with_a_table() {
    let (code, out) = run(harness().args(["wrong-expect", "--exact"]));
    assert_eq!(code, Some(101), "{out}");
    assert!(out.contains("test wrong-expect ... FAILED"), "{out}");
    let row = out.lines().find(|l| l.contains("a -> c udp/53")).unwrap_or_else(|| panic!("no table row:\n{out}"));
    for cell in ["7", "10.0.1.2", "reachable", "FAILED"] {
        assert!(row.contains(cell), "{cell} missing in {row:?}\n{out}");
    }
    assert!(out.contains("wrong-expect.topo: an expectation failed"), "{out}");
    assert!(out.lines().any(|l| l.contains("a -> b ") && l.trim_end().ends_with("ok")), "{out}");
}

#[test]
fn a_file_that_does_not_parse_is_a_failing_trial_pointing_at_the_mistake() {
    let (code, out) = run(harness().args(["bad-syntax", "--exact"]));
    assert_eq!(code, Some(101), "{out}");
    assert!(out.contains("test bad-syntax ... FAILED"), "{out}");
    assert!(
        out.contains("bad-syntax.topo:3:4: unknown option `foward`") && out.contains("did you mean `forward`?"),
        "{out}"
    );
}

#[test]
fn checks_of_its_own_run_in_the_child_and_fail_the_trial() {
    let (code, out) = run(harness().args(["good", "--exact"]).env("FIXTURE_CHECK", "fail"));
    assert_eq!(code, Some(101), "{out}");
    assert!(out.contains("good.topo: node b is not welcome"), "{out}");
}

#[test]
fn all_four_run_together_two_fail() {
    let (code, out) = run(harness().arg("--test-threads=2"));
    assert_eq!(code, Some(101), "{out}");
    assert!(out.contains("2 passed; 2 failed"), "{out}");
}

#[test]
fn without_user_namespaces_every_trial_is_ignored_with_the_reason() {
    let (code, out) = run(&mut without_user_namespaces());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("the 4 fixtures under") && out.contains("are ignored: cannot create a user namespace"),
        "{out}"
    );
    let good = out.lines().find(|l| l.starts_with("test good ")).unwrap_or_else(|| panic!("{out}"));
    assert!(good.ends_with("... ignored") && out.contains("0 passed; 0 failed; 4 ignored"), "{out}");
    // nextest learns which tests are ignored from this listing, and skips them.
    let (code, out) = run(without_user_namespaces().args(["--list", "--format", "terse", "--ignored"]));
    assert_eq!((code, out.lines().count()), (Some(0), 4), "{out}");
    // Asked for explicitly, they fail rather than pass.
    let (code, out) = run(without_user_namespaces().args(["good", "--exact", "--ignored"]));
    assert_eq!(code, Some(101), "{out}");
    assert!(out.contains("test good ... FAILED") && out.contains("cannot isolate `good`"), "{out}");
}

fn without_user_namespaces() -> Command {
    let mut cmd = harness();
    netns_test_e2e::forbid_user_namespaces(&mut cmd);
    cmd
}
