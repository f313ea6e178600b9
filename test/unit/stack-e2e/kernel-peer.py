#!/usr/bin/env python3
"""The Linux kernel's TCP/UDP as a peer for kernel-peer.test.ts.

Runs inside the test's network namespace. Modes:
  serve   HOST PORT NBYTES SEED   accept one TCP connection
  connect HOST PORT NBYTES SEED   connect to HOST:PORT
  udp-echo HOST PORT              echo UDP datagrams until killed
For TCP it sends NBYTES of seeded pseudo-random bytes while reading the
peer's bytes until EOF, then prints one JSON line:
  {"sent": sha256-hex, "recv": sha256-hex, "recvBytes": n}
"""
import hashlib, json, random, socket, sys, threading


def blob(n, seed):
    return random.Random(seed).randbytes(n)


def duplex(conn, nbytes, seed):
    data = blob(nbytes, seed)
    sent_hash = hashlib.sha256(data).hexdigest()

    # The FIN goes out only after the peer's FIN: our NodeStack sockets are not
    # half-open (allowHalfOpen false, like net.Socket by default), so an early
    # FIN from here would end their writing side before they finished.
    def sender():
        conn.sendall(data)

    t = threading.Thread(target=sender)
    t.start()
    h = hashlib.sha256()
    n = 0
    while True:
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    t.join()
    conn.shutdown(socket.SHUT_WR)
    conn.close()
    print(json.dumps({"sent": sent_hash, "recv": h.hexdigest(), "recvBytes": n}), flush=True)


mode = sys.argv[1]
if mode == "serve":
    host, port, nbytes, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(1)
    print("listening", flush=True)
    c, _ = s.accept()
    duplex(c, nbytes, seed)
elif mode == "connect":
    host, port, nbytes, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    c = socket.create_connection((host, port), timeout=60)
    c.settimeout(None)
    duplex(c, nbytes, seed)
elif mode == "udp-echo":
    host, port = sys.argv[2], int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    print("listening", flush=True)
    while True:
        d, a = s.recvfrom(65535)
        s.sendto(d, a)
elif mode == "ping":
    # A raw-socket echo request through the kernel's IP stack (used when ping(8) is absent).
    import struct, time
    host, count = sys.argv[2], int(sys.argv[3])

    def ck(b):
        if len(b) % 2:
            b += b"\0"
        s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
        s = (s >> 16) + (s & 0xFFFF)
        s += s >> 16
        return ~s & 0xFFFF

    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(2)
    ok = 0
    for seq in range(1, count + 1):
        data = bytes(range(56))
        h = struct.pack(">BBHHH", 8, 0, 0, 0x5151, seq)
        h = struct.pack(">BBHHH", 8, 0, ck(h + data), 0x5151, seq)
        t0 = time.monotonic()
        s.sendto(h + data, (host, 0))
        while True:
            try:
                pkt, _ = s.recvfrom(2048)
            except socket.timeout:
                break
            ihl = (pkt[0] & 15) * 4
            t, _, _, ident, sq = struct.unpack(">BBHHH", pkt[ihl : ihl + 8])
            if t == 0 and ident == 0x5151 and sq == seq and pkt[ihl + 8 :] == data:
                ok += 1
                print(f"reply seq={seq} ttl={pkt[8]} time={(time.monotonic() - t0) * 1000:.2f} ms", flush=True)
                break
    print(json.dumps({"replies": ok}), flush=True)
