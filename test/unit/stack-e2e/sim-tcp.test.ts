/**
 * IP + TCP cores end to end over the simulated link on a ManualClock: 10 MiB
 * each way with exact sha256, clean and under seeded loss, reordering,
 * duplication and corruption, for several seeds (printed on failure).
 * STACK_E2E_SEEDS=N runs a larger sweep (seeds 1..N).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseIp4 } from "../../../stack/util/addr.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { ManualClock } from "../../../stack/util/time.js";
import { clean, SimPair, type Impairments } from "./sim-link.js";
import { BulkSide, makeHost, sha256 } from "./tcp-app.js";

const A = parseIp4("10.200.3.1")!;
const B = parseIp4("10.200.3.2")!;
const SIZE = Number(process.env.STACK_E2E_BYTES ?? 10 * 1024 * 1024);
const dataA = new SeededRng(0xa).fill(new Uint8Array(SIZE));
const dataB = new SeededRng(0xb).fill(new Uint8Array(SIZE));
const shaA = sha256(dataA);
const shaB = sha256(dataB);

function transfer(seed: number, imp: Impairments, mtu = 1500): { simMs: number; wallMs: number; counts: SimPair["counts"]; overMtu: number } {
  const clock = new ManualClock(0);
  const a = makeHost(A, seed * 2 + 1, mtu);
  const b = makeHost(B, seed * 2 + 2, mtu);
  const pair = new SimPair(clock, new SeededRng(seed), [a.ip, b.ip], imp);
  b.tcp.listen(B, 80);
  const ca = a.tcp.connect({ localAddress: A, host: B, port: 80 }, clock.now());
  const sa = new BulkSide(ca, dataA, clock);
  let sb: BulkSide | undefined;
  const t0 = performance.now();
  const ok = pair.drive(
    () => sa.eof && sb !== undefined && sb.eof,
    3_600_000,
    () => {
      for (let e = a.tcp.pollEvent(); e; e = a.tcp.pollEvent());
      for (let e = b.tcp.pollEvent(); e; e = b.tcp.pollEvent()) if (e.type === "accept") sb = new BulkSide(e.conn, dataB, clock);
      sa.step();
      sb?.step();
    },
  );
  const ctx = `seed ${seed} imp ${JSON.stringify(imp)} link ${JSON.stringify(pair.counts)} a.rx ${sa.received} b.rx ${sb?.received} sim ${clock.now()} ms`;
  assert.ok(ok, `transfer did not finish: ${ctx}`);
  assert.equal(sb!.received, SIZE, ctx);
  assert.equal(sb!.digest, shaA, `B got A's bytes altered: ${ctx}`);
  assert.equal(sa.received, SIZE, ctx);
  assert.equal(sa.digest, shaB, `A got B's bytes altered: ${ctx}`);
  const overMtu = a.ip.counter("tx.tcp-over-mtu") + b.ip.counter("tx.tcp-over-mtu");
  return { simMs: clock.now(), wallMs: performance.now() - t0, counts: pair.counts, overMtu };
}

test("clean 100 Mbit/s, 5 ms link: 10 MiB each way, exact", () => {
  const r = transfer(1, clean);
  assert.equal(r.overMtu, 0, "on a clean link no TCP segment may exceed the MTU");
  console.log(`  clean: ${r.simMs.toFixed(0)} sim ms, ${r.wallMs.toFixed(0)} wall ms, ${JSON.stringify(r.counts)}`);
});

const lossy: Impairments = { ...clean, loss: 0.01, reorder: 0.03, reorderMs: 4, dup: 0.01, corrupt: 0.005 };
const sweep = Number(process.env.STACK_E2E_SEEDS ?? 0);
const seeds = sweep > 0 ? Array.from({ length: sweep }, (_, i) => i + 1) : [101, 102, 103, 104, 105, 106, 107, 108];

for (const seed of seeds) {
  test(`lossy link (loss 1%, reorder 3%, dup 1%, corrupt 0.5%), seed ${seed}: 10 MiB each way, exact`, () => {
    const r = transfer(seed, lossy);
    console.log(`  seed ${seed}: ${r.simMs.toFixed(0)} sim ms, ${r.wallMs.toFixed(0)} wall ms, ${JSON.stringify(r.counts)}`);
  });
}

// Known TCP sizing bug (stack/tcp, engineer F): segments that carry SACK blocks
// still carry a full MSS of data, so they exceed the MTU; the IP layer sends them
// fragmented (counted as ip.tx.tcp-over-mtu) instead of dropping them. Marked todo
// until the MSS accounts for SACK options; it fails (as a todo) while the bug is there.
test("our TCP never emits a segment over the MTU, even with SACK blocks (no IP fragmentation of TCP)", { todo: "stack/tcp: data segments with SACK options exceed the MSS" }, () => {
  const r = transfer(101, lossy);
  assert.equal(r.overMtu, 0, `${r.overMtu} TCP segments exceeded the MTU and were fragmented`);
});
