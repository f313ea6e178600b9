/**
 * CoreDriver pacing on a ManualClock with fake timers: at a known line rate
 * the driver keeps at most `aheadBytes` + one frame written ahead of the
 * wire (checked against an independent model of the line), still keeps the
 * line busy, lets a frame that arrives late go out after at most that lead,
 * and leaves links with no known rate (or pacing off) as before.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { CoreDriver, type CoreDriverOptions, type SansIoCore } from "../../../src/link/core-driver.js";
import type { Link } from "../../../src/link/link.js";
import { FakeTimers } from "../link/fake-timers.js";
import { ManualClock, type Millis } from "../../../stack/util/time.js";
import { SeededRng } from "../../../stack/util/rng.js";

class QueueCore implements SansIoCore<never> {
  tx: Uint8Array[] = [];
  handleInput(): void {}
  handleTimeout(): void {}
  pollTimeout(): Millis | undefined {
    return undefined;
  }
  pollTransmit(): Uint8Array | undefined {
    return this.tx.shift();
  }
  pollEvent(): never | undefined {
    return undefined;
  }
}

/** A line of `bps` 8N1 with an unbounded buffer: records when each byte would leave. */
class ModelLink extends EventEmitter implements Link {
  readonly name = "model";
  /** Time the line finishes what it has been given. */
  busyUntil = 0;
  written: { at: Millis; len: number; unsentBefore: number }[] = [];
  maxUnsent = 0;
  constructor(readonly bitsPerSecond: number | undefined, private readonly clock: ManualClock, private readonly room = Infinity) {
    super();
  }
  get bytesPerMs(): number {
    return (this.bitsPerSecond ?? 115200) / 10 / 1000;
  }
  unsent(): number {
    return Math.max(0, (this.busyUntil - this.clock.now()) * this.bytesPerMs);
  }
  write(b: Uint8Array): boolean {
    const now = this.clock.now();
    const unsentBefore = this.unsent();
    this.written.push({ at: now, len: b.length, unsentBefore });
    this.busyUntil = Math.max(this.busyUntil, now) + b.length / this.bytesPerMs;
    this.maxUnsent = Math.max(this.maxUnsent, this.unsent());
    return this.unsent() < this.room;
  }
  async close(): Promise<void> {}
}

function rig(bps: number | undefined, pacing: CoreDriverOptions["pacing"], room = Infinity) {
  const clock = new ManualClock(1000);
  const timers = new FakeTimers(clock);
  const core = new QueueCore();
  const link = new ModelLink(bps, clock, room);
  const driver = new CoreDriver(core, link, { clock, timers, pacing });
  driver.start();
  return { clock, timers, core, link, driver };
}

test("115200 bit/s: never more than aheadBytes + one frame ahead of the wire, and the line stays busy", () => {
  for (const seed of [1, 2, 3]) {
    const rng = new SeededRng(seed);
    const { clock, timers, core, link, driver } = rig(115200, true);
    const ahead = driver.pacingAheadBytes;
    assert.equal(ahead, 461, "40 ms of 11,520 B/s");
    let total = 0;
    let maxFrame = 0;
    for (let i = 0; i < 200; i++) {
      const f = new Uint8Array(40 + rng.below(1520));
      core.tx.push(f);
      total += f.length;
      maxFrame = Math.max(maxFrame, f.length);
    }
    driver.kick();
    const start = clock.now();
    timers.advance(60_000);
    assert.equal(core.tx.length, 0, `seed ${seed}: all sent`);
    for (const w of link.written) assert.ok(w.unsentBefore < ahead + 1e-6, `seed ${seed}: wrote at ${w.at} with ${w.unsentBefore.toFixed(1)} B unsent`);
    assert.ok(link.maxUnsent <= ahead + maxFrame, `seed ${seed}: ${link.maxUnsent.toFixed(0)} B ahead > ${ahead} + ${maxFrame}`);
    const wireMs = total / link.bytesPerMs;
    const took = link.busyUntil - start;
    assert.ok(took <= wireMs * 1.001 + 1, `seed ${seed}: the line idled: ${took.toFixed(1)} ms for ${wireMs.toFixed(1)} ms of bytes`);
    assert.ok(driver.stats().paced > 50, `seed ${seed}: paced ${driver.stats().paced}×`);
    assert.equal(driver.waitingForDrain, false, "the link never said false");
    driver.stop();
    assert.equal(timers.pending.size, 0, "stop() cancels the pacing timer");
  }
});

test("a frame queued behind bulk leaves within (aheadBytes + one frame) of line time", () => {
  const { clock, timers, core, link, driver } = rig(115200, { aheadBytes: 300 });
  for (let i = 0; i < 50; i++) core.tx.push(new Uint8Array(1500));
  driver.kick();
  timers.advance(777);
  // The urgent frame goes to the front of the core's queue (as the session's priority band does).
  const marker = new Uint8Array(60).fill(0xaa);
  core.tx.unshift(marker);
  driver.kick();
  const queuedAt = clock.now();
  timers.advance(5000);
  const i = link.written.findIndex((w) => w.len === 60);
  assert.ok(i > 0);
  const onWireBy = link.written[i].at + link.written[i].unsentBefore / link.bytesPerMs;
  const lead = (300 + 1500) / link.bytesPerMs;
  assert.ok(onWireBy - queuedAt <= lead + 1, `waited ${(onWireBy - queuedAt).toFixed(1)} ms > ${lead.toFixed(1)} ms`);
});

test("no known rate, or pacing off: write until the link says false, as before", () => {
  for (const [bps, pacing] of [[undefined, true], [115200, false], [115200, undefined]] as const) {
    const { core, link, driver } = rig(bps, pacing, 4096);
    for (let i = 0; i < 20; i++) core.tx.push(new Uint8Array(1000));
    driver.kick();
    assert.equal(link.written.length, 5, `bps ${bps} pacing ${pacing}: wrote until false`);
    assert.equal(driver.waitingForDrain, true);
    assert.equal(driver.stats().paced, 0);
    driver.stop();
  }
});

test("a link faster than maxBitsPerSecond is not paced", () => {
  const { core, link, driver } = rig(1e9, true);
  for (let i = 0; i < 20; i++) core.tx.push(new Uint8Array(1000));
  driver.kick();
  assert.equal(link.written.length, 20);
  assert.equal(driver.pacingAheadBytes, Infinity);
});
