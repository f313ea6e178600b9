/** End to end over the simulated lossy link, IP layers only: ping and UDP request/response, and fragmented UDP. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { IpLayer } from "../../../stack/ip/ip-layer.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { ManualClock } from "../../../stack/util/time.js";
import { parseIp4 } from "../../../stack/util/addr.js";
import { clean, SimPair } from "./sim-link.js";

const A = parseIp4("10.200.2.1")!;
const B = parseIp4("10.200.2.2")!;

test("ping over a clean 5 ms link: RTT 10 ms plus serialisation", () => {
  const clock = new ManualClock();
  const a = new IpLayer({ rng: new SeededRng(1), address: A });
  const b = new IpLayer({ rng: new SeededRng(2), address: B });
  const pair = new SimPair(clock, new SeededRng(3), [a, b], clean);
  a.icmp.startPing(A, B, 1, 1, new Uint8Array(56), clock.now(), 1000);
  let ev: ReturnType<typeof a.icmp.pollPingEvent>;
  pair.drive(() => (ev = a.icmp.pollPingEvent()) !== undefined, 2000);
  assert.ok(ev && ev.kind === "ping-reply", JSON.stringify(ev));
  assert.ok(ev.rtt >= 10 && ev.rtt < 10.1, `rtt ${ev.rtt}`);
});

for (const seed of [11, 12, 13, 14]) {
  test(`UDP echo of fragmented 4000-byte datagrams over a lossy, reordering, duplicating, corrupting link (seed ${seed})`, () => {
    const clock = new ManualClock();
    const rng = new SeededRng(seed);
    const a = new IpLayer({ rng: new SeededRng(seed + 100), address: A, mtu: 1500 });
    const b = new IpLayer({ rng: new SeededRng(seed + 200), address: B, mtu: 1500 });
    const pair = new SimPair(clock, rng, [a, b], { ...clean, loss: 0.02, reorder: 0.1, reorderMs: 3, dup: 0.05, corrupt: 0.02 });
    const sp = b.udp.bind(7);
    const cp = a.udp.bind(0);
    const sent = new Map<string, number>();
    const got = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const msg = new SeededRng(seed * 1000 + i).fill(new Uint8Array(4000));
      const h = createHash("sha256").update(msg).digest("hex");
      sent.set(h, i);
      a.udp.send(A, cp, B, sp, msg);
    }
    pair.drive(
      () => false,
      5000,
      () => {
        for (let d = b.udp.recv(sp); d; d = b.udp.recv(sp)) b.udp.send(B, sp, d.src, d.srcPort, d.payload);
        for (let d = a.udp.recv(cp); d; d = a.udp.recv(cp)) {
          const h = createHash("sha256").update(d.payload).digest("hex");
          assert.ok(sent.has(h), `seed ${seed}: a datagram came back altered`);
          got.add(h);
        }
      },
    );
    // Each of 3 fragments × 2 directions must survive ~4% loss+corruption: ~78% expected; never altered.
    assert.ok(got.size > 55 && got.size <= 100, `seed ${seed}: ${got.size} of 100 echoed; link ${JSON.stringify(pair.counts)}`);
    const s = a.stats();
    assert.ok((s["frag.reassembled"] ?? 0) >= got.size, `seed ${seed}`);
    // Stale partial datagrams time out after 30 s and free their memory.
    clock.advance(31_000);
    a.handleTimeout(clock.now());
    b.handleTimeout(clock.now());
    assert.equal(a.reassembler.bytesHeld + b.reassembler.bytesHeld, 0, `seed ${seed}`);
  });
}
