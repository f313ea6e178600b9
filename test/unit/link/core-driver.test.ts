/**
 * CoreDriver with a fake core and a fake link on a ManualClock with a fake
 * timer scheduler (no sleeping), plus one short real-timer test and one run
 * over the in-process null-modem to show that backpressure keeps frames in
 * the core, not in the line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { CoreDriver, type DriverHangup, type SansIoCore } from "../../../src/link/core-driver.js";
import { FakeTimers } from "./fake-timers.js";
import type { Link } from "../../../src/link/link.js";
import { createNullModem } from "../../../src/link/null-modem.js";
import { ManualClock, type Millis } from "../../../stack/util/time.js";

type Ev = { type: "rx"; bytes: number[]; at: Millis } | { type: "tick"; at: Millis };

/** Echoes input back as a frame and reports it; fires a 'tick' at each deadline in `deadlines`. */
class FakeCore implements SansIoCore<Ev> {
  tx: Uint8Array[] = [];
  events: Ev[] = [];
  deadlines: Millis[] = [];
  inputs: { bytes: number[]; at: Millis }[] = [];
  timeouts: Millis[] = [];
  handleInput(b: Uint8Array, now: Millis): void {
    this.inputs.push({ bytes: [...b], at: now });
    this.tx.push(b.slice());
    this.events.push({ type: "rx", bytes: [...b], at: now });
  }
  handleTimeout(now: Millis): void {
    this.timeouts.push(now);
    while (this.deadlines.length && this.deadlines[0] <= now) {
      this.deadlines.shift();
      this.events.push({ type: "tick", at: now });
      this.tx.push(new Uint8Array([0xee]));
    }
  }
  pollTimeout(): Millis | undefined {
    return this.deadlines[0];
  }
  pollTransmit(): Uint8Array | undefined {
    return this.tx.shift();
  }
  pollEvent(): Ev | undefined {
    return this.events.shift();
  }
}

class FakeLink extends EventEmitter implements Link {
  readonly name = "fake";
  written: number[][] = [];
  /** write() returns false once this many more frames were accepted. */
  room = Infinity;
  write(bytes: Uint8Array): boolean {
    this.written.push([...bytes]);
    this.room--;
    return this.room > 0;
  }
  async close(): Promise<void> {}
}

function setup() {
  const clock = new ManualClock(1000);
  const timers = new FakeTimers(clock);
  const core = new FakeCore();
  const link = new FakeLink();
  const driver = new CoreDriver(core, link, { clock, timers });
  const events: Ev[] = [];
  driver.on("event", (e: Ev) => events.push(e));
  return { clock, timers, core, link, driver, events };
}

test("start flushes what the core already holds; data goes in with the clock's now; echo and event come out", () => {
  const { clock, core, link, driver, events } = setup();
  core.tx.push(new Uint8Array([1]));
  driver.start();
  assert.deepEqual(link.written, [[1]]);
  clock.advance(5);
  link.emit("data", Buffer.from([7, 8]));
  assert.deepEqual(core.inputs, [{ bytes: [7, 8], at: 1005 }]);
  assert.deepEqual(link.written, [[1], [7, 8]]);
  assert.deepEqual(events, [{ type: "rx", bytes: [7, 8], at: 1005 }]);
  assert.deepEqual(driver.stats().bytesIn, 2);
});

test("write() → false stops pulling from the core until 'drain'", () => {
  const { core, link, driver } = setup();
  link.room = 2;
  for (let i = 0; i < 5; i++) core.tx.push(new Uint8Array([i]));
  driver.start();
  assert.deepEqual(link.written, [[0], [1]], "the frame that got false was accepted; nothing after it");
  assert.equal(core.tx.length, 3, "the rest waits in the core");
  assert.equal(driver.waitingForDrain, true);
  driver.kick();
  assert.equal(link.written.length, 2, "kick does not bypass backpressure");
  link.room = Infinity;
  link.emit("drain");
  assert.deepEqual(link.written, [[0], [1], [2], [3], [4]]);
  assert.equal(driver.waitingForDrain, false);
  assert.equal(driver.stats().heldBack, 1);
});

test("one timer, armed at pollTimeout(), fired at the deadline, re-armed for the next", () => {
  const { timers, core, link, driver, events } = setup();
  core.deadlines = [1100, 1250];
  driver.start();
  assert.equal(timers.pending.size, 1);
  assert.equal(driver.armedDeadline, 1100);
  timers.advance(99);
  assert.deepEqual(core.timeouts, []);
  timers.advance(1);
  assert.deepEqual(core.timeouts, [1100]);
  assert.deepEqual(events, [{ type: "tick", at: 1100 }]);
  assert.deepEqual(link.written, [[0xee]]);
  assert.equal(timers.pending.size, 1, "never more than one timer");
  assert.equal(driver.armedDeadline, 1250);
  // Input that does not move the deadline does not re-create the timer.
  const before = [...timers.pending.keys()];
  link.emit("data", Buffer.from([1]));
  assert.deepEqual([...timers.pending.keys()], before);
  // An earlier deadline pushed from outside re-arms after kick().
  core.deadlines.unshift(1120);
  driver.kick();
  assert.equal(driver.armedDeadline, 1120);
  assert.equal(timers.pending.size, 1);
  timers.advance(200);
  assert.deepEqual(core.timeouts, [1100, 1120, 1250]);
  assert.equal(timers.pending.size, 0, "no deadline, no timer");
  assert.equal(driver.armedDeadline, undefined);
});

test("an 'event' listener may kick() re-entrantly: frames keep their order, nothing is lost", () => {
  const { core, link, driver } = setup();
  driver.on("event", (e: Ev) => {
    if (e.type === "rx" && e.bytes[0] === 1) {
      core.tx.push(new Uint8Array([99]));
      driver.kick();
    }
  });
  driver.start();
  link.emit("data", Buffer.from([1]));
  link.emit("data", Buffer.from([2]));
  assert.deepEqual(link.written, [[1], [99], [2]]);
});

test("hangup: re-emitted once as 'hangup' and as an 'event'; later transmit is discarded and counted; events and timers go on", () => {
  const { timers, core, link, driver } = setup();
  const reasons: string[] = [];
  driver.on("hangup", (r: string) => reasons.push(r));
  const seen: (Ev | DriverHangup)[] = [];
  driver.on("event", (e: Ev | DriverHangup) => {
    seen.push(e);
    if (e.type === "hangup") {
      core.deadlines = [1010]; // the app tells the session lineDown; it still has a timer to run
      driver.kick();
    }
  });
  driver.start();
  link.emit("hangup", "EOF");
  link.emit("hangup", "EOF");
  assert.deepEqual(reasons, ["EOF"]);
  timers.advance(10);
  assert.deepEqual(seen, [
    { type: "hangup", reason: "EOF" },
    { type: "tick", at: 1010 },
  ]);
  assert.deepEqual(link.written, [], "nothing written after hangup");
  assert.equal(driver.stats().framesDiscarded, 1);
});

test("stop detaches from the link and cancels the timer", () => {
  const { timers, core, link, driver } = setup();
  core.deadlines = [1050];
  driver.start();
  driver.stop();
  assert.equal(timers.pending.size, 0);
  link.emit("data", Buffer.from([5]));
  assert.deepEqual(core.inputs, []);
  assert.equal(link.listenerCount("data"), 0);
  assert.equal(link.listenerCount("hangup"), 0);
});

test("a core that throws is reported as 'error', not thrown into the link's callback", () => {
  const { core, link, driver } = setup();
  core.handleInput = () => {
    throw new Error("core bug");
  };
  const errors: Error[] = [];
  driver.on("error", (e: Error) => errors.push(e));
  driver.start();
  link.emit("data", Buffer.from([1]));
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /core bug/);
});

test("real timers: a 30 ms deadline fires after at least ~30 ms", async () => {
  const core = new FakeCore();
  const link = new FakeLink();
  const driver = new CoreDriver(core, link);
  const t0 = performance.now();
  core.deadlines = [t0 + 30];
  driver.start();
  const [ev] = (await once(driver, "event")) as [Ev];
  const dt = performance.now() - t0;
  assert.equal(ev.type, "tick");
  assert.ok(dt >= 29, `fired after ${dt.toFixed(1)} ms`);
  assert.ok(dt < 2000);
  driver.stop();
});

test("over the null-modem, a bulk sender's frames wait in the core, the line never overruns", async () => {
  const nm = createNullModem({ baud: 460800, fifoBytes: 4096 });
  /** A core with 40 frames of 1000 bytes to send. */
  const sender = new FakeCore();
  for (let i = 0; i < 40; i++) sender.tx.push(new Uint8Array(1000).fill(i));
  const receiver = new FakeCore();
  receiver.handleInput = function (b: Uint8Array) {
    this.inputs.push({ bytes: [b.length], at: 0 });
  };
  const dA = new CoreDriver(sender, nm.a);
  const dB = new CoreDriver(receiver, nm.b);
  dB.start();
  dA.start();
  assert.ok(sender.tx.length >= 30, `frames stayed in the core (${sender.tx.length} left after start)`);
  assert.equal(dA.waitingForDrain, true);
  let got = 0;
  while (got < 40_000) {
    await once(nm.b, "data");
    got = receiver.inputs.reduce((s, x) => s + x.bytes[0], 0);
  }
  assert.equal(got, 40_000);
  assert.equal(nm.stats().ab.bytesOverrun, 0);
  assert.ok(dA.stats().heldBack >= 5, `held back ${dA.stats().heldBack} times`);
  dA.stop();
  dB.stop();
  nm.close();
});
