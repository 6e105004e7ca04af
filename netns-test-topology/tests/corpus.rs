//! The grammar's snapshot corpus: every `corpus/NAME.topo` is parsed and its rendered result
//! compared with `corpus/NAME.expected` (the errors as the macro and the CLI show them, or `ok`
//! and the model's size for an accepted topology). All cases run in one test, in milliseconds.
//!
//! `BLESS=1 cargo test -p netns-test-topology --test corpus` rewrites the expectations; review
//! the diff before committing it. Inputs too large to check in are generated here ([`generated`]).

use netns_test_topology::Topology;
use std::fmt::Write;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// What a case shows: the rendered errors, or `ok` and the model's size.
fn render(src: &str) -> String {
    match Topology::parse(src) {
        Ok(t) if t.check_references().is_err() => format!("inconsistent model: {:?}\n", t.check_references()),
        Ok(t) => format!("ok: {} nodes, {} bridges, {} links\n", t.nodes.len(), t.bridges.len(), t.links.len()),
        Err(e) => format!("{}\n", e.render(src)),
    }
}

/// Cases whose input is generated rather than checked in: (name, topology).
fn generated() -> Vec<(&'static str, String)> {
    // 20,000 bridge members, one per line: far more than a bridge takes (reported at its name)
    // and a bad prefix on the last line.
    let mut giant = String::from("\n    bridge big {\n");
    for i in 0..19_999 {
        writeln!(giant, "        n{i}=10.0.{}.{}/8,", i / 250, i % 250 + 1).unwrap();
    }
    giant.push_str("        n19999:eth0=10.0.79.250/8|fd00::4e1f/129\n    }\n");
    vec![
        ("giant_bridge_mistake_at_end", giant),
        ("bridge_of_1023_members", lan(1023)),
        ("bridge_of_1024_members", lan(1024)),
    ]
}

/// A router and `n` hosts on one bridge, one member per line (the kernel's limit is 1,023 ports).
fn lan(n: usize) -> String {
    let mut src = String::from("r=192.168.0.1/24 -- up=192.168.0.2/24\nbridge lan {\n");
    for i in 0..n {
        writeln!(src, "    h{i}=10.1.{}.{}/16,", i / 250, i % 250 + 1).unwrap();
    }
    src.push_str("}\n");
    src
}

#[test]
fn corpus() {
    check(checked_in());
}

/// The generated cases apart: the 20,000-member bridge takes a few hundred milliseconds in a
/// debug build.
#[test]
fn generated_corpus() {
    check(generated().into_iter().map(|(n, s)| (n.to_string(), s)).collect());
}

/// The checked-in cases: (name, topology).
fn checked_in() -> Vec<(String, String)> {
    let dir = corpus_dir();
    let generated: Vec<&str> = generated().into_iter().map(|(n, _)| n).collect();
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        match path.extension().and_then(|e| e.to_str()) {
            Some("topo") => cases.push((name, std::fs::read_to_string(&path).unwrap())),
            Some("expected") => {
                assert!(
                    generated.contains(&name.as_str()) || dir.join(format!("{name}.topo")).exists(),
                    "{} has no input",
                    path.display()
                );
            }
            _ => panic!("unexpected file {} in the corpus", path.display()),
        }
    }
    assert!(cases.len() > 100, "the corpus is missing: {} cases in {}", cases.len(), dir.display());
    cases
}

/// Compares each case's rendering with its `.expected` file, or rewrites them under `BLESS=1`.
fn check(mut cases: Vec<(String, String)>) {
    let dir = corpus_dir();
    let bless = std::env::var_os("BLESS").is_some_and(|v| v != "0");
    cases.sort();
    let mut failed = Vec::new();
    for (name, src) in &cases {
        let got = render(src);
        let file = dir.join(format!("{name}.expected"));
        if bless {
            if std::fs::read_to_string(&file).ok().as_deref() != Some(&got) {
                std::fs::write(&file, &got).unwrap();
                eprintln!("blessed {}", file.display());
            }
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(want) if want == got => {}
            Ok(want) => failed.push(format!("{name}: expected\n{want}\ngot\n{got}")),
            Err(_) => failed.push(format!("{name}: no {} (run with BLESS=1), got\n{got}", file.display())),
        }
    }
    assert!(failed.is_empty(), "{} of {} cases differ:\n\n{}", failed.len(), cases.len(), failed.join("\n"));
}
