//! Item 2: the per-test cost. 100 isolated tests (each its own user + network namespace, a
//! 2-node veth topology, one TCP echo round trip to node b) and 100 plain tests (the same round
//! trip over loopback). Timed by bench/run.sh with the filters `isolated` and `plain`.

use netns_test::{netns_test, Net};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

/// Connect, send 4 bytes, echo them back from the accepted side, check them.
fn round_trip(listener: &TcpListener) {
    let addr = listener.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf).unwrap();
    server.write_all(&buf).unwrap();
    let mut back = [0u8; 4];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping");
}

fn isolated_body(net: &Net) {
    // The body runs in node a; the listener is bound in node b.
    let listener = net.node("b").run(|| TcpListener::bind("10.0.0.2:7000")).unwrap();
    round_trip(&listener);
}

fn plain_body() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    round_trip(&listener);
}

macro_rules! isolated_tests {
    ($($name:ident)*) => {$(
        #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24")]
        fn $name(net: &Net) {
            isolated_body(net);
        }
    )*};
}

macro_rules! plain_tests {
    ($($name:ident)*) => {$(
        #[test]
        fn $name() {
            plain_body();
        }
    )*};
}

isolated_tests!(isolated_000 isolated_001 isolated_002 isolated_003 isolated_004 isolated_005 isolated_006 isolated_007 isolated_008 isolated_009 isolated_010 isolated_011 isolated_012 isolated_013 isolated_014 isolated_015 isolated_016 isolated_017 isolated_018 isolated_019 isolated_020 isolated_021 isolated_022 isolated_023 isolated_024 isolated_025 isolated_026 isolated_027 isolated_028 isolated_029 isolated_030 isolated_031 isolated_032 isolated_033 isolated_034 isolated_035 isolated_036 isolated_037 isolated_038 isolated_039 isolated_040 isolated_041 isolated_042 isolated_043 isolated_044 isolated_045 isolated_046 isolated_047 isolated_048 isolated_049 isolated_050 isolated_051 isolated_052 isolated_053 isolated_054 isolated_055 isolated_056 isolated_057 isolated_058 isolated_059 isolated_060 isolated_061 isolated_062 isolated_063 isolated_064 isolated_065 isolated_066 isolated_067 isolated_068 isolated_069 isolated_070 isolated_071 isolated_072 isolated_073 isolated_074 isolated_075 isolated_076 isolated_077 isolated_078 isolated_079 isolated_080 isolated_081 isolated_082 isolated_083 isolated_084 isolated_085 isolated_086 isolated_087 isolated_088 isolated_089 isolated_090 isolated_091 isolated_092 isolated_093 isolated_094 isolated_095 isolated_096 isolated_097 isolated_098 isolated_099 );
plain_tests!(plain_000 plain_001 plain_002 plain_003 plain_004 plain_005 plain_006 plain_007 plain_008 plain_009 plain_010 plain_011 plain_012 plain_013 plain_014 plain_015 plain_016 plain_017 plain_018 plain_019 plain_020 plain_021 plain_022 plain_023 plain_024 plain_025 plain_026 plain_027 plain_028 plain_029 plain_030 plain_031 plain_032 plain_033 plain_034 plain_035 plain_036 plain_037 plain_038 plain_039 plain_040 plain_041 plain_042 plain_043 plain_044 plain_045 plain_046 plain_047 plain_048 plain_049 plain_050 plain_051 plain_052 plain_053 plain_054 plain_055 plain_056 plain_057 plain_058 plain_059 plain_060 plain_061 plain_062 plain_063 plain_064 plain_065 plain_066 plain_067 plain_068 plain_069 plain_070 plain_071 plain_072 plain_073 plain_074 plain_075 plain_076 plain_077 plain_078 plain_079 plain_080 plain_081 plain_082 plain_083 plain_084 plain_085 plain_086 plain_087 plain_088 plain_089 plain_090 plain_091 plain_092 plain_093 plain_094 plain_095 plain_096 plain_097 plain_098 plain_099 );
