/**
 * The serial link on real pseudo-terminals: a pair made by
 * `socat -d -d PTY,raw,echo=0,link=A PTY,raw,echo=0,link=B`. Checks data
 * both ways, that the line vanishing (socat killed) reaches both ends as
 * 'hangup', that close with a read in flight is safe, and that modem mode on a pty
 * (no modem lines) degrades to a soft error. Skips loudly without socat.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSerialLink } from "../../../src/link/serial-link.js";
import { openLink } from "../../../src/link/link.js";
import { readN } from "./read-n.js";

const haveSocat = spawnSync("socat", ["-V"], { stdio: "ignore" }).status === 0;
const skip = haveSocat ? false : "socat is not installed (apt-get install -y socat): serial link tests SKIPPED";
if (!haveSocat) console.warn(`\n*** ${skip} ***\n`);

interface PtyPair {
  a: string;
  b: string;
  socat: ChildProcess;
  done: () => void;
}

async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), "ppproxy-pty-"));
  const a = join(dir, "a");
  const b = join(dir, "b");
  const socat = spawn("socat", ["-d", "-d", `PTY,raw,echo=0,link=${a}`, `PTY,raw,echo=0,link=${b}`], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  socat.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  // socat prints "starting data transfer loop" once both ptys exist.
  for (let i = 0; i < 200 && !/starting data transfer loop/.test(log); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(existsSync(a) && existsSync(b), `socat did not make the ptys:\n${log}`);
  return {
    a,
    b,
    socat,
    done: () => {
      if (socat.exitCode === null) socat.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Collect exactly n bytes with one persistent listener (a once() per chunk would miss chunks emitted in between). */

test("serial over a socat pty pair: data both ways; killing socat hangs up both ends", { skip, timeout: 10_000 }, async () => {
  const pair = await ptyPair();
  try {
    const a = await openSerialLink({ device: pair.a, speed: 115200, local: true });
    const b = await openLink({ device: pair.b, speed: 115200, local: true });
    assert.equal(a.name, pair.a);
    assert.equal(a.bitsPerSecond, 115200);
    const data = Buffer.alloc(3000, 0).map((_, i) => (i * 7) & 0xff);
    const atB = readN(b, data.length);
    a.write(data);
    assert.deepEqual(await atB, data, "a → b, raw (0x00, 0x11, 0x13, 0x7e… pass untouched)");
    const atA = readN(a, 4);
    b.write(Buffer.from([0x7e, 0xff, 0x7d, 0x5e]));
    assert.deepEqual([...(await atA)], [0x7e, 0xff, 0x7d, 0x5e]);

    const ha = once(a, "hangup");
    const hb = once(b, "hangup");
    pair.socat.kill("SIGTERM");
    const [[ra], [rb]] = await Promise.all([ha, hb]);
    // One side typically sees EBADF from the poller ("closed: bad file descriptor"), the other a 0-byte read ("EOF").
    assert.match(String(ra), /closed|EOF/);
    assert.match(String(rb), /closed|EOF/);
    assert.equal(a.write(Buffer.from("x")), false);
    await a.close();
    await b.close();
  } finally {
    pair.done();
  }
});

test("closing right after open (read in flight) is safe; the far end survives a reopen", { skip, timeout: 10_000 }, async () => {
  // Observed: socat keeps a PTY pair alive when one slave is closed, so the far end gets no hangup here
  // (a real modem would drop DCD; over socat only LCP echo notices). What we check is that closing with a
  // read in flight does not crash (polling a destroyed poller is a SIGSEGV) and that the line is reusable.
  const pair = await ptyPair();
  try {
    const b = await openSerialLink({ device: pair.b, local: true });
    for (let i = 0; i < 3; i++) {
      const a = await openSerialLink({ device: pair.a, local: true });
      await a.close();
    }
    const a = await openSerialLink({ device: pair.a, local: true });
    const got = readN(b, 5);
    a.write(Buffer.from("again"));
    assert.equal((await got).toString(), "again");
    await a.close();
    await b.close();
  } finally {
    pair.done();
  }
});

test("modem mode on a pty: no modem lines → one soft error, no hangup, data still flows", { skip, timeout: 10_000 }, async () => {
  const pair = await ptyPair();
  try {
    const a = await openSerialLink({ device: pair.a, dcdPollMs: 20 });
    const b = await openSerialLink({ device: pair.b, local: true });
    const errors: Error[] = [];
    a.on("error", (e: Error) => errors.push(e));
    let hung = false;
    a.on("hangup", () => (hung = true));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(errors.length, 1, "said exactly once (a pty has no modem lines: TIOCMGET fails)");
    assert.match(errors[0].message, /cannot read modem lines/);
    assert.equal(hung, false);
    assert.equal(a.carrierSeen, false);
    const got = readN(b, 2);
    a.write(Buffer.from("ok"));
    assert.equal((await got).toString(), "ok");
    await a.close();
    await b.close();
  } finally {
    pair.done();
  }
});

test("opening a missing device fails with ENOENT naming it", async () => {
  await assert.rejects(openSerialLink({ device: "/dev/ppproxy-no-such-tty" }), (err: Error & { code?: string }) => {
    assert.equal(err.code, "ENOENT");
    assert.match(err.message, /^\/dev\/ppproxy-no-such-tty: open failed: ENOENT/);
    return true;
  });
});
