/**
 * RFC 1979 Deflate codec: seeded round trips (compressible, incompressible,
 * several protocols, the z_incomp path), the wire format checked against
 * Node's own zlib, the fox file's ratio on a 115200 line (VJ + Deflate +
 * real HDLC framing), loss -> sequence error -> reset -> resync, corrupt
 * data, MRU overrun, window limits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { SeededRng } from "../../../stack/util/rng.js";
import {
  DeflateCompressor, DeflateDecompressor, PPP_COMP, compressibleProtocol,
} from "../../../src/ppp/compress/deflate.js";
import { VjCompressor, VjDecompressor } from "../../../src/ppp/vj.js";
import { HdlcEncoder } from "../../../src/ppp/hdlc.js";
import { ACK, PSH, hex, tcpPacket } from "./tcpip.js";
import ZStream from "pako/lib/zlib/zstream.js";
import zinflate from "pako/lib/zlib/inflate.js";
import zdeflate from "pako/lib/zlib/deflate.js";

/** pako's inflate modes (zlib inflate.h): waiting for a block type; inside a stored block's header. */
const TYPE = 16191;
const STORED = 16193;

/** The fox file: `printf "%06d the quick brown fox jumps over the lazy dog\n"` lines, cut at 262,144 bytes. */
export function foxFile(size = 262144): Uint8Array {
  let s = "";
  for (let i = 0; s.length < size; i++) s += `${String(i).padStart(6, "0")} the quick brown fox jumps over the lazy dog\n`;
  return new TextEncoder().encode(s.slice(0, size));
}

function textish(rng: SeededRng, n: number): Uint8Array {
  const words = ["GET ", "HTTP/1.1", "\r\n", "Host: ", "example.org", "Content-Length: ", "0123", "the ", "and ", "<div>", "</div>"];
  let s = "";
  while (s.length < n) s += words[rng.below(words.length)];
  return new TextEncoder().encode(s.slice(0, n));
}

test("seeded round trip: compressible and incompressible packets, several protocols, z_incomp keeps histories equal", () => {
  for (const seed of [1, 2, 3]) {
    const rng = new SeededRng(seed);
    const w = 9 + rng.below(7);
    const c = new DeflateCompressor(w);
    const d = new DeflateDecompressor(w, 1500);
    let comp = 0;
    let inc = 0;
    for (let i = 0; i < 1500; i++) {
      const proto = [0x21, 0x21, 0x2d, 0x2f, 0x57, 0x0203][rng.below(6)];
      const n = rng.below(1501);
      const data = rng.below(4) === 0 ? rng.fill(new Uint8Array(n)) : textish(rng, n);
      const r = c.compress(proto, data);
      if (r.proto === PPP_COMP) {
        comp++;
        const x = d.decompress(r.packet);
        assert.ok(x.ok, `seed ${seed} packet ${i}: ${!x.ok && x.detail}`);
        assert.equal(x.proto, proto, `seed ${seed} packet ${i}`);
        assert.equal(hex(x.packet), hex(data), `seed ${seed} packet ${i}`);
      } else {
        inc++;
        assert.equal(r.proto, proto);
        assert.equal(r.packet, data, "sent as it was");
        assert.ok(d.incomp(r.proto, r.packet), `seed ${seed} packet ${i}: incomp`);
      }
    }
    assert.ok(comp > 800 && inc > 100, `seed ${seed}: compressed ${comp}, incompressible ${inc}`);
    assert.equal(c.stats.compPackets, comp);
    assert.equal(d.stats.incPackets, inc);
  }
});

test("control protocols are never compressed; 0x00fd/0x00fb are not data", () => {
  const c = new DeflateCompressor(15);
  const info = new Uint8Array(500);
  for (const p of [0xc021, 0x8021, 0x80fd, 0x00fd, 0x00fb, 0x4001]) {
    assert.equal(compressibleProtocol(p), false);
    assert.equal(c.compress(p, info).proto, p);
  }
  assert.equal(c.stats.uncPackets, 0, "and they do not use a sequence number");
});

test("wire format: sequence number + raw deflate ending in the sync-flush block minus 00 00 ff ff (Node's zlib agrees)", () => {
  const rng = new SeededRng(5);
  const c = new DeflateCompressor(15);
  const parts: Buffer[] = [];
  const plain: number[] = [];
  for (let i = 0; i < 50; i++) {
    const data = textish(rng, 200 + rng.below(1000));
    const r = c.compress(0x21, data);
    assert.equal(r.proto, PPP_COMP);
    assert.equal((r.packet[0] << 8) | r.packet[1], i, "sequence number");
    const tail = r.packet.subarray(r.packet.length - 4);
    assert.notDeepEqual([...tail], [0, 0, 0xff, 0xff], "tail stripped");
    parts.push(Buffer.from(r.packet.subarray(2)), Buffer.from([0, 0, 0xff, 0xff]));
    plain.push(0x21, ...data);
  }
  const out = zlib.inflateRawSync(Buffer.concat(parts), { finishFlush: zlib.constants.Z_SYNC_FLUSH, windowBits: 15 });
  assert.equal(out.toString("hex"), Buffer.from(plain).toString("hex"));
});

test("the Linux receiver's condition (zlib_inflateSyncPacket): each packet ends inside a stored block header, no bits held", () => {
  // The kernel inflates a packet with Z_PACKET_FLUSH and accepts it only if inflate then sits in STORED
  // with no bits left (the 3 type bits read, byte-aligned); it then moves to TYPE for the next packet.
  const rng = new SeededRng(6);
  const c = new DeflateCompressor(15);
  const strm = new ZStream();
  assert.equal(zinflate.inflateInit2(strm, -15), 0);
  const state = (): { mode: number; bits: number } => strm.state as { mode: number; bits: number };
  for (let i = 0; i < 40; i++) {
    const data = textish(rng, 50 + rng.below(1400));
    const r = c.compress(0x21, data);
    assert.equal(r.proto, PPP_COMP);
    const out = new Uint8Array(2000);
    strm.input = r.packet.subarray(2);
    strm.next_in = 0;
    strm.avail_in = r.packet.length - 2;
    strm.output = out;
    strm.next_out = 0;
    strm.avail_out = out.length;
    zinflate.inflate(strm, 2);
    assert.equal(strm.avail_in, 0);
    assert.deepEqual(state().mode === STORED && state().bits === 0, true, `packet ${i}: mode ${state().mode} bits ${state().bits}`);
    assert.equal(hex(out.subarray(0, strm.next_out)), hex(Uint8Array.of(0x21, ...data)), `packet ${i}`);
    (strm.state as { mode: number }).mode = TYPE; // what zlib_inflateSyncPacket does
  }
});

test("decoding what a zlib sync-flush compressor (the kernel's format) sends, 2-byte protocol included", () => {
  // One packet, deflated by Node's zlib with Z_SYNC_FLUSH, tail removed, as ppp_deflate sends it.
  const payload = Buffer.concat([Buffer.from([0x02, 0x03]), Buffer.from("hello hello hello hello hello")]);
  const z = zlib.deflateRawSync(payload, { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.equal(z.subarray(z.length - 4).toString("hex"), "0000ffff");
  const pkt = Buffer.concat([Buffer.from([0, 0]), z.subarray(0, z.length - 4)]);
  const d = new DeflateDecompressor(15, 1500);
  const x = d.decompress(pkt);
  assert.ok(x.ok);
  assert.equal(x.proto, 0x0203);
  assert.equal(Buffer.from(x.packet).toString(), "hello hello hello hello hello");
});

test("fox file over a 115200 line: VJ + Deflate 15 + HDLC framing carries >= 12x the line rate", () => {
  const file = foxFile();
  const vj = new VjCompressor(15, true);
  const vjd = new VjDecompressor(15);
  const c = new DeflateCompressor(15);
  const d = new DeflateDecompressor(15, 1500);
  const hdlc = new HdlcEncoder();
  hdlc.accm = 0; // pppd negotiates asyncmap 0 on a clean 8-bit line
  hdlc.pfc = true;
  hdlc.acfc = true;
  const mss = 1460;
  let wire = 0;
  let seq = 1;
  let id = 1;
  let packets = 0;
  const t0 = performance.now();
  for (let o = 0; o < file.length; o += mss) {
    const payload = file.subarray(o, o + mss);
    const ip = tcpPacket({
      src: 0x0a000001, dst: 0x0a000002, sport: 40000, dport: 80, seq, ack: 1, flags: ACK | PSH, win: 64240, id: id++, payload,
    });
    seq += payload.length;
    const v = vj.compress(ip);
    const r = c.compress(v.proto, v.packet);
    wire += hdlc.encode(r.proto, r.packet).length;
    packets++;
    // and back, byte-exact
    let proto = r.proto;
    let info = r.packet;
    if (r.proto === PPP_COMP) {
      const x = d.decompress(r.packet);
      assert.ok(x.ok);
      proto = x.proto;
      info = x.packet;
    } else d.incomp(r.proto, r.packet);
    assert.equal(hex(vjd.decompress(proto, info)!), hex(ip));
  }
  const ms = performance.now() - t0;
  const ratio = file.length / wire;
  const lineSeconds = wire / 11520;
  console.log(`# fox file: ${file.length} B in ${packets} TCP segments -> ${wire} B on the wire (VJ+Deflate 15+HDLC): ` +
    `${ratio.toFixed(2)}x the line rate (${(file.length / lineSeconds / 1024).toFixed(1)} KiB/s at 115200 8N1); ` +
    `round trip ${(ms / (file.length / 1048576)).toFixed(0)} ms per MB`);
  assert.ok(ratio >= 12, `ratio ${ratio.toFixed(2)} must be >= 12`);
});

test("a lost packet: sequence error -> (Reset-Request) -> both reset -> in sync again", () => {
  const seed = 9;
  const rng = new SeededRng(seed);
  const c = new DeflateCompressor(12);
  const d = new DeflateDecompressor(12, 1500);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) sent.push(c.compress(0x21, textish(rng, 500)).packet);
  for (let i = 0; i < 10; i++) assert.ok(d.decompress(sent[i]).ok);
  const x = d.decompress(sent[11]); // packet 10 was lost
  assert.ok(!x.ok);
  assert.equal(x.error, "seq");
  assert.equal(x.fatal, false);
  assert.equal(x.detail, "bad seq # 11, expected 10");
  // The CCP Reset-Request/Reset-Ack exchange resets both ends.
  c.reset();
  d.reset();
  for (let i = 0; i < 30; i++) {
    const data = textish(rng, 800);
    const r = c.compress(0x21, data);
    const y = d.decompress(r.packet);
    assert.ok(y.ok, `seed ${seed}: after reset, packet ${i}`);
    assert.equal(hex(y.packet), hex(data));
  }
});

test("a lost packet without a reset would corrupt: history matters (the test above is not vacuous)", () => {
  const rng = new SeededRng(10);
  const c = new DeflateCompressor(15);
  const d = new DeflateDecompressor(15, 1500);
  const line = textish(rng, 1000);
  const p0 = c.compress(0x21, line).packet;
  const p1 = c.compress(0x21, line).packet; // mostly a back-reference into p0
  assert.ok(p1.length < 40, `p1 is ${p1.length} bytes`);
  // Skip p0 and force the sequence: the back-reference cannot be resolved, or resolves to garbage.
  const forged = p1.slice();
  forged[0] = 0;
  forged[1] = 0;
  const x = d.decompress(forged);
  assert.ok(!x.ok || hex(x.packet) !== hex(line));
});

test("corrupt data, short packets and MRU overrun are errors, never exceptions", () => {
  const seed = 21;
  const rng = new SeededRng(seed);
  let errors = 0;
  for (let i = 0; i < 300; i++) {
    const c = new DeflateCompressor(15);
    const d = new DeflateDecompressor(15, 1500);
    const data = textish(rng, 100 + rng.below(1200));
    const p = c.compress(0x21, data).packet.slice();
    const k = rng.below(3);
    if (k === 0) p[2 + rng.below(p.length - 2)] ^= 1 << rng.below(8);
    else if (k === 1) rng.fill(p.subarray(2));
    let x!: ReturnType<DeflateDecompressor["decompress"]>;
    assert.doesNotThrow(() => (x = d.decompress(k === 2 ? p.subarray(0, rng.below(3)) : p)), `seed ${seed}`);
    if (!x.ok) errors++;
  }
  assert.ok(errors > 150, `seed ${seed}: ${errors} errors`);
  const c = new DeflateCompressor(15);
  const big = c.compress(0x21, new Uint8Array(3000)).packet;
  const small = new DeflateDecompressor(15, 1500).decompress(big);
  assert.ok(!small.ok && small.error === "mru" && small.fatal);
});

test("windows 9..15 work; 8 is refused (zlib cannot do a raw window of 8, pppd never asks for it)", () => {
  assert.throws(() => new DeflateCompressor(8), /9\.\.15/);
  assert.throws(() => new DeflateDecompressor(16, 1500), RangeError);
  for (let w = 9; w <= 15; w++) {
    const c = new DeflateCompressor(w);
    const d = new DeflateDecompressor(w, 1500);
    const data = foxFile(1400);
    for (let i = 0; i < 3; i++) {
      const x = d.decompress(c.compress(0x21, data).packet);
      assert.ok(x.ok && hex(x.packet) === hex(data), `window ${w}`);
    }
  }
});

test("random-looking packets go into the history without a match search (stored), and the peer stays in step", () => {
  for (const w of [9, 12, 15]) {
    const rng = new SeededRng(0x5707ed + w);
    const c = new DeflateCompressor(w);
    const d = new DeflateDecompressor(w, 1500);
    let randomBig = 0;
    const textLengths: number[] = [];
    for (let i = 0; i < 400; i++) {
      // Runs of random packets (the window slides while storing), then text (back to searching).
      const random = Math.floor(i / 25) % 2 === 0;
      const n = random ? 256 + rng.below(1245) : 1 + rng.below(1500);
      const data = random ? rng.fill(new Uint8Array(n)) : textish(rng, n);
      if (random) randomBig++;
      else textLengths.push(n);
      const r = c.compress(0x21, data);
      if (r.proto === PPP_COMP) {
        assert.ok(!random, `w ${w} packet ${i}: random data came out compressed`);
        const x = d.decompress(r.packet);
        assert.ok(x.ok, `w ${w} packet ${i}: ${!x.ok && x.detail}`);
        assert.equal(hex(x.packet), hex(data), `w ${w} packet ${i}`);
      } else {
        assert.equal(r.packet, data);
        assert.ok(d.incomp(r.proto, r.packet), `w ${w} packet ${i}: incomp`);
      }
    }
    // The sniff is statistical: a short random packet can sample fewer distinct bytes (it is then deflated, and sent as it was).
    const tiny = textLengths.filter((n) => n < 16).length;
    const storedRandom = c.stats.storedPackets - tiny;
    assert.ok(storedRandom >= randomBig * 0.95 && storedRandom <= randomBig, `w ${w}: ${storedRandom} of ${randomBig} random packets stored, no text`);
  }
});

test("a stored packet is in the compressor's history: a later packet quoting it compresses against it", () => {
  const rng = new SeededRng(77);
  const c = new DeflateCompressor(15);
  const d = new DeflateDecompressor(15, 1500);
  const block = rng.fill(new Uint8Array(1000));
  const first = c.compress(0x21, block);
  assert.equal(first.proto, 0x21);
  assert.equal(c.stats.storedPackets, 1);
  assert.ok(d.incomp(0x21, first.packet));
  // The block's last 400 bytes (stored bytes are hashed only at the end, STORED_HASHED) + 500 of one
  // letter: too few distinct bytes to look random, so it is deflated, and the 400 bytes can only shrink
  // by matching the stored packet.
  const quote = new Uint8Array(900).fill(0x61);
  quote.set(block.subarray(600, 1000), 0);
  const r = c.compress(0x21, quote);
  assert.equal(r.proto, PPP_COMP);
  assert.ok(r.packet.length < 60, `compressed to ${r.packet.length} bytes: the match into the stored packet was found`);
  const x = d.decompress(r.packet);
  assert.ok(x.ok, !x.ok ? x.detail : "");
  assert.equal(hex(x.packet), hex(quote));
});

test("packets under 16 bytes (VJ ACKs) are stored, not deflated; longer ones repeating the history compress", () => {
  const c = new DeflateCompressor(15);
  const d = new DeflateDecompressor(15, 1500);
  const text = new TextEncoder().encode("abcdefabcdefabcdef");
  for (let n = 1; n <= 18; n++) {
    const data = text.subarray(0, n);
    const r = c.compress(0x2d, data);
    if (n < 16) assert.equal(r.proto, 0x2d, `${n} bytes`);
    if (r.proto === PPP_COMP) {
      const x = d.decompress(r.packet);
      assert.ok(x.ok && hex(x.packet) === hex(data), `${n} bytes`);
    } else assert.ok(d.incomp(r.proto, r.packet));
  }
  assert.equal(c.stats.storedPackets, 15);
  assert.ok(c.stats.compPackets > 0, "the longer ones, repeating the history, do compress");
});

/**
 * The reference for storing: pako's own deflate_stored, reached by switching the stream to level 0 for
 * the packet (what zlib's deflateParams would do) and dropping the stored block; back at level 6 the hash
 * is cleared when the window slid, as deflateParams does. One deliberate difference, copied here: only
 * the last 512 stored bytes are left to hash (STORED_HASHED). DeflateCompressor must produce the same bytes.
 */
class ReferenceCompressor {
  private readonly strm = new ZStream();
  private readonly out = new Uint8Array(8192);
  constructor(w: number) {
    zdeflate.deflateInit2(this.strm, -1, 8, -w, 8, 0);
  }
  compress(proto: number, data: Uint8Array, store: boolean): Uint8Array | undefined {
    const st = this.strm.state as { level: number; matches: number; head: Uint16Array };
    const input = new Uint8Array(1 + data.length);
    input[0] = proto;
    input.set(data, 1);
    const level = st.level;
    if (store) st.level = 0;
    else if (st.matches !== 0) {
      st.head.fill(0);
      st.matches = 0;
    }
    const s = this.strm;
    s.input = input;
    s.next_in = 0;
    s.avail_in = input.length;
    s.output = this.out;
    s.next_out = 0;
    s.avail_out = this.out.length;
    assert.equal(zdeflate.deflate(s, 2 /* Z_SYNC_FLUSH */), 0);
    st.level = level;
    const sti = this.strm.state as { insert: number };
    if (store && sti.insert > 512) sti.insert = 512;
    const olen = s.next_out - 4;
    return store || olen + 2 >= data.length ? undefined : this.out.slice(0, olen);
  }
}

test("storing a packet leaves the compressor exactly where pako's deflate_stored would: same bytes out afterwards", () => {
  for (const w of [9, 11, 15]) {
    const rng = new SeededRng(0xdef1a7e + w);
    const c = new DeflateCompressor(w);
    const ref = new ReferenceCompressor(w);
    let compared = 0;
    for (let i = 0; i < 600; i++) {
      const random = rng.below(3) === 0;
      const n = random ? 256 + rng.below(1245) : 1 + rng.below(1500);
      const data = random ? rng.fill(new Uint8Array(n)) : textish(rng, n);
      const before = c.stats.storedPackets;
      const r = c.compress(0x21, data);
      const stored = c.stats.storedPackets > before;
      const expected = ref.compress(0x21, data, stored);
      if (r.proto === PPP_COMP) {
        assert.ok(expected, `w ${w} packet ${i}: the reference did not compress it`);
        assert.equal(hex(r.packet.subarray(2)), hex(expected!), `w ${w} packet ${i}`);
        compared++;
      } else assert.equal(expected, undefined, `w ${w} packet ${i}: the reference compressed it`);
    }
    assert.ok(compared > 200, `w ${w}: ${compared} compressed packets compared`);
  }
});
