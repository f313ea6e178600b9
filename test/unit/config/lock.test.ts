/** UUCP lock files in a temp dir: create, stale removal, live-lock refusal, unlock, unwritable dir. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeviceLockError, formatLockPid, lockDevice, lockFileName } from "../../../src/link/lock.js";

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "ppproxy-lock-"));
  try {
    fn(dir);
  } finally {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
}

test("lock file name and pppd's %10d\\n contents", () => {
  assert.equal(lockFileName("/dev/ttyS1"), "LCK..ttyS1");
  assert.equal(lockFileName("ttyUSB0"), "LCK..ttyUSB0");
  assert.equal(formatLockPid(4242), "      4242\n");
  assert.equal(formatLockPid(4242).length, 11);
});

test("create, then release removes it", () =>
  withDir((dir) => {
    const l = lockDevice("/dev/ttyS1", { lockDir: dir, pid: 1234 });
    assert.equal(l.path, join(dir, "LCK..ttyS1"));
    assert.equal(readFileSync(l.path, "latin1"), "      1234\n");
    l.release();
    assert.equal(existsSync(l.path), false);
    l.release(); // idempotent
  }));

test("a stale lock (dead pid) is removed with a log line and taken", () =>
  withDir((dir) => {
    writeFileSync(join(dir, "LCK..ttyS1"), formatLockPid(999999));
    const logs: string[] = [];
    const l = lockDevice("/dev/ttyS1", { lockDir: dir, pid: 1234, isAlive: (p) => p !== 999999, log: (s) => logs.push(s) });
    assert.deepEqual(logs, ["Removed stale lock on ttyS1 (pid 999999)"]);
    assert.equal(readFileSync(l.path, "latin1"), "      1234\n");
    l.release();
  }));

test("a live lock is refused with pppd's message and left alone", () =>
  withDir((dir) => {
    const path = join(dir, "LCK..ttyS1");
    writeFileSync(path, formatLockPid(4321));
    assert.throws(
      () => lockDevice("/dev/ttyS1", { lockDir: dir, pid: 1234, isAlive: () => true }),
      (e: unknown) => e instanceof DeviceLockError && e.message === "Device ttyS1 is locked by pid 4321" && e.code === "EDEVLOCKED" && e.pid === 4321,
    );
    assert.equal(readFileSync(path, "latin1"), formatLockPid(4321));
  }));

test("the real liveness check: our own parent process is alive, so its lock is respected", () =>
  withDir((dir) => {
    writeFileSync(join(dir, "LCK..ttyS9"), formatLockPid(process.ppid));
    assert.throws(() => lockDevice("/dev/ttyS9", { lockDir: dir, pid: process.pid }), /locked by pid/);
  }));

test("release does not remove a lock that someone else now holds", () =>
  withDir((dir) => {
    const l = lockDevice("/dev/ttyS1", { lockDir: dir, pid: 1234 });
    writeFileSync(l.path, formatLockPid(5678));
    l.release();
    assert.equal(readFileSync(l.path, "latin1"), formatLockPid(5678));
  }));

test("a missing lock dir names the directory and suggests nolock / dialout", () =>
  withDir((dir) => {
    assert.throws(
      () => lockDevice("/dev/ttyS1", { lockDir: join(dir, "missing"), pid: 1 }),
      (e: unknown) =>
        e instanceof DeviceLockError && e.code === "ELOCKDIR" && e.message.includes(`lock directory ${join(dir, "missing")} does not exist`) && /'nolock'/.test(e.message) && /'dialout' or 'uucp'/.test(e.message),
    );
  }));

test("an unwritable lock dir names the directory", { skip: process.getuid?.() === 0 ? "running as root: permissions are not enforced" : false }, () =>
  withDir((dir) => {
    chmodSync(dir, 0o500);
    assert.throws(
      () => lockDevice("/dev/ttyS1", { lockDir: dir, pid: 1 }),
      (e: unknown) => e instanceof DeviceLockError && e.code === "ELOCKDIR" && e.message.includes(`lock directory ${dir} is not writable`) && /'nolock'/.test(e.message),
    );
  }));
