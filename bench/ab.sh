#!/usr/bin/env bash
# Per-test cost of several commits, side by side: `bench/ab.sh ROUNDS REV...` builds the item-2
# test binary (bench/tests/per_test.rs, release) at each REV in a temporary worktree, then runs
# `per_test isolated --test-threads=1` (100 two-node tests) for each, interleaved round by round
# (order reversed every other round) so the machine's drift hits every commit alike. Prints the
# median wall time and the median CPU time (user + system, children included) per test, and each
# against the first REV. E.g. the cost of issue 9's views: bench/ab.sh 15 bd6e947 bf0d655 HEAD.
# Needs python3 and jq. Binaries are kept in bench/results/ab/ (a REV already built is reused).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
rounds=$1
shift
OUT=$ROOT/bench/results/ab
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
labels=()
for rev in "$@"; do
    sha=$(git rev-parse --short=9 "$rev")
    labels+=("$rev=$OUT/per_test-$sha")
    [ -x "$OUT/per_test-$sha" ] && continue
    wt=$(mktemp -d)
    git worktree add -q --detach "$wt" "$sha"
    exe=$(cd "$wt" && cargo test -q --release -p netns-test-bench --features per-test --test per_test --no-run \
        --message-format=json 2>/dev/null | jq -r 'select(.executable != null and .target.name == "per_test") | .executable')
    cp "$exe" "$OUT/per_test-$sha"
    git worktree remove --force "$wt"
    echo "built $rev ($sha)"
done
python3 - "$rounds" "${labels[@]}" <<'EOF'
import os, sys, time, statistics, subprocess
rounds = int(sys.argv[1])
runs = [a.split('=', 1) for a in sys.argv[2:]]
wall = {l: [] for l, _ in runs}
cpu = {l: [] for l, _ in runs}
for r in range(rounds):
    for label, exe in (runs if r % 2 == 0 else runs[::-1]):
        time.sleep(0.3)  # the kernel finishes freeing the previous run's namespaces
        t = time.perf_counter()
        p = subprocess.Popen([exe, 'isolated', '--test-threads=1'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        if status != 0:
            sys.exit(f'{label}: the per-test binary failed (status {status})')
        wall[label].append((time.perf_counter() - t) * 10)  # ms per test: 100 tests per run
        cpu[label].append((ru.ru_utime + ru.ru_stime) * 10)
first = runs[0][0]
print(f'{rounds} interleaved rounds of 100 isolated tests, release, --test-threads=1')
print('| commit | wall ms/test median | min–max | vs first | CPU ms/test median | vs first |')
print('|---|---:|---:|---:|---:|---:|')
for label, _ in runs:
    w, c = statistics.median(wall[label]), statistics.median(cpu[label])
    w0, c0 = statistics.median(wall[first]), statistics.median(cpu[first])
    print(f'| `{label}` | {w:.2f} | {min(wall[label]):.2f}–{max(wall[label]):.2f} | {100 * (w / w0 - 1):+.1f} % '
          f'| {c:.2f} | {100 * (c / c0 - 1):+.1f} % |')
EOF
