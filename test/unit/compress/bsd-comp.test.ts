/**
 * BSD-Compress (RFC 1977) codec against the Linux kernel's bsd_comp.c:
 * golden packets, round trips on text / random / mixed data at every code
 * size, the uncompressed-packet path that keeps both dictionaries in step,
 * the ratio check and CLEAR code, sequence errors, and garbage that must
 * come back as an error (never a throw).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SeededRng } from "../../../stack/util/rng.js";
import {
  BSD_MAX_BITS, BSD_MIN_BITS, BsdCompressor, BsdDecompressor, bsdCompressibleProtocol,
} from "../../../src/ppp/compress/bsd-comp.js";
import { PPP_COMP } from "../../../src/ppp/compress/deflate.js";
import { hex } from "./tcpip.js";

const enc = new TextEncoder();

/** The fox file: "%06d the quick brown fox jumps over the lazy dog\n" lines. */
function fox(n: number): Uint8Array {
  let s = "";
  for (let i = 0; s.length < n; i++) s += `${String(i).padStart(6, "0")} the quick brown fox jumps over the lazy dog\n`;
  return enc.encode(s.slice(0, n));
}

function randomBytes(rng: SeededRng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  rng.fill(b);
  return b;
}

/** Send `pkts` through a compressor into a decompressor as ccp.ts does; every packet must arrive intact. */
function roundTrip(bits: number, pkts: { proto: number; data: Uint8Array }[], label: string): { comp: BsdCompressor; decomp: BsdDecompressor; wire: number } {
  const comp = new BsdCompressor(bits);
  const decomp = new BsdDecompressor(bits, 1500);
  let wire = 0;
  pkts.forEach((p, i) => {
    const r = comp.compress(p.proto, p.data);
    wire += r.packet.length;
    if (r.proto === PPP_COMP) {
      const d = decomp.decompress(r.packet);
      assert.ok(d.ok, `${label}: packet ${i} failed: ${d.ok ? "" : d.detail}`);
      assert.equal(d.proto, p.proto, `${label}: packet ${i} protocol`);
      assert.equal(hex(d.packet), hex(p.data), `${label}: packet ${i} bytes`);
    } else {
      assert.equal(r.proto, p.proto);
      assert.equal(r.packet, p.data, `${label}: an uncompressed packet goes out as it was`);
      assert.ok(decomp.incomp(r.proto, r.packet));
    }
  });
  return { comp, decomp, wire };
}

/** Packets of `data` cut at seeded lengths 0..1500. */
function cut(data: Uint8Array, rng: SeededRng, proto = 0x21): { proto: number; data: Uint8Array }[] {
  const pkts: { proto: number; data: Uint8Array }[] = [];
  for (let off = 0; off < data.length; ) {
    const n = Math.min(data.length - off, rng.below(1501));
    pkts.push({ proto, data: data.subarray(off, off + n) });
    off += n;
  }
  return pkts;
}

// Golden packets: the kernel's bsd_compress (drivers/net/ppp/bsd_comp.c, transcribed into a
// stand-alone C program and built with gcc for this test, not shipped) on these four packets at
// 15 bits. The second is the same text again, so it is almost all dictionary codes; the IPCP
// packet is outside 0x21..0xf9 and must neither be compressed nor take a sequence number.
const LINE2 = "the quick brown fox jumps over the lazy dog\n".repeat(2);
const GOLDEN: { proto: number; data: Uint8Array; wire: string }[] = [
  { proto: 0x21, data: enc.encode(LINE2), wire: "0000109d0d065101c4ea69319ac4062391bcee6e10198de78101a8ea6d381cc406f3b194e42081410d8613d1e440643799c152182c1e130b86c3e23138ac5e331b8ec7e592392c9e520a" },
  { proto: 0x21, data: enc.encode(LINE2), wire: "000180c0e5b08854321d10894522d188d4723d20a0cf24d28954b20d439851a67499b532734f91492a53ff" },
  { proto: 0x8021, data: Uint8Array.of(1, 1, 0, 4), wire: "" },
  { proto: 0x2d, data: enc.encode("a".repeat(64)), wire: "000216986c965b359ed169b55aed96bf" },
];

test("golden: our packets are the kernel's bsd_compress output byte for byte, and decode back", () => {
  const comp = new BsdCompressor(15);
  const decomp = new BsdDecompressor(15, 1500);
  for (const [i, g] of GOLDEN.entries()) {
    const r = comp.compress(g.proto, g.data);
    if (g.wire === "") {
      assert.deepEqual(r, { proto: g.proto, packet: g.data }, `packet ${i} passes untouched`);
      assert.ok(decomp.incomp(g.proto, g.data));
      continue;
    }
    assert.equal(r.proto, PPP_COMP, `packet ${i}`);
    assert.equal(hex(r.packet), g.wire, `packet ${i}`);
    const d = decomp.decompress(r.packet);
    assert.ok(d.ok && d.proto === g.proto && hex(d.packet) === hex(g.data), `packet ${i} decodes`);
  }
  assert.equal(decomp.expectedSeq, 3, "three sequence numbers used (IPCP took none)");
});

test("compressible protocols are the kernel's 0x21..0xf9 only", () => {
  assert.ok(bsdCompressibleProtocol(0x21) && bsdCompressibleProtocol(0x2d) && bsdCompressibleProtocol(0xf9));
  assert.ok(!bsdCompressibleProtocol(0x20) && !bsdCompressibleProtocol(0xfb) && !bsdCompressibleProtocol(0xfd));
  assert.ok(!bsdCompressibleProtocol(0x8021) && !bsdCompressibleProtocol(0xc021) && !bsdCompressibleProtocol(0x80fd));
});

test("round trip: the fox file (256 KiB) at every code size 9..15 shrinks and arrives byte-exact", () => {
  const seed = 7;
  const data = fox(256 * 1024);
  for (let bits = BSD_MIN_BITS; bits <= BSD_MAX_BITS; bits++) {
    const { comp, wire } = roundTrip(bits, cut(data, new SeededRng(seed)), `fox bits ${bits} seed ${seed}`);
    assert.ok(wire < data.length * 0.6, `bits ${bits}: ${wire} wire bytes for ${data.length} (seed ${seed})`);
    assert.ok(comp.stats.compPackets > 0);
  }
});

test("round trip: random data is sent uncompressed, yet both dictionaries move in step (bsd_incomp)", () => {
  const seed = 11;
  const rng = new SeededRng(seed);
  const pkts = cut(randomBytes(rng, 200 * 1024), rng);
  // Then text, which must decode against dictionaries that the random packets filled (and cleared).
  pkts.push(...cut(fox(64 * 1024), rng));
  const { comp, decomp } = roundTrip(12, pkts, `random then fox seed ${seed}`);
  assert.ok(comp.stats.incPackets > 100, `${comp.stats.incPackets} incompressible (seed ${seed})`);
  assert.ok(comp.stats.compPackets > 20, `${comp.stats.compPackets} compressed after the random data (seed ${seed})`);
  assert.equal(decomp.stats.clears, comp.stats.clears, "both sides cleared the same number of times");
  assert.ok(comp.stats.clears > 1, `the ratio check cleared a dictionary poisoned by random data (${comp.stats.clears})`);
});

test("round trip: mixed seeded packets and protocols at every code size", () => {
  for (let bits = BSD_MIN_BITS; bits <= BSD_MAX_BITS; bits++) {
    const seed = 100 + bits;
    const rng = new SeededRng(seed);
    const text = fox(300 * 1024);
    const pkts: { proto: number; data: Uint8Array }[] = [];
    let off = 0;
    for (let i = 0; i < 400; i++) {
      const n = rng.below(1501);
      const proto = [0x21, 0x21, 0x21, 0x2d, 0x2f, 0x8021, 0xf9][rng.below(7)];
      if (rng.below(3) === 0) pkts.push({ proto, data: randomBytes(rng, n) });
      else {
        if (off + n > text.length) off = 0;
        pkts.push({ proto, data: text.subarray(off, off + n) });
        off += n;
      }
    }
    roundTrip(bits, pkts, `mixed bits ${bits} seed ${seed}`);
  }
});

test("CLEAR: a full 9-bit dictionary whose ratio drops is cleared with a CLEAR code the decoder follows", () => {
  const seed = 5;
  const rng = new SeededRng(seed);
  const comp = new BsdCompressor(9);
  const decomp = new BsdDecompressor(9, 1500);
  const text = fox(400 * 1024);
  let wireClears = 0;
  let off = 0;
  for (let i = 0; i < 600; i++) {
    // Text with a few random bytes mixed in: still compressible, but the ratio wanders.
    const n = 200 + rng.below(1300);
    if (off + n > text.length) off = 0;
    const data = text.slice(off, off + n);
    off += n;
    for (let k = rng.below(40); k > 0; k--) data[rng.below(n)] = rng.below(256);
    const before = comp.stats.clears;
    const r = comp.compress(0x21, data);
    if (r.proto === PPP_COMP) {
      if (comp.stats.clears > before) wireClears++;
      const decBefore = decomp.stats.clears;
      const d = decomp.decompress(r.packet);
      assert.ok(d.ok && hex(d.packet) === hex(data), `packet ${i} (seed ${seed})`);
      assert.equal(decomp.stats.clears - decBefore, comp.stats.clears - before, `packet ${i}: decoder cleared with us`);
    } else decomp.incomp(0x21, r.packet);
  }
  assert.ok(wireClears > 0, `a CLEAR code went out in a compressed packet (seed ${seed})`);
  assert.equal(decomp.stats.clears, comp.stats.clears);
});

test("sequence: a lost compressed packet is a non-fatal 'seq' error; reset on both sides recovers", () => {
  const comp = new BsdCompressor(15);
  const decomp = new BsdDecompressor(15, 1500);
  const text = fox(8000);
  const p1 = comp.compress(0x21, text.subarray(0, 1000));
  const p2 = comp.compress(0x21, text.subarray(1000, 2000));
  const p3 = comp.compress(0x21, text.subarray(2000, 3000));
  assert.ok(p1.proto === PPP_COMP && p2.proto === PPP_COMP && p3.proto === PPP_COMP);
  assert.ok(decomp.decompress(p1.packet).ok);
  const r = decomp.decompress(p3.packet); // p2 lost
  assert.deepEqual(r.ok ? undefined : [r.error, r.fatal], ["seq", false]);
  assert.equal(decomp.expectedSeq, 1, "a rejected packet does not move the sequence");
  // CCP Reset-Request / Reset-Ack: both sides start over.
  comp.reset();
  decomp.reset();
  const p4 = comp.compress(0x21, text.subarray(3000, 4000));
  assert.equal((p4.packet[0] << 8) | p4.packet[1], 0, "sequence 0 after a reset");
  const d = decomp.decompress(p4.packet);
  assert.ok(d.ok && hex(d.packet) === hex(text.subarray(3000, 4000)));
});

test("an uncompressed packet the receiver did not see (no incomp) shows as a sequence error, not garbage", () => {
  const comp = new BsdCompressor(12);
  const decomp = new BsdDecompressor(12, 1500);
  const rng = new SeededRng(9);
  const text = fox(4000);
  assert.ok(decomp.decompress(comp.compress(0x21, text.subarray(0, 1000)).packet).ok);
  const raw = comp.compress(0x21, randomBytes(rng, 500));
  assert.equal(raw.proto, 0x21, "random bytes do not shrink");
  const r = decomp.decompress(comp.compress(0x21, text.subarray(1000, 2000)).packet);
  assert.equal(r.ok ? "ok" : r.error, "seq");
});

test("garbage with a good sequence number is an error result, never a throw", () => {
  const seed = 21;
  const rng = new SeededRng(seed);
  let fatal = 0;
  for (let i = 0; i < 2000; i++) {
    const decomp = new BsdDecompressor(BSD_MIN_BITS + rng.below(7), 1500);
    const p = randomBytes(rng, 2 + rng.below(300));
    p[0] = 0;
    p[1] = 0;
    const r = decomp.decompress(p);
    if (!r.ok) {
      assert.ok(["bad-code", "bad-clear", "chain", "mru", "no-proto"].includes(r.error), r.detail);
      if (r.fatal) fatal++;
    }
  }
  assert.ok(fatal > 1000, `most random packets are caught as bad codes (${fatal}/2000, seed ${seed})`);
  // A packet whose first code is 256 followed by more codes: CLEAR not last.
  const d = new BsdDecompressor(9, 1500);
  const r = d.decompress(Uint8Array.of(0, 0, 0x80, 0x00, 0x00, 0x00));
  assert.equal(r.ok ? "ok" : r.error, "bad-clear");
});

test("mru: a packet that decompresses beyond the MRU is a fatal 'mru' error", () => {
  const comp = new BsdCompressor(15);
  const decomp = new BsdDecompressor(15, 100);
  const r = comp.compress(0x21, enc.encode("x".repeat(1000)));
  assert.equal(r.proto, PPP_COMP);
  const d = decomp.decompress(r.packet);
  assert.deepEqual(d.ok ? undefined : [d.error, d.fatal], ["mru", true]);
});

test("code size outside 9..15 is refused at construction", () => {
  assert.throws(() => new BsdCompressor(8), /9\.\.15/);
  assert.throws(() => new BsdDecompressor(16, 1500), /9\.\.15/);
});
