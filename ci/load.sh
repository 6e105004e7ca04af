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
# The sum over its per-CPU rows of a hex column of a kernel statistics file: file, column (from 1),
# the name the header line gives it ("" if no header); "?" when unreadable (the stat/*_cache
# files exist only in the machine's initial network namespace).
column_sum() {
  local file=$1 col=$2 name=$3 sum=0 f
  [ -r "$file" ] || { echo "?"; return; }
  {
    if [ -n "$name" ]; then
      read -r -a f
      [ "${f[col - 1]:-}" = "$name" ] || { echo "?"; return; }
    fi
    while read -r -a f; do sum=$((sum + 16#${f[col - 1]})); done
  } <"$file"
  echo "$sum"
}
# Drops for want of room in what every namespace on the machine shares: IPv6 and IPv4 neighbour
# tables full (net.ipv{6,4}.neigh.default.gc_thresh3), per-CPU receive backlog full
# (net.core.netdev_max_backlog).
shared_tables() {
  echo "$(column_sum /proc/net/stat/ndisc_cache 13 table_fulls) $(column_sum /proc/net/stat/arp_cache 13 table_fulls)" \
    "$(column_sum /proc/net/softnet_stat 2 '')"
}
shared_tables_line() { # before, after: "ndisc arp backlog" each
  local -a b=($1) a=($2) d
  local i
  for i in 0 1 2; do
    if [ "${b[i]}" = "?" ] || [ "${a[i]}" = "?" ]; then d[i]="?"; else d[i]=$((a[i] - b[i])); fi
  done
  local note=""
  [[ " ${d[*]} " == *" ? "* ]] && note=" (?: not readable in this namespace)"
  echo "load:   shared by all namespaces, during the run: times a neighbour table was full: IPv6 ${d[0]}," \
    "IPv4 ${d[1]}; packets dropped for a full receive backlog: ${d[2]}$note"
}
run() { # label, args...
  local label=$1; shift
  local start end before
  before=$(shared_tables)
  start=$(date +%s%N)
  (cd tests && "$bin" "$@") >"$log" 2>&1 || {
    cat "$log"
    echo "load: $label FAILED" >&2
    shared_tables_line "$before" "$(shared_tables)" >&2
    exit 1
  }
  end=$(date +%s%N)
  local n; n=$(grep -oE '[0-9]+ passed' "$log" | grep -oE '[0-9]+')
  local eagain; eagain=$(grep -ciE 'EAGAIN|temporarily unavailable' "$log" || true)
  awk -v l="$label" -v n="$n" -v e="$eagain" -v ns=$((end - start)) \
    'BEGIN { printf "load: %-40s %5d passed, 0 failed, %d EAGAIN, %6.2f s wall, %6.2f ms/test\n", l, n, e, ns / 1e9, ns / 1e6 / n }'
  shared_tables_line "$before" "$(shared_tables)"
  [ "$eagain" -eq 0 ]
}
run "64 tests x 10 nodes, --test-threads=64" 'parallel::' --test-threads=64
run "1000 consecutive dual-stack tests" 'consecutive::' --test-threads=1
rm -f "$log"
