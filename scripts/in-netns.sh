#!/usr/bin/env bash
# Runs CMD [ARGS...] inside a fresh network namespace, so that WebRTC media in tests and benchmarks
# never leaves the machine: the namespace has only loopback and a veth pair (rl0 10.77.0.1/24 <->
# rl1 10.77.0.2/24) with a default route through it. Chromium then gathers host candidates on rl0,
# which exists nowhere else, instead of on the machine's real interface.
#
#   bash scripts/in-netns.sh vitest run --config e2e/vitest.config.ts
#
# Exports RINGLINE_NETNS=1, RINGLINE_MEDIA_IFACE=rl0 and RINGLINE_MEDIA_IP=10.77.0.1 to CMD.
# Already inside (RINGLINE_NETNS=1)? Then it just runs CMD.
set -euo pipefail

readonly IFACE=rl0
readonly PEER_IFACE=rl1
readonly MEDIA_IP=10.77.0.1
readonly PEER_IP=10.77.0.2

die() {
  echo "in-netns.sh: $*" >&2
  exit 1
}

if [[ $# -eq 0 ]]; then
  die "usage: bash scripts/in-netns.sh CMD [ARGS...]"
fi

if [[ "${RINGLINE_NETNS:-}" == 1 ]]; then
  exec "$@"
fi

if [[ "${RINGLINE_NETNS_STAGE:-}" != inside ]]; then
  command -v unshare >/dev/null 2>&1 ||
    die "'unshare' not found: install util-linux (apt-get install util-linux)"
  command -v ip >/dev/null 2>&1 || [[ -x /usr/sbin/ip ]] || [[ -x /sbin/ip ]] ||
    die "'ip' not found: install iproute2 (apt-get install iproute2)"
  # Root can make a network namespace directly; anyone else needs a user namespace mapped to root
  # for the ip commands to be allowed inside it.
  if [[ "$(id -u)" == 0 ]]; then
    unshare_flags=(-n)
  else
    unshare_flags=(-r -n)
  fi
  # A dry run first, so that a refusal gets a clear message rather than being taken for CMD's.
  unshare "${unshare_flags[@]}" -- true ||
    die "unshare ${unshare_flags[*]} failed (are user or network namespaces disabled here?)"
  export RINGLINE_NETNS_STAGE=inside
  exec unshare "${unshare_flags[@]}" -- bash "$0" "$@"
fi

# From here on we are inside the new, empty namespace.
unset RINGLINE_NETNS_STAGE
PATH="$PATH:/usr/sbin:/sbin"

setup() {
  ip link set lo up
  ip link add "$IFACE" type veth peer name "$PEER_IFACE"
  ip addr add "$MEDIA_IP/24" dev "$IFACE"
  ip addr add "$PEER_IP/24" dev "$PEER_IFACE"
  ip link set "$IFACE" up
  ip link set "$PEER_IFACE" up
  # Without a default route Chromium finds no usable interface and gathers no host candidates.
  ip route add default via "$PEER_IP" dev "$IFACE"
}
setup || die "setting up the namespace's interfaces failed (see the ip error above)"

export RINGLINE_NETNS=1
export RINGLINE_MEDIA_IFACE="$IFACE"
export RINGLINE_MEDIA_IP="$MEDIA_IP"
exec "$@"
