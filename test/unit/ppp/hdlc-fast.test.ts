/**
 * Differential test of the table-driven HDLC framing (src/ppp/hdlc.ts)
 * against the byte-at-a-time implementation it replaced, kept below
 * verbatim (renamed RefEncoder/RefDecoder) as the reference: seeded random
 * frames, ACCMs, escape sets, header compression, corrupted streams and
 * chunkings must give the same line bytes, the same frames and the same
 * counters. The seed is printed in every failure message.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FCS16_GOOD, FCS16_INIT, fcs16 } from "../../../src/ppp/fcs.js";
import { DEFAULT_ACCM, DEFAULT_MRU, HdlcDecoder, HdlcEncoder, type HdlcCounters, type HdlcFrame } from "../../../src/ppp/hdlc.js";
import { PPP_LCP } from "../../../src/ppp/protocol-numbers.js";
import { SeededRng } from "../../../stack/util/rng.js";

// ---- reference: the byte-loop implementation as of commit ea6e92c ----
const HDLC_FLAG = 0x7e;
const HDLC_ESCAPE = 0x7d;
const HDLC_ALL_STATIONS = 0xff;
const HDLC_UI = 0x03;
const MRU_SLACK = 64;

function isLcpControl(protocol: number, info: Uint8Array): boolean {
  return protocol === PPP_LCP && info.length > 0 && info[0] >= 1 && info[0] <= 7;
}

class RefEncoder {
  accm = DEFAULT_ACCM;
  acfc = false;
  pfc = false;
  private readonly extra = new Uint8Array(256);
  constructor(escape: readonly number[] = []) {
    this.setEscape(escape);
  }
  setEscape(bytes: readonly number[]): void {
    this.extra.fill(0);
    for (const b of bytes) this.extra[b & 0xff] = 1;
    this.extra[HDLC_FLAG] = 1;
    this.extra[HDLC_ESCAPE] = 1;
  }
  reset(): void {
    this.accm = DEFAULT_ACCM;
    this.acfc = false;
    this.pfc = false;
  }
  encode(protocol: number, info: Uint8Array): Uint8Array {
    const control = isLcpControl(protocol, info);
    const accm = control ? DEFAULT_ACCM : this.accm;
    const header = new Uint8Array(4);
    let h = 0;
    if (protocol === PPP_LCP || !this.acfc) {
      header[h++] = HDLC_ALL_STATIONS;
      header[h++] = HDLC_UI;
    }
    if (this.pfc && protocol < 0x100) header[h++] = protocol;
    else {
      header[h++] = protocol >>> 8;
      header[h++] = protocol & 0xff;
    }
    const hdr = header.subarray(0, h);
    let fcs = fcs16(hdr, FCS16_INIT);
    fcs = fcs16(info, fcs) ^ 0xffff;
    const out = new Uint8Array(2 + 2 * (h + info.length + 2));
    let o = 0;
    out[o++] = HDLC_FLAG;
    const put = (b: number): void => {
      if ((b < 0x20 && (accm >>> b) & 1) || this.extra[b]) {
        out[o++] = HDLC_ESCAPE;
        out[o++] = b ^ 0x20;
      } else out[o++] = b;
    };
    for (let i = 0; i < h; i++) put(hdr[i]);
    for (let i = 0; i < info.length; i++) put(info[i]);
    put(fcs & 0xff);
    put(fcs >>> 8);
    out[o++] = HDLC_FLAG;
    return out.subarray(0, o);
  }
}

class RefDecoder {
  rxAccm = DEFAULT_ACCM;
  readonly counters: HdlcCounters = {
    frames: 0, octets: 0, badFcs: 0, aborted: 0, oversize: 0, runt: 0, badHeader: 0, ctrlIgnored: 0, garbage: 0,
  };
  private maxFrame = 0;
  private hunting = true;
  private escaped = false;
  private overflow = false;
  private buf: Uint8Array | undefined;
  private len = 0;
  constructor(mru: number = DEFAULT_MRU) {
    this.setMru(mru);
  }
  setMru(mru: number): void {
    this.maxFrame = Math.max(mru, DEFAULT_MRU) + 8 + MRU_SLACK;
  }
  input(bytes: Uint8Array, sink: (frame: HdlcFrame) => void): void {
    const c = this.counters;
    c.octets += bytes.length;
    for (let i = 0; i < bytes.length; i++) {
      let b = bytes[i];
      if (b === HDLC_FLAG) {
        if (this.hunting) this.hunting = false;
        else if (this.escaped) c.aborted++;
        else this.finish(sink);
        this.startFrame();
        continue;
      }
      if (this.hunting) {
        c.garbage++;
        continue;
      }
      if (b < 0x20 && (this.rxAccm >>> b) & 1) {
        c.ctrlIgnored++;
        continue;
      }
      if (this.overflow) continue;
      if (b === HDLC_ESCAPE) {
        this.escaped = true;
        continue;
      }
      if (this.escaped) {
        b ^= 0x20;
        this.escaped = false;
      }
      if (this.len >= this.maxFrame) {
        this.overflow = true;
        c.oversize++;
        continue;
      }
      if (!this.buf) this.buf = new Uint8Array(this.maxFrame);
      this.buf[this.len++] = b;
    }
  }
  private startFrame(): void {
    this.len = 0;
    this.escaped = false;
    this.overflow = false;
  }
  private finish(sink: (frame: HdlcFrame) => void): void {
    const c = this.counters;
    const n = this.len;
    if (this.overflow || n === 0) return;
    const buf = this.buf!;
    if (n < 4) {
      c.runt++;
      return;
    }
    if (fcs16(buf.subarray(0, n)) !== FCS16_GOOD) {
      c.badFcs++;
      return;
    }
    let p = 0;
    if (buf[0] === HDLC_ALL_STATIONS) {
      if (buf[1] !== HDLC_UI) {
        c.badHeader++;
        return;
      }
      p = 2;
    }
    const end = n - 2;
    let protocol: number;
    if (p < end && buf[p] & 1) protocol = buf[p++];
    else if (p + 1 < end && buf[p + 1] & 1) {
      protocol = (buf[p] << 8) | buf[p + 1];
      p += 2;
    } else {
      c.badHeader++;
      return;
    }
    c.frames++;
    this.buf = undefined;
    sink({ protocol, info: buf.subarray(p, end) });
  }
}
// ---- end of reference ----

const PROTOCOLS = [0x0021, 0x002d, 0x002f, 0x00fd, 0x0057, 0x80fd, 0x8021, 0xc021, 0xc023, 0xc223, 0x4021];

/** Payload bytes drawn from one of several mixes: uniform, flag/escape heavy, control heavy, all one byte. */
function payload(rng: SeededRng, n: number): Uint8Array {
  const p = new Uint8Array(n);
  const mix = rng.below(5);
  const special = [0x7e, 0x7d, 0x00, 0x03, 0x11, 0x13, 0x1f, 0x20, 0x5d, 0x5e, 0x91, 0xff];
  for (let i = 0; i < n; i++) {
    const r = rng.u32();
    if (mix === 0) p[i] = r & 0xff;
    else if (mix === 1) p[i] = r & 0x100 ? special[(r >>> 9) % special.length] : r & 0xff;
    else if (mix === 2) p[i] = r & 0x1f;
    else if (mix === 3) p[i] = special[(r >>> 9) % 2];
    else p[i] = 0x7e;
  }
  // Sometimes an LCP code 1-7 (sent under the default ACCM) or a code above 7.
  if (n > 0 && rng.below(3) === 0) p[0] = rng.below(12);
  return p;
}

function randomAccm(rng: SeededRng): number {
  switch (rng.below(4)) {
    case 0: return 0;
    case 1: return DEFAULT_ACCM;
    case 2: return 0x000a0000;
    default: return rng.u32();
  }
}

function randomEscape(rng: SeededRng): number[] {
  const n = rng.below(5);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(rng.below(3) === 0 ? rng.below(0x20) : rng.below(256));
  return out;
}

test("encoder: the same line bytes as the byte-loop reference for random frames, ACCMs, escape sets, ACFC/PFC", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const rng = new SeededRng(seed);
    const esc = randomEscape(rng);
    const fast = new HdlcEncoder(esc);
    const ref = new RefEncoder(esc);
    const kept: [Uint8Array, Uint8Array][] = [];
    for (let k = 0; k < 40; k++) {
      const step = rng.below(10);
      if (step === 0) {
        const a = randomAccm(rng);
        fast.accm = a;
        ref.accm = a;
      } else if (step === 1) {
        const e = randomEscape(rng);
        fast.setEscape(e);
        ref.setEscape(e);
      } else if (step === 2) {
        fast.reset();
        ref.reset();
      } else if (step === 3) {
        fast.acfc = ref.acfc = rng.below(2) === 1;
        fast.pfc = ref.pfc = rng.below(2) === 1;
      }
      assert.equal(fast.accm, ref.accm, `seed ${seed}: accm reads back`);
      const protocol = rng.below(8) === 0 ? rng.below(0x10000) : PROTOCOLS[rng.below(PROTOCOLS.length)];
      const info = payload(rng, rng.below(3) === 0 ? rng.below(8) : rng.below(1700));
      const a = fast.encode(protocol, info);
      const b = ref.encode(protocol, info);
      assert.deepEqual(a, b, `seed ${seed} frame ${k}: protocol 0x${protocol.toString(16)} len ${info.length} accm 0x${ref.accm.toString(16)} escape [${esc}]`);
      kept.push([a, Uint8Array.from(b)]);
    }
    // Ownership: no later frame wrote over an earlier one's bytes (frames share slabs now).
    kept.forEach(([view, copy], k) => assert.deepEqual(view, copy, `seed ${seed}: frame ${k} changed after later encodes`));
  }
});

/** A line stream: garbage, good frames from a random encoder, and the damage a line does. */
function lineStream(rng: SeededRng): Uint8Array {
  const enc = new RefEncoder(randomEscape(rng));
  enc.accm = randomAccm(rng);
  enc.acfc = rng.below(2) === 1;
  enc.pfc = rng.below(2) === 1;
  const parts: number[] = [];
  if (rng.below(2) === 0) for (const ch of "CLIENT") parts.push(ch.charCodeAt(0)); // DCC text before the first flag
  const frames = 5 + rng.below(30);
  for (let f = 0; f < frames; f++) {
    const protocol = PROTOCOLS[rng.below(PROTOCOLS.length)];
    const len = rng.below(6) === 0 ? 1500 + rng.below(200) : rng.below(600);
    const bytes = [...enc.encode(protocol, payload(rng, len))];
    if (rng.below(2) === 0) bytes.shift(); // shared flag between frames
    switch (rng.below(12)) {
      case 0: bytes[1 + rng.below(bytes.length - 2)] ^= 1 << rng.below(8); break; // bit error
      case 1: bytes.splice(1 + rng.below(bytes.length - 2), 0, rng.below(0x20)); break; // raw control char (noise / XON)
      case 2: bytes.splice(bytes.length - 1, 0, HDLC_ESCAPE); break; // 7d 7e abort
      case 3: bytes.splice(1 + rng.below(bytes.length - 2), 0, HDLC_ESCAPE); break; // stray escape
      case 4: bytes.splice(2, bytes.length - 4); break; // runt
      case 5: bytes.push(HDLC_FLAG, HDLC_FLAG); break; // back-to-back flags
      case 6: for (let i = 0; i < 2000; i++) bytes.splice(2, 0, 0x41); break; // oversize
      case 7: bytes.splice(1, 0, HDLC_ALL_STATIONS, 0x05); break; // bad control field
      default: break;
    }
    parts.push(...bytes);
  }
  if (rng.below(2) === 0) parts.push(HDLC_ESCAPE); // ends mid-escape
  return Uint8Array.from(parts);
}

/** Split at random points: single bytes, small and large chunks. */
function chunk(rng: SeededRng, stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < stream.length; ) {
    const n = [1, 2, 7, 64, 1500, 4096][rng.below(6)];
    out.push(stream.subarray(i, i + n));
    i += n;
  }
  return out;
}

test("decoder: the same frames and counters as the byte-loop reference for random streams, damage, ACCMs, MRUs and chunkings", () => {
  for (let seed = 1; seed <= 80; seed++) {
    const rng = new SeededRng(seed * 7919);
    const stream = lineStream(rng);
    const mru = [296, 1500, 1600, 4000][rng.below(4)];
    const fast = new HdlcDecoder(mru);
    const ref = new RefDecoder(mru);
    const accm = randomAccm(rng);
    fast.rxAccm = accm;
    ref.rxAccm = accm;
    // The sink may change the ACCM mid-chunk, as the session does when LCP opens.
    const flip = rng.below(2) === 1;
    const got: { fast: string[]; ref: string[] } = { fast: [], ref: [] };
    const views: [Uint8Array, string][] = [];
    const sink = (who: "fast" | "ref", dec: { rxAccm: number }) => (f: HdlcFrame): void => {
      if (who === "fast") views.push([f.info, Buffer.from(f.info).toString("hex")]);
      got[who].push(`${f.protocol.toString(16)}:${Buffer.from(f.info).toString("hex")}`);
      if (flip && f.info.length > 0 && f.info[0] < 4) dec.rxAccm = dec.rxAccm === 0 ? DEFAULT_ACCM : 0;
    };
    const fastSink = sink("fast", fast);
    const refSink = sink("ref", ref);
    for (const c of chunk(rng, stream)) {
      fast.input(c, fastSink);
      ref.input(c, refSink);
      if (rng.below(50) === 0) {
        const a = randomAccm(rng);
        fast.rxAccm = a;
        ref.rxAccm = a;
      }
    }
    assert.deepEqual(got.fast, got.ref, `seed ${seed * 7919}: frames`);
    assert.deepEqual(fast.counters, ref.counters, `seed ${seed * 7919}: counters`);
    // Ownership: a frame handed out is never overwritten by later input.
    views.forEach(([v, hex], k) => assert.equal(Buffer.from(v).toString("hex"), hex, `seed ${seed * 7919}: frame ${k} changed later`));
    assert.equal(fast.rxAccm, ref.rxAccm, `seed ${seed * 7919}: rxAccm reads back`);
  }
});

test("decoder: raising the MRU while a buffer is held (after a bad frame) takes the larger frame whole", () => {
  // The byte-loop reference silently dropped the bytes beyond its old buffer here and counted bad FCS.
  const enc = new HdlcEncoder();
  enc.accm = 0;
  const big = new Uint8Array(3000).fill(0x41);
  const bad = Uint8Array.of(0x7e, 0xff, 0x03, 0x00, 0x21, 0x01, 0x02, 0x7e); // bad FCS: the decoder keeps its buffer
  const dec = new HdlcDecoder(1500);
  dec.rxAccm = 0;
  const got: HdlcFrame[] = [];
  dec.input(bad, (f) => got.push(f));
  assert.equal(dec.counters.badFcs, 1);
  dec.setMru(4000);
  const line = enc.encode(0x0021, big);
  dec.input(line.subarray(1, 100), (f) => got.push(f)); // the flag ending `bad` starts this frame
  dec.setMru(4000);
  dec.input(line.subarray(100), (f) => got.push(f));
  assert.equal(got.length, 1, `counters ${JSON.stringify(dec.counters)}`);
  assert.deepEqual(got[0].info, big);
  const ref = new RefDecoder(1500);
  ref.input(bad, () => {});
  ref.setMru(4000);
  ref.input(line.subarray(1), () => {});
  assert.equal(ref.counters.frames, 0, "the reference loses this frame (why the fast decoder grows its buffer)");
});
