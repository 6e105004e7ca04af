//! Link conditions in the grammar: `[rate=10mbit, delay=20ms, jitter=5ms, loss=1%,
//! duplicate=1%, reorder=5%]` on links, bridges and bridge members, and their mistakes.

use netns_test_topology::{parse_link_options, Topology};
use std::time::Duration;

fn ok(src: &str) -> Topology {
    Topology::parse(src).unwrap_or_else(|e| panic!("{src:?} should parse:\n{}", e.render(src)))
}

/// The one error of `src`: its message, the text it points at, and its help.
#[track_caller]
fn err(src: &str) -> (String, String, Option<String>) {
    let e = Topology::parse(src).expect_err(src);
    assert_eq!(e.0.len(), 1, "{src:?}: expected one error, got:\n{}", e.render(src));
    let e = &e.0[0];
    (e.message.clone(), src[e.span.clone()].to_string(), e.help.clone())
}

#[test]
fn every_condition_on_a_link_with_mtu() {
    let t = ok("a -- b [mtu=1400, rate=10mbit, delay=20ms, jitter=5ms, loss=1%, duplicate=0.5%, reorder=5%]");
    let l = &t.links[0];
    assert_eq!(l.mtu, Some(1400));
    let c = l.conditions;
    assert_eq!(c.rate.unwrap().bits_per_sec(), 10_000_000);
    assert_eq!((c.delay, c.jitter), (Duration::from_millis(20), Duration::from_millis(5)));
    assert_eq!(c.to_string(), "rate=10mbit, delay=20ms, jitter=5ms, loss=1%, duplicate=0.5%, reorder=5%");
    assert!(ok("a -- b").links[0].conditions.is_empty());
}

#[test]
fn bridge_conditions_and_a_members_own() {
    let t = ok("bridge br0 { h1 [delay=20ms], h2, h3 [loss=2%] } [rate=1mbit]");
    let c: Vec<String> = t.bridges[0].conditions.iter().map(|c| c.to_string()).collect();
    // A member's own list replaces the bridge's conditions for its link.
    assert_eq!(c, ["delay=20ms", "rate=1mbit", "loss=2%"]);
    let t = ok("bridge br0 {\n  h1=10.0.0.1/24 [delay=1ms],\n  h2=10.0.0.2/24\n}");
    assert_eq!(t.bridges[0].conditions[0].delay, Duration::from_millis(1));
}

#[test]
fn bad_values_point_at_the_value() {
    assert_eq!(
        err("a -- b [loss=101%]"),
        ("loss 101% is more than 100%".into(), "101%".into(), Some("a percentage is at most `100%`".into()))
    );
    let (msg, at, help) = err("a -- b [rate=fast]");
    assert_eq!((msg.as_str(), at.as_str()), ("invalid rate `fast`: expected bits per second", "fast"));
    assert!(help.unwrap().contains("e.g. `rate=10mbit`"));
    assert_eq!(err("a -- b [rate=10mbps]").0, "ambiguous rate unit `mbps`");
    assert_eq!(err("a -- b [delay=20]").1, "20");
    assert_eq!(err("a -- b [delay]").0, "option `delay` needs a value");
    assert_eq!(err("a -- b [loss=1%, loss=2%]").0, "duplicate option `loss`");
}

#[test]
fn rules_between_conditions_point_at_the_list() {
    let (msg, at, _) = err("a -- b [jitter=5ms]");
    assert_eq!((msg.as_str(), at.as_str()), ("`jitter` needs a `delay`", "[jitter=5ms]"));
    assert_eq!(err("a -- b [reorder=5%]").0, "`reorder` needs a `delay`");
    assert_eq!(err("a -- b [delay=2ms, jitter=5ms]").0, "jitter 5ms is larger than the delay 2ms");
}

#[test]
fn misspelt_and_misplaced_options() {
    let (msg, _, help) = err("a -- b [dealy=20ms]");
    assert_eq!((msg.as_str(), help.as_deref()), ("unknown option `dealy`", Some("did you mean `delay`?")));
    let (msg, _, help) = err("a -- b; a [delay=20ms]");
    assert_eq!(msg, "unknown option `delay`");
    assert_eq!(help.as_deref(), Some("`delay` is a link option: write `a -- b [delay=20ms]`"));
    let (msg, at, _) = err("bridge br0 { a [mtu=1400], b }");
    assert_eq!((msg.as_str(), at.as_str()), ("a bridge member cannot have its own `mtu`", "[mtu=1400]"));
}

#[test]
fn run_time_options_use_the_same_parser() {
    let o = parse_link_options("delay=50ms, loss=2%").unwrap();
    assert_eq!(o.conditions.to_string(), "delay=50ms, loss=2%");
    assert_eq!(parse_link_options("mtu=1400").unwrap().mtu, Some(1400));
    let text = "delay=50ms, loss=101%";
    let e = parse_link_options(text).unwrap_err();
    assert_eq!(e.0[0].message, "loss 101% is more than 100%");
    assert_eq!(&text[e.0[0].span.clone()], "101%");
    assert_eq!(e.render(text), "1:18: loss 101% is more than 100%\n  delay=50ms, loss=101%\n                   ^^^^\n  help: a percentage is at most `100%`");
    assert_eq!(parse_link_options("forward").unwrap_err().0[0].message, "unknown option `forward`");
    assert_eq!(parse_link_options("delay=1ms]").unwrap_err().0[0].message, "unexpected `]`");
    assert_eq!(parse_link_options("").unwrap_err().0[0].message, "empty option list");
}
