#!/usr/bin/env bash
# Runs every test binary of the workspace as an unprivileged user with no capabilities at all:
# the promise is that netns-test needs no root, no sudo and no setuid helper.
#
# Usage: ci/rootless.sh [USER]   (default: nobody). Builds as the caller (root in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
user="${1:-nobody}"
as_user=(setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups
         --inh-caps=-all --bounding-set=-all --no-new-privs)

# The binaries read files of the checkout (fixtures, ci/host-snapshot.sh) by their absolute
# paths. If the unprivileged user cannot reach this checkout (a clone under /root, say), work
# on a copy in a world-readable temporary directory instead, built there, removed at the end.
if ! "${as_user[@]}" test -r "$PWD/Cargo.toml"; then
  copy=$(mktemp -d /tmp/netns-test-rootless.XXXXXX)
  chmod 755 "$copy"
  trap 'rm -rf "$copy"' EXIT
  tar --exclude=./target -cf - . | tar -xf - -C "$copy"
  echo "rootless: $user cannot read $PWD; using a copy in $copy"
  cd "$copy"
  export CARGO_TARGET_DIR="$copy/target"
fi

# Build as the caller; list the test executables with the directory cargo would run them in.
mapfile -t bins < <(cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys, os
for line in sys.stdin:
    m = json.loads(line)
    # proc-macro test binaries link the toolchain'"'"'s libstd.so, which is not ours to expose
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"] \
            and "proc-macro" not in m["target"]["kind"]:
        print(m["executable"] + "\t" + os.path.dirname(m["manifest_path"]))
')
[ "${#bins[@]}" -gt 0 ] || { echo "rootless: no test binaries found" >&2; exit 1; }

echo "rootless: running as $("${as_user[@]}" id) with capabilities $("${as_user[@]}" grep CapEff /proc/self/status)"
[ "$("${as_user[@]}" id -u)" != 0 ] || { echo "rootless: still root" >&2; exit 1; }

passed=0 failed=0
for entry in "${bins[@]}"; do
  bin="${entry%%$'\t'*}" dir="${entry#*$'\t'}"
  name="$(basename "$bin")"
  # trybuild runs cargo and writes into target/: a compiler test, not a namespace one.
  skip=()
  case "$name" in compile_fail-*) skip=(--skip compile_errors) ;; esac
  echo "rootless: $name"
  if (cd "$dir" && HOME=/tmp "${as_user[@]}" "$bin" "${skip[@]}"); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "rootless: $passed passed, $failed failed (test binaries)"
[ "$failed" -eq 0 ]
