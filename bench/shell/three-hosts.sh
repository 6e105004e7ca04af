#!/bin/sh
# Item 1, the shell way: fixtures/three-hosts-bridge.topo built with iproute2.
# Run as `unshare -Urnm sh bench/shell/three-hosts.sh` (a new user + net + mount namespace, so
# nothing persists: the tmpfs, the named namespaces and the links die with the process).
# Same result as netns-test: bridge ahao-bridge in the unshared namespace, ns1..ns3 each with a
# veth created directly in it (never moved), addresses, every link and lo up.
set -e
mount -t tmpfs tmpfs /run            # private /run: `ip netns add` bind-mounts under /run/netns
ip link set lo up
ip link add ahao-bridge type bridge
ip link set ahao-bridge up
for i in 1 2 3; do
    ip netns add ns$i
    ip link add b0p$((i - 1)) master ahao-bridge up type veth peer name veth-ns$i netns ns$i
    ip -n ns$i link set lo up
    ip -n ns$i addr add 192.168.1.$i/24 dev veth-ns$i
    ip -n ns$i link set veth-ns$i up
done
if [ -n "$CHECK" ]; then
    # Verification (not timed; there is no `ping` binary here): a TCP connect to a closed port
    # from every node to every address. "refused" means the SYN arrived and the RST came back.
    for i in 1 2 3; do
        for j in 1 2 3; do
            ip netns exec ns$i python3 -c "
import socket, sys
s = socket.socket(); s.settimeout(1)
try: s.connect(('192.168.1.$j', 9)); print('ns$i -> 192.168.1.$j: connected')
except ConnectionRefusedError: print('ns$i -> 192.168.1.$j: reachable (refused)')
except OSError as e: print('ns$i -> 192.168.1.$j: FAIL', e); sys.exit(1)"
        done
    done
    for i in 1 2 3; do ip -n ns$i -br addr show dev veth-ns$i; done
    ip -br link show master ahao-bridge
fi
