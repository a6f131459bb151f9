#!/usr/bin/env bash
# Two-node soak through an impaired network: two network namespaces joined
# by a veth pair, with tc netem delay and loss (or, on kernels without netem,
# a tbf rate limit and nftables random packet loss, said loudly), and a
# temporary partition in the middle of the run (the link goes down for
# 5 s; driven by the test). The engine's TestNetemSoak
# checks that every message was delivered or reported (unconfirmed/dropped),
# never lost silently.
#
# Needs root, ip (iproute2) and tc; nft (nftables) for loss without netem.
# Without root, ip or tc it says SKIP and exits 0.
# Usage: scripts/netem.sh [DELAY] [LOSS]     (defaults: 5ms 1%)
set -euo pipefail
cd "$(dirname "$0")/.."

delay=${1:-5ms}
loss=${2:-1%}
nsa=tcnetem-a
nsb=tcnetem-b

skip() { echo "netem.sh: SKIP: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null || skip "ip (iproute2) not installed"
command -v tc >/dev/null || skip "tc (iproute2) not installed"
ip netns add "$nsa" 2>/dev/null || skip "cannot create network namespaces here"

cleanup() {
  ip netns del "$nsa" 2>/dev/null || true
  ip netns del "$nsb" 2>/dev/null || true
  rm -rf "$work"
}
work=$(mktemp -d)
trap cleanup EXIT
ip netns add "$nsb"

# Link-local addresses: they exist only inside these two namespaces.
ip link add tcn-a type veth peer name tcn-b
ip link set tcn-a netns "$nsa"
ip link set tcn-b netns "$nsb"
ip -n "$nsa" addr add 169.254.213.1/24 dev tcn-a
ip -n "$nsb" addr add 169.254.213.2/24 dev tcn-b
for ns in "$nsa" "$nsb"; do ip -n "$ns" link set lo up; done
ip -n "$nsa" link set tcn-a up
ip -n "$nsb" link set tcn-b up
if ip netns exec "$nsa" tc qdisc add dev tcn-a root netem delay "$delay" loss "$loss" 2>/dev/null; then
  ip netns exec "$nsb" tc qdisc add dev tcn-b root netem delay "$delay" loss "$loss"
  shaping="netem $delay delay, $loss loss each way"
else
  # Some kernels (this project's CI VMs among them) ship without sch_netem.
  # Loss then comes from nftables (numgen random drops on each side's
  # output), the rate limit from tbf; delay cannot be emulated.
  echo "netem.sh: NOTE: this kernel has no netem qdisc: delay is NOT emulated;"
  for ns in "$nsa" "$nsb"; do
    dev=tcn-${ns##*-}
    ip netns exec "$ns" tc qdisc add dev "$dev" root tbf rate 20mbit burst 64kb latency 50ms
  done
  shaping="tbf 20 Mbit/s each way"
  permille=$(awk -v l="${loss%\%}" 'BEGIN { printf "%d", l * 10 }')
  if command -v nft >/dev/null 2>&1 && [ "$permille" -gt 0 ]; then
    for ns in "$nsa" "$nsb"; do
      ip netns exec "$ns" nft add table inet tcnetem
      ip netns exec "$ns" nft add chain inet tcnetem out '{ type filter hook output priority 0; policy accept; }'
      ip netns exec "$ns" nft add rule inet tcnetem out oifname '"tcn-*"' numgen random mod 1000 '<' "$permille" counter drop
    done
    shaping="$shaping, $loss random packet loss each way (nftables)"
  else
    echo "netem.sh: NOTE: nft not installed: packet loss is NOT emulated either."
  fi
  echo "netem.sh: NOTE: falling back to $shaping, plus the partition."
fi

echo "== soak through $shaping; 5 s partition (link down) mid-run"
go test -c -o "$work/engine.test" ./engine
TRANSPORT_NETEM_PEER_NS="$nsb" \
TRANSPORT_NETEM_PEER_ADDR=169.254.213.2:9713 \
TRANSPORT_NETEM_LOCAL_ADDR=169.254.213.1:0 \
TRANSPORT_NETEM_CUT="ip link set dev tcn-a down" \
TRANSPORT_NETEM_HEAL="ip link set dev tcn-a up" \
  ip netns exec "$nsa" "$work/engine.test" -test.run '^TestNetemSoak$' -test.v -test.timeout 5m
for ns in "$nsa" "$nsb"; do # show that the loss happened
  if ip netns exec "$ns" nft list table inet tcnetem >/dev/null 2>&1; then
    echo "netem.sh: $ns dropped $(ip netns exec "$ns" nft list chain inet tcnetem out | grep -o 'packets [0-9]*')"
  fi
done
