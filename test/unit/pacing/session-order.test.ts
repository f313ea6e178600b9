/**
 * PppSession's transmit path with the scheduler: datagrams queue
 * uncompressed and are compressed (VJ, then Deflate) in dequeue order, so a
 * burst of interleaved bulk and interactive traffic that the scheduler
 * reorders still decodes byte-exact through two sessions; control frames go
 * before queued IP; txQueueFull / tx-writable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pair, ip, session } from "../ppp/harness.js";
import { defaultCcpConfig } from "../../../src/ppp/compress/ccp.js";
import type { SessionEvent } from "../../../src/ppp/session.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { HdlcEncoder } from "../../../src/ppp/hdlc.js";
import { CLIENT, Conn, SERVER, flowOf, hex, icmpEcho, udp } from "./packets.js";

function opened(seed: number, txQueue?: { highWater?: number; lowWater?: number }): Pair {
  const client = session({ vj: true, ccp: defaultCcpConfig() }, seed * 2);
  const server = session({
    vj: true, ccp: defaultCcpConfig(), localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"), usePeerDns: false,
  }, seed * 2 + 1);
  if (txQueue) Object.assign((server as unknown as { ipq: { highWater: number; lowWater: number } }).ipq, txQueue);
  const pair = new Pair(client, server, seed);
  client.open(0);
  server.open(0);
  const ok = pair.run(() =>
    client.ipcp.fsm.state === "Opened" && server.ipcp.fsm.state === "Opened" && client.ccp.fsm.state === "Opened" && server.ccp.fsm.state === "Opened");
  assert.ok(ok, `seed ${seed}`);
  assert.ok(server.vjTransmit && server.ccp.transmitting, `seed ${seed}: VJ and Deflate on`);
  return pair;
}

const ipPackets = (ev: SessionEvent[]): Uint8Array[] => ev.flatMap((e) => (e.type === "ip-packet" ? [e.packet] : []));

/** Text-like payload Deflate can shrink, so compressed and stored packets mix. */
function texty(rng: SeededRng, n: number): Uint8Array {
  const words = ["GET /", "index.html", " HTTP/1.1\r\n", "Host: a\r\n", "the quick ", "brown fox "];
  let s = "";
  while (s.length < n) s += words[rng.below(words.length)];
  return new TextEncoder().encode(s.slice(0, n));
}

test("a reordered burst (3 bulk flows, keystrokes, ACKs, pings, DNS) goes through VJ + Deflate byte-exact, per-flow order kept", () => {
  for (const seed of [1, 2, 3]) {
    const pair = opened(seed);
    const server = pair.b;
    const rng = new SeededRng(100 + seed);
    const bulk = [new Conn(8080, 40000), new Conn(8081, 40001), new Conn(8082, 40002)];
    const ssh = new Conn(22, 50000);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const r = rng.below(20);
      let p: Uint8Array;
      if (r < 12) {
        const c = bulk[rng.below(3)];
        p = c.data(600 + rng.below(861));
        if (rng.below(2)) p.set(texty(rng, p.length - 40), 40); // compressible body (checksum no longer matters to VJ/Deflate)
      } else if (r < 15) p = ssh.data(1 + rng.below(40));
      else if (r < 17) p = ssh.ack();
      else if (r < 19) p = icmpEcho(SERVER, CLIENT, i);
      else p = udp(SERVER, CLIENT, 53, 33000, new Uint8Array(30 + rng.below(100)).fill(i & 0xff), i);
      assert.ok(server.sendIp(p, pair.now), `seed ${seed}: accepted`);
      sent.push(p);
    }
    const start = pair.eventsA.length;
    pair.run(() => true);
    const got = ipPackets(pair.eventsA.slice(start));
    assert.equal(got.length, sent.length, `seed ${seed}: all delivered`);
    // Reordered between flows (the interactive ones moved up)...
    assert.notDeepEqual(got.map(hex), sent.map(hex), `seed ${seed}: the scheduler did reorder`);
    const firstBulk = got.findIndex((p) => p.length > 600);
    const lastPing = got.map((p) => p[9]).lastIndexOf(1);
    assert.ok(lastPing < got.length - 50, `seed ${seed}: pings went early (last at ${lastPing} of ${got.length}, first bulk ${firstBulk})`);
    // ...but byte-exact and in order within each flow.
    const byFlow = (ps: Uint8Array[]): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const p of ps) m.set(flowOf(p), [...(m.get(flowOf(p)) ?? []), hex(p)]);
      return m;
    };
    const s = byFlow(sent);
    const g = byFlow(got);
    for (const [k, v] of s) assert.deepEqual(g.get(k), v, `seed ${seed}: flow ${k}`);
    assert.ok(server.ccp.stats.txCompressed > 10, `seed ${seed}: Deflate compressed some (${server.ccp.stats.txCompressed})`);
    assert.equal(pair.a.stats.drops["rx-vj-error"] ?? 0, 0, `seed ${seed}`);
    assert.equal(pair.a.stats.drops["rx-ccp-error"] ?? 0, 0, `seed ${seed}`);
  }
});

test("control frames leave before queued IP: an LCP Echo-Request overtakes a full queue", () => {
  const pair = opened(4);
  const server = pair.b;
  const c = new Conn(8080, 40000);
  for (let i = 0; i < 5; i++) server.sendIp(c.data(1400), pair.now);
  // An LCP Echo-Request from the peer, framed: our Echo-Reply is queued behind nothing.
  server.handleInput(new HdlcEncoder().encode(0xc021, new Uint8Array([9, 1, 0, 8, 0, 0, 0, 0])), pair.now);
  const first = server.pollTransmit()!;
  // LCP is never PFC/ACFC-compressed: FF 03 C0 21, then code 10 (Echo-Reply).
  assert.deepEqual([...first.subarray(0, 6)], [0x7e, 0xff, 0x03, 0xc0, 0x21, 0x0a], hex(first));
  assert.equal(server.txQueueBytes, 5 * 1440, "the IP datagrams are still queued, uncompressed");
});

test("txQueueFull at high water; tx-writable once it drains below low water; ip-down empties the queue", () => {
  const pair = opened(5, { highWater: 3000, lowWater: 1500 });
  const server = pair.b;
  const c = new Conn(8080, 40000);
  const evs: SessionEvent[] = [];
  server.sendIp(c.data(1400), pair.now);
  assert.equal(server.txQueueFull, false);
  server.sendIp(c.data(1400), pair.now);
  server.sendIp(c.data(1400), pair.now);
  assert.equal(server.txQueueFull, true, `${server.txQueueBytes} bytes`);
  for (let e = server.pollEvent(); e; e = server.pollEvent()) evs.push(e);
  assert.ok(!evs.some((e) => e.type === "tx-writable"));
  assert.ok(server.pollTransmit());
  assert.ok(!server.pollEvent(), "2880 bytes: not below low water yet");
  assert.ok(server.pollTransmit());
  assert.deepEqual(server.pollEvent(), { type: "tx-writable" });
  assert.equal(server.txQueueFull, false);
  server.sendIp(c.data(1400), pair.now);
  server.sendIp(c.data(1400), pair.now);
  server.sendIp(c.data(1400), pair.now);
  server.ipcp.fsm.close("test", pair.now);
  pair.run(() => server.ipcp.fsm.state !== "Opened");
  assert.equal(server.txQueueBytes, 0);
  assert.ok((server.stats.drops["tx-ip-not-up"] ?? 0) >= 4, JSON.stringify(server.stats.drops));
});
