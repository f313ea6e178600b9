/**
 * CCP (RFC 1962) with Deflate (RFC 1979) on the shared automaton: two
 * engines back to back on simulated time. Negotiation as pppd does it
 * (both option numbers, Nak to a smaller window, BSD-Compress rejected,
 * nodeflate, asymmetric windows), pppd's log and debug lines, the data
 * path through the Configure-Ack, and Reset-Request/Reset-Ack after loss
 * including the one-second repeat.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SeededRng } from "../../../stack/util/rng.js";
import {
  CCP_RESETACK, CCP_RESETREQ, Ccp, PPP_COMP, RACK_TIMEOUT_MS, defaultCcpConfig, formatCcpPacket, parseDeflateOption,
  type CcpConfig,
} from "../../../src/ppp/compress/ccp.js";
import { hex } from "./tcpip.js";
import { exchange, side, up, type Side } from "./ccp-pair.js";

const text = (rng: SeededRng, n: number): Uint8Array => {
  let s = "";
  while (s.length < n) s += ["the ", "quick ", "brown ", "fox ", String(rng.below(1000)), "\n"][rng.below(6)];
  return new TextEncoder().encode(s.slice(0, n));
};

test("default (pppd deflate 15) both sides: ConfReq <deflate 15> <deflate(old#) 15>, Opened, 'Deflate (15) compression enabled'", () => {
  const a = side("a", defaultCcpConfig());
  const b = side("b", defaultCcpConfig());
  const lines = up(a, b);
  assert.equal(lines[0], "a sent [CCP ConfReq id=0x1 <deflate 15> <deflate(old#) 15>]");
  assert.ok(lines.includes("a sent [CCP ConfAck id=0x1 <deflate 15> <deflate(old#) 15>]"), lines.join("\n"));
  assert.equal(a.ccp.fsm.state, "Opened");
  assert.equal(b.ccp.fsm.state, "Opened");
  assert.deepEqual(a.logs.filter((l) => l.startsWith("info")), ["info: Deflate (15) compression enabled"]);
  assert.ok(a.ccp.transmitting && a.ccp.receiving && b.ccp.transmitting && b.ccp.receiving);
});

test("asymmetric windows print as pppd's method_name: 'Deflate (15/12)'", () => {
  const a = side("a", { enabled: true, deflate: { rx: 15, tx: 15 } });
  const b = side("b", { enabled: true, deflate: { rx: 12, tx: 15 } });
  up(a, b);
  assert.ok(a.logs.includes("info: Deflate (15/12) compression enabled"), a.logs.join("\n"));
  assert.ok(b.logs.includes("info: Deflate (12/15) compression enabled"), b.logs.join("\n"));
});

test("deflate 15,12: we Nak a peer asking for window 15 with 12, it asks again with 12", () => {
  const a = side("a", { enabled: true, deflate: { rx: 15, tx: 12 } });
  const b = side("b", defaultCcpConfig());
  const lines = up(a, b);
  assert.ok(lines.includes("a sent [CCP ConfNak id=0x1 <deflate 12> <deflate(old#) 12>]"), lines.join("\n"));
  assert.ok(lines.includes("b sent [CCP ConfReq id=0x2 <deflate 12> <deflate(old#) 12>]"), lines.join("\n"));
  assert.ok(b.logs.includes("info: Deflate (12/15) compression enabled"), b.logs.join("\n"));
});

test("a Linux pppd request with BSD-Compress: we reject only <bsd v1 15>", () => {
  const a = side("a", defaultCcpConfig());
  a.ccp.lowerUp(0);
  a.ccp.open(0);
  a.ccp.pollTransmit();
  // rcvd [CCP ConfReq id=0x1 <deflate 15> <deflate(old#) 15> <bsd v1 15>]
  const req = Uint8Array.of(1, 1, 0, 15, 26, 4, 0x78, 0, 24, 4, 0x78, 0, 21, 3, 0x2f);
  assert.equal(formatCcpPacket(req), "[CCP ConfReq id=0x1 <deflate 15> <deflate(old#) 15> <bsd v1 15>]");
  a.ccp.input(req, 0);
  const rej = a.ccp.pollTransmit()!;
  assert.equal(formatCcpPacket(rej), "[CCP ConfRej id=0x1 <bsd v1 15>]");
});

test("nodeflate: silent, rejects the peer's Deflate; both end Opened with no compression and no log line", () => {
  const a = side("a", { enabled: true });
  const b = side("b", defaultCcpConfig());
  const lines = up(a, b);
  assert.ok(lines.includes("a sent [CCP ConfRej id=0x1 <deflate 15> <deflate(old#) 15>]"), lines.join("\n"));
  assert.equal(a.ccp.fsm.state, "Opened");
  assert.equal(b.ccp.fsm.state, "Opened");
  assert.ok(!a.ccp.transmitting && !a.ccp.receiving && !b.ccp.transmitting && !b.ccp.receiving);
  assert.equal(a.logs.filter((l) => l.includes("compression enabled")).length, 0);
  const info = new Uint8Array(600);
  assert.deepEqual(b.ccp.transmit(0x21, info), { proto: 0x21, info });
});

test("noccp: open() does nothing (the session Protocol-Rejects CCP)", () => {
  const a = side("a", { enabled: false, deflate: { rx: 15, tx: 15 } });
  a.ccp.lowerUp(0);
  a.ccp.open(0);
  assert.equal(a.ccp.pollTransmit(), undefined);
  assert.equal(a.ccp.fsm.state, "Closed");
});

test("data path: compressed after the Configure-Ack, byte-exact; uncompressed packets feed the history", () => {
  const seed = 3;
  const rng = new SeededRng(seed);
  const a = side("a", defaultCcpConfig());
  const b = side("b", defaultCcpConfig());
  up(a, b);
  let compressed = 0;
  for (let i = 0; i < 300; i++) {
    const data = rng.below(5) === 0 ? rng.fill(new Uint8Array(rng.below(1400))) : text(rng, rng.below(1400));
    const t = a.ccp.transmit(0x21, data);
    if (t.proto === PPP_COMP) compressed++;
    const r = b.ccp.receive(t.proto, t.info, 0);
    assert.ok(r, `seed ${seed} packet ${i}`);
    assert.equal(r.proto, 0x21);
    assert.equal(hex(r.info), hex(data), `seed ${seed} packet ${i}`);
  }
  assert.ok(compressed > 150, `compressed ${compressed}`);
  // LCP and CCP themselves are never compressed.
  const lcp = new Uint8Array(100);
  assert.equal(a.ccp.transmit(0xc021, lcp).proto, 0xc021);
});

test("loss: Reset-Request, dropped until Reset-Ack, compressor reset as the Ack goes out, then in sync", () => {
  const seed = 4;
  const rng = new SeededRng(seed);
  const a = side("a", defaultCcpConfig());
  const b = side("b", defaultCcpConfig());
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
  assert.ok(send());
  send(true);
  assert.equal(send(), false, "sequence gap detected");
  assert.equal(send(), false, "dropped while waiting for the Reset-Ack");
  const lines = exchange(a, b, 1000);
  assert.deepEqual(lines, ["b sent [CCP ResetReq id=0x2]", "a sent [CCP ResetAck id=0x2]"]);
  for (let i = 0; i < 20; i++) assert.ok(send(), `seed ${seed}: in sync after reset, packet ${i}`);
  assert.equal(b.ccp.stats.resetReqSent, 1);
  assert.deepEqual(b.ccp.stats.rxDrops, { seq: 1, "error-state": 1 });
  assert.equal(b.ccp.pollTimeout(), undefined, "Reset-Ack cancelled the timer");
});

test("a lost Reset-Ack: pppd's one-second timer repeats the Reset-Request (same id) if errors continued", () => {
  const a = side("a", defaultCcpConfig());
  const b = side("b", defaultCcpConfig());
  up(a, b);
  const rng = new SeededRng(5);
  const data = () => text(rng, 600);
  a.ccp.transmit(0x21, data()); // lost
  let t = a.ccp.transmit(0x21, data());
  assert.equal(b.ccp.receive(t.proto, t.info, 5000), undefined);
  const dropAcks = (from: Side, p: Uint8Array) => from === a && p[0] === CCP_RESETACK;
  assert.deepEqual(exchange(a, b, 5000, dropAcks), ["b sent [CCP ResetReq id=0x2]", "a sent [CCP ResetAck id=0x2]"]);
  assert.equal(b.ccp.pollTimeout(), 5000 + RACK_TIMEOUT_MS);
  t = a.ccp.transmit(0x21, data());
  assert.equal(b.ccp.receive(t.proto, t.info, 5500), undefined, "still in error: marks RREQ_REPEAT");
  b.ccp.handleTimeout(5999);
  assert.deepEqual(exchange(a, b, 5999), [], "not yet");
  b.ccp.handleTimeout(6000);
  assert.deepEqual(exchange(a, b, 6000), ["b sent [CCP ResetReq id=0x2]", "a sent [CCP ResetAck id=0x2]"]);
  const d = data();
  t = a.ccp.transmit(0x21, d);
  assert.equal(hex(b.ccp.receive(t.proto, t.info, 6001)!.info), hex(d));
  assert.equal(b.ccp.stats.resetReqSent, 2);
});

test("closeOnFatalError (pppd): an inflate error takes CCP down with 'Lost compression sync'", () => {
  const a = side("a", defaultCcpConfig());
  const b = side("b", { ...defaultCcpConfig(), closeOnFatalError: true });
  up(a, b);
  const t = a.ccp.transmit(0x21, new TextEncoder().encode("hello ".repeat(100)));
  const bad = t.info.slice();
  bad[2] ^= 0xff;
  bad[3] ^= 0xff;
  assert.equal(b.ccp.receive(t.proto, bad, 0), undefined);
  assert.ok(b.logs.includes("error: Lost compression sync: disabling compression"), b.logs.join("\n"));
  assert.equal(b.ccp.fsm.state, "Closing");
  const lines = exchange(a, b, 0);
  assert.equal(lines[0], 'b sent [CCP TermReq id=0x2 "Lost compression sync"]');
  assert.ok(a.logs.includes("info: Compression disabled by peer."), a.logs.join("\n"));
  assert.ok(!a.ccp.transmitting && !b.ccp.receiving);
});

test("renegotiation (a new ConfReq) stops compression until the new Configure-Ack", () => {
  const a = side("a", defaultCcpConfig());
  const b = side("b", defaultCcpConfig());
  up(a, b);
  const req = Uint8Array.of(1, 9, 0, 8, 26, 4, 0x78, 0);
  a.ccp.input(req, 0);
  assert.equal(a.ccp.receiving, false);
  const reply = [a.ccp.pollTransmit()!, a.ccp.pollTransmit()!];
  assert.deepEqual(reply.map((p) => formatCcpPacket(p)), [
    "[CCP ConfReq id=0x2 <deflate 15> <deflate(old#) 15>]", "[CCP ConfAck id=0x9 <deflate 15>]",
  ]);
  assert.equal(a.ccp.transmitting, true, "our Configure-Ack restarts the compressor");
});

test("Reset-Request outside Opened is ignored without a Code-Reject; unknown codes get one", () => {
  const a = side("a", defaultCcpConfig());
  a.ccp.lowerUp(0);
  a.ccp.open(0);
  a.ccp.pollTransmit();
  a.ccp.input(Uint8Array.of(CCP_RESETREQ, 7, 0, 4), 0);
  assert.equal(a.ccp.pollTransmit(), undefined);
  a.ccp.input(Uint8Array.of(9, 7, 0, 4), 0);
  assert.equal(formatCcpPacket(a.ccp.pollTransmit()!), "[CCP CodeRej id=0x2 09 07 00 04]");
});

test("printer: unknown options in hex, unusual method/check, predictor, leftovers", () => {
  assert.equal(formatCcpPacket(Uint8Array.of(1, 2, 0, 14, 26, 4, 0x77, 1, 1, 2, 17, 4, 1, 2)),
    "[CCP ConfReq id=0x2 <deflate 15 method 7 check 1> <predictor 1> < 11 04 01 02>]");
  assert.equal(formatCcpPacket(Uint8Array.of(15, 3, 0, 4)), "[CCP ResetAck id=0x3]");
  assert.equal(formatCcpPacket(Uint8Array.of(5, 3, 0, 7, 0x61, 0x62, 0x63)), '[CCP TermReq id=0x3 "abc"]');
});

test("pppd 'deflate' option values", () => {
  assert.deepEqual(parseDeflateOption("15"), { deflate: { rx: 15, tx: 15 }, warning: undefined });
  assert.deepEqual(parseDeflateOption("15,12"), { deflate: { rx: 15, tx: 12 }, warning: undefined });
  assert.deepEqual(parseDeflateOption("8"), {
    deflate: { rx: 9, tx: 9 }, warning: "deflate option value of 8 changed to 9 to avoid zlib bug",
  });
  assert.deepEqual(parseDeflateOption("0"), { deflate: undefined, warning: undefined });
  assert.deepEqual(parseDeflateOption("0,15"), { deflate: { rx: 0, tx: 15 }, warning: undefined });
  assert.throws(() => parseDeflateOption("16"), /deflate option values must be 0 or 8 \.\. 15/);
  assert.throws(() => parseDeflateOption("x"), /invalid parameter 'x' for deflate option/);
});

test("a window pppd would not use is a usage error at construction, not a surprise on the wire", () => {
  assert.throws(() => side("a", { enabled: true, deflate: { rx: 8, tx: 15 } }), /deflate rx window 8: must be 0 or 9 \.\. 15/);
  assert.throws(() => side("a", { enabled: true, deflate: { rx: 15, tx: 16 } }), RangeError);
});

test("deflate 0,15: we ask for nothing (silent) but compress for a peer that asks", () => {
  const a = side("a", { enabled: true, deflate: { rx: 0, tx: 15 } });
  const b = side("b", defaultCcpConfig());
  up(a, b);
  assert.ok(a.logs.includes("info: Deflate (15) transmit compression enabled"), a.logs.join("\n"));
  assert.ok(b.logs.includes("info: Deflate (15) receive compression enabled"), b.logs.join("\n"));
  assert.ok(a.ccp.transmitting && !a.ccp.receiving);
});

test("the kernel's sequence: peer offers bsd, we reject it, its second ConfReq stops only our compressor (ppp_ccp_peek)", () => {
  // What Linux pppd 2.4.9 sends, byte for byte: ConfReq id=1 <deflate 15> <deflate(old#) 15> <bsd v1 15>,
  // our ConfRej of bsd, its ConfAck of our request, then ConfReq id=2 without bsd.
  const us = side("us", defaultCcpConfig());
  us.ccp.lowerUp(0);
  us.ccp.open(0);
  const ourReq = us.ccp.pollTransmit()!;
  assert.equal(ourReq[0], 1, "our ConfReq goes first");
  const deflate = [26, 4, 0x78, 0x00, 24, 4, 0x78, 0x00];
  const confReq = (id: number, opts: number[]) => new Uint8Array([1, id, 0, 4 + opts.length, ...opts]);
  us.ccp.input(confReq(1, [...deflate, 21, 3, 0x2f]), 0);
  const rej = us.ccp.pollTransmit()!;
  assert.equal(rej[0], 4, "bsd v1 15 is Configure-Rejected");
  const ack = new Uint8Array(ourReq);
  ack[0] = 2; // the peer's Configure-Ack of our request: our decompressor starts
  us.ccp.input(ack, 0);
  us.ccp.input(confReq(2, deflate), 0);
  const ourAck = us.ccp.pollTransmit()!;
  assert.equal(ourAck[0], 2, "we ack its second request: our compressor starts");
  assert.equal(us.ccp.transmitting, true, "compressing towards the peer");
  assert.equal(us.ccp.receiving, true, "still decompressing what the peer sends");
  assert.ok(us.logs.some((l) => l.includes("Deflate (15) compression enabled")), us.logs.join("\n"));
});
