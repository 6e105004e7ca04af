//! Load: 64 ten-node tests at once, and 1,000 consecutive isolated dual-stack tests.
//! Built only with `--features load`; run by `ci/load.sh`, which reports the figures.

use netns_test::{netns_test, Net};
use netns_test_e2e::tcp_round_trip;

fn ten_nodes(net: &Net) {
    assert_eq!(net.nodes().len(), 10);
    assert_eq!(tcp_round_trip(net, "n9", "[fd00::19]:7000".parse().unwrap()).ip().to_string(), "fd00::10");
    assert_eq!(tcp_round_trip(net, "n5", "10.0.0.15:7000".parse().unwrap()).ip().to_string(), "10.0.0.10");
    // Up to 3 echoes (`ping -w 3`), not `Net::ping`'s one: 64 ten-node tests at once make more
    // IPv6 neighbours than the kernel's neighbour table holds by default, and that table is one
    // for every namespace on the machine (`net.ipv6.neigh.default.gc_thresh3`, 1024). When it
    // is full, an echo to a peer not yet resolved is dropped with no entry and no error; a later
    // echo may find room freed. If none does, the verdict says the table was full.
    for n in net.nodes() {
        net.node("n0").ping(n.ipv6().unwrap().into(), std::time::Duration::from_secs(3)).unwrap();
    }
}

fn pair(net: &Net) {
    assert_eq!(tcp_round_trip(net, "b", "[fd00::2]:7000".parse().unwrap()).ip().to_string(), "fd00::1");
    assert_eq!(tcp_round_trip(net, "b", "10.0.0.2:7000".parse().unwrap()).ip().to_string(), "10.0.0.1");
}

macro_rules! tests {
    ($topology:literal, $body:ident: $($name:ident)*) => {$(
        #[netns_test(topology = $topology)]
        fn $name(net: &Net) {
            $body(net)
        }
    )*};
}

macro_rules! ten {
    ($topology:literal, $body:ident: $($m:ident)*) => {$(
        mod $m {
            use super::*;
            tests!($topology, $body: t0 t1 t2 t3 t4 t5 t6 t7 t8 t9);
        }
    )*};
}

/// 64 tests of 10 nodes each: run with `--test-threads=64 parallel::`.
mod parallel {
    use super::*;
    tests!(
        "bridge br0 {
            n0=10.0.0.10/24|fd00::10/64, n1=10.0.0.11/24|fd00::11/64, n2=10.0.0.12/24|fd00::12/64,
            n3=10.0.0.13/24|fd00::13/64, n4=10.0.0.14/24|fd00::14/64, n5=10.0.0.15/24|fd00::15/64,
            n6=10.0.0.16/24|fd00::16/64, n7=10.0.0.17/24|fd00::17/64, n8=10.0.0.18/24|fd00::18/64,
            n9=10.0.0.19/24|fd00::19/64 }",
        ten_nodes:
            t00 t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 t11 t12 t13 t14 t15
            t16 t17 t18 t19 t20 t21 t22 t23 t24 t25 t26 t27 t28 t29 t30 t31
            t32 t33 t34 t35 t36 t37 t38 t39 t40 t41 t42 t43 t44 t45 t46 t47
            t48 t49 t50 t51 t52 t53 t54 t55 t56 t57 t58 t59 t60 t61 t62 t63
    );
}

/// 1,000 two-node dual-stack tests: run with `--test-threads=1 consecutive::`.
mod consecutive {
    use super::*;
    macro_rules! hundred {
        ($($h:ident)*) => {$(
            mod $h {
                use super::*;
                ten!("a=10.0.0.1/24|fd00::1/64 -- b=10.0.0.2/24|fd00::2/64", pair: d0 d1 d2 d3 d4 d5 d6 d7 d8 d9);
            }
        )*};
    }
    hundred!(h0 h1 h2 h3 h4 h5 h6 h7 h8 h9);
}
