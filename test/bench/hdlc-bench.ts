/**
 * Micro-benchmark for the RFC 1662 framing in src/ppp/hdlc.ts: encode and
 * decode MB/s (10^6 payload bytes per second) of 1500-byte IPv4-protocol
 * frames, for random payloads and for 0x7e-heavy ones (half the bytes are
 * flags, so half need escaping), under the negotiated ACCM 0 and the
 * default ACCM 0xffffffff. The decoder is fed the encoded stream in 4 KiB
 * chunks, as a serial/pty read would deliver it.
 *
 *   node --import tsx test/bench/hdlc-bench.ts [MB] [--module PATH]
 *
 * MB defaults to 8 per row. `--module PATH` benchmarks another copy of
 * hdlc.ts (e.g. an older one checked out with `git show REV:src/ppp/hdlc.ts`
 * next to its fcs.ts and protocol-numbers.ts) for before/after figures.
 *
 * Runs a few seconds; payloads come from a SeededRng so runs are comparable.
 */
import { pathToFileURL } from "node:url";
import * as current from "../../src/ppp/hdlc.js";
import { SeededRng } from "../../stack/util/rng.js";

const args = process.argv.slice(2);
const modAt = args.indexOf("--module");
const modPath = modAt >= 0 ? args.splice(modAt, 2)[1] : undefined;
const { HdlcDecoder, HdlcEncoder } = (modPath ? await import(pathToFileURL(modPath).href) : current) as typeof current;
const MB = Number(args[0] ?? 8);
const FRAME = 1500;
/** Each timing is the best of REPS runs: the machine is shared, and the best run is the one least disturbed. */
const REPS = 3;
const CHUNK = 4096;
const PPP_IP = 0x0021;

function payloads(kind: "random" | "7e-heavy", rng: SeededRng): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0; k < 64; k++) {
    const p = new Uint8Array(FRAME);
    for (let i = 0; i < FRAME; i++) {
      const r = rng.u32();
      p[i] = kind === "random" ? r & 0xff : r & 0x100 ? 0x7e : r & 0xff;
    }
    out.push(p);
  }
  return out;
}

function row(kind: "random" | "7e-heavy", accm: number): string {
  const frames = payloads(kind, new SeededRng(0x4d44c));
  const n = Math.ceil((MB * 1e6) / FRAME);
  const enc = new HdlcEncoder();
  enc.accm = accm;
  // Warm up, then time the encoder.
  for (let i = 0; i < 2000; i++) enc.encode(PPP_IP, frames[i & 63]);
  const encoded: Uint8Array[] = [];
  let wire = 0;
  for (let i = 0; i < 256; i++) {
    const f = enc.encode(PPP_IP, frames[i & 63]);
    wire += f.length;
    encoded.push(f);
  }
  let encS = Infinity;
  for (let rep = 0; rep < REPS; rep++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) enc.encode(PPP_IP, frames[i & 63]);
    encS = Math.min(encS, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  // One contiguous stream of 256 frames, replayed in CHUNK-sized pieces.
  const stream = new Uint8Array(encoded.reduce((s, f) => s + f.length, 0));
  let o = 0;
  for (const f of encoded) {
    stream.set(f, o);
    o += f.length;
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += CHUNK) chunks.push(stream.subarray(i, i + CHUNK));
  const dec = new HdlcDecoder();
  dec.rxAccm = accm;
  let got = 0;
  const sink = (f: { info: Uint8Array }): void => {
    got += f.info.length;
  };
  for (const c of chunks) dec.input(c, sink); // warm-up
  const rounds = Math.ceil(n / 256);
  let decS = Infinity;
  for (let rep = 0; rep < REPS; rep++) {
    got = 0;
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) for (const c of chunks) dec.input(c, sink);
    decS = Math.min(decS, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  if (got !== rounds * 256 * FRAME) throw new Error(`decoder lost frames: ${got} bytes of ${rounds * 256 * FRAME}`);
  const payloadMB = (n * FRAME) / 1e6;
  return (
    `${kind.padEnd(8)}  accm 0x${accm.toString(16).padStart(8, "0")}  wire/payload ${(wire / (256 * FRAME)).toFixed(3)}  ` +
    `encode ${(payloadMB / encS).toFixed(1).padStart(6)} MB/s  decode ${((rounds * 256 * FRAME) / 1e6 / decS).toFixed(1).padStart(6)} MB/s`
  );
}

console.log(`hdlc-bench${modPath ? ` (${modPath})` : ""}: ${MB} MB per row, best of ${REPS}, ${FRAME}-byte frames, decoder fed ${CHUNK}-byte chunks`);
for (const kind of ["random", "7e-heavy"] as const) for (const accm of [0, 0xffffffff]) console.log(row(kind, accm));
