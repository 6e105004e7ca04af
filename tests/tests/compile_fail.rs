//! The macro's own compile errors (argument, signature and stacked-attribute mistakes, how a
//! topology error is placed on the literal), one rustc run per case in `ui/`. Topology mistakes
//! themselves are the grammar's: `netns-test-topology/tests/corpus/`, checked in milliseconds.

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}

/// These show how topology errors land on the literal (plain, escaped, raw); other topology
/// mistakes belong in the corpus.
const TOPOLOGY_PLACEMENT: [&str; 3] = ["several_mistakes", "ifname_unicode", "ifname_unicode_raw"];

#[test]
fn grammar_cases_live_in_the_corpus() {
    let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    for entry in std::fs::read_dir(&ui).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap();
        if path.extension().is_some_and(|e| e == "stderr") && !TOPOLOGY_PLACEMENT.contains(&name) {
            let stderr = std::fs::read_to_string(&path).unwrap();
            assert!(
                !stderr.contains("error: invalid topology at"),
                "ui/{name}: a topology mistake is a grammar case: add it to netns-test-topology/tests/corpus/ as \
                 {name}.topo (then BLESS=1 cargo test -p netns-test-topology --test corpus)"
            );
        }
    }
}
