#!/usr/bin/env bash
# .ci/setup.sh — the Debian packages the test suites use as real peers and
# tools: socat (pty pairs, TUN relay), curl, iproute2 (network namespaces),
# iputils-ping (the masquerade's ICMP echo), git and openssh-client (proxy
# clients), netcat-openbsd (nc -X 5), tshark, chromium (test/real: a
# headless browser through the SOCKS5 proxy). Idempotent; installs only what
# is missing. Tests that need a tool that is absent skip loudly instead.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then
  echo "setup: not root; skipping package installs (tests needing them will say so)" >&2
  exit 0
fi
declare -A pkg_for=(
  [socat]=socat [curl]=curl [ip]=iproute2 [tc]=iproute2 [ping]=iputils-ping
  [git]=git [ssh]=openssh-client [nc]=netcat-openbsd [chromium]=chromium
)
need=()
for tool in "${!pkg_for[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || need+=("${pkg_for[$tool]}")
done
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}"
fi
