/** The sans-I/O IP layer: demux, ICMP echo and errors, rate limiting, drop reasons, UDP, forwarders, ping. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IpLayer, type IpTransmit } from "../../../stack/ip/ip-layer.js";
import { parseIpv4 } from "../../../stack/wire/ipv4.js";
import { parseIcmp } from "../../../stack/wire/icmp.js";
import { parseUdp } from "../../../stack/wire/udp.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { ManualClock } from "../../../stack/util/time.js";
import { EPHEMERAL_FIRST, EPHEMERAL_LAST } from "../../../stack/udp/udp-layer.js";
import { A, B, C, datagram, icmpDatagram, pattern, udpDatagram } from "./helpers.js";
import { KERNEL, KERNEL_ECHO_REQUEST, KERNEL_PORT_UNREACHABLE, US } from "./vectors.js";

function drain(ip: IpLayer): IpTransmit[] {
  const out: IpTransmit[] = [];
  for (let t = ip.pollTransmit(); t; t = ip.pollTransmit()) out.push(t);
  return out;
}

function icmpOf(t: IpTransmit) {
  const r = parseIpv4(t.packet);
  assert.ok(r.ok, "our own output must parse");
  assert.equal(r.value.repr.protocol, 1);
  const m = parseIcmp(r.value.payload);
  assert.ok(m.ok);
  return { ip: r.value.repr, icmp: m.value };
}

test("echo request to our address is answered (the kernel's request, byte-exact data)", () => {
  const ip = new IpLayer({ rng: new SeededRng(1), address: US });
  ip.handleInput(KERNEL_ECHO_REQUEST, 0);
  const out = drain(ip);
  assert.equal(out.length, 1);
  const { ip: h, icmp } = icmpOf(out[0]);
  assert.equal(h.src, US);
  assert.equal(h.dst, KERNEL);
  assert.equal(icmp.kind, "echo-reply");
  if (icmp.kind !== "echo-reply") return;
  assert.equal(icmp.ident, 0x4242);
  assert.equal(icmp.seq, 7);
  assert.equal(Buffer.from(icmp.data).toString(), "ppproxy!");
  assert.equal(out[0].interactive, true);
});

test("UDP to a closed port → port unreachable quoting the datagram; unknown protocol → protocol unreachable", () => {
  const ip = new IpLayer({ rng: new SeededRng(1), address: B });
  const dg = udpDatagram(A, B, 5000, 9, pattern(20));
  ip.handleInput(dg, 0);
  const [t] = drain(ip);
  const { ip: h, icmp } = icmpOf(t);
  assert.equal(h.dst, A);
  assert.equal(icmp.kind, "dest-unreachable");
  if (icmp.kind === "dest-unreachable") {
    assert.equal(icmp.code, 3);
    assert.deepEqual(icmp.quoted, dg);
  }
  ip.handleInput(datagram(pattern(8), { src: A, dst: B, protocol: 47 }), 0);
  const [t2] = drain(ip);
  const r2 = icmpOf(t2);
  assert.equal(r2.icmp.kind === "dest-unreachable" && r2.icmp.code, 2);
  assert.equal(ip.counter("drop.ip-unknown-protocol"), 1);
});

test("no ICMP error about an ICMP error, a broadcast, or a non-initial fragment (RFC 1122 §3.2.2)", () => {
  const ip = new IpLayer({ rng: new SeededRng(1), address: US });
  ip.handleInput(KERNEL_PORT_UNREACHABLE, 0); // an error about a datagram nobody here sent
  ip.handleInput(udpDatagram(A, 0xffffffff, 1, 9, pattern(4)), 0); // broadcast: not ours anyway
  assert.equal(drain(ip).length, 0);
  const s = ip.stats();
  assert.equal(s["ip.drop.ip-not-for-us"], 1);
});

test("ICMP error rate limit: token bucket on the injected clock (RFC 1812 §4.3.2.8)", () => {
  const clock = new ManualClock(0);
  const ip = new IpLayer({ rng: new SeededRng(1), address: B, icmpRate: { perSecond: 2, burst: 3 } });
  const send = () => {
    ip.handleInput(udpDatagram(A, B, 5000, 9, pattern(4)), clock.now());
    return drain(ip).length;
  };
  let sent = 0;
  for (let i = 0; i < 10; i++) sent += send();
  assert.equal(sent, 3, "burst");
  assert.equal(ip.stats()["ip.icmp-error-rate-limited"], 7);
  clock.advance(499);
  assert.equal(send(), 0, "not yet one token back");
  clock.advance(1);
  assert.equal(send(), 1, "one token after 500 ms at 2/s");
  clock.advance(10_000);
  sent = 0;
  for (let i = 0; i < 10; i++) sent += send();
  assert.equal(sent, 3, "the bucket never holds more than its burst");
});

test("malformed datagrams are dropped and counted by reason; nothing throws", () => {
  const ip = new IpLayer({ rng: new SeededRng(1), address: B });
  const good = udpDatagram(A, B, 1, 2, pattern(16));
  const badSum = good.slice();
  badSum[10] ^= 1;
  const badUdp = good.slice();
  badUdp[30] ^= 1;
  ip.udp.bind(2);
  ip.handleInput(new Uint8Array(0), 0);
  ip.handleInput(good.subarray(0, 10), 0);
  ip.handleInput(badSum, 0);
  ip.handleInput(good.subarray(0, good.length - 2), 0);
  ip.handleInput(badUdp, 0);
  const v6 = good.slice();
  v6[0] = 0x60;
  ip.handleInput(v6, 0);
  ip.handleInput(udpDatagram(A, C, 1, 2, pattern(4)), 0);
  const s = ip.stats();
  assert.equal(s["ip.drop.ip-truncated"], 2);
  assert.equal(s["ip.drop.ip-bad-checksum"], 1);
  assert.equal(s["ip.drop.ip-bad-total-length"], 1);
  assert.equal(s["ip.drop.ip-bad-version"], 1);
  assert.equal(s["udp.dropBadChecksum"], 1);
  assert.equal(s["ip.drop.ip-not-for-us"], 1);
  assert.equal(ip.udp.recv(2), undefined);
  // A fuzz pass: random bytes and bit-flipped good datagrams never throw.
  const rng = new SeededRng(99);
  for (let i = 0; i < 2000; i++) {
    const b = i % 2 ? rng.fill(new Uint8Array(rng.below(80))) : good.slice();
    if (i % 2 === 0) b[rng.below(b.length)] ^= 1 << rng.below(8);
    if (i % 4 === 0) b[0] = 0x45;
    ip.handleInput(b, 0);
  }
  drain(ip);
});

test("no address: everything is dropped with ip-no-address", () => {
  const ip = new IpLayer({ rng: new SeededRng(1) });
  ip.handleInput(udpDatagram(A, B, 1, 2, pattern(4)), 0);
  assert.equal(ip.counter("drop.ip-no-address"), 1);
});

test("DF set and too big → dropped and counted, never fragmented", () => {
  const ip = new IpLayer({ rng: new SeededRng(1), address: A, mtu: 576 });
  ip.send(17, { src: A, dst: B, payload: pattern(1000) }, true);
  assert.equal(drain(ip).length, 0);
  assert.equal(ip.counter("drop.tx-df-too-big"), 1);
  ip.send(17, { src: A, dst: B, payload: pattern(1000) }, false);
  assert.equal(drain(ip).length, 2);
});

test("IP identification: a counter seeded from the Rng", () => {
  const ids = (seed: number) => {
    const ip = new IpLayer({ rng: new SeededRng(seed), address: A });
    for (let i = 0; i < 3; i++) ip.udp.send(A, 1, B, 2, pattern(4));
    return drain(ip).map((t) => (t.packet[4] << 8) | t.packet[5]);
  };
  const a = ids(5);
  assert.deepEqual(a, [a[0], (a[0] + 1) & 0xffff, (a[0] + 2) & 0xffff]);
  assert.notEqual(ids(6)[0], a[0]);
});

test("UDP: sockets by port, ephemeral range from the Rng, collisions refused, per-socket queue bound", () => {
  const ip = new IpLayer({ rng: new SeededRng(4), address: B, udp: { maxQueue: 3 } });
  const p = ip.udp.bind(0);
  assert.ok(p >= EPHEMERAL_FIRST && p <= EPHEMERAL_LAST, `ephemeral ${p}`);
  assert.throws(() => ip.udp.bind(p), /already bound/);
  const seen = new Set([p]);
  for (let i = 0; i < 200; i++) seen.add(ip.udp.bind(0));
  assert.equal(seen.size, 201, "ephemeral ports never collide");
  for (let i = 0; i < 5; i++) ip.handleInput(udpDatagram(A, B, 7, p, pattern(10, i + 1)), 0);
  assert.equal(ip.udp.pollReadable(), p);
  assert.equal(ip.udp.pollReadable(), undefined);
  const got = [];
  for (let d = ip.udp.recv(p); d; d = ip.udp.recv(p)) got.push(d);
  assert.equal(got.length, 3);
  assert.deepEqual(got[0].payload, pattern(10, 1));
  assert.equal(ip.udp.counters.dropQueueFull, 2);
  ip.udp.unbind(p);
  ip.handleInput(udpDatagram(A, B, 7, p, pattern(10)), 0);
  assert.equal(drain(ip).length, 1, "port unreachable after unbind");
});

test("UDP forwarder: datagrams for any address and unmatched ports; sendUdp from any source", () => {
  const ip = new IpLayer({ rng: new SeededRng(4), address: B });
  ip.udp.forwarding = true;
  ip.handleInput(udpDatagram(A, C, 5353, 53, pattern(12)), 0);
  const f = ip.udp.pollForward();
  assert.ok(f);
  assert.deepEqual([f.src, f.srcPort, f.dst, f.dstPort], [A, 5353, C, 53]);
  ip.udp.send(C, 53, A, 5353, pattern(30));
  const [t] = drain(ip);
  const r = parseIpv4(t.packet);
  assert.ok(r.ok);
  assert.equal(r.value.repr.src, C);
  const u = parseUdp(r.value.payload, C, A);
  assert.ok(u.ok);
  assert.deepEqual(u.value.payload, pattern(30));
});

test("echo forwarder: echo requests to other addresses; replies from any address", () => {
  const ip = new IpLayer({ rng: new SeededRng(4), address: B });
  ip.handleInput(icmpDatagram(A, C, { kind: "echo-request", ident: 9, seq: 3, data: pattern(8) }), 0);
  assert.equal(ip.icmp.pollForward(), undefined, "off: dropped");
  ip.icmp.forwardEcho = true;
  ip.handleInput(icmpDatagram(A, C, { kind: "echo-request", ident: 9, seq: 3, data: pattern(8) }, { ttl: 61 }), 0);
  const e = ip.icmp.pollForward();
  assert.ok(e);
  assert.deepEqual([e.src, e.dst, e.ident, e.seq, e.ttl], [A, C, 9, 3, 61]);
  assert.deepEqual(e.payload, pattern(8));
  ip.sendIcmpUnreachable(C, 1, udpDatagram(A, C, 1, 2, pattern(4)), 0);
  const [t] = drain(ip);
  const m = icmpOf(t);
  assert.equal(m.ip.src, C);
  assert.equal(m.icmp.kind === "dest-unreachable" && m.icmp.code, 1);
});

test("ping: reply with RTT on the injected clock; timeout; unreachable and TTL exceeded map to codes", () => {
  const clock = new ManualClock(1000);
  const a = new IpLayer({ rng: new SeededRng(1), address: A });
  const b = new IpLayer({ rng: new SeededRng(2), address: B });
  a.icmp.startPing(A, B, 77, 1, pattern(56), clock.now(), 5000);
  const req = drain(a);
  assert.equal(req.length, 1);
  clock.advance(42);
  b.handleInput(req[0].packet, clock.now());
  for (const t of drain(b)) a.handleInput(t.packet, clock.now());
  const ev = a.icmp.pollPingEvent();
  assert.deepEqual(ev && ev.kind === "ping-reply" && [ev.seq, ev.rtt, ev.ttl, ev.bytes], [1, 42, 64, 64]);
  // Timeout.
  a.icmp.startPing(A, C, 77, 2, pattern(8), clock.now(), 3000);
  drain(a);
  assert.equal(a.pollTimeout(), clock.now() + 3000);
  clock.advance(2999);
  a.handleTimeout(clock.now());
  assert.equal(a.icmp.pollPingEvent(), undefined);
  clock.advance(1);
  a.handleTimeout(clock.now());
  assert.deepEqual(a.icmp.pollPingEvent(), { kind: "ping-failed", token: 2, ident: 77, seq: 2, code: "ETIMEDOUT" });
  // Host unreachable from a router quoting our request.
  a.icmp.startPing(A, C, 77, 3, pattern(8), clock.now(), 3000);
  const [r3] = drain(a);
  const router = new IpLayer({ rng: new SeededRng(3), address: C - 1 });
  router.sendIcmpUnreachable(C - 1, 1, r3.packet, clock.now());
  a.handleInput(drain(router)[0].packet, clock.now());
  const e3 = a.icmp.pollPingEvent();
  assert.equal(e3?.kind === "ping-failed" && e3.code, "EHOSTUNREACH");
  // TTL exceeded.
  a.icmp.startPing(A, C, 77, 4, pattern(8), clock.now(), 3000, 1);
  const [r4] = drain(a);
  assert.equal(r4.packet[8], 1, "TTL 1 as asked");
  router.sendIcmpError("time-exceeded", 0, C - 1, r4.packet, clock.now());
  a.handleInput(drain(router)[0].packet, clock.now());
  const e4 = a.icmp.pollPingEvent();
  assert.equal(e4?.kind === "ping-failed" && e4.code, "ETTLEXPIRED");
});

test("the kernel's port unreachable reaches the UDP layer as an ICMP error for our datagram", () => {
  const ip = new IpLayer({ rng: new SeededRng(1), address: US });
  ip.handleInput(KERNEL_PORT_UNREACHABLE, 0);
  assert.equal(ip.udp.counters.icmpErrors, 1);
  assert.equal(ip.counter("drop.ip-bad-checksum"), 0);
});

test("icmpErrorForbidden: the RFC 1122 §3.2.2 cases", async () => {
  const { icmpErrorForbidden } = await import("../../../stack/icmp/icmp-errors.js");
  assert.equal(icmpErrorForbidden(udpDatagram(A, B, 1, 2, pattern(4))), undefined);
  assert.equal(icmpErrorForbidden(KERNEL_PORT_UNREACHABLE), "about-icmp-error");
  assert.equal(icmpErrorForbidden(KERNEL_ECHO_REQUEST), undefined, "queries may be answered");
  assert.equal(icmpErrorForbidden(udpDatagram(A, 0xffffffff, 1, 2, pattern(4))), "to-broadcast-or-multicast");
  assert.equal(icmpErrorForbidden(udpDatagram(A, 0xe0000001, 1, 2, pattern(4))), "to-broadcast-or-multicast");
  assert.equal(icmpErrorForbidden(udpDatagram(0, B, 1, 2, pattern(4))), "bad-source");
  assert.equal(icmpErrorForbidden(datagram(pattern(16), { offset: 8 })), "non-initial-fragment");
});

test("reassembly timeout: after 30 s the sender gets Time Exceeded code 1 quoting the first fragment (RFC 792)", async () => {
  const { fragment, udpSegment } = await import("./helpers.js");
  const ip = new IpLayer({ rng: new SeededRng(1), address: B });
  ip.udp.bind(9);
  const seg = udpSegment(A, B, 1000, 9, pattern(3000));
  const frags = fragment(seg, 1480, { src: A, dst: B, protocol: 17, ident: 77 });
  ip.handleInput(frags[0], 0);
  ip.handleInput(frags[2], 0);
  assert.equal(ip.pollTimeout(), 30_000);
  ip.handleTimeout(29_999);
  assert.equal(drain(ip).length, 0);
  ip.handleTimeout(30_000);
  const out = drain(ip);
  assert.equal(out.length, 1);
  const { ip: h, icmp } = icmpOf(out[0]);
  assert.equal(h.dst, A);
  assert.equal(icmp.kind, "time-exceeded");
  if (icmp.kind !== "time-exceeded") return;
  assert.equal(icmp.code, 1);
  assert.deepEqual(icmp.quoted.subarray(20, 28), seg.subarray(0, 8), "the first fragment's UDP header is quoted");
  assert.equal(ip.stats()["ip.drop.frag-timeout"], 1);
  // Only the non-initial fragments arrived: silently dropped, no ICMP.
  ip.handleInput(frags[1], 40_000);
  ip.handleTimeout(70_000);
  assert.equal(drain(ip).length, 0);
});
