#!/usr/bin/env python3
"""Relay a Linux TUN device <-> stdin/stdout for the kernel-peer test.

Run inside the test's own network namespace (ip netns exec NS python3
tun-relay.py tun0). Creates the TUN (IFF_TUN | IFF_NO_PI: bare IPv4
datagrams), prints "ready" on stderr, then frames each datagram as a 2-byte
big-endian length + bytes: TUN -> stdout, stdin -> TUN. Pipes carry no
namespace, so the Node test in the host namespace can drive it.
"""
import fcntl, os, struct, sys, threading

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

name = sys.argv[1] if len(sys.argv) > 1 else "tun0"
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
sys.stderr.write("ready\n")
sys.stderr.flush()

out = sys.stdout.buffer
inp = sys.stdin.buffer


def tun_to_stdout():
    try:
        while True:
            pkt = os.read(fd, 65536)
            out.write(struct.pack(">H", len(pkt)) + pkt)
            out.flush()
    except (BrokenPipeError, OSError):
        os._exit(0)


threading.Thread(target=tun_to_stdout, daemon=True).start()


def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = inp.read(n - len(buf))
        if not chunk:
            os._exit(0)
        buf += chunk
    return buf


while True:
    (n,) = struct.unpack(">H", read_exact(2))
    pkt = read_exact(n)
    try:
        os.write(fd, pkt)
    except OSError as e:
        sys.stderr.write(f"tun write: {e}\n")
