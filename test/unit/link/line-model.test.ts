/**
 * The emulated serial line core (src/link/line-model.ts) on a ManualClock:
 * pacing at baud/10, FIFO hold-back and drain, bit errors from a seeded Rng,
 * cuts. No timers, no sleeping.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LineModel, type LineEvent } from "../../../src/link/line-model.js";
import { ManualClock } from "../../../stack/util/time.js";
import { SeededRng } from "../../../stack/util/rng.js";

interface Delivery {
  at: number;
  bytes: Uint8Array;
}

/** Jump from deadline to deadline until the line is idle or `until` is reached; collect deliveries and events. */
function drive(line: LineModel, clock: ManualClock, until = Infinity): { out: Delivery[]; events: { at: number; ev: LineEvent }[] } {
  const out: Delivery[] = [];
  const events: { at: number; ev: LineEvent }[] = [];
  for (let guard = 0; guard < 1_000_000; guard++) {
    const t = line.pollTimeout();
    if (t === undefined || t > until) break;
    clock.set(t);
    line.handleTimeout(clock.now());
    for (let b; (b = line.pollTransmit()); ) out.push({ at: clock.now(), bytes: b });
    for (let e; (e = line.pollEvent()); ) events.push({ at: clock.now(), ev: e });
  }
  if (until !== Infinity) clock.set(until);
  return { out, events };
}

function concat(ds: Delivery[]): Uint8Array {
  const n = ds.reduce((s, d) => s + d.bytes.length, 0);
  const r = new Uint8Array(n);
  let o = 0;
  for (const d of ds) {
    r.set(d.bytes, o);
    o += d.bytes.length;
  }
  return r;
}

function pattern(n: number, seed = 1): Uint8Array {
  return new SeededRng(seed).fill(new Uint8Array(n));
}

test("115200 8N1 carries 2000 bytes in 2000*10/115200 s, in order, in small chunks", () => {
  const clock = new ManualClock(1000);
  const line = new LineModel({ baud: 115200, tickMs: 2 });
  const data = pattern(2000);
  assert.equal(line.write(data, clock.now()), true);
  const { out } = drive(line, clock);
  assert.deepEqual(concat(out), data);
  const expected = (2000 * 10 * 1000) / 115200; // 173.6 ms
  const last = out[out.length - 1].at - 1000;
  assert.ok(last >= expected - 1e-6 && last <= expected + 2, `last byte at +${last} ms, expected ~${expected}`);
  // No chunk may carry more bytes than the line could serialise since the previous one (+1 for rounding).
  let prev = 1000;
  for (const d of out) {
    const max = Math.floor((d.at - prev) / line.byteTime) + 1;
    if (prev === 1000) assert.ok(d.bytes.length <= Math.floor((d.at - 1000) / line.byteTime) + 1);
    else assert.ok(d.bytes.length <= max, `chunk of ${d.bytes.length} after ${d.at - prev} ms (max ${max})`);
    assert.ok(d.at - prev >= 2 - 1e-9 || prev === 1000, "deliveries are at least tickMs apart");
    prev = d.at;
  }
  assert.ok(out.length >= 80, `expected many small chunks, got ${out.length}`);
});

test("300 baud delivers single bytes as each completes (33.3 ms apart)", () => {
  const clock = new ManualClock(0);
  const line = new LineModel({ baud: 300 });
  line.write(new Uint8Array([1, 2, 3]), 0);
  const { out } = drive(line, clock);
  assert.deepEqual(
    out.map((d) => d.bytes.length),
    [1, 1, 1],
  );
  assert.ok(Math.abs(out[2].at - 100) < 1e-6, `third byte at ${out[2].at}`);
});

test("an idle line starts serialising at the write, not at the last delivery", () => {
  const clock = new ManualClock(0);
  const line = new LineModel({ baud: 9600 }); // 1.0417 ms per byte
  line.write(new Uint8Array(10), 0);
  drive(line, clock);
  clock.set(500);
  line.write(new Uint8Array(10), clock.now());
  const { out } = drive(line, clock);
  const last = out[out.length - 1].at;
  assert.ok(Math.abs(last - (500 + (10 * 10 * 1000) / 9600)) < 2.01, `second burst ended at ${last}`);
  assert.ok(out[0].at > 500);
});

test("FIFO full -> write false -> overrun if ignored -> drain at half -> write true", () => {
  const clock = new ManualClock(0);
  const line = new LineModel({ baud: 9600, fifoBytes: 100 });
  assert.equal(line.write(new Uint8Array(60), 0), true);
  assert.equal(line.write(new Uint8Array(60), 0), false, "crossing the FIFO size returns false");
  assert.equal(line.queuedBytes, 120, "the call that returned false was accepted");
  assert.equal(line.write(new Uint8Array(7), 0), false, "writing into a full FIFO is refused");
  assert.equal(line.stats().bytesOverrun, 7);
  const { out, events } = drive(line, clock);
  assert.equal(events.length, 1, "exactly one drain");
  // drain fires at the first delivery where queued <= 50, i.e. after 70 bytes are out.
  const outBeforeDrain = concat(out.filter((d) => d.at <= events[0].at)).length;
  assert.ok(outBeforeDrain >= 70 && outBeforeDrain <= 73, `drain after ${outBeforeDrain} bytes out`);
  assert.equal(concat(out).length, 120);
  assert.equal(line.write(new Uint8Array(10), clock.now()), true);
  assert.equal(line.stats().writesHeldBack, 2);
});

test("no drain event when the sender was never held back", () => {
  const clock = new ManualClock(0);
  const line = new LineModel({ baud: 9600, fifoBytes: 100 });
  line.write(new Uint8Array(99), 0);
  const { events } = drive(line, clock);
  assert.equal(events.length, 0);
});

test("bit errors: seeded, counted exactly, near the configured rate, replayable", () => {
  const seed = 0x5eed1;
  const ber = 1e-3;
  const run = (s: number) => {
    const clock = new ManualClock(0);
    const line = new LineModel({ baud: 1_000_000, fifoBytes: 1 << 20, bitErrorRate: ber, rng: new SeededRng(s) });
    const data = pattern(100_000, 7);
    line.write(data, 0);
    const got = concat(drive(line, clock).out);
    return { data, got, st: line.stats() };
  };
  const { data, got, st } = run(seed);
  assert.equal(got.length, data.length, `seed ${seed}`);
  let bits = 0;
  let bytes = 0;
  for (let i = 0; i < data.length; i++) {
    let x = data[i] ^ got[i];
    if (x) bytes++;
    for (; x; x &= x - 1) bits++;
  }
  assert.equal(bits, st.bitsFlipped, `seed ${seed}: flipped bits counted`);
  assert.equal(bytes, st.bytesCorrupted, `seed ${seed}: corrupted bytes counted`);
  const mean = 800_000 * ber; // 800
  const sd = Math.sqrt(mean);
  assert.ok(Math.abs(bits - mean) < 5 * sd, `seed ${seed}: ${bits} flips, expected ~${mean}`);
  assert.deepEqual(run(seed).got, got, `seed ${seed}: same seed, same damage`);
  assert.notDeepEqual(run(seed + 1).got, got, `seed ${seed}: another seed, other damage`);
});

test("a clean line (bitErrorRate 0) never needs an Rng and changes nothing", () => {
  const clock = new ManualClock(0);
  const line = new LineModel({ baud: 57600 });
  const data = pattern(5000, 3);
  line.write(data.subarray(0, 2500), 0);
  line.write(data.subarray(2500), 0);
  assert.deepEqual(concat(drive(line, clock).out), data);
  assert.equal(line.stats().bitsFlipped, 0);
  assert.throws(() => new LineModel({ baud: 9600, bitErrorRate: 0.01 }), /needs an rng/);
});

test("cut(ms) drops exactly the bytes completing during the cut; the line keeps its pace", () => {
  const clock = new ManualClock(0);
  const line = new LineModel({ baud: 10_000, fifoBytes: 1000, tickMs: 1 }); // exactly 1 ms per byte, delivered as each completes
  const data = new Uint8Array(100).map((_, i) => i);
  line.write(data, 0);
  drive(line, clock, 30.5); // bytes 0..29 delivered (byte k completes at k+1 ms)
  line.cut(20, clock.now()); // [30.5, 50.5): bytes completing at 31..50 ms are lost = bytes 30..49
  const before = 30;
  const { out } = drive(line, clock);
  const got = concat(out);
  assert.equal(line.stats().bytesCut, 20);
  assert.equal(got.length, 100 - before - 20);
  assert.equal(got[0], 50, "first byte after the cut");
  assert.equal(got[got.length - 1], 99);
  assert.ok(Math.abs(out[out.length - 1].at - 100) < 1e-6, "the cut does not change the line's timing");
  assert.equal(line.isCut(40), true);
  assert.equal(line.isCut(60), false);
});

test("bytes written during a cut are lost too", () => {
  const clock = new ManualClock(0);
  const line = new LineModel({ baud: 10_000 });
  line.cut(10, 0);
  line.write(new Uint8Array(5).fill(9), 0);
  assert.equal(concat(drive(line, clock).out).length, 0);
  assert.equal(line.stats().bytesCut, 5);
  line.write(new Uint8Array([1, 2]), clock.now() + 100);
  clock.set(clock.now() + 100);
  assert.deepEqual([...concat(drive(line, clock).out)], [1, 2]);
});

test("write copies: the caller may reuse its buffer", () => {
  const clock = new ManualClock(0);
  const line = new LineModel({ baud: 9600 });
  const buf = new Uint8Array([1, 2, 3]);
  line.write(buf, 0);
  buf.fill(0);
  assert.deepEqual([...concat(drive(line, clock).out)], [1, 2, 3]);
});

test("a fast line's big batches: runs across many written chunks come out whole and in order; a cut edge inside a batch still cuts byte-exactly", () => {
  const seed = 23;
  const rng = new SeededRng(seed);
  const clock = new ManualClock(0);
  // 1 Mbit/s: 100 bytes a ms, 0.01 ms a byte; 2 ms batches of ~200 bytes from writes of 1..97 bytes.
  const line = new LineModel({ baud: 1_000_000, fifoBytes: 1 << 20, tickMs: 2 });
  const data = pattern(20_000, seed);
  for (let off = 0; off < data.length; ) {
    const n = Math.min(data.length - off, 1 + (rng.u32() % 97));
    line.write(data.subarray(off, off + n), 0);
    off += n;
  }
  // Byte k completes at (k + 1) * 0.01 ms. Cut [50.005, 80.005): bytes completing at 50.01 .. 80.00 ms, i.e. k = 5000 .. 7999.
  const first = drive(line, clock, 50.005);
  line.cut(30, 50.005);
  const rest = drive(line, clock);
  const got = concat([...first.out, ...rest.out]);
  const want = new Uint8Array([...data.subarray(0, 5000), ...data.subarray(8000)]);
  assert.equal(line.stats().bytesCut, 3000, `seed ${seed}`);
  assert.equal(got.length, want.length, `seed ${seed}`);
  assert.ok(got.every((b, i) => b === want[i]), `bytes differ (seed ${seed})`);
  assert.ok(rest.out.some((d) => d.bytes.length > 100), "deliveries are batches, not bytes");
});
