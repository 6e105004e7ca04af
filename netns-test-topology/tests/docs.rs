//! The grammar as documented: the README's section is the crate docs' `GRAMMAR.md`, and every
//! example in it is a valid topology.

use netns_test_topology::Topology;

const GRAMMAR: &str = include_str!("../GRAMMAR.md");
const README: &str = include_str!("../../README.md");

/// The documented text, without `GRAMMAR.md`'s title and comment.
fn body() -> &'static str {
    let start = GRAMMAR.find("Statements are separated").expect("the grammar's first paragraph");
    &GRAMMAR[start..]
}

#[test]
fn readme_shows_the_crate_docs_grammar() {
    let start = README.find("## Topology grammar\n\n").expect("README section") + "## Topology grammar\n\n".len();
    let section = &README[start..start + README[start..].find("\n## ").expect("next section") + 1];
    assert_eq!(
        section.trim_end(),
        body().trim_end(),
        "the README's \"Topology grammar\" section and netns-test-topology/GRAMMAR.md differ: edit GRAMMAR.md \
         (shown on docs.rs) and copy it into the README"
    );
}

#[test]
fn every_example_parses() {
    let examples = body().split("```text\n").nth(1).expect("an example block").split("```").next().unwrap();
    let mut n = 0;
    for line in examples.lines() {
        let stmt = line.split(" #").next().unwrap().trim();
        // Options, routes and blocks name a node that links declare (with two interfaces).
        let src = match stmt.split_once([' ', ':']).map(|(node, _)| node) {
            Some(node) if !stmt.contains("--") && !stmt.starts_with("bridge") => format!(
                "{node}=10.1.0.2/24 -- other=10.1.0.1/24|fd00::1/64\n{node}=10.3.0.1/24 -- x=10.3.0.2/24\n{stmt}"
            ),
            _ => stmt.to_string(),
        };
        if let Err(e) = Topology::parse(&src) {
            panic!("the documented example `{stmt}` is rejected:\n{}", e.render(&src));
        }
        n += 1;
    }
    assert!(n >= 8, "{n} examples");
}

#[test]
fn dns_examples_parse() {
    let block = body().split("  ```text\n").nth(1).expect("the DNS example block").split("  ```").next().unwrap();
    let stmts: String = block.lines().map(|l| format!("{}\n", l.trim_start())).collect();
    let src = format!("h=10.0.0.1/24 -- d=10.0.0.53/24\nh=10.0.1.1/24 -- d2=10.0.1.53/24\nh -- r\nr:eth1=203.0.113.1/24 -- s\nr [resolver=d]\ns [resolver=d]\n{stmts}");
    let t = Topology::parse(&src).unwrap_or_else(|e| panic!("{}", e.render(&src)));
    assert_eq!((t.records.len(), t.dns_nodes().len(), t.expects.len()), (5, 2, 1));
    assert!(t.nodes[t.node_index("r").unwrap()].nat64.is_some());
}
