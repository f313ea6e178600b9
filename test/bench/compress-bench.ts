/**
 * PPP compression cost and ratio: VJ (RFC 1144) and Deflate (RFC 1979)
 * over 1460-byte TCP segments of three payloads (the fox file, seeded
 * text-like data, seeded random bytes). Prints, per payload and window:
 * bytes on a 115200 line (HDLC with asyncmap 0, PFC, ACFC) vs payload,
 * and wall-clock CPU ms per MB of payload for compress and decompress.
 * Not a test; run with
 *   node --import tsx test/bench/compress-bench.ts [MiB]
 */
import { SeededRng } from "../../stack/util/rng.js";
import { DeflateCompressor, DeflateDecompressor, PPP_COMP } from "../../src/ppp/compress/deflate.js";
import { VjCompressor, VjDecompressor } from "../../src/ppp/vj.js";
import { HdlcEncoder } from "../../src/ppp/hdlc.js";
import { ACK, PSH, tcpPacket } from "../unit/compress/tcpip.js";

const MIB = Number(process.argv[2] ?? 2);
const MSS = 1460;

function fox(size: number): Uint8Array {
  let s = "";
  for (let i = 0; s.length < size; i++) s += `${String(i % 1000000).padStart(6, "0")} the quick brown fox jumps over the lazy dog\n`;
  return new TextEncoder().encode(s.slice(0, size));
}

function texty(rng: SeededRng, size: number): Uint8Array {
  const words = ["GET ", "/index.html ", "HTTP/1.1\r\n", "Host: example.org\r\n", "<p>", "</p>", "function ", "return ", "const ", "{ ", "} ", "\n"];
  let s = "";
  while (s.length < size) s += rng.below(8) === 0 ? String(rng.u32()) : words[rng.below(words.length)];
  return new TextEncoder().encode(s.slice(0, size));
}

function segments(file: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seq = 1;
  let id = 1;
  for (let o = 0; o < file.length; o += MSS) {
    const payload = file.subarray(o, o + MSS);
    out.push(tcpPacket({ src: 0x0a000001, dst: 0x0a000002, sport: 40000, dport: 80, seq, ack: 1, flags: ACK | PSH, win: 64240, id: id++, payload }));
    seq += payload.length;
  }
  return out;
}

function run(name: string, file: Uint8Array, window: number | undefined, level?: number): void {
  const segs = segments(file);
  const vj = new VjCompressor(15, true);
  const vjd = new VjDecompressor(15);
  const c = window ? new DeflateCompressor(window, { level }) : undefined;
  const d = window ? new DeflateDecompressor(window, 1500) : undefined;
  const hdlc = new HdlcEncoder();
  hdlc.accm = 0;
  hdlc.pfc = true;
  hdlc.acfc = true;
  const frames: { proto: number; info: Uint8Array }[] = [];
  let wire = 0;
  const t0 = performance.now();
  for (const ip of segs) {
    const v = vj.compress(ip);
    const r = c ? c.compress(v.proto, v.packet) : v;
    frames.push({ proto: r.proto, info: r.packet });
  }
  const t1 = performance.now();
  for (const f of frames) wire += hdlc.encode(f.proto, f.info).length;
  const t2 = performance.now();
  for (const f of frames) {
    let proto = f.proto;
    let info = f.info;
    if (d && proto === PPP_COMP) {
      const x = d.decompress(info);
      if (!x.ok) throw new Error(`${name}: ${x.detail}`);
      proto = x.proto;
      info = x.packet;
    } else d?.incomp(proto, info);
    if (!vjd.decompress(proto, info)) throw new Error(`${name}: VJ drop`);
  }
  const t3 = performance.now();
  const mb = file.length / 1048576;
  const label = window ? `VJ+Deflate ${window}${level !== undefined ? ` level ${level}` : ""}` : "VJ only";
  console.log(
    `${name.padEnd(6)} ${label.padEnd(24)} ratio ${(file.length / wire).toFixed(2).padStart(6)}x the line ` +
    `(${(file.length / (wire / 11520) / 1024).toFixed(1).padStart(6)} KiB/s at 115200)  ` +
    `compress ${((t1 - t0) / mb).toFixed(0).padStart(5)} ms/MB  decompress ${((t3 - t2) / mb).toFixed(0).padStart(5)} ms/MB`,
  );
}

const rng = new SeededRng(1);
const size = Math.round(MIB * 1048576);
const payloads: [string, Uint8Array][] = [
  ["fox", fox(size)],
  ["text", texty(rng, size)],
  ["random", rng.fill(new Uint8Array(size))],
];
run("warmup", fox(262144), 15);
for (const [name, file] of payloads) {
  run(name, file, undefined);
  for (const w of [15, 12, 9]) run(name, file, w);
  run(name, file, 15, 9);
}
