/**
 * stack/wire/tcp.ts: header codec vectors (a SYN captured from the Linux
 * kernel on lo with MSS/SACK-perm/TS/WS), SACK blocks, checksums, and the
 * reasons malformed headers are dropped with.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseIp4 } from "../../../stack/util/addr.js";
import { sumWords, finish, pseudoHeaderSum } from "../../../stack/wire/checksum.js";
import { SeededRng } from "../../../stack/util/rng.js";
import {
  ACK, PSH, SYN, emitTcp, fillTcpChecksum, parseTcp, tcpChecksum, type TcpRepr,
} from "../../../stack/wire/tcp.js";

const LO = parseIp4("127.0.0.1")!;
/**
 * Captured 2026-11-25 with an AF_PACKET socket on lo while `connect()`ing to
 * 127.0.0.1:1 (Linux 6.x): IP header 4500003ca7ab40004006950e7f0000017f000001.
 * On lo the kernel leaves checksum offload pending (CHECKSUM_PARTIAL): the
 * field holds the folded pseudo-header sum 0xfe30, not the final checksum.
 */
const LINUX_SYN_CAPTURED = Buffer.from(
  "9d360001970db9ec00000000a002ffd7fe3000000204ffd70402080a9cc59d26000000000103030a",
  "hex",
);
/** The same SYN with the checksum completed (what it looks like on a real wire). */
const LINUX_SYN = Buffer.from(LINUX_SYN_CAPTURED);
fillTcpChecksum(LINUX_SYN, LO, LO);

test("wire: the captured SYN carries the CHECKSUM_PARTIAL pseudo-header sum", () => {
  const partial = (LINUX_SYN_CAPTURED[16] << 8) | LINUX_SYN_CAPTURED[17];
  assert.equal(partial, 0xffff - finish(pseudoHeaderSum(LO, LO, 6, LINUX_SYN_CAPTURED.length)));
  assert.equal(parseTcp(new Uint8Array(LINUX_SYN_CAPTURED), LO, LO).reason, "bad-checksum");
  assert.equal(parseTcp(new Uint8Array(LINUX_SYN_CAPTURED), LO, LO, false).repr?.mss, 65495);
});

test("wire: parse a Linux SYN (MSS, SACK-permitted, timestamps, window scale)", () => {
  const p = parseTcp(new Uint8Array(LINUX_SYN), LO, LO);
  assert.equal(p.reason, undefined);
  const r = p.repr!;
  assert.equal(r.srcPort, 40246);
  assert.equal(r.dstPort, 1);
  assert.equal(r.seq, 0x970db9ec);
  assert.equal(r.ack, 0);
  assert.equal(r.flags, SYN);
  assert.equal(r.window, 65495);
  assert.equal(r.mss, 65495);
  assert.equal(r.sackPermitted, true);
  assert.equal(r.tsVal, 0x9cc59d26);
  assert.equal(r.tsEcr, 0);
  assert.equal(r.wscale, 10);
  assert.equal(r.payload.length, 0);
});

test("wire: emitting the same SYN reproduces the kernel's bytes exactly (option layout and checksum)", () => {
  const r: TcpRepr = {
    srcPort: 40246, dstPort: 1, seq: 0x970db9ec, ack: 0, flags: SYN, window: 65495, urgent: 0,
    mss: 65495, sackPermitted: true, tsVal: 0x9cc59d26, tsEcr: 0, wscale: 10, payload: new Uint8Array(0),
  };
  assert.equal(Buffer.from(emitTcp(r, LO, LO)).toString("hex"), LINUX_SYN.toString("hex"));
});

test("wire: round trip with SACK blocks and payload; fast checksum equals RFC 1071 reference", () => {
  const rng = new SeededRng(99);
  const src = parseIp4("10.1.2.3")!;
  const dst = parseIp4("192.168.7.1")!;
  for (let len = 0; len < 200; len += 7) {
    const payload = rng.fill(new Uint8Array(len * 13));
    const r: TcpRepr = {
      srcPort: 1234, dstPort: 443, seq: rng.u32(), ack: rng.u32(), flags: ACK | PSH, window: rng.below(65536), urgent: 0,
      tsVal: rng.u32(), tsEcr: rng.u32(),
      sack: [{ left: 1, right: 2 }, { left: rng.u32(), right: rng.u32() }, { left: 5, right: 9 }],
      payload,
    };
    const seg = emitTcp(r, src, dst);
    // reference checksum over the same bytes
    assert.equal(finish(sumWords(seg, pseudoHeaderSum(src, dst, 6, seg.length))), 0, `len ${payload.length}`);
    // and over a misaligned copy (the fast path needs 4-byte alignment)
    const odd = new Uint8Array(seg.length + 1).subarray(1);
    odd.set(seg);
    assert.equal(tcpChecksum(odd, src, dst), 0);
    const back = parseTcp(seg, src, dst).repr!;
    assert.deepEqual(back.sack, r.sack);
    assert.equal(back.tsVal, r.tsVal);
    assert.equal(back.tsEcr, r.tsEcr);
    assert.deepEqual(Buffer.from(back.payload), Buffer.from(payload));
  }
});

test("wire: malformed headers give a reason, never throw", () => {
  const good = new Uint8Array(LINUX_SYN);
  const cases: [string, (b: Uint8Array) => Uint8Array, string][] = [
    ["too short", (b) => b.subarray(0, 19), "too-short"],
    ["data offset 4", (b) => ((b[12] = 0x40), b), "bad-data-offset"],
    ["data offset past the end", (b) => ((b[12] = 0xf0), b), "header-truncated"],
    ["bit error", (b) => ((b[25] ^= 0x10), b), "bad-checksum"],
    ["option length 1", (b) => ((b[21] = 1), b), "bad-option-length"],
    ["option runs past header", (b) => ((b[21] = 40), b), "bad-option-length"],
    ["MSS length 3", (b) => ((b[21] = 3), (b[23] = 1), (b[24] = 1), b), "bad-mss-length"],
    ["WS length 4 (runs past the header)", (b) => ((b[38] = 4), b), "bad-option-length"],
    ["WS length 2", (b) => ((b[38] = 2), (b[39] = 1), b), "bad-wscale-length"],
    ["SACK-permitted length 3", (b) => ((b[25] = 3), b), "bad-sack-permitted-length"],
    ["TS length 8", (b) => ((b[27] = 8), b), "bad-timestamps-length"],
  ];
  for (const [name, mutate, reason] of cases) {
    const b = mutate(good.slice());
    if (reason !== "bad-checksum" && b.length >= 20) fillTcpChecksum(b, LO, LO);
    const p = parseTcp(b, LO, LO);
    assert.equal(p.reason, reason, name);
  }
  // a SACK option whose length is not 2 + 8n
  const r: TcpRepr = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: ACK, window: 1, urgent: 0, sack: [{ left: 1, right: 2 }], payload: new Uint8Array(0) };
  const s = emitTcp(r, LO, LO);
  s[23] = 9;
  fillTcpChecksum(s, LO, LO);
  assert.equal(parseTcp(s, LO, LO).reason, "bad-sack-length");
});

test("wire: window scale above 14 is clamped (RFC 7323 §2.3); unknown options skipped", () => {
  const b = new Uint8Array(LINUX_SYN);
  b[39] = 15;
  // turn the SACK-permitted option (kind 4 len 2) into an unknown kind 30
  b[24] = 30;
  fillTcpChecksum(b, LO, LO);
  const r = parseTcp(b, LO, LO).repr!;
  assert.equal(r.wscale, 14);
  assert.equal(r.sackPermitted, undefined);
  assert.equal(r.mss, 65495);
});
