#!/usr/bin/env bash
# test/interop/build-initramfs.sh — builds the QEMU guest for the interop tests.
#
# Output (printed as the last line, "OUT=<dir>"): a directory holding
#   vmlinux          the Debian kernel, uncompressed, bootable by QEMU via PVH
#   initramfs.cpio   busybox-static + the PPP modules + Debian's pppd 2.4.9 and
#                    its shared-library closure + guest/init.sh as /init
#
# Inputs are Debian packages downloaded (never installed) with `apt-get
# download` into $WORK/debs, plus the host's /bin/busybox (busybox-static) and
# the files in test/interop/guest/. The output directory is named by a hash
# of all of those, so a second run with the same inputs does nothing (cache by
# content). Needs no root: `apt-get download` works unprivileged once the apt
# lists exist (.ci/interop-setup.sh runs `apt-get update` as root).
#
# Used by .ci/interop-setup.sh and by test/interop/qemu-guest.ts.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${PPPROXY_INTEROP_WORK:-$HERE/.work}
DEBS=$WORK/debs
BUSYBOX=${BUSYBOX:-/bin/busybox}

# pppd and its shared-library closure (checked below: a missing soname fails
# the build and names itself).
PKGS=(ppp libc6 libssl3 libcrypt1 libpam0g libpcap0.8 libsystemd0 libdbus-1-3
      libcap2 libgcrypt20 libgpg-error0 liblzma5 libzstd1 liblz4-1 libaudit1
      libcap-ng0)
# Loaded in this order by /init (no modules.dep in the guest).
MODULES=(slhc ppp_generic ppp_async ppp_deflate bsd_comp)

die() { echo "build-initramfs: $*" >&2; exit 1; }

for tool in dpkg-deb tar cpio xz readelf sha256sum; do
  command -v "$tool" >/dev/null || die "missing host tool '$tool' (run: sudo bash .ci/interop-setup.sh)"
done
[ -x "$BUSYBOX" ] || die "no $BUSYBOX (install busybox-static: sudo bash .ci/interop-setup.sh)"
if readelf -l "$BUSYBOX" | grep -q 'Requesting program interpreter'; then
  die "$BUSYBOX is dynamically linked; the guest needs busybox-static"
fi

mkdir -p "$DEBS"
# One build at a time per work dir (test processes may start together).
if command -v flock >/dev/null; then
  exec 9>"$WORK/build.lock"
  flock 9
fi

# newest cached .deb of package $1, or nothing
cached_deb() { ls -1 "$DEBS/$1"_*.deb 2>/dev/null | sort -V | tail -n 1 || true; }

download() {
  echo "build-initramfs: apt-get download $*" >&2
  # as root, apt would try to drop to the _apt user, who cannot write here
  local opts=()
  [ "$(id -u)" = 0 ] && opts=(-o APT::Sandbox::User=root)
  if ! (cd "$DEBS" && apt-get "${opts[@]}" download "$@" >&2); then
    die "apt-get download $* failed: no Debian mirror, or apt lists missing (run: sudo bash .ci/interop-setup.sh)"
  fi
}

# Sets KDEB, DEBFILES (kernel first), KEY and OUT, downloading what is not cached.
resolve_inputs() {
  # the kernel: the concrete linux-image-X.Y.Z-N-amd64 behind the meta package
  KDEB=$(ls -1 "$DEBS"/linux-image-[0-9]*-amd64_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$KDEB" ]; then
    local kpkg
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 (apt lists missing? run: sudo bash .ci/interop-setup.sh)"
    download "$kpkg"
    KDEB=$(ls -1 "$DEBS"/linux-image-[0-9]*-amd64_*.deb | sort -V | tail -n 1)
  fi
  local missing=() p f
  for p in "${PKGS[@]}"; do
    [ -n "$(cached_deb "$p")" ] || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then download "${missing[@]}"; fi
  DEBFILES=("$KDEB")
  for p in "${PKGS[@]}"; do DEBFILES+=("$(cached_deb "$p")"); done
  # cache key: every input's content (a .deb's name carries its version)
  KEY=$( {
    for f in "${DEBFILES[@]}"; do basename "$f"; done
    sha256sum "$BUSYBOX" | cut -d' ' -f1
    sha256sum "${BASH_SOURCE[0]}" "$HERE"/guest/* | cut -d' ' -f1
  } | sha256sum | cut -c1-16)
  OUT=$WORK/guest-$KEY
}

resolve_inputs
if [ -f "$OUT/initramfs.cpio" ] && [ -f "$OUT/vmlinux" ]; then
  echo "OUT=$OUT"
  exit 0
fi

# A download cut short leaves a broken .deb: drop it, fetch it again.
broken=0
for f in "${DEBFILES[@]}"; do
  dpkg-deb -I "$f" >/dev/null 2>&1 || { echo "build-initramfs: removing broken $f" >&2; rm -f "$f"; broken=1; }
done
if [ "$broken" = 1 ]; then resolve_inputs; fi

STAGE=$(mktemp -d "$WORK/stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
X=$STAGE/x          # the extracted user-space packages
K=$STAGE/k          # the parts of the kernel package we need
R=$STAGE/root       # the initramfs tree
mkdir -p "$X" "$K" "$R"

for f in "${DEBFILES[@]:1}"; do dpkg-deb -x "$f" "$X"; done
dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$K" --wildcards \
  './boot/vmlinuz-*' '*/drivers/net/ppp/*.ko*' '*/drivers/net/slip/slhc.ko*'

# --- vmlinux: find the compressed payload in the bzImage (the kernel's
# scripts/extract-vmlinux approach: try each magic, keep what is an ELF).
VMLINUZ=$(ls -1 "$K"/boot/vmlinuz-* | head -n 1)
extract_with() { # magic-regex decompress-command...
  local magic=$1; shift
  local off
  for off in $(LC_ALL=C grep -aboP "$magic" "$VMLINUZ" | cut -d: -f1); do
    tail -c "+$((off + 1))" "$VMLINUZ" | "$@" > "$STAGE/vmlinux" 2>/dev/null || true
    if readelf -h "$STAGE/vmlinux" >/dev/null 2>&1; then return 0; fi
  done
  return 1
}
extract_with '\xfd7zXZ\x00' xz -dc \
  || extract_with '\x28\xb5\x2f\xfd' zstd -dc \
  || extract_with '\x1f\x8b\x08' gzip -dc \
  || die "cannot extract vmlinux from $VMLINUZ"

# --- the tree
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc/ppp,proc,sys,dev,run,tmp,root,scenario,lib/modules,lib/x86_64-linux-gnu,lib64,var/log}
ln -s ../run "$R/var/run"
ln -s ../run/lock "$R/var/lock"
ln -s ../lib "$R/usr/lib"

cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$BUSYBOX" --list); do
  [ "$a" = busybox ] || [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done

for m in "${MODULES[@]}"; do
  src=$(find "$K/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
  [ -n "$src" ] || die "kernel module $m not found in $(basename "$KDEB")"
  case "$src" in
    *.xz) xz -dc "$src" > "$R/lib/modules/$m.ko" ;;
    *) cp "$src" "$R/lib/modules/$m.ko" ;;
  esac
done

cp "$X/usr/sbin/pppd" "$R/usr/sbin/pppd"

# Shared-library closure of pppd: follow DT_NEEDED through the extracted packages.
find_lib() {
  local d
  for d in "$X/lib/x86_64-linux-gnu" "$X/usr/lib/x86_64-linux-gnu"; do
    if [ -e "$d/$1" ]; then echo "$d/$1"; return 0; fi
  done
  return 1
}
queue=(ld-linux-x86-64.so.2 $(readelf -d "$R/usr/sbin/pppd" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'))
while [ "${#queue[@]}" -gt 0 ]; do
  so=${queue[0]}; queue=("${queue[@]:1}")
  [ -e "$R/lib/x86_64-linux-gnu/$so" ] && continue
  src=$(find_lib "$so") || die "pppd needs $so, which none of the downloaded packages provides (add its package to PKGS)"
  cp -L "$src" "$R/lib/x86_64-linux-gnu/$so"
  queue+=($(readelf -d "$src" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'))
done
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"

install -m 0755 "$HERE/guest/init.sh" "$R/init"
install -m 0755 "$HERE/guest/ip-up" "$R/etc/ppp/ip-up"
install -m 0755 "$HERE/guest/wait-file" "$R/bin/wait-file"
: > "$R/etc/ppp/options"
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"
printf '127.0.0.1 localhost\n' > "$R/etc/hosts"

# Uncompressed on purpose: the guest's kernel has nothing to inflate, and the
# harness appends the scenario cpio to it as is.
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) > "$STAGE/initramfs.cpio"

mkdir -p "$STAGE/out"
mv "$STAGE/vmlinux" "$STAGE/initramfs.cpio" "$STAGE/out/"
basename "$KDEB" > "$STAGE/out/kernel-package"
rm -rf "$OUT"
mv -T "$STAGE/out" "$OUT"   # same filesystem: an atomic rename
# images of older inputs, unused for an hour, go
find "$WORK" -maxdepth 1 -name 'guest-*' ! -name "guest-$KEY" -mmin +60 -exec rm -rf {} + 2>/dev/null || true
echo "build-initramfs: built $OUT ($(du -sh "$OUT" | cut -f1))" >&2
echo "OUT=$OUT"
