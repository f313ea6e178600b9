/**
 * VJ header compression wired into PppSession (IPCP option 2, vj.ts data
 * path): negotiation in pppd's words, TCP/IP byte-exact both ways with fewer
 * line bytes, a peer without VJ, and TOSS recovery through bit errors.
 * TCP/IP datagrams come from the compress tests' seeded traffic generator.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pair, ip, logTexts, session } from "./harness.js";
import type { PppSession, SessionEvent } from "../../../src/ppp/session.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { ACK, PSH, tcpPacket, trafficStream } from "../compress/tcpip.js";

function pairOf(clientVj: boolean, serverVj: boolean, seed = 1, loss = 0, corrupt = 0): Pair {
  const client = session({ vj: clientVj, debug: true }, seed * 2);
  const server = session({ vj: serverVj, debug: true, localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"), usePeerDns: false }, seed * 2 + 1);
  const pair = new Pair(client, server, seed, loss, corrupt);
  client.open(0);
  server.open(0);
  assert.ok(pair.run(() => client.ipcp.fsm.state === "Opened" && server.ipcp.fsm.state === "Opened"), `seed ${seed}`);
  return pair;
}

const ipPackets = (ev: SessionEvent[]): Uint8Array[] => ev.flatMap((e) => (e.type === "ip-packet" ? [e.packet] : []));
const bulk = (n: number, src: number, dst: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => tcpPacket({
    src, dst, sport: 40000, dport: 80, seq: 1000 + i * 512, ack: 1, flags: ACK | PSH, win: 64240, id: i + 1,
    payload: new Uint8Array(512).fill(i & 0xff),
  }));

/** One datagram at a time through the line, so the session's scheduler (tx-queue.ts, which may reorder between flows) keeps the sent order; test/unit/pacing covers reordered VJ traffic. */
function send(pair: Pair, from: PppSession, packets: Uint8Array[]): void {
  for (const p of packets) {
    assert.ok(from.sendIp(p, pair.now));
    pair.run(() => true);
  }
}

test("both sides with vj: <compress VJ 0f 01> negotiated both ways; mixed TCP traffic byte-exact both ways", () => {
  const pair = pairOf(true, true);
  const logs = logTexts(pair.eventsA);
  assert.ok(logs.some((l) => /^sent \[IPCP ConfReq id=0x1 <compress VJ 0f 01> <addr 0\.0\.0\.0>/.test(l)), logs.join("\n"));
  assert.deepEqual(pair.a.ipcp.his.vj, { protocol: 0x2d, maxSlotId: 15, compSlotId: true });
  assert.deepEqual(pair.b.ipcp.his.vj, { protocol: 0x2d, maxSlotId: 15, compSlotId: true });
  const seed = 77;
  const up = [...trafficStream(new SeededRng(seed), 400, 5)];
  const down = [...trafficStream(new SeededRng(seed + 1), 400, 3)];
  const beforeA = pair.a.stats.txBytes;
  const ipBytes = up.reduce((n, p) => n + p.length, 0);
  send(pair, pair.a, up);
  send(pair, pair.b, down);
  assert.deepEqual(ipPackets(pair.eventsB), up, `seed ${seed}`);
  assert.deepEqual(ipPackets(pair.eventsA), down, `seed ${seed + 1}`);
  const line = pair.a.stats.txBytes - beforeA;
  console.log(`# vj: ${ipBytes} IP bytes -> ${line} line bytes (${(100 * line / ipBytes).toFixed(1)}%)`);
  assert.ok(line < ipBytes, "VJ (plus framing) puts fewer bytes on the line than the IP datagrams");
});

test("a peer without vj rejects it; IP still passes uncompressed", () => {
  const pair = pairOf(true, false, 2);
  assert.equal(pair.a.ipcp.got.vj, undefined, "our VJ request was rejected");
  assert.equal(pair.b.ipcp.got.vj, undefined);
  const packets = bulk(20, ip("192.168.7.2"), ip("192.168.7.1"));
  send(pair, pair.a, packets);
  assert.deepEqual(ipPackets(pair.eventsB), packets);
  assert.ok(logTexts(pair.eventsB).some((l) => l.startsWith("sent [IPCP ConfRej id=0x1 <compress VJ 0f 01>")));
});

test("bit errors: the VJ receiver tosses after a bad frame; a TCP retransmission refreshes it; nothing delivered is corrupt", () => {
  for (const seed of [3, 4, 5, 6]) {
    const clean = pairOf(true, true, seed);
    const lossy = new Pair(clean.a, clean.b, seed, 0, 0.05);
    lossy.now = clean.now;
    const packets = bulk(351, ip("192.168.7.2"), ip("192.168.7.1"));
    const hexOf = (p: Uint8Array): string => Buffer.from(p).toString("hex");
    const sent = new Set(packets.map(hexOf));
    for (const p of packets.slice(0, 300)) {
      clean.a.sendIp(p, lossy.now);
      lossy.run(() => true);
    }
    assert.ok(clean.b.stats.hdlc.badFcs > 0, `seed ${seed}: the line did corrupt frames`);
    for (const g of ipPackets(lossy.eventsB)) assert.ok(sent.has(hexOf(g)), `seed ${seed}: a corrupt packet was delivered`);
    // Clean line again: the receiver's TCP would ask again, ours retransmits an old segment
    // (its lower sequence number cannot be delta-coded, so it goes UNCOMPRESSED_TCP and refreshes the slot).
    const after = new Pair(clean.a, clean.b, seed);
    after.now = lossy.now;
    send(after, clean.a, [packets[0], ...packets.slice(300)]);
    assert.deepEqual(ipPackets(after.eventsB).map(hexOf), [packets[0], ...packets.slice(300)].map(hexOf), `seed ${seed}`);
  }
});
