#!/usr/bin/env bash
# Prints the host's network state: what a test must never change. Diff two runs to prove it.
set -u
ip -o link show | sed -E 's/ qlen [0-9]+//' | awk '{ $1=""; print }' | sed -E 's/link\/ether [^ ]+//'
ip -o addr show | awk '{ $1=""; print }' | sed -E 's/ valid_lft.*//'
ip route show table all
ip -6 route show table all
# Static entries only: every other state (FAILED and INCOMPLETE included) is a cache the kernel
# manages, and its neighbour tables are shared by every namespace on the machine: when the
# namespaces of many tests at once fill them (ci/load.sh prints how often), the kernel's forced
# garbage collection evicts cache entries machine-wide, the host's included (seen in CI: a FAILED
# fe80:: entry on the host's eth0 gone after the load suite).
ip neigh show nud permanent
ls /run/netns 2>/dev/null || true
for k in net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv4.ping_group_range \
         user.max_user_namespaces; do
  printf '%s = %s\n' "$k" "$(sysctl -n "$k" 2>/dev/null)"
done
if command -v nft >/dev/null 2>&1; then nft list ruleset 2>/dev/null || true; fi
grep -E ' (nsfs|tmpfs) ' /proc/self/mountinfo | awk '{ print $5, $9 }'
