#!/usr/bin/env bash
# The cost of settled IPv6 alone (issue 9: no more than 5 % per test). `bench/settle.sh ROUNDS`
# builds the item-2 test binary (bench/tests/per_test.rs, release) at HEAD with
# bench/nosettle.patch applied in a temporary worktree (with NOSETTLE=1 in its environment the
# builder neither turns duplicate address detection off nor waits for IPv6 addresses to be
# usable), then runs `per_test isolated --test-threads=1` (100 two-node tests) with and without
# NOSETTLE=1, alternating run by run. Prints the median wall and CPU time per test of each, and
# the median of the settled/unsettled ratios taken pair by pair. Needs python3 and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
rounds=${1:-20}
OUT=$ROOT/bench/results/ab
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
sha=$(git rev-parse --short=9 HEAD)
exe=$OUT/per_test-nosettle-$sha
if [ ! -x "$exe" ]; then
    wt=$(mktemp -d)
    git worktree add -q --detach "$wt" "$sha"
    (cd "$wt" && git apply "$ROOT/bench/nosettle.patch")
    built=$(cd "$wt" && cargo test -q --release -p netns-test-bench --features per-test --test per_test --no-run \
        --message-format=json 2>/dev/null | jq -r 'select(.executable != null and .target.name == "per_test") | .executable')
    cp "$built" "$exe"
    git worktree remove --force "$wt"
fi
python3 - "$rounds" "$exe" <<'PY'
import os, sys, time, statistics, subprocess
rounds, exe = int(sys.argv[1]), sys.argv[2]
runs = {'settled': {}, 'unsettled': {'NOSETTLE': '1'}}
wall = {k: [] for k in runs}
cpu = {k: [] for k in runs}
for r in range(rounds):
    for label in (['settled', 'unsettled'] if r % 2 == 0 else ['unsettled', 'settled']):
        time.sleep(0.3)  # the kernel finishes freeing the previous run's namespaces
        env = dict(os.environ, **runs[label])
        t = time.perf_counter()
        p = subprocess.Popen([exe, 'isolated', '--test-threads=1'], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        if status != 0:
            sys.exit(f'{label}: the per-test binary failed (status {status})')
        wall[label].append((time.perf_counter() - t) * 10)  # ms per test: 100 tests per run
        cpu[label].append((ru.ru_utime + ru.ru_stime) * 10)
print(f'{rounds} rounds of 100 isolated tests, release, --test-threads=1, alternating')
print('| IPv6 | wall ms/test median | min–max | CPU ms/test median |')
print('|---|---:|---:|---:|')
for label in runs:
    print(f'| {label} | {statistics.median(wall[label]):.2f} | {min(wall[label]):.2f}–{max(wall[label]):.2f} | {statistics.median(cpu[label]):.2f} |')
ratio = lambda xs: statistics.median(a / b for a, b in zip(xs['settled'], xs['unsettled']))
print(f'settled / unsettled, pair by pair (median): wall {ratio(wall):.3f}, CPU {ratio(cpu):.3f}')
PY
