/** Fragment reassembly: in order, reversed, overlapping, timeout, memory caps, kernel fragments. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Reassembler, REASSEMBLY_TIMEOUT_MS } from "../../../stack/ip/reassembly.js";
import { IpLayer } from "../../../stack/ip/ip-layer.js";
import { Ipv4Packet } from "../../../stack/wire/ipv4.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { A, B, pattern } from "./helpers.js";
import { kernelFragments, KERNEL, US } from "./vectors.js";

const hdr = new Uint8Array(20).fill(0x45, 0, 1);

function frag(offset: number, data: Uint8Array, more: boolean, ident = 7) {
  return { src: A, dst: B, protocol: 17, ident, offset, moreFragments: more, payload: data, header: hdr };
}

function pieces(total: Uint8Array, size: number) {
  const out = [];
  for (let off = 0; off < total.length; off += size) out.push(frag(off, total.subarray(off, off + size), off + size < total.length));
  return out;
}

test("in order: completes on the last fragment with the exact bytes", () => {
  const r = new Reassembler();
  const data = pattern(4000, 3);
  const ps = pieces(data, 1480);
  for (let i = 0; i < ps.length - 1; i++) assert.equal(r.input(ps[i], 0).kind, "pending");
  const res = r.input(ps[ps.length - 1], 0);
  assert.equal(res.kind, "complete");
  if (res.kind === "complete") assert.deepEqual(res.payload, data);
  assert.equal(r.size, 0);
  assert.equal(r.bytesHeld, 0);
});

test("reversed and shuffled orders give the same bytes", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rng = new SeededRng(seed);
    const r = new Reassembler();
    const data = pattern(9000, seed);
    const ps = pieces(data, 512);
    if (seed === 1) ps.reverse();
    else for (let i = ps.length - 1; i > 0; i--) { const j = rng.below(i + 1); [ps[i], ps[j]] = [ps[j], ps[i]]; }
    let res;
    for (const p of ps) res = r.input(p, 0);
    assert.equal(res?.kind, "complete", `seed ${seed}`);
    if (res?.kind === "complete") assert.deepEqual(res.payload, data, `seed ${seed}`);
  }
});

test("overlaps: the bytes held first win; a rewrite attempt cannot change them", () => {
  const r = new Reassembler();
  const data = pattern(64, 9);
  assert.equal(r.input(frag(0, data.subarray(0, 32), true), 0).kind, "pending");
  // An overlapping fragment covering 16..48 with different bytes (attacker) — only 32..48 is new.
  const evil = new Uint8Array(32).fill(0xee);
  assert.equal(r.input(frag(16, evil, true), 0).kind, "pending");
  assert.equal(r.counters.overlaps, 1);
  const res = r.input(frag(48, data.subarray(48), false), 0);
  assert.equal(res.kind, "complete");
  if (res.kind !== "complete") return;
  assert.deepEqual(res.payload.subarray(0, 32), data.subarray(0, 32));
  assert.deepEqual(res.payload.subarray(32, 48), new Uint8Array(16).fill(0xee));
  assert.deepEqual(res.payload.subarray(48), data.subarray(48));
  // Duplicates do not double-count bytes.
  const r2 = new Reassembler();
  r2.input(frag(0, data.subarray(0, 32), true), 0);
  r2.input(frag(0, data.subarray(0, 32), true), 0);
  assert.equal(r2.bytesHeld, 32);
  assert.equal(r2.input(frag(32, data.subarray(32), false), 0).kind, "complete");
});

test("inconsistent ends drop the datagram", () => {
  const r = new Reassembler();
  const d = pattern(64);
  r.input(frag(0, d.subarray(0, 32), true), 0);
  assert.equal(r.input(frag(40, d.subarray(40, 48), false), 0).kind, "pending");
  // A second "last" fragment with another end.
  assert.deepEqual(r.input(frag(40, d.subarray(40, 56), false), 0), { kind: "dropped", reason: "frag-inconsistent" });
  assert.equal(r.size, 0);
  // Non-last fragment whose length is not a multiple of 8.
  assert.deepEqual(r.input(frag(0, d.subarray(0, 13), true), 0), { kind: "dropped", reason: "frag-bad-length" });
  // Past 65535.
  assert.equal(r.input(frag(65528, d.subarray(0, 16), false), 0).kind, "dropped");
});

test("timeout: 30 s, the datagram is dropped and reported once, with the first fragment quoted", () => {
  const r = new Reassembler();
  const d = pattern(100);
  r.input(frag(0, d.subarray(0, 48), true), 1000);
  assert.equal(r.pollTimeout(), 1000 + REASSEMBLY_TIMEOUT_MS);
  r.handleTimeout(1000 + REASSEMBLY_TIMEOUT_MS - 1);
  assert.equal(r.size, 1);
  r.handleTimeout(1000 + REASSEMBLY_TIMEOUT_MS);
  assert.equal(r.size, 0);
  assert.equal(r.bytesHeld, 0);
  const e = r.pollExpired();
  assert.ok(e?.firstQuote);
  assert.equal(e.firstQuote.length, 28);
  assert.equal(r.pollExpired(), undefined);
  assert.equal(r.pollTimeout(), undefined);
  // The late last fragment starts a new (never completing) datagram.
  assert.equal(r.input(frag(48, d.subarray(48), false), 40_000).kind, "pending");
});

test("memory caps: global bytes and count evict the oldest; per-datagram cap drops", () => {
  const r = new Reassembler({ maxTotalBytes: 4096, maxDatagrams: 4, maxDatagramBytes: 3000 });
  const d = pattern(2048);
  for (let id = 1; id <= 3; id++) r.input(frag(0, d.subarray(0, 1600), true, id), 0);
  assert.ok(r.bytesHeld <= 4096, `held ${r.bytesHeld}`);
  assert.equal(r.counters.evicted, 1);
  for (let id = 10; id < 20; id++) r.input(frag(0, d.subarray(0, 8), true, id), 0);
  assert.ok(r.size <= 4);
  const r2 = new Reassembler({ maxDatagramBytes: 3000 });
  r2.input(frag(0, d.subarray(0, 1600), true), 0);
  assert.deepEqual(r2.input(frag(1600, d.subarray(0, 1600), true), 0), { kind: "dropped", reason: "frag-too-big" });
  assert.equal(r2.bytesHeld, 0);
});

test("the kernel's three fragments reassemble into its 3000-byte UDP datagram, in any order", () => {
  for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
    const ip = new IpLayer({ rng: new SeededRng(1), address: US });
    ip.udp.bind(7777);
    const fr = kernelFragments();
    for (const i of order) ip.handleInput(fr[i], 0);
    const d = ip.udp.recv(7777);
    assert.ok(d, `order ${order}`);
    assert.equal(d.src, KERNEL);
    assert.equal(d.srcPort, 40000);
    assert.equal(d.payload.length, 3000);
    assert.ok(d.payload.every((x) => x === 0x78));
    assert.equal(ip.counter("rx.reassembled"), 1);
  }
});

test("IP layer fragments on send when DF is clear, and a peer IP layer reassembles", () => {
  const a = new IpLayer({ rng: new SeededRng(2), address: A, mtu: 576 });
  const b = new IpLayer({ rng: new SeededRng(3), address: B, mtu: 576 });
  const port = b.udp.bind(53);
  const data = pattern(5000, 77);
  a.udp.send(A, 1234, B, port, data);
  const frames = [];
  for (let t = a.pollTransmit(); t; t = a.pollTransmit()) frames.push(t.packet);
  assert.equal(frames.length, Math.ceil((5008) / 552));
  for (const f of frames) {
    const p = new Ipv4Packet(f);
    assert.equal(p.check(), undefined);
    assert.ok(f.length <= 576);
  }
  for (const f of frames.reverse()) b.handleInput(f, 0);
  const d = b.udp.recv(port);
  assert.ok(d);
  assert.deepEqual(d.payload, data);
});
