#!/usr/bin/env bash
# .ci/interop-setup.sh — prepares a Debian host (run as root) for the QEMU
# interop tests in test/interop/ (npm run test:interop).
#
# Idempotent: installs the host packages only when a tool is missing, runs
# `apt-get update` at most once per run, then builds the guest image with
# test/interop/build-initramfs.sh, which downloads (never installs) the Debian
# kernel, ppp and pppd's libraries into test/interop/.work/debs and caches the
# result by content. A second run with everything in place takes seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive
# another apt/dpkg on the same machine (other sessions install too): wait for it
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

if [ "$(id -u)" != 0 ]; then
  echo "interop-setup: must run as root (apt-get install); try: sudo bash $0" >&2
  exit 1
fi

updated=0
apt_update_once() {
  if [ "$updated" = 0 ]; then
    apt-get "${APT_OPTS[@]}" update -q
    updated=1
  fi
}

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && ! readelf -l /bin/busybox 2>/dev/null | grep -q interpreter || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
command -v zstd >/dev/null || need+=(zstd)
command -v readelf >/dev/null || need+=(binutils)
command -v setpriv >/dev/null || need+=(util-linux)
if [ "${#need[@]}" -gt 0 ]; then
  apt_update_once
  apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${need[@]}"
fi

# build-initramfs.sh needs the apt lists to resolve and download packages it
# has not cached yet; a first run without lists gets them here.
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then apt_update_once; fi

if ! bash "$ROOT/test/interop/build-initramfs.sh"; then
  # stale lists (a package version vanished from the mirror): refresh, retry once
  apt_update_once
  bash "$ROOT/test/interop/build-initramfs.sh"
fi
