#!/usr/bin/env bash
# Installs what Ringline needs on a fresh Debian machine with only Node/npm, then builds it.
#   scripts/setup.sh runtime   Janus (the SFU for group calls) and coturn (TURN) from apt, npm packages, build
#   scripts/setup.sh test      the above + what the test suites need from apt (Chromium, CJK fonts, iproute2, nftables, nginx, openssl, Redis, PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-runtime}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

# g++, make and python3: node-gyp builds the native modules (better-sqlite3) where no prebuilt binary fits.
apt_packages=(janus coturn g++ make python3)
if [ "$mode" = test ]; then
  apt_packages+=(chromium fonts-noto-cjk iproute2 util-linux nftables nginx openssl redis-server postgresql)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]} from apt"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
