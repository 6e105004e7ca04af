#!/usr/bin/env bash
# The netns-test benchmark suite: ONE command, `bench/run.sh`, from anywhere in the repository.
# Needs hyperfine, cargo-nextest, GNU time (/usr/bin/time), iproute2 and util-linux `unshare`.
# Runs items 1–9 of BENCHMARKS.md, prints every figure, keeps the raw data in bench/results/
# and redraws bench/scaling.svg. About 10–12 minutes on 2 cores plus the first compilation (most of
# it the 1,000-node builds and the pauses that let the kernel free their namespaces).
# RUNS=N scales the repetitions (default 1 = the documented figures; 0.5 halves them, roughly).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/results
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
runs() { awk -v n="$1" -v k="${RUNS:-1}" 'BEGIN { r = int(n * k + 0.5); print (r < 2 ? 2 : r) }'; }
say() { printf '\n=== %s\n' "$*"; }
# median / min / max in ms and ratio to the first command, from hyperfine's JSON.
summ() {
    jq -r '.results as $r | $r[] | [.command, (.median*1e3), (.min*1e3), (.max*1e3), (.median / $r[0].median)]
        | "| `\(.[0])` | \(.[1]*100|round/100) | \(.[2]*100|round/100)–\(.[3]*100|round/100) | \(.[4]*1000|round/1000)× |"' "$1"
}
per100() {
    jq -r --argjson base "$2" '.results[] | [.command, (.median*10), (.min*10), (.max*10), ((.median*10) - $base)]
        | "| `\(.[0])` | \(.[1]*100|round/100) | \(.[2]*100|round/100)–\(.[3]*100|round/100) | \(.[4]*100|round/100) |"' "$1"
}
for t in hyperfine cargo-nextest jq /usr/bin/time unshare ip; do
    command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y hyperfine jq time iproute2; cargo install cargo-nextest)"; exit 1; }
done

say "machine"
{
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "kernel: $(uname -r)"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "rustc: $(rustc --version)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
} | tee "$OUT/machine.txt"

say "building (release and debug)"
cargo build -q --release -p netns-test-bench --bins -p netns-test-cli
cargo build -q -p netns-test-bench --bins
exe() { cargo test -q $1 -p netns-test-bench --features per-test --test per_test --no-run --message-format=json 2>/dev/null \
        | jq -r 'select(.executable != null and .target.name == "per_test") | .executable'; }
REL=$(exe --release)
DBG=$(exe "")
BIN=$CARGO_TARGET_DIR/release
echo "release test binary: $REL"
echo "debug test binary:   $DBG"

say "1. build speed: three hosts on a bridge, whole processes (release)"
# Back to back (the previous run's namespaces are still being freed by the kernel, as in a test
# suite) and spaced by 300 ms (the build alone).
for mode in back-to-back spaced; do
    prep=(); [ $mode = spaced ] && prep=(--prepare 'sleep 0.3')
    hyperfine -N --style basic --warmup 3 --runs "$(runs 30)" "${prep[@]}" \
        --export-json "$OUT/1-build-$mode.json" \
        "$BIN/build_once fixtures/three-hosts-bridge.topo" \
        "unshare -Urnm sh bench/shell/three-hosts.sh" >/dev/null
    echo "$mode: | command | median ms | min–max ms | ratio to netns-test |"
    summ "$OUT/1-build-$mode.json"
done

say "2. per-test cost: 100 tests (ms per test = wall / 100)"
sleep 1
for prof in release debug; do
    T=$REL; [ $prof = debug ] && T=$DBG
    hyperfine -N --style basic --warmup 1 --runs "$(runs 5)" --prepare 'sleep 0.5' \
        --export-json "$OUT/2-per-test-$prof.json" \
        "$T plain --test-threads=1" \
        "$T plain --test-threads=2" \
        "$T isolated --test-threads=1" \
        "$T isolated --test-threads=2" >/dev/null
    base=$(jq '.results[0].median*10' "$OUT/2-per-test-$prof.json")
    echo "$prof: | command | ms/test median | min–max | overhead vs plain sequential (ms/test) |"
    per100 "$OUT/2-per-test-$prof.json" "$base"
done
# nextest: its own process per test for every test, plus cargo's up-to-date check.
hyperfine -N --style basic --warmup 1 --runs "$(runs 3)" --prepare 'sleep 0.5' \
    --export-json "$OUT/2-nextest.json" \
    "cargo nextest run -p netns-test-bench --features per-test --test per_test --cargo-quiet --status-level none --final-status-level none plain" \
    "cargo nextest run -p netns-test-bench --features per-test --test per_test --cargo-quiet --status-level none --final-status-level none isolated" \
    "cargo nextest run --release -p netns-test-bench --features per-test --test per_test --cargo-quiet --status-level none --final-status-level none isolated" >/dev/null
base=$(jq '.results[0].median*10' "$OUT/2-nextest.json")
echo "nextest (2 threads = nproc): | command | ms/test median | min–max | overhead vs nextest plain (ms/test) |"
per100 "$OUT/2-nextest.json" "$base"

# What nextest runs per test: the whole test binary for one test. Plain vs isolated, side by
# side, release and debug; the difference is what a #[netns_test] adds per process.
say "2b. one test per process (what nextest does per test), release and debug"
hyperfine -N --style basic --warmup 3 --runs "$(runs 40)" \
    --export-json "$OUT/2b-one-test.json" \
    "$REL plain_000 --exact --test-threads=1" \
    "$REL isolated_000 --exact --test-threads=1" \
    "$DBG plain_000 --exact --test-threads=1" \
    "$DBG isolated_000 --exact --test-threads=1" >/dev/null
echo "| command | median ms | min–max ms | ratio to the first |"
summ "$OUT/2b-one-test.json"

say "3. scaling: N nodes on bridges of at most 250, in-process (release)"
sleep 1
"$BIN/scale" --reps "$(runs 7)" --svg bench/scaling.svg | tee "$OUT/3-scale.txt"

say "5. memory: peak RSS (GNU time's Maximum resident set size)"
sleep 1
rss() { /usr/bin/time -f '%M' -o "$OUT/rss.tmp" "$@" >/dev/null 2>&1; cat "$OUT/rss.tmp"; }
"$BIN/gen" bridge 100 "$OUT/bridge100.topo"
{
    echo "| process | max RSS (KiB) |"
    echo "|---|---:|"
    echo "| plain test, whole test binary (\`per_test plain_000 --exact\`) | $(rss "$REL" plain_000 --exact --test-threads=1) |"
    echo "| isolated test, whole (\`per_test isolated_000 --exact\`; the max over parent and child) | $(rss "$REL" isolated_000 --exact --test-threads=1) |"
    # The child alone: run it the way the parent does (fresh user, net, mount and PID
    # namespaces, as PID 2 under an init (sh), the child's environment, a report descriptor) so
    # GNU time measures only that process (and the shell). UTS too: the first node is named in it.
    echo "| isolated test, child process alone | $(NETNS_TEST_CHILD=isolated_000 NETNS_TEST_REPORT_FD=3 rss unshare -Urnupf --mount-proc sh -c '"$0" isolated_000 --exact --nocapture --test-threads=1; exit $?' "$REL" 3>/dev/null) |"
    echo "| CLI \`netns-test up\` of a 100-node bridge (build + 100×100 pings) | $(rss "$BIN/netns-test" up "$OUT/bridge100.topo") |"
    echo "| \`build_once\` of the same 100-node bridge (build only) | $(rss "$BIN/build_once" "$OUT/bridge100.topo") |"
    "$BIN/gen" bridge 1000 "$OUT/bridge1000.topo"
    sleep 20 # the kernel frees the previous namespaces first
    echo "| \`build_once\` of 1,000 nodes on four bridges (build only) | $(rss "$BIN/build_once" "$OUT/bridge1000.topo") |"
} | tee "$OUT/5-memory.md"
rm -f "$OUT/rss.tmp"

say "4. macro cost: cargo build of 100 #[netns_test] vs 1 #[netns_test] + 99 #[test] vs 100 #[test] (debug)"
# attr − one = 99 attributes' own cost (same dependencies, same link); one − plain = linking
# netns-test and its dependencies into a test binary, paid once per test binary.
cargo build -q -p netns-test-bench --test macro_attr --test macro_one --test macro_plain
hyperfine -N --style basic --warmup 1 --runs "$(runs 6)" --export-json "$OUT/4-macro.json" \
    --prepare 'touch bench/tests/macro_plain.rs' "cargo build -q -p netns-test-bench --test macro_plain" \
    --prepare 'touch bench/tests/macro_one.rs' "cargo build -q -p netns-test-bench --test macro_one" \
    --prepare 'touch bench/tests/macro_attr.rs' "cargo build -q -p netns-test-bench --test macro_attr" >/dev/null
echo "| command | median ms | min–max ms | ratio to plain |"
summ "$OUT/4-macro.json"
jq -r '"per attribute (attr − one) / 99: \((.results[2].median - .results[1].median)*1e3/99*100|round/100) ms; once per test binary (one − plain): \((.results[1].median - .results[0].median)*1e3|round) ms"' "$OUT/4-macro.json"

say "6. failure forensics on the pass path: dump off / on, captures (release, interleaved rounds)"
sleep 1
bash bench/forensics.sh "$(runs 15)"

say "7. link conditions: set-up cost at build and run time, the userspace path's floor (release)"
sleep 1
"$BIN/conditions" --reps "$(runs 7)" | tee "$OUT/7-conditions.md"

say "8. NAT over time: installing, changing, rebinding a router's NAT (release)"
sleep 1
"$BIN/nat" --reps "$(runs 25)" | tee "$OUT/8-nat.md"

say "9. the DNS server: what the dns feature costs a test binary (debug), build and query time (release)"
cargo build -q --release -p netns-test-bench --features dns --bin dns
cargo build -q -p netns-test-bench --test macro_one --features dns
hyperfine -N --style basic --warmup 1 --runs "$(runs 8)" --export-json "$OUT/9-dns-link.json" \
    --prepare 'touch bench/tests/macro_one.rs' "cargo build -q -p netns-test-bench --test macro_one" \
    --prepare 'touch bench/tests/macro_one.rs' "cargo build -q -p netns-test-bench --test macro_one --features dns" >/dev/null
jq -r '.results[] | "\(.command): median \(.median*1e3|round) ms, user \(.user*1e3|round) ms, sys \(.system*1e3|round) ms"' "$OUT/9-dns-link.json"
sleep 1
"$BIN/dns" "$(runs 30)" 5000 | tee "$OUT/9-dns.txt"

say "10. NAT64: throughput and round trips through the translator, against routed IPv6 (release)"
sleep 1
"$BIN/nat64" 3 "$(runs 5000)" | tee "$OUT/10-nat64.txt"

say "done: raw data in bench/results/, plot in bench/scaling.svg"
