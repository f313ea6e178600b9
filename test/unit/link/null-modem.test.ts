/**
 * The in-process null-modem (src/link/null-modem.ts) in real time: a short
 * smoke test of pacing, backpressure and hang-up. The pacing logic itself is
 * tested on a ManualClock in line-model.test.ts; bounds here are generous.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createNullModem } from "../../../src/link/null-modem.js";
import type { Link } from "../../../src/link/link.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { ManualClock } from "../../../stack/util/time.js";
import { FakeTimers } from "./fake-timers.js";

function collect(link: Link, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let got = 0;
    link.on("data", (b: Buffer) => {
      parts.push(b);
      got += b.length;
      if (got >= n) resolve(Buffer.concat(parts));
    });
  });
}

/** Write everything, honouring write() → false / 'drain'. Returns how many times it was held back. */
async function writeAll(link: Link, data: Uint8Array, chunk: number): Promise<number> {
  let held = 0;
  for (let o = 0; o < data.length; o += chunk) {
    if (!link.write(data.subarray(o, o + chunk))) {
      held++;
      await once(link, "drain");
    }
  }
  return held;
}

test("2 KB at 115200 takes at least 150 ms (8N1 needs 174 ms) and arrives intact", async () => {
  const nm = createNullModem({ baud: 115200 });
  try {
    const data = new SeededRng(11).fill(new Uint8Array(2048));
    const t0 = performance.now();
    const got = collect(nm.b, data.length);
    assert.equal(nm.a.write(data), true);
    const buf = await got;
    const dt = performance.now() - t0;
    assert.deepEqual(new Uint8Array(buf), data);
    assert.ok(dt >= 150, `too fast: ${dt.toFixed(1)} ms`);
    assert.ok(dt < 3000, `too slow: ${dt.toFixed(1)} ms`);
    assert.equal(nm.a.bitsPerSecond, 115200);
    assert.equal(nm.stats().ab.bytesDelivered, 2048);
  } finally {
    nm.close();
  }
});

test("a fast writer is held back by the 4 KiB FIFO, and both directions work at once", async () => {
  const nm = createNullModem({ baud: 921600 }); // 92 KB/s keeps the test short
  try {
    const ab = new SeededRng(1).fill(new Uint8Array(12_000));
    const ba = new SeededRng(2).fill(new Uint8Array(5_000));
    const gotB = collect(nm.b, ab.length);
    const gotA = collect(nm.a, ba.length);
    const [heldA] = await Promise.all([writeAll(nm.a, ab, 1500), writeAll(nm.b, ba, 1000)]);
    assert.ok(heldA >= 1, "the writer saw write() → false at least once");
    assert.deepEqual(new Uint8Array(await gotB), ab);
    assert.deepEqual(new Uint8Array(await gotA), ba);
    assert.equal(nm.stats().ab.bytesOverrun, 0, "an honest writer never overruns");
  } finally {
    nm.close();
  }
});

test("closing one end hangs up the other exactly once; the closer gets no hangup", async () => {
  const nm = createNullModem({ baud: 115200 });
  let hangupsA = 0;
  let hangupsB = 0;
  nm.a.on("hangup", () => hangupsA++);
  nm.b.on("hangup", () => hangupsB++);
  const h = once(nm.b, "hangup");
  await nm.a.close();
  await nm.a.close();
  const [reason] = await h;
  assert.equal(reason, "peer closed");
  assert.equal(nm.b.write(new Uint8Array([1])), false, "writes after hangup are refused");
  await new Promise((r) => setImmediate(r));
  assert.equal(hangupsA, 0);
  assert.equal(hangupsB, 1);
  nm.close();
});

test("simulated time: the whole pair on a ManualClock — pacing, drain, cut, seeded bit errors", () => {
  const seed = 4242;
  const clock = new ManualClock(0);
  const timers = new FakeTimers(clock);
  const nm = createNullModem({ baud: 9600, fifoBytes: 512, bitErrorRate: 1e-3, rng: new SeededRng(seed), clock, timers });
  const got: { at: number; n: number }[] = [];
  let received = 0;
  nm.b.on("data", (b: Buffer) => {
    got.push({ at: clock.now(), n: b.length });
    received += b.length;
  });
  let drains = 0;
  nm.a.on("drain", () => drains++);
  assert.equal(nm.a.write(new Uint8Array(600)), false, `seed ${seed}: 600 bytes overfill a 512-byte FIFO`);
  timers.advance(1000);
  // 9600 bit/s 8N1 = 960 B/s: 600 bytes take 625 ms.
  assert.equal(received, 600, `seed ${seed}`);
  assert.ok(Math.abs(got[got.length - 1].at - 625) <= 2, `seed ${seed}: last byte at ${got[got.length - 1].at} ms`);
  assert.equal(drains, 1, `seed ${seed}`);
  nm.a.write(new Uint8Array(96)); // 100 ms of line time
  nm.cut(50);
  timers.advance(200);
  const st = nm.stats();
  assert.ok(st.ab.bytesCut >= 47 && st.ab.bytesCut <= 49, `seed ${seed}: ${st.ab.bytesCut} bytes cut`);
  assert.equal(received, 600 + 96 - st.ab.bytesCut, `seed ${seed}`);
  assert.ok(st.ab.bitsFlipped > 0 && st.ab.bitsFlipped < 30, `seed ${seed}: ${st.ab.bitsFlipped} bits flipped of ~5.6k`);
  assert.equal(st.ba.bytesWritten, 0);
  nm.close();
  assert.equal(timers.pending.size, 0, "close cancels the timer");
});

test("reopen: after a hang-up both sides can open again and talk; the old ends stay dead", () => {
  const clock = new ManualClock(0);
  const timers = new FakeTimers(clock);
  const nm = createNullModem({ baud: 115200, clock, timers });
  const oldA = nm.a;
  const oldB = nm.b;
  const hangups: string[] = [];
  oldB.on("hangup", (r: string) => hangups.push(r));
  oldA.write(new Uint8Array(100)); // in flight when the line drops: lost
  const a2 = nm.reopen("a"); // closes the old a: b hangs up
  assert.deepEqual(hangups, ["peer closed"]);
  assert.notEqual(a2, oldA);
  assert.equal(nm.a, a2);
  const b2 = nm.reopen("b");
  let oldGot = 0;
  oldB.on("data", (d: Buffer) => (oldGot += d.length));
  let got = 0;
  b2.on("data", (d: Buffer) => (got += d.length));
  assert.equal(a2.write(new Uint8Array(50)), true);
  timers.advance(100);
  assert.equal(got, 50, "only the new bytes arrive, at the new end");
  assert.equal(oldGot, 0);
  assert.equal(oldA.write(new Uint8Array(1)), false, "a closed end refuses writes");
  nm.close();
  assert.throws(() => nm.reopen("a"), /after close/);
});

/** a writes 64 bytes every 0.5 ms for `ms` of simulated time; how many 'data' deliveries does b get? */
function deliveries(baud: number, ms: number): number {
  const clock = new ManualClock(0);
  const timers = new FakeTimers(clock);
  const nm = createNullModem({ baud, clock, timers });
  let n = 0;
  nm.b.on("data", () => n++);
  const tick = (): void => {
    nm.a.write(new Uint8Array(64));
    if (clock.now() < ms) timers.setTimeout(tick, 0.5);
  };
  tick();
  timers.advance(ms + 10);
  nm.close();
  return n;
}

test("receiver batching: a delivery at most every 2 ms at UART rates; none above FAST_LINE_BPS (simulated time)", () => {
  const uart = deliveries(4_000_000, 100);
  assert.ok(uart <= 52, `4 Mbit/s keeps the 2 ms receiver batching (${uart} deliveries in 100 ms)`);
  // 1 Gbit/s: each wake-up delivers what completed; on fake timers that is one per (ceil'ed) millisecond.
  const fast = deliveries(1e9, 100);
  assert.ok(fast >= 95, `1 Gbit/s: ${fast} deliveries in 100 ms`);
});

test("above FAST_LINE_BPS, on real timers, a hop takes an event-loop turn, not a 1 ms timer", async () => {
  const nm = createNullModem({ baud: 1e9 });
  const rounds = 200;
  let n = 0;
  nm.b.on("data", (d: Buffer) => nm.b.write(d));
  const done = new Promise<void>((resolve) =>
    nm.a.on("data", () => {
      if (++n === rounds) resolve();
      else nm.a.write(new Uint8Array(1500));
    }),
  );
  const t0 = performance.now();
  nm.a.write(new Uint8Array(1500));
  await done;
  const dt = performance.now() - t0;
  nm.close();
  // A 1 ms timer per hop would need >= 400 ms for 400 hops.
  assert.ok(dt < 350, `${rounds} round trips took ${dt.toFixed(0)} ms`);
});
