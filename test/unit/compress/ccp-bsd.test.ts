/**
 * CCP with BSD-Compress (RFC 1977, option 21) next to Deflate: two engines
 * back to back. pppd's choice of method (the first option of each acked
 * request: Deflate when both are acked), Nak of a code size or version,
 * pppd's "BSD-Compress (N) compression enabled" lines, the data path and
 * Reset-Request recovery with BSD, the `bsdcomp`/`nobsdcomp` options, and
 * two PPP sessions carrying the fox file through VJ + BSD-Compress.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SeededRng } from "../../../stack/util/rng.js";
import {
  Ccp, PPP_COMP, defaultCcpConfig, formatCcpPacket, parseBsdCompOption, type CcpConfig,
} from "../../../src/ppp/compress/ccp.js";
import { BsdCompressor, BsdDecompressor } from "../../../src/ppp/compress/bsd-comp.js";
import { DeflateCompressor, DeflateDecompressor } from "../../../src/ppp/compress/deflate.js";
import { loadConfig, type LoadOptions } from "../../../src/config/load.js";
import { ConfigError } from "../../../src/config/config-error.js";
import { ACK, PSH, hex, tcpPacket } from "./tcpip.js";
import { exchange, side, up, type Side } from "./ccp-pair.js";
import { Pair, ip, logTexts, session } from "../ppp/harness.js";

const enabled = (l: string[]): string[] => l.filter((x) => x.includes("compression enabled"));

const text = (rng: SeededRng, n: number): Uint8Array => {
  let s = "";
  while (s.length < n) s += ["the ", "quick ", "brown ", "fox ", String(rng.below(1000)), "\n"][rng.below(6)];
  return new TextEncoder().encode(s.slice(0, n));
};

/** Send `n` seeded packets from `from` to `to` through the CCP data path; all must arrive intact. Returns how many went compressed. */
function traffic(from: Side, to: Side, seed: number, n: number): number {
  const rng = new SeededRng(seed);
  let compressed = 0;
  for (let i = 0; i < n; i++) {
    const data = rng.below(5) === 0 ? rng.fill(new Uint8Array(rng.below(1400))) : text(rng, rng.below(1400));
    const t = from.ccp.transmit(0x21, data);
    if (t.proto === PPP_COMP) compressed++;
    const r = to.ccp.receive(t.proto, t.info, 0);
    assert.ok(r, `${from.name}->${to.name} seed ${seed} packet ${i} dropped`);
    assert.equal(r.proto, 0x21);
    assert.equal(hex(r.info), hex(data), `${from.name}->${to.name} seed ${seed} packet ${i}`);
  }
  return compressed;
}

const BSD15 = { rx: 15, tx: 15 };

test("both offered, both acked: ConfReq <deflate 15> <deflate(old#) 15> <bsd v1 15>, Deflate chosen (first option), pppd's line", () => {
  const a = side("a", { ...defaultCcpConfig(), bsdComp: BSD15 });
  const b = side("b", { ...defaultCcpConfig(), bsdComp: BSD15 });
  const lines = up(a, b);
  assert.equal(lines[0], "a sent [CCP ConfReq id=0x1 <deflate 15> <deflate(old#) 15> <bsd v1 15>]");
  assert.ok(lines.includes("a sent [CCP ConfAck id=0x1 <deflate 15> <deflate(old#) 15> <bsd v1 15>]"), lines.join("\n"));
  assert.deepEqual(enabled(a.logs), ["info: Deflate (15) compression enabled"]);
  assert.ok(a.ccp.codecs.compressor instanceof DeflateCompressor);
  assert.ok(a.ccp.codecs.decompressor instanceof DeflateDecompressor);
  assert.ok(traffic(a, b, 1, 50) > 20);
});

test("only BSD (nodeflate bsdcomp 15 both sides): 'BSD-Compress (15) compression enabled', BSD both ways, byte-exact", () => {
  const a = side("a", { enabled: true, bsdComp: BSD15 });
  const b = side("b", { enabled: true, bsdComp: BSD15 });
  const lines = up(a, b);
  assert.equal(lines[0], "a sent [CCP ConfReq id=0x1 <bsd v1 15>]");
  assert.deepEqual(enabled(a.logs), ["info: BSD-Compress (15) compression enabled"]);
  assert.deepEqual(enabled(b.logs), ["info: BSD-Compress (15) compression enabled"]);
  assert.ok(a.ccp.codecs.compressor instanceof BsdCompressor && a.ccp.codecs.decompressor instanceof BsdDecompressor);
  assert.ok(traffic(a, b, 2, 300) > 150);
  assert.ok(traffic(b, a, 3, 300) > 150);
});

test("Linux pppd's default request (deflate, deflate(old#), bsd) to a nodeflate bsdcomp 15 side: Deflate rejected, BSD used", () => {
  const a = side("a", { enabled: true, bsdComp: BSD15 });
  a.ccp.lowerUp(0);
  a.ccp.open(0);
  assert.equal(formatCcpPacket(a.ccp.pollTransmit()!), "[CCP ConfReq id=0x1 <bsd v1 15>]");
  const req = Uint8Array.of(1, 1, 0, 15, 26, 4, 0x78, 0, 24, 4, 0x78, 0, 21, 3, 0x2f);
  a.ccp.input(req, 0);
  assert.equal(formatCcpPacket(a.ccp.pollTransmit()!), "[CCP ConfRej id=0x1 <deflate 15> <deflate(old#) 15>]");
  a.ccp.input(Uint8Array.of(1, 2, 0, 7, 21, 3, 0x2f), 0);
  assert.equal(formatCcpPacket(a.ccp.pollTransmit()!), "[CCP ConfAck id=0x2 <bsd v1 15>]");
  assert.ok(a.ccp.codecs.compressor instanceof BsdCompressor, "our compressor starts with the Ack we sent");
  a.ccp.input(Uint8Array.of(2, 1, 0, 7, 21, 3, 0x2f), 0);
  assert.equal(a.ccp.fsm.state, "Opened");
  assert.deepEqual(enabled(a.logs), ["info: BSD-Compress (15) compression enabled"]);
});

test("Nak of code size: bsdcomp 15,12 Naks a request for 15 with <bsd v1 12>; the peer asks again with 12; 'BSD-Compress (15/12)'", () => {
  const a = side("a", { enabled: true, bsdComp: { rx: 15, tx: 12 } });
  const b = side("b", { enabled: true, bsdComp: BSD15 });
  const lines = up(a, b);
  assert.ok(lines.includes("a sent [CCP ConfNak id=0x1 <bsd v1 12>]"), lines.join("\n"));
  assert.ok(lines.includes("b sent [CCP ConfReq id=0x2 <bsd v1 12>]"), lines.join("\n"));
  assert.deepEqual(enabled(a.logs), ["info: BSD-Compress (15/12) compression enabled"]);
  assert.deepEqual(enabled(b.logs), ["info: BSD-Compress (12/15) compression enabled"]);
  assert.equal((a.ccp.codecs.compressor as BsdCompressor).bits, 12);
  assert.equal((b.ccp.codecs.decompressor as BsdDecompressor).bits, 12);
  assert.ok(traffic(a, b, 4, 200) > 100);
  assert.ok(traffic(b, a, 5, 200) > 100);
});

test("Nak of version and of a size below 9: we suggest v1 with our size; a Nak with another version stops our asking", () => {
  const a = side("a", { enabled: true, bsdComp: { rx: 15, tx: 14 } });
  a.ccp.lowerUp(0);
  a.ccp.open(0);
  a.ccp.pollTransmit();
  a.ccp.input(Uint8Array.of(1, 1, 0, 7, 21, 3, (2 << 5) | 12), 0); // bsd v2 12
  assert.equal(formatCcpPacket(a.ccp.pollTransmit()!), "[CCP ConfNak id=0x1 <bsd v1 14>]");
  a.ccp.input(Uint8Array.of(1, 2, 0, 7, 21, 3, (1 << 5) | 8), 0); // bsd v1 8
  assert.equal(formatCcpPacket(a.ccp.pollTransmit()!), "[CCP ConfNak id=0x2 <bsd v1 14>]");
  // The peer Naks our <bsd v1 15> with a version we do not know: the next request leaves BSD out.
  a.ccp.input(Uint8Array.of(3, 1, 0, 7, 21, 3, (2 << 5) | 15), 0);
  assert.equal(formatCcpPacket(a.ccp.pollTransmit()!), "[CCP ConfReq id=0x2]");
});

test("a Nak with a smaller size is taken: we ask again with it", () => {
  const a = side("a", { enabled: true, bsdComp: BSD15 });
  a.ccp.lowerUp(0);
  a.ccp.open(0);
  a.ccp.pollTransmit();
  a.ccp.input(Uint8Array.of(3, 1, 0, 7, 21, 3, (1 << 5) | 10), 0);
  assert.equal(formatCcpPacket(a.ccp.pollTransmit()!), "[CCP ConfReq id=0x2 <bsd v1 10>]");
});

test("each direction uses the first option of its acked request: 'Deflate (15) / BSD-Compress (15) compression enabled'", () => {
  // a asks only for Deflate but lets the peer ask for BSD; b asks only for BSD but lets the peer ask for Deflate.
  const a = side("a", { enabled: true, deflate: { rx: 15, tx: 0 }, bsdComp: { rx: 0, tx: 15 } });
  const b = side("b", { enabled: true, deflate: { rx: 0, tx: 15 }, bsdComp: { rx: 15, tx: 0 } });
  const lines = up(a, b);
  assert.equal(a.ccp.fsm.state, "Opened", lines.join("\n"));
  assert.deepEqual(enabled(a.logs), ["info: Deflate (15) / BSD-Compress (15) compression enabled"]);
  assert.deepEqual(enabled(b.logs), ["info: BSD-Compress (15) / Deflate (15) compression enabled"]);
  assert.ok(a.ccp.codecs.compressor instanceof BsdCompressor && a.ccp.codecs.decompressor instanceof DeflateDecompressor);
  assert.ok(b.ccp.codecs.compressor instanceof DeflateCompressor && b.ccp.codecs.decompressor instanceof BsdDecompressor);
  assert.ok(traffic(a, b, 6, 200) > 100);
  assert.ok(traffic(b, a, 7, 200) > 100);
});

test("BSD only on one side's allow list: the other's request for BSD is rejected (bsdcomp 15,0)", () => {
  const a = side("a", { enabled: true, bsdComp: { rx: 15, tx: 0 } });
  const b = side("b", { enabled: true, bsdComp: BSD15 });
  const lines = up(a, b);
  assert.ok(lines.includes("a sent [CCP ConfRej id=0x1 <bsd v1 15>]"), lines.join("\n"));
  assert.deepEqual(enabled(a.logs), ["info: BSD-Compress (15) receive compression enabled"]);
  assert.deepEqual(enabled(b.logs), ["info: BSD-Compress (15) transmit compression enabled"]);
  assert.ok(traffic(b, a, 8, 100) > 50);
});

test("BSD loss: Reset-Request, Reset-Ack resets both dictionaries, then in sync", () => {
  const seed = 9;
  const rng = new SeededRng(seed);
  const a = side("a", { enabled: true, bsdComp: BSD15 });
  const b = side("b", { enabled: true, bsdComp: BSD15 });
  up(a, b);
  const send = (lose = false): boolean => {
    const data = text(rng, 400 + rng.below(800));
    const t = a.ccp.transmit(0x21, data);
    assert.equal(t.proto, PPP_COMP);
    if (lose) return false;
    const r = b.ccp.receive(t.proto, t.info, 1000);
    if (r) assert.equal(hex(r.info), hex(data), `seed ${seed}`);
    return r !== undefined;
  };
  for (let i = 0; i < 5; i++) assert.ok(send());
  send(true);
  assert.equal(send(), false, "sequence gap detected");
  assert.deepEqual(exchange(a, b, 1000), ["b sent [CCP ResetReq id=0x2]", "a sent [CCP ResetAck id=0x2]"]);
  for (let i = 0; i < 20; i++) assert.ok(send(), `seed ${seed}: in sync after reset, packet ${i}`);
  assert.deepEqual(b.ccp.stats.rxDrops, { seq: 1 });
});

test("options: bsdcomp R[,T] and nobsdcomp as pppd parses them; bad values named", () => {
  assert.deepEqual(parseBsdCompOption("15"), { bsdComp: { rx: 15, tx: 15 } });
  assert.deepEqual(parseBsdCompOption("12,9"), { bsdComp: { rx: 12, tx: 9 } });
  assert.deepEqual(parseBsdCompOption("0,15"), { bsdComp: { rx: 0, tx: 15 } });
  assert.deepEqual(parseBsdCompOption("0"), { bsdComp: undefined });
  assert.throws(() => parseBsdCompOption("8"), /bsdcomp option values must be 0 or 9 \.\. 15/);
  assert.throws(() => parseBsdCompOption("16"), /0 or 9 \.\. 15/);
  assert.throws(() => parseBsdCompOption("x"), /invalid parameter 'x' for bsdcomp option/);

  const fs: Pick<LoadOptions, "readFile" | "statMode" | "env" | "hostname"> = {
    readFile: () => undefined, statMode: () => undefined, env: {}, hostname: "server",
  };
  const load = (words: string[]) => loadConfig(["noauth", ...words], { role: "serve", ...fs });
  assert.equal(load([]).session.ccp?.bsdComp, undefined, "off by default (the existing request stays as it was)");
  assert.deepEqual(load(["bsdcomp", "15"]).session.ccp?.bsdComp, { rx: 15, tx: 15 });
  assert.deepEqual(load(["nodeflate", "bsdcomp", "12,15"]).session.ccp, { ...defaultCcpConfig(), deflate: undefined, bsdComp: { rx: 12, tx: 15 } });
  assert.equal(load(["bsdcomp", "15", "nobsdcomp"]).session.ccp?.bsdComp, undefined);
  assert.throws(() => load(["bsdcomp", "8"]), (e: unknown) => e instanceof ConfigError && /bsdcomp/.test(e.message));
});

test("Ccp refuses a bsdComp size outside 9..15 given directly", () => {
  assert.throws(() => side("a", { enabled: true, bsdComp: { rx: 16, tx: 15 } }), /bsdcomp rx code size 16/);
});

test("two PPP sessions (VJ + BSD-Compress 15, nodeflate): pppd's lines, the fox file byte-exact over the simulated line", () => {
  const ccp: CcpConfig = { enabled: true, bsdComp: BSD15 };
  const client = session({ debug: true, vj: true, ccp }, 21);
  const server = session({
    debug: true, vj: true, ccp, localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"), usePeerDns: false,
  }, 22);
  const pair = new Pair(client, server, 3);
  client.open(0);
  server.open(0);
  const settled = (): boolean => client.ipcp.fsm.state === "Opened" && server.ipcp.fsm.state === "Opened"
    && client.ccp.fsm.state === "Opened" && server.ccp.fsm.state === "Opened";
  assert.ok(pair.run(settled));
  const logs = logTexts(pair.eventsA);
  assert.ok(logs.includes("sent [CCP ConfReq id=0x1 <bsd v1 15>]"), logs.join("\n"));
  assert.ok(logs.includes("BSD-Compress (15) compression enabled"), logs.join("\n"));
  let text = "";
  for (let i = 0; text.length < 262144; i++) text += `${String(i).padStart(6, "0")} the quick brown fox jumps over the lazy dog\n`;
  const file = new TextEncoder().encode(text.slice(0, 262144));
  const segs: Uint8Array[] = [];
  for (let o = 0, seq = 1000, id = 1; o < file.length; o += 1460, id++) {
    const payload = file.subarray(o, o + 1460);
    segs.push(tcpPacket({ src: ip("192.168.7.2"), dst: ip("192.168.7.1"), sport: 40000, dport: 80, seq, ack: 1, flags: ACK | PSH, win: 64240, id, payload }));
    seq += payload.length;
  }
  const before = client.stats.txBytes;
  const start = pair.eventsB.length;
  for (const seg of segs) assert.ok(client.sendIp(seg, pair.now));
  pair.run(() => true);
  const got = pair.eventsB.slice(start).flatMap((e) => (e.type === "ip-packet" ? [e.packet] : []));
  assert.equal(got.length, segs.length);
  for (let i = 0; i < segs.length; i++) assert.equal(hex(got[i]), hex(segs[i]), `segment ${i}`);
  const wire = client.stats.txBytes - before;
  console.log(`# session BSD-Compress 15: fox file ${file.length} B -> ${wire} B on the line: ${(file.length / wire).toFixed(2)}x`);
  assert.ok(file.length / wire >= 8, `ratio ${(file.length / wire).toFixed(2)}`);
});
