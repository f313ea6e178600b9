/**
 * The stdio link over in-memory streams (PassThrough stands in for the
 * stdin/stdout pipes): data both ways, EOF is a hangup, close is not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { PassThrough } from "node:stream";
import { createStdioLink } from "../../../src/link/stdio-link.js";

test("stdio link: data in, data out, EOF on input hangs up once", async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const link = createStdioLink({ input, output });
  assert.equal(link.name, "stdio");
  const got = once(link, "data");
  input.write(Buffer.from([0x7e, 0x01]));
  assert.deepEqual([...((await got)[0] as Buffer)], [0x7e, 0x01]);
  const out = once(output, "data");
  assert.equal(link.write(new Uint8Array([9, 8])), true);
  assert.deepEqual([...((await out)[0] as Buffer)], [9, 8]);
  let n = 0;
  link.on("hangup", () => n++);
  const h = once(link, "hangup");
  input.end();
  assert.equal((await h)[0], "EOF");
  await new Promise((r) => setImmediate(r));
  assert.equal(n, 1);
  assert.equal(link.write(new Uint8Array([1])), false);
  await link.close();
});

test("stdio link: a write error (EPIPE) is a hangup; close() is not", async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const link = createStdioLink({ input, output });
  const h = once(link, "hangup");
  output.destroy(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
  assert.equal((await h)[0], "write error: EPIPE");
  await link.close();

  const link2 = createStdioLink({ input: new PassThrough(), output: new PassThrough() });
  let n = 0;
  link2.on("hangup", () => n++);
  await link2.close();
  await link2.close();
  await new Promise((r) => setImmediate(r));
  assert.equal(n, 0);
});

test("stdio link on a TTY: raw mode on open, restored on close (and only if it was not raw before)", async () => {
  const calls: boolean[] = [];
  const fakeTty = Object.assign(new PassThrough(), {
    isTTY: true,
    isRaw: false,
    setRawMode(mode: boolean) {
      calls.push(mode);
      this.isRaw = mode;
      return this;
    },
  });
  const link = createStdioLink({ input: fakeTty, output: new PassThrough() });
  assert.deepEqual(calls, [true]);
  await link.close();
  assert.deepEqual(calls, [true, false]);

  const alreadyRaw = Object.assign(new PassThrough(), { isTTY: true, isRaw: true, setRawMode: (m: boolean) => calls.push(m) });
  const link2 = createStdioLink({ input: alreadyRaw, output: new PassThrough() });
  await link2.close();
  assert.deepEqual(calls, [true, false], "a terminal that was already raw is left alone");
});
