/** Wire codecs: RFC 1071 vector, kernel-captured IPv4/ICMP/UDP, malformed input reasons. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { internetChecksum, sumWords } from "../../../stack/wire/checksum.js";
import { emitIpv4Header, Ipv4Packet, parseIpv4 } from "../../../stack/wire/ipv4.js";
import { emitIcmp, icmpLength, parseIcmp } from "../../../stack/wire/icmp.js";
import { emitUdp, parseUdp, UdpPacket } from "../../../stack/wire/udp.js";
import { hex, KERNEL, KERNEL_ECHO_REPLY, KERNEL_ECHO_REQUEST, KERNEL_PORT_UNREACHABLE, KERNEL_UDP, US } from "./vectors.js";

test("RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2, checksum 0x220d", () => {
  const b = hex("0001f203f4f5f6f7");
  let s = sumWords(b);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  assert.equal(s, 0xddf2);
  assert.equal(internetChecksum(b), 0x220d);
});

test("kernel echo request parses: header fields, DF, checksum, ICMP id/seq/data", () => {
  const r = parseIpv4(KERNEL_ECHO_REQUEST);
  assert.ok(r.ok, JSON.stringify(r));
  const { repr, payload } = r.value;
  assert.equal(repr.src, KERNEL);
  assert.equal(repr.dst, US);
  assert.equal(repr.protocol, 1);
  assert.equal(repr.ttl, 64);
  assert.equal(repr.dontFragment, true);
  assert.equal(repr.moreFragments, false);
  assert.equal(repr.ident, 0xbd5c);
  const m = parseIcmp(payload);
  assert.ok(m.ok);
  assert.deepEqual(m.value.kind, "echo-request");
  if (m.value.kind !== "echo-request") return;
  assert.equal(m.value.ident, 0x4242);
  assert.equal(m.value.seq, 7);
  assert.equal(Buffer.from(m.value.data).toString(), "ppproxy!");
});

test("our emitters reproduce the kernel's echo reply byte for byte", () => {
  const out = new Uint8Array(KERNEL_ECHO_REPLY.length);
  const repr = { kind: "echo-reply" as const, ident: 0x1234, seq: 1, data: Buffer.from("ppproxy!") };
  emitIcmp(repr, out, 20);
  emitIpv4Header({ src: KERNEL, dst: US, protocol: 1, ttl: 64, payloadLen: icmpLength(repr), ident: 0xbd6e, dontFragment: false, moreFragments: false, fragmentOffset: 0 }, out);
  assert.equal(Buffer.from(out).toString("hex"), Buffer.from(KERNEL_ECHO_REPLY).toString("hex"));
});

test("kernel port unreachable: code 3, quoted datagram is our UDP, TOS kept", () => {
  const r = parseIpv4(KERNEL_PORT_UNREACHABLE);
  assert.ok(r.ok);
  assert.equal(r.value.repr.tos, 0xc0);
  const m = parseIcmp(r.value.payload);
  assert.ok(m.ok);
  assert.equal(m.value.kind, "dest-unreachable");
  if (m.value.kind !== "dest-unreachable") return;
  assert.equal(m.value.code, 3);
  const q = new Ipv4Packet(m.value.quoted);
  assert.equal(q.check(), undefined);
  assert.equal(q.ident, 0x1111);
  assert.equal(q.src, US);
  const u = new UdpPacket(q.payload);
  assert.equal(u.srcPort, 5555);
  assert.equal(u.dstPort, 9);
});

test("kernel UDP: checksum with pseudo-header verifies; re-emitting gives the same bytes", () => {
  const r = parseIpv4(KERNEL_UDP);
  assert.ok(r.ok);
  const u = parseUdp(r.value.payload, KERNEL, US);
  assert.ok(u.ok, JSON.stringify(u));
  assert.equal(u.value.srcPort, 40000);
  assert.equal(u.value.dstPort, 7777);
  assert.equal(Buffer.from(u.value.payload).toString(), "hello kernel");
  const again = new Uint8Array(r.value.payload.length);
  emitUdp(u.value, again, KERNEL, US);
  assert.deepEqual(again, r.value.payload);
  // Any flipped bit in the data breaks the checksum.
  const bad = r.value.payload.slice();
  bad[10] ^= 0x04;
  const b = parseUdp(bad, KERNEL, US);
  assert.equal(b.ok, false);
  if (!b.ok) assert.equal(b.reason, "udp-bad-checksum");
});

test("UDP: a zero checksum means none and is accepted", () => {
  const r = parseIpv4(KERNEL_UDP);
  assert.ok(r.ok);
  const p = r.value.payload.slice();
  p[6] = 0;
  p[7] = 0;
  p[12] ^= 0xff; // corrupt data: undetectable without a checksum, and accepted
  const u = parseUdp(p, KERNEL, US);
  assert.ok(u.ok);
});

test("UDP: a computed checksum of zero is sent as 0xffff and verifies", () => {
  const payload = new Uint8Array(6);
  payload.set([0x12, 0x34, 0x56, 0x78]);
  const out = new Uint8Array(14);
  emitUdp({ srcPort: 1000, dstPort: 2000, payload }, out, US, KERNEL);
  const c0 = (out[6] << 8) | out[7];
  // Choose the last word so the sum becomes 0xffff, i.e. the checksum 0.
  const sumWithout = ~c0 & 0xffff;
  const w = 0xffff - sumWithout;
  payload[4] = w >> 8;
  payload[5] = w & 0xff;
  emitUdp({ srcPort: 1000, dstPort: 2000, payload }, out, US, KERNEL);
  assert.equal((out[6] << 8) | out[7], 0xffff);
  assert.ok(parseUdp(out, US, KERNEL).ok);
});

test("malformed IPv4 is refused with a reason, never thrown", () => {
  const good = KERNEL_UDP;
  const cases: [string, Uint8Array, string][] = [
    ["truncated below 20", good.subarray(0, 19), "ip-truncated"],
    ["version 6", (() => { const b = good.slice(); b[0] = 0x65; return b; })(), "ip-bad-version"],
    ["IHL 4", (() => { const b = good.slice(); b[0] = 0x44; return b; })(), "ip-bad-ihl"],
    ["IHL past the buffer", (() => { const b = good.slice(0, 24); b[0] = 0x4f; return b; })(), "ip-truncated"],
    ["total length > buffer", good.subarray(0, good.length - 1), "ip-bad-total-length"],
    ["total length < header", (() => { const b = good.slice(); b[2] = 0; b[3] = 10; return b; })(), "ip-bad-total-length"],
    ["bad header checksum", (() => { const b = good.slice(); b[8] = 63; return b; })(), "ip-bad-checksum"],
  ];
  for (const [name, buf, reason] of cases) {
    const r = parseIpv4(buf);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.equal(r.reason, reason, name);
  }
  // Link padding after Total Length is cut off, not an error.
  const padded = new Uint8Array(good.length + 6);
  padded.set(good);
  const r = parseIpv4(padded);
  assert.ok(r.ok);
  assert.equal(r.value.payload.length, good.length - 20);
});

test("malformed ICMP and UDP reasons", () => {
  assert.deepEqual(parseIcmp(new Uint8Array(7)), { ok: false, reason: "icmp-truncated" });
  const m = KERNEL_ECHO_REQUEST.slice(20);
  m[9] ^= 1;
  assert.deepEqual(parseIcmp(m), { ok: false, reason: "icmp-bad-checksum" });
  assert.deepEqual(parseUdp(new Uint8Array(7), 0, 0), { ok: false, reason: "udp-truncated" });
  const u = KERNEL_UDP.slice(20);
  u[5] = 100; // Length past the buffer
  assert.deepEqual(parseUdp(u, KERNEL, US), { ok: false, reason: "udp-bad-length" });
  u[5] = 4; // Length below the header
  assert.deepEqual(parseUdp(u, KERNEL, US), { ok: false, reason: "udp-bad-length" });
});

test("frag-needed carries the next-hop MTU (RFC 1191)", () => {
  const quoted = KERNEL_UDP.subarray(0, 28);
  const out = new Uint8Array(8 + quoted.length);
  emitIcmp({ kind: "dest-unreachable", code: 4, mtu: 1400, quoted }, out);
  const m = parseIcmp(out);
  assert.ok(m.ok);
  assert.deepEqual(m.value.kind === "dest-unreachable" && [m.value.code, m.value.mtu], [4, 1400]);
});

test("IPv4 options are skipped: IHL 6 moves the payload, the checksum covers the options", () => {
  const base = KERNEL_UDP;
  const withOpts = new Uint8Array(base.length + 4);
  withOpts.set(base.subarray(0, 20));
  withOpts.set([0x01, 0x01, 0x01, 0x00], 20); // NOP NOP NOP EOL
  withOpts.set(base.subarray(20), 24);
  withOpts[0] = 0x46;
  const tl = withOpts.length;
  withOpts[2] = tl >> 8;
  withOpts[3] = tl & 0xff;
  withOpts[10] = 0;
  withOpts[11] = 0;
  const c = internetChecksum(withOpts.subarray(0, 24));
  withOpts[10] = c >> 8;
  withOpts[11] = c & 0xff;
  const r = parseIpv4(withOpts);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.packet.headerLength, 24);
  assert.deepEqual(r.value.payload, base.subarray(20));
  assert.ok(parseUdp(r.value.payload, KERNEL, US).ok);
});
