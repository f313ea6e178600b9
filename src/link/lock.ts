/**
 * UUCP lock files for serial devices, as pppd's utils.c lock()/unlock():
 * `<lockDir>/LCK..<basename of device>` holding our PID as ten
 * right-aligned ASCII digits and a newline ("%10d\n"). A lock whose PID is
 * no longer alive (kill(pid, 0) -> ESRCH) or is 0 is stale: it is removed
 * with a log line and the lock is taken. A live one is refused with
 * pppd's words. Created with O_EXCL, so two ppproxy/pppd/minicom processes
 * never both win.
 *
 * Sits in src/link (a Node edge: it touches the file system). The lock
 * directory, our PID and the liveness check are injectable for tests.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { basename, join } from "node:path";

/** FHS 3.0 §5.9: lock files for devices live in /var/lock. */
export const DEFAULT_LOCK_DIR = "/var/lock";

/** Attempts at removing stale locks before giving up (pppd loops until it wins or fails). */
const MAX_ATTEMPTS = 5;

export type DeviceLockErrorCode = "EDEVLOCKED" | "ELOCKDIR" | "ELOCKFILE";

export class DeviceLockError extends Error {
  constructor(
    message: string,
    readonly code: DeviceLockErrorCode,
    /** The holder's PID, for EDEVLOCKED. */
    readonly pid?: number,
  ) {
    super(message);
    this.name = "DeviceLockError";
  }
}

export interface LockOptions {
  /** Default /var/lock. */
  lockDir?: string;
  /** Our PID, default process.pid. */
  pid?: number;
  /** Is `pid` alive? Default: process.kill(pid, 0) does not fail with ESRCH. */
  isAlive?: (pid: number) => boolean;
  /** Log lines ("Removed stale lock on ttyS1 (pid 4242)"). */
  log?: (line: string) => void;
}

export interface DeviceLock {
  readonly device: string;
  readonly path: string;
  readonly pid: number;
  /** Remove the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** "LCK..ttyS1" for "/dev/ttyS1" (pppd uses the last path component). */
export function lockFileName(device: string): string {
  return `LCK..${basename(device)}`;
}

/** pppd's lock file contents: "%10d\n". */
export function formatLockPid(pid: number): string {
  return `${String(pid).padStart(10, " ")}\n`;
}

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH"; // EPERM: alive, just not ours
  }
}

function dirProblem(dir: string, path: string, code: string | undefined): DeviceLockError {
  const why =
    code === "ENOENT"
      ? `the lock directory ${dir} does not exist`
      : code === "EROFS"
        ? `the lock directory ${dir} is on a read-only file system`
        : `the lock directory ${dir} is not writable by this user (${code ?? "error"})`;
  return new DeviceLockError(
    `Can't create lock file ${path}: ${why}. Use the 'nolock' option, or run ppproxy as a member of the group that may write ${dir} (usually 'dialout' or 'uucp').`,
    "ELOCKDIR",
  );
}

/** Take the UUCP lock for `device`, or throw DeviceLockError. */
export function lockDevice(device: string, opts: LockOptions = {}): DeviceLock {
  const dir = opts.lockDir ?? DEFAULT_LOCK_DIR;
  const pid = opts.pid ?? process.pid;
  const isAlive = opts.isAlive ?? defaultIsAlive;
  const log = opts.log ?? (() => {});
  const dev = basename(device);
  const path = join(dir, lockFileName(device));

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") throw dirProblem(dir, path, code);
      // Someone holds it: read their PID.
      let text: string;
      try {
        text = readFileSync(path, "latin1");
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === "ENOENT") continue; // vanished meanwhile: retry
        throw new DeviceLockError(`Can't read pid from lock file ${path}: ${(e2 as Error).message}`, "ELOCKFILE");
      }
      if (text.length === 0) {
        throw new DeviceLockError(`Can't read pid from lock file ${path} (empty; another process may be creating it)`, "ELOCKFILE");
      }
      const other = parseInt(text.trim(), 10) || 0; // pppd atoi(): garbage reads as 0, i.e. stale
      if (other === pid) return makeLock(device, path, pid); // already ours (pppd: "somebody else locked it for us")
      if (other === 0 || !isAlive(other)) {
        try {
          unlinkSync(path);
          log(`Removed stale lock on ${dev} (pid ${other})`);
        } catch (e3) {
          if ((e3 as NodeJS.ErrnoException).code !== "ENOENT") {
            throw new DeviceLockError(`Couldn't remove stale lock on ${dev} (${path}): ${(e3 as Error).message}`, "ELOCKFILE");
          }
        }
        continue;
      }
      throw new DeviceLockError(`Device ${dev} is locked by pid ${other}`, "EDEVLOCKED", other);
    }
    try {
      writeSync(fd, formatLockPid(pid));
    } finally {
      closeSync(fd);
    }
    return makeLock(device, path, pid);
  }
  throw new DeviceLockError(`Can't lock ${dev}: the lock file ${path} keeps reappearing`, "ELOCKFILE");
}

function makeLock(device: string, path: string, pid: number): DeviceLock {
  let held = true;
  return {
    device,
    path,
    pid,
    release() {
      if (!held) return;
      held = false;
      try {
        // Only remove it if it is still ours.
        if (parseInt(readFileSync(path, "latin1").trim(), 10) === pid) unlinkSync(path);
      } catch {
        /* already gone */
      }
    },
  };
}
