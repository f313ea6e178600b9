/**
 * proxy/join.ts: backpressure (a stuck writer stops the reader), FIN
 * relayed as end() both ways, an error destroys both sides. In-memory
 * Duplex pairs, no sockets, no timers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { join } from "../../../proxy/join.js";

/** A Duplex whose readable side the test pushes into and whose writes the test controls. */
class FakeSocket extends Duplex {
  written: Buffer[] = [];
  writtenBytes = 0;
  ended = false;
  stuck = false;
  private held: (() => void)[] = [];
  constructor() {
    super({ allowHalfOpen: true, highWaterMark: 16 * 1024 });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(chunk);
    this.writtenBytes += chunk.length;
    if (this.stuck) this.held.push(() => cb());
    else cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.ended = true;
    cb();
  }
  unstick(): void {
    this.stuck = false;
    for (const h of this.held.splice(0)) h();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test("backpressure: a stuck writer stops reading from the other side", async () => {
  const a = new FakeSocket();
  const b = new FakeSocket();
  b.stuck = true;
  join(a, b);
  const chunk = Buffer.alloc(4096, 1);
  let pushed = 0;
  for (let i = 0; i < 1000; i++) {
    a.push(chunk);
    pushed += chunk.length;
    await tick();
  }
  // b took one chunk into _write and buffers up to its highWaterMark; a holds the rest unread.
  const bound = 2 * 16 * 1024 + chunk.length;
  assert.ok(b.writtenBytes + b.writableLength <= bound, `relay buffered ${b.writtenBytes + b.writableLength} bytes, bound ${bound}`);
  assert.ok(a.readableLength >= pushed - bound - 16 * 1024, `reader kept ${a.readableLength} of ${pushed}`);
  b.unstick();
  for (let i = 0; i < 200 && b.writtenBytes < pushed; i++) {
    b.unstick();
    await tick();
  }
  assert.equal(b.writtenBytes, pushed, "everything arrives once the writer drains");
});

test("FIN: end on one side ends the other; both directions finish independently", async () => {
  const a = new FakeSocket();
  const b = new FakeSocket();
  let done: Error | undefined | "pending" = "pending";
  join(a, b, (err) => (done = err));
  a.push("x");
  a.push(null); // a's peer sent FIN
  await tick();
  assert.equal(b.ended, true, "b got end()");
  assert.equal(a.ended, false, "a's write side is still open (half-close)");
  b.push("reply after FIN");
  await tick();
  assert.equal(Buffer.concat(a.written).toString(), "reply after FIN");
  assert.equal(done, "pending");
  b.push(null);
  await tick();
  assert.equal(a.ended, true);
  assert.equal(done, undefined, "done without error after both directions");
});

test("an error on one side destroys both and is reported once", async () => {
  const a = new FakeSocket();
  const b = new FakeSocket();
  const reports: (Error | undefined)[] = [];
  join(a, b, (err) => reports.push(err));
  b.destroy(Object.assign(new Error("reset by peer"), { code: "ECONNRESET" }));
  await tick();
  await tick();
  assert.ok(a.destroyed && b.destroyed);
  assert.equal(reports.length, 1);
  assert.equal((reports[0] as Error & { code?: string }).code, "ECONNRESET");
});
