/**
 * The pty null-modem (two socat ptys joined through the line model), driven
 * through our own serial links: pacing, both directions, hold-back of a
 * writer, and that close() hangs up the programs on both ptys. Skips loudly
 * without socat.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPtyNullModem, rxOverrunBytes, RX_OVERRUN_BYTES } from "../../../src/link/pty-null-modem.js";
import { openSerialLink } from "../../../src/link/serial-link.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { readN } from "./read-n.js";

const haveSocat = spawnSync("socat", ["-V"], { stdio: "ignore" }).status === 0;
const skip = haveSocat ? false : "socat is not installed (apt-get install -y socat): pty null-modem tests SKIPPED";
if (!haveSocat) console.warn(`\n*** ${skip} ***\n`);


test("pty null-modem at 115200: 2 KB takes >= 150 ms, both ways, close hangs up both programs", { skip, timeout: 15_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ppproxy-nm-"));
  const nm = await startPtyNullModem({ paths: [join(dir, "ttyA"), join(dir, "ttyB")], baud: 115200 });
  try {
    assert.match(nm.devices[0], /^\/dev\/pts\/\d+$/);
    const a = await openSerialLink({ device: nm.paths[0], local: true });
    const b = await openSerialLink({ device: nm.paths[1], local: true });
    const data = new SeededRng(5).fill(new Uint8Array(2048));
    const t0 = performance.now();
    const atB = readN(b, data.length);
    a.write(data);
    const got = await atB;
    const dt = performance.now() - t0;
    assert.deepEqual(new Uint8Array(got), data);
    assert.ok(dt >= 150, `2 KB at 115200 took only ${dt.toFixed(1)} ms`);
    assert.ok(dt < 5000, `too slow: ${dt.toFixed(1)} ms`);

    const back = readN(a, 300);
    b.write(Buffer.alloc(300, 0x7e));
    assert.deepEqual(await back, Buffer.alloc(300, 0x7e));
    assert.equal(nm.stats().ab.bytesDelivered, 2048);
    assert.equal(nm.stats().ba.bytesDelivered, 300);

    const ha = once(a, "hangup");
    const hb = once(b, "hangup");
    await nm.close();
    await Promise.all([ha, hb]);
    await a.close();
    await b.close();
  } finally {
    await nm.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a writer faster than the line is held back: 20 KB at 230400 takes the line time (868 ms), never overruns", { skip, timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ppproxy-nm-"));
  // 230400 bit/s = 23 KB/s keeps the test short; 20 KB need ~0.87 s.
  const nm = await startPtyNullModem({ paths: [join(dir, "ttyA"), join(dir, "ttyB")], baud: 230400 });
  try {
    const a = await openSerialLink({ device: nm.paths[0], local: true });
    const b = await openSerialLink({ device: nm.paths[1], local: true });
    const data = new SeededRng(9).fill(new Uint8Array(20_000));
    const t0 = performance.now();
    const atB = readN(b, data.length);
    a.write(data); // the pty and pipes take it all; the line model paces it
    const got = await atB;
    const dt = performance.now() - t0;
    assert.deepEqual(new Uint8Array(got), data);
    assert.ok(dt >= 800, `20 KB at 230400 took only ${dt.toFixed(1)} ms (expected >= 868)`);
    const st = nm.stats();
    assert.equal(st.ab.bytesOverrun, 0, "the pipe was paused, not overrun");
    assert.ok(st.ab.writesHeldBack >= 1, "the FIFO filled and held the writer back");
    await a.close();
    await b.close();
  } finally {
    await nm.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a fast line's batches do not overrun a program that reads late: 1 MiB at 1 Gbit/s (1 MiB FIFO) arrives whole", { skip, timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ppproxy-nm-"));
  // At 1 Gbit/s the whole 1 MiB is on the far side within a few 2 ms batches: far past a 64 KiB tty buffer.
  const nm = await startPtyNullModem({ paths: [join(dir, "ttyA"), join(dir, "ttyB")], baud: 1e9, fifoBytes: 1 << 20 });
  let watch: NodeJS.Timeout | undefined;
  try {
    const a = await openSerialLink({ device: nm.paths[0], local: true });
    const b = await openSerialLink({ device: nm.paths[1], local: true });
    // The program on B is busy (as ppproxy is, with a whole stack on its event loop): it stops reading until the line has delivered everything.
    const portB = (b as unknown as { port: Readable }).port;
    portB.pause();
    const data = new SeededRng(11).fill(new Uint8Array(1 << 20));
    const atB = readN(b, data.length);
    a.write(data);
    const delivered = new Promise<void>((resolve) => {
      watch = setInterval(() => nm.stats().ab.bytesDelivered >= data.length && resolve(), 10);
    });
    await delivered;
    clearInterval(watch);
    assert.deepEqual(nm.stats().rxOverrun, [0, 0], "no receiver overrun while B was not reading");
    portB.resume();
    const got = await atB;
    assert.ok(Buffer.compare(got, data) === 0, "1 MiB intact, in order");
    assert.equal(rxOverrunBytes(115200), RX_OVERRUN_BYTES, "slow lines keep the 64 KiB tty buffer");
    assert.equal(rxOverrunBytes(1e9), 2_000_000, "1 Gbit/s: 20 ms of line");
    await a.close();
    await b.close();
  } finally {
    clearInterval(watch);
    await nm.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a missing socat binary is a clear error", async () => {
  await assert.rejects(startPtyNullModem({ paths: ["/tmp/x-a", "/tmp/x-b"], baud: 9600, socat: "/nonexistent/socat" }), (err: Error & { code?: string }) => {
    assert.equal(err.code, "ENOENT");
    assert.match(err.message, /cannot run/);
    return true;
  });
});
