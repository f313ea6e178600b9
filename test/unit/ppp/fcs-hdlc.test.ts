/** FCS-16/FCS-32 vectors (RFC 1662 App. C) and the RFC 1662 async HDLC framing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FCS16_GOOD, FCS32_GOOD, fcs16, fcs32 } from "../../../src/ppp/fcs.js";
import { HdlcDecoder, HdlcEncoder, type HdlcFrame } from "../../../src/ppp/hdlc.js";
import { SeededRng } from "../../../stack/util/rng.js";

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (h) => parseInt(h, 16));

function decodeAll(dec: HdlcDecoder, ...chunks: Uint8Array[]): HdlcFrame[] {
  const out: HdlcFrame[] = [];
  for (const c of chunks) dec.input(c, (f) => out.push({ protocol: f.protocol, info: Uint8Array.from(f.info) }));
  return out;
}

test("FCS-16: check value of '123456789' is 0x906e (CRC-16/X.25) and a frame with its FCS gives 0xf0b8", () => {
  const data = ascii("123456789");
  const fcs = fcs16(data) ^ 0xffff;
  assert.equal(fcs, 0x906e);
  const withFcs = Uint8Array.of(...data, fcs & 0xff, fcs >>> 8);
  assert.equal(fcs16(withFcs), FCS16_GOOD);
});

test("FCS-32: check value of '123456789' is 0xcbf43926 and a frame with its FCS gives 0xdebb20e3", () => {
  const data = ascii("123456789");
  const fcs = (fcs32(data) ^ 0xffffffff) >>> 0;
  assert.equal(fcs, 0xcbf43926);
  const withFcs = Uint8Array.of(...data, fcs & 0xff, (fcs >>> 8) & 0xff, (fcs >>> 16) & 0xff, fcs >>> 24);
  assert.equal(fcs32(withFcs), FCS32_GOOD);
});

test("encoder: LCP ConfReq is sent with FF 03, full ACCM escaping, leading and trailing flag", () => {
  const enc = new HdlcEncoder();
  enc.accm = 0; // even with a negotiated ACCM of 0, LCP codes 1-7 use the default map
  enc.acfc = true;
  const info = hex("01 01 00 0a 02 06 00 00 00 00");
  const out = enc.encode(0xc021, info);
  assert.equal(out[0], 0x7e);
  assert.equal(out[out.length - 1], 0x7e);
  // ff 7d 23 (0x03 escaped) c0 21 7d 21 (0x01) ...
  assert.deepEqual([...out.subarray(1, 8)], [0xff, 0x7d, 0x23, 0xc0, 0x21, 0x7d, 0x21]);
  for (let i = 1; i < out.length - 1; i++) assert.ok(out[i] >= 0x20 || false, `byte ${i} = ${out[i]} unescaped`);
});

for (const accm of [0, 0xffffffff, 0x000a0000]) {
  test(`escaping round-trip under send ACCM 0x${accm.toString(16)} with escape bytes 0x91 0x93`, () => {
    const enc = new HdlcEncoder([0x91, 0x93]);
    enc.accm = accm;
    const info = new Uint8Array(256);
    for (let i = 0; i < 256; i++) info[i] = i;
    const out = enc.encode(0x0021, info);
    // every byte in the map (and 7d 7e, 91 93) appears only escaped
    for (let i = 1; i < out.length - 1; i++) {
      const b = out[i];
      assert.notEqual(b, 0x7e, "flag inside frame");
      if (b < 0x20) assert.equal((accm >>> b) & 1, 0, `0x${b.toString(16)} should have been escaped`);
      assert.ok(b !== 0x91 && b !== 0x93, "extra escape byte sent raw");
    }
    const dec = new HdlcDecoder();
    dec.rxAccm = accm; // the receiver ignores raw chars in its map: none should be present
    const frames = decodeAll(dec, out);
    assert.equal(frames.length, 1);
    assert.equal(frames[0].protocol, 0x0021);
    assert.deepEqual(frames[0].info, info);
    assert.equal(dec.counters.ctrlIgnored, 0);
  });
}

test("ACFC and PFC on send when negotiated; decoder accepts the compressed forms", () => {
  const enc = new HdlcEncoder();
  enc.accm = 0;
  enc.acfc = true;
  enc.pfc = true;
  const out = enc.encode(0x0021, hex("45 00"));
  assert.deepEqual([...out.subarray(0, 3)], [0x7e, 0x21, 0x45]); // no FF 03, one-byte protocol
  const dec = new HdlcDecoder();
  dec.rxAccm = 0; // ACCM 0: control characters may arrive raw (the FCS may contain some)
  const frames = decodeAll(dec, out);
  assert.deepEqual(frames, [{ protocol: 0x21, info: hex("45 00") }]);
});

test("frames split at every byte boundary and frames run together decode identically", () => {
  const enc = new HdlcEncoder();
  const rng = new SeededRng(7);
  const infos = [1, 5, 40, 300].map((n) => rng.fill(new Uint8Array(n)));
  const stream = Uint8Array.from(infos.flatMap((i) => [...enc.encode(0x0021, i)]));
  const whole = decodeAll(new HdlcDecoder(), stream);
  assert.equal(whole.length, 4);
  infos.forEach((info, k) => assert.deepEqual(whole[k].info, info));
  for (let cut = 1; cut < stream.length; cut++) {
    const split = decodeAll(new HdlcDecoder(), stream.subarray(0, cut), stream.subarray(cut));
    assert.equal(split.length, 4, `cut at ${cut}`);
    infos.forEach((info, k) => assert.deepEqual(split[k].info, info, `cut at ${cut}, frame ${k}`));
  }
  const bytewise = decodeAll(new HdlcDecoder(), ...[...stream].map((b) => Uint8Array.of(b)));
  assert.equal(bytewise.length, 4);
});

test("abort sequence, bad FCS, oversize and runt frames are dropped and counted, never thrown", () => {
  const enc = new HdlcEncoder();
  const good = enc.encode(0x0021, hex("45 00 00 14"));
  const bad = Uint8Array.from(good);
  bad[5] ^= 0x01; // corrupt a payload byte
  const aborted = Uint8Array.of(0x7e, 0xff, 0x7d, 0x23, 0x00, 0x21, 0x7d, 0x7e);
  const runt = Uint8Array.of(0x7e, 0x21, 0x7e);
  const dec = new HdlcDecoder(1500);
  const big = enc.encode(0x0021, new Uint8Array(1500 + 200));
  const frames = decodeAll(dec, bad, aborted, runt, big, good);
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0].info, hex("45 00 00 14"));
  assert.equal(dec.counters.badFcs, 1);
  assert.equal(dec.counters.aborted, 1);
  assert.equal(dec.counters.runt, 1);
  assert.equal(dec.counters.oversize, 1);
});

test("seeded garbage never throws and good frames after it still decode", () => {
  const seed = 12345;
  const rng = new SeededRng(seed);
  const dec = new HdlcDecoder();
  const junk = rng.fill(new Uint8Array(20000));
  const good = new HdlcEncoder().encode(0xc021, hex("09 07 00 08 00 00 00 00"));
  const frames = decodeAll(dec, junk, Uint8Array.of(0x7e), good);
  assert.ok(frames.length >= 1, `seed ${seed}`);
  assert.deepEqual(frames[frames.length - 1].info, hex("09 07 00 08 00 00 00 00"), `seed ${seed}`);
});

test("frames without FF 03 (kernel-style LCP Echo-Request) are accepted", () => {
  // c0 21 09 01 00 08 12 34 56 78 + FCS, no address/control field
  const body = hex("c0 21 09 01 00 08 12 34 56 78");
  const fcs = fcs16(body) ^ 0xffff;
  const frame = Uint8Array.of(0x7e, ...body, fcs & 0xff, fcs >>> 8, 0x7e);
  const escaped: number[] = [];
  for (const [i, b] of frame.entries()) {
    if (i > 0 && i < frame.length - 1 && (b < 0x20 || b === 0x7d || b === 0x7e)) escaped.push(0x7d, b ^ 0x20);
    else escaped.push(b);
  }
  const frames = decodeAll(new HdlcDecoder(), Uint8Array.from(escaped));
  assert.deepEqual(frames, [{ protocol: 0xc021, info: hex("09 01 00 08 12 34 56 78") }]);
});

test("unescaped characters in the receive ACCM are ignored (RFC 1662 §7.1); text before the first flag is skipped", () => {
  const enc = new HdlcEncoder();
  const good = enc.encode(0x0021, hex("01 02 03"));
  // XON/XOFF (0x11/0x13) injected by a modem inside the frame
  const noisy = Uint8Array.of(...ascii("CLIENT"), good[0], 0x11, ...good.subarray(1, 4), 0x13, ...good.subarray(4));
  const dec = new HdlcDecoder();
  const frames = decodeAll(dec, noisy);
  assert.deepEqual(frames, [{ protocol: 0x21, info: hex("01 02 03") }]);
  assert.equal(dec.counters.ctrlIgnored, 2);
  assert.equal(dec.counters.garbage, 6);
  assert.equal(dec.counters.badFcs, 0);
});

test("every LCP packet keeps FF 03 even with ACFC (RFC 1661 §6.6); only codes 1-7 force the default ACCM", () => {
  const enc = new HdlcEncoder();
  enc.accm = 0;
  enc.acfc = true;
  enc.pfc = true;
  const echo = enc.encode(0xc021, hex("09 01 00 08 00 00 00 01"));
  assert.deepEqual([...echo.subarray(0, 5)], [0x7e, 0xff, 0x03, 0xc0, 0x21], "FF 03 kept, 0x03 raw under ACCM 0");
  const ip = enc.encode(0x0021, hex("45"));
  assert.deepEqual([...ip.subarray(0, 3)], [0x7e, 0x21, 0x45], "IP: no FF 03, one-byte protocol");
});
