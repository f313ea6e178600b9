#!/bin/sh
# /init of the ppproxy interop guest (test/interop/guest/init.sh).
#
# Copied into the base initramfs by test/interop/build-initramfs.sh. The test
# harness (test/interop/qemu-guest.ts) appends a second cpio holding
# /scenario/run.sh and the scenario's files; this init sets the machine up,
# runs that script and powers off. Everything it says to the harness is a line
# on the console (ttyS0) starting with "@@":
#   @@BOOTED <uptime>          userspace is up, modules loaded, ttyS1 raw
#   @@INSMOD-FAIL <module>     a PPP module did not load (the run goes on)
#   @@IP-UP <if> <local> <remote>   from the default /etc/ppp/ip-up
#   @@DONE <exit status of /scenario/run.sh>
# The guest's only link to the outside is ttyS1, a QEMU chardev socket.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
export HOME=/root

mount -t devtmpfs devtmpfs /dev
# The kernel found no /dev/console in the initramfs; now that devtmpfs is up,
# point our stdio at the console so everything below is seen by the harness.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mkdir -p /run/lock

# Order matters: no modules.dep here, so each module's dependencies go first.
for m in slhc ppp_generic ppp_async ppp_deflate bsd_comp; do
  insmod "/lib/modules/$m.ko" || echo "@@INSMOD-FAIL $m"
done

# Without raw -echo the line discipline echoes the peer's first frames back at
# it before pppd has switched the tty to raw itself; clocal: QEMU's UART has no
# carrier to wait for.
stty -F /dev/ttyS1 raw -echo clocal 115200
ip link set lo up
hostname guest

echo "@@BOOTED $(cut -d' ' -f1 /proc/uptime)"
cd /scenario
sh /scenario/run.sh
rc=$?
echo "@@DONE $rc"
sync
poweroff -f
# poweroff -f returns only if it failed; PID 1 exiting panics, and the harness
# runs QEMU with -no-reboot and the kernel with panic=-1, so QEMU exits anyway.
sleep 1
