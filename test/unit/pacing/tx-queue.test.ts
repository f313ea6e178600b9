/**
 * src/ppp/tx-queue.ts: the session's IP transmit scheduler. Priority band
 * first, DRR fairness between bulk flows, per-flow order under a seeded
 * random mix, high/low-water signals, the hard bound.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { TxQueue, classifyIp } from "../../../src/ppp/tx-queue.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { CLIENT, Conn, SERVER, flowOf, hex, icmpEcho, udp } from "./packets.js";
import { FIN, SYN } from "../compress/tcpip.js";

const drain = (q: TxQueue): Uint8Array[] => {
  const out: Uint8Array[] = [];
  for (let p = q.dequeue(); p; p = q.dequeue()) out.push(p);
  return out;
};

test("classifyIp: pure ACK, SYN, FIN, small payload, DNS, ICMP are interactive; a full segment and other UDP are not", () => {
  const c = new Conn(40000);
  assert.equal(classifyIp(c.ack()).interactive, true, "pure ACK");
  assert.equal(classifyIp(c.ack(SYN)).interactive, true, "SYN");
  assert.equal(classifyIp(c.data(1000, FIN | 0x10)).interactive, true, "FIN, even with data");
  assert.equal(classifyIp(c.data(128)).interactive, true, "128-byte payload (keystrokes)");
  assert.equal(classifyIp(c.data(129)).interactive, false, "129-byte payload");
  assert.equal(classifyIp(c.data(1460)).interactive, false, "full segment");
  assert.equal(classifyIp(udp(CLIENT, SERVER, 5353, 53, new Uint8Array(40))).interactive, true, "DNS query");
  assert.equal(classifyIp(udp(SERVER, CLIENT, 53, 5353, new Uint8Array(400))).interactive, true, "DNS answer");
  assert.equal(classifyIp(udp(CLIENT, SERVER, 5000, 5001, new Uint8Array(40))).interactive, false, "other UDP");
  assert.equal(classifyIp(icmpEcho(CLIENT, SERVER, 1)).interactive, true, "ICMP");
  assert.equal(classifyIp(new Uint8Array([0x45, 0, 0])).flow, 0, "unparsable: flow 0");
  assert.notEqual(classifyIp(new Conn(1).ack()).flow, classifyIp(new Conn(2).ack()).flow, "ports make the flow");
  assert.equal(classifyIp(c.ack()).flow, classifyIp(c.data(1000)).flow, "one connection, one flow");
});

test("priority band first: ping, DNS, a keystroke and a pure ACK overtake a queued bulk flow", () => {
  const q = new TxQueue({ highWater: 1e9 });
  const bulk = new Conn(40000);
  const other = new Conn(40001);
  const b = [bulk.data(1460), bulk.data(1460), bulk.data(1460)];
  for (const p of b) q.enqueue(p);
  const ping = icmpEcho(SERVER, CLIENT, 7);
  const dns = udp(SERVER, CLIENT, 53, 3000, new Uint8Array(60));
  const key = other.data(1);
  const ack = other.ack();
  for (const p of [ping, dns, key, ack]) q.enqueue(p);
  assert.deepEqual(drain(q).map(hex), [ping, dns, key, ack, ...b].map(hex));
  assert.equal(q.stats.priority, 4);
  assert.equal(q.bytes, 0);
  assert.equal(q.length, 0);
});

test("per-flow order: a small segment behind its own flow's bulk stays behind it", () => {
  const q = new TxQueue({ highWater: 1e9 });
  const c = new Conn(40000);
  const big = c.data(1460);
  const small = c.data(10);
  const fin = c.ack(FIN | 0x10);
  q.enqueue(big);
  q.enqueue(small);
  q.enqueue(fin);
  assert.deepEqual(drain(q).map(hex), [big, small, fin].map(hex));
  assert.equal(q.stats.priority, 0);
});

test("DRR: two bulk flows share the line by bytes, whichever queued first", () => {
  const q = new TxQueue({ highWater: 1e9, quantum: 1500 });
  const a = new Conn(40000);
  const b = new Conn(40001);
  for (let i = 0; i < 30; i++) q.enqueue(a.data(1460));
  for (let i = 0; i < 60; i++) q.enqueue(b.data(700)); // half-size segments, same bytes
  const out = drain(q);
  const fa = flowOf(a.ack());
  // In every prefix the two flows' bytes differ by at most one quantum plus a segment.
  let bytesA = 0;
  let bytesB = 0;
  for (const p of out.slice(0, 60)) {
    if (flowOf(p) === fa) bytesA += p.length;
    else bytesB += p.length;
    assert.ok(Math.abs(bytesA - bytesB) <= 1500 + 1500, `A ${bytesA} B ${bytesB}`);
  }
  assert.ok(bytesA > 20_000 && bytesB > 20_000, `both flows progressed: A ${bytesA} B ${bytesB}`);
});

test("seeded mix: every flow leaves in the order it came, nothing lost or duplicated", () => {
  for (const seed of [1, 2, 3, 4]) {
    const rng = new SeededRng(seed);
    const q = new TxQueue({ highWater: 1e9, quantum: 1 + rng.below(3000) });
    const conns = Array.from({ length: 5 }, (_, i) => new Conn(40000 + i));
    const sent: Uint8Array[] = [];
    const got: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = rng.below(10);
      const c = conns[rng.below(conns.length)];
      const p = r < 5 ? c.data(1 + rng.below(1460)) : r < 8 ? c.ack() : r < 9 ? icmpEcho(SERVER, CLIENT, i) : udp(SERVER, CLIENT, 53, 3000 + (i % 2), new Uint8Array(rng.below(200)));
      q.enqueue(p);
      sent.push(p);
      for (let k = rng.below(3); k > 0; k--) {
        const d = q.dequeue();
        if (d) got.push(d);
      }
    }
    got.push(...drain(q));
    assert.equal(got.length, sent.length, `seed ${seed}`);
    const byFlow = (ps: Uint8Array[]): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const p of ps) {
        const k = flowOf(p);
        if (!m.has(k)) m.set(k, []);
        m.get(k)!.push(hex(p));
      }
      return m;
    };
    const s = byFlow(sent);
    const g = byFlow(got);
    for (const [k, v] of s) {
      if (k.endsWith("/1")) assert.deepEqual([...(g.get(k) ?? [])].sort(), [...v].sort(), `seed ${seed}: ICMP all there`);
      else assert.deepEqual(g.get(k), v, `seed ${seed}: flow ${k} in order`);
    }
  }
});

test("high/low water: false at high water (still accepted), one writable signal below low water", () => {
  const q = new TxQueue({ highWater: 4000, lowWater: 2000 });
  const c = new Conn(40000);
  assert.equal(q.enqueue(c.data(1460)), true);
  assert.equal(q.enqueue(c.data(1460)), true);
  assert.equal(q.enqueue(c.data(1460)), false, "1500 × 3 = 4500 ≥ 4000");
  assert.equal(q.length, 3, "the datagram that crossed high water was accepted");
  assert.equal(q.enqueue(c.data(1460)), false);
  assert.equal(q.length, 4);
  assert.equal(q.pollWritable(), false);
  q.dequeue(); // 4500
  q.dequeue(); // 3000
  assert.equal(q.pollWritable(), false, "3000 is not below low water");
  q.dequeue(); // 1500
  assert.equal(q.pollWritable(), true, "below low water after a false");
  assert.equal(q.pollWritable(), false, "once");
  q.dequeue();
  assert.equal(q.pollWritable(), false, "no false since: no signal");
  assert.equal(q.stats.overHighWater, 2);
});

test("hard bound: past maxBytes a datagram is dropped and counted; the queue is unchanged", () => {
  const q = new TxQueue({ highWater: 3000, maxBytes: 4000 });
  const c = new Conn(40000);
  q.enqueue(c.data(1460));
  q.enqueue(c.data(1460));
  const before = q.bytes;
  assert.equal(q.enqueue(c.data(1460)), false);
  assert.equal(q.bytes, before);
  assert.equal(q.stats.dropped, 1);
  assert.equal(q.clear(), 2);
  assert.equal(q.bytes, 0);
  assert.equal(q.pollWritable(), true, "clear() after a false frees the writer");
});

test("the priority band has a cap: past it, small packets wait in their flows (bulk is not starved)", () => {
  const q = new TxQueue({ highWater: 1e9, priorityCap: 300 });
  const bulk = new Conn(40000);
  const big = bulk.data(1460);
  q.enqueue(big);
  const pings = Array.from({ length: 10 }, (_, i) => icmpEcho(SERVER, CLIENT, i, 56)); // 84 bytes each
  for (const p of pings) q.enqueue(p);
  assert.equal(q.stats.priority, 3, "84 × 3 ≤ 300 < 84 × 4");
  const out = drain(q).map(hex);
  assert.deepEqual(out.slice(0, 3), pings.slice(0, 3).map(hex));
  assert.equal(out.indexOf(hex(big)), 3, "the bulk segment goes before the pings past the cap (DRR round)");
});
