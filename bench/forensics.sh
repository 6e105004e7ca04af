#!/usr/bin/env bash
# Item 6 of BENCHMARKS.md: what failure forensics cost a PASSING test. Runs the per-test suite
# (100 isolated tests, 2 nodes, a TCP round trip each; release) with the state dump and the
# report page both off (NETNS_TEST_DUMP=0 NETNS_TEST_REPORT=0), the dump alone off, the defaults
# (dump and report page on), and with packet capture (fail, all), interleaved round by round so
# the machine's drift hits every configuration alike.
# Usage: bench/forensics.sh [ROUNDS] (default 15). Called by bench/run.sh; runs alone too.
# PROFILE=debug measures the debug build (what `cargo test` users get) instead of release.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
rounds=${1:-15}
OUT=$PWD/bench/results
mkdir -p "$OUT"
profile=(--release); [ "${PROFILE:-release}" = debug ] && profile=()
T=$(cargo test -q "${profile[@]}" -p netns-test-bench --features per-test --test per_test --no-run --message-format=json 2>/dev/null |
    jq -r 'select(.executable != null and .target.name == "per_test") | .executable')
configs=("NETNS_TEST_DUMP=0 NETNS_TEST_REPORT=0" "NETNS_TEST_DUMP=0" "NETNS_TEST_DUMP=1" "NETNS_TEST_CAPTURE=fail" "NETNS_TEST_CAPTURE=all")
ONLY=${ONLY:-} # ONLY=3: the first three configurations only
declare -A times
[ -n "$ONLY" ] && configs=("${configs[@]:0:$ONLY}")
# shellcheck disable=SC2086 # $c is one or two assignments
for c in "${configs[@]}"; do env $c "$T" isolated --test-threads=1 >/dev/null 2>&1; done # warm-up
for ((r = 0; r < rounds; r++)); do
    for c in "${configs[@]}"; do
        sleep 0.3 # let the kernel finish freeing the previous round's namespaces
        t0=$(date +%s%N)
        env $c "$T" isolated --test-threads=1 >/dev/null 2>&1
        t1=$(date +%s%N)
        times[$c]+="$(( (t1 - t0) / 1000 )) " # µs for 100 tests
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
base=$(echo "${times[${configs[0]}]}" | median)
{
    echo "| configuration | ms/test median | min–max | vs all off |"
    echo "|---|---:|---:|---:|"
    for c in "${configs[@]}"; do
        m=$(echo "${times[$c]}" | median)
        lo=$(echo "${times[$c]}" | tr ' ' '\n' | grep . | sort -n | head -1)
        hi=$(echo "${times[$c]}" | tr ' ' '\n' | grep . | sort -n | tail -1)
        awk -v c="$c" -v m="$m" -v lo="$lo" -v hi="$hi" -v b="$base" 'BEGIN {
            printf "| `%s` | %.2f | %.2f–%.2f | %+.1f %% |\n", c, m / 1e5, lo / 1e5, hi / 1e5, (m / b - 1) * 100 }'
    done
    echo "($rounds interleaved rounds of 100 tests each, --test-threads=1, ${PROFILE:-release})"
} | tee "$OUT/6-forensics.md"
rm -rf "$CARGO_TARGET_DIR/netns-test/per_test::"*
