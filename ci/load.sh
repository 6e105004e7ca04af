#!/usr/bin/env bash
# Load: 64 ten-node dual-stack tests at once, then 1,000 consecutive isolated dual-stack tests.
# Prints the figures; fails on any failure or any EAGAIN ("Resource temporarily unavailable").
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cargo test -q -p netns-test-e2e --features load --test load --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("executable") and m["target"]["name"] == "load": print(m["executable"])')
log=$(mktemp)
run() { # label, args...
  local label=$1; shift
  local start end
  start=$(date +%s%N)
  (cd tests && "$bin" "$@") >"$log" 2>&1 || { cat "$log"; echo "load: $label FAILED" >&2; exit 1; }
  end=$(date +%s%N)
  local n; n=$(grep -oE '[0-9]+ passed' "$log" | grep -oE '[0-9]+')
  local eagain; eagain=$(grep -ciE 'EAGAIN|temporarily unavailable' "$log" || true)
  awk -v l="$label" -v n="$n" -v e="$eagain" -v ns=$((end - start)) \
    'BEGIN { printf "load: %-40s %5d passed, 0 failed, %d EAGAIN, %6.2f s wall, %6.2f ms/test\n", l, n, e, ns / 1e9, ns / 1e6 / n }'
  [ "$eagain" -eq 0 ]
}
run "64 tests x 10 nodes, --test-threads=64" 'parallel::' --test-threads=64
run "1000 consecutive dual-stack tests" 'consecutive::' --test-threads=1
rm -f "$log"
