/**
 * Two TcpLayers joined by a simulated link on one ManualClock: 10 MiB each
 * way with exact SHA-256 under seeded loss, reordering, duplication and bit
 * errors, Reno and CUBIC, then an orderly close. The seed is in every failure
 * message; TCP_SEEDS=n runs more seeds (default 12), TCP_MIB=n changes size.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { A, B, Pair, type LinkFaults } from "./harness.js";
import { BulkApp } from "./bulk-app.js";
import type { TcpConnection } from "../../../stack/tcp/connection.js";

const SEEDS = Number(process.env.TCP_SEEDS ?? 12);
const SIZE = Number(process.env.TCP_MIB ?? 10) * 1024 * 1024;

function transfer(seed: number, faults: LinkFaults, congestion: "reno" | "cubic", size = SIZE): Pair & { client: TcpConnection } {
  const p = new Pair(seed, faults, { congestion });
  p.b.listen(B, 80);
  const ca = p.a.connect({ localAddress: A, host: B, port: 80 }, p.now);
  const appA = new BulkApp(ca, size, 0);
  const appB = new BulkApp(undefined, size, 777);
  p.onStep = () => {
    for (let e = p.b.pollEvent(); e; e = p.b.pollEvent()) if (e.type === "accept") appB.conn = e.conn;
    while (p.a.pollEvent());
    appA.pump(p.now);
    appB.pump(p.now);
  };
  const finished = () =>
    appA.received === size && appB.received === size &&
    (ca.state === "TimeWait" || ca.state === "Closed") &&
    (appB.conn?.state === "TimeWait" || appB.conn?.state === "Closed");
  const ok = p.run(finished, 3_600_000);
  const why = `seed ${seed} (${congestion}, ${JSON.stringify(faults)}): A got ${appA.received}, B got ${appB.received}, states ${ca.state}/${appB.conn?.state}, sim ${Math.round(p.now)} ms`;
  assert.ok(ok, `did not finish: ${why}`);
  assert.equal(appB.recvHash.digest("hex"), BulkApp.expected(size, 0), `A->B corrupted: ${why}`);
  assert.equal(appA.recvHash.digest("hex"), BulkApp.expected(size, 777), `B->A corrupted: ${why}`);
  return Object.assign(p, { client: ca });
}

test("pair: 10 MiB each way over a clean link", () => {
  const p = transfer(1, { latency: 5 }, "reno");
  assert.equal(p.a.stats()["tcp.retransmit"], undefined, "no retransmissions on a clean link");
});

for (let seed = 1; seed <= SEEDS; seed++) {
  const faults: LinkFaults = {
    latency: 2 + (seed % 5) * 3,
    jitter: seed % 3 === 0 ? 0 : 2 + (seed % 4) * 2,
    loss: 0.005 + (seed % 4) * 0.01,
    duplicate: 0.01,
    corrupt: 0.005 + (seed % 2) * 0.01,
  };
  const cc = seed % 2 ? "reno" : "cubic";
  test(`pair: 10 MiB each way, seed ${seed}, ${cc}, lossy/reordering/duplicating/corrupting link`, () => {
    const p = transfer(seed, faults, cc);
    const s = { ...p.a.stats(), ...p.b.stats() };
    assert.ok(p.maxSegment <= 1500 - 20, `seed ${seed}: a ${p.maxSegment}-byte segment exceeds the 1500-byte MTU (SACK blocks must shrink the payload)`);
    assert.ok((s["tcp.drop.bad-checksum"] ?? 0) > 0 || !faults.corrupt, `seed ${seed}: corruption must be caught by the checksum`);
  });
}

test("pair: a bandwidth-limited link with a long RTT still completes (window scaling in use)", () => {
  const p = transfer(99, { latency: 40, rate: 2000, loss: 0.002 }, "cubic", 4 * 1024 * 1024);
  assert.equal(p.client.wsEnabled, true);
  assert.equal(p.client.tsEnabled, true);
  assert.equal(p.client.sackEnabled, true);
});

test("pair: 300 short connections (request, response, close) leave nothing behind after 2·MSL", () => {
  const p = new Pair(5, { latency: 3, loss: 0.01 });
  p.b.listen(B, 80);
  const apps: BulkApp[] = [];
  const server: BulkApp[] = [];
  for (let i = 0; i < 300; i++) {
    const c = p.a.connect({ localAddress: A, host: B, port: 80 }, p.now);
    apps.push(new BulkApp(c, 100 + i, i));
  }
  p.onStep = () => {
    for (let e = p.b.pollEvent(); e; e = p.b.pollEvent()) {
      if (e.type === "accept") server.push(new BulkApp(e.conn, 1000, 0));
    }
    while (p.a.pollEvent());
    for (const a of apps) a.pump(p.now);
    for (const s of server) s.pump(p.now);
  };
  assert.ok(p.run(() => server.length === 300 && apps.every((a) => a.received === 1000) && server.every((s) => s.received > 0)));
  p.advance(61_000);
  for (const [name, layer] of [["A", p.a], ["B", p.b]] as const) {
    const s = layer.stats();
    assert.equal(s["tcp.connections"], 0, `${name}: connections left`);
    assert.equal(s["tcp.buffer-reserved"], 0, `${name}: buffer reservations leaked`);
  }
  assert.equal(new Set(apps.map((a) => a.conn!.localPort)).size, 300, "distinct ephemeral ports");
});
