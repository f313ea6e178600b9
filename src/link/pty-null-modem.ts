/**
 * `ppproxy nullmodem`: two real pseudo-terminals joined like a null-modem
 * cable at a given baud, so two unmodified programs (pppd and ppproxy, two
 * pppds, a terminal and minicom) can talk over "serial ports" without root.
 *
 * How: for each side we spawn `socat -d -d PTY,link=PATH,raw,echo=0 STDIO`;
 * socat owns the pty master and relays it to its stdin/stdout pipes. The two
 * socats are joined through the in-process null-modem (null-modem.ts, i.e.
 * two LineModels): same pacing at baud/10 B/s, same 4 KiB FIFO hold-back, bit
 * flips and cuts. Hold-back reaches the writing program: when the line's FIFO
 * is full we pause socat's stdout pipe, socat stops reading the pty master,
 * the pty's buffer fills, and the program's write() blocks — as on a UART.
 *
 * On the receiving side a program that never reads cannot push back on a
 * real line either: past rxOverrunBytes(baud) waiting in the pipe to socat
 * (64 KiB, a tty's receive buffer, or 20 ms of line if that is more), bytes
 * are dropped and counted as a receiver overrun.
 *
 * If either socat exits, the other is stopped too: its program sees the pty
 * hang up (read returns 0 / EIO), the closest a pty gets to losing DCD. A
 * program closing its own pty does not stop anything (socat keeps the master),
 * so it can reopen the port, as after a pppd `persist` redial.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { createNullModem, type NullModemOptions, type NullModemStats } from "./null-modem.js";
import { codedError, type Link } from "./link.js";

/** Bytes allowed to wait in the pipe towards a pty whose program is not reading, before the "receiver" overruns: Linux's tty flip-buffer limit (TTYB_DEFAULT_MEM_LIMIT). */
export const RX_OVERRUN_BYTES = 64 * 1024;
/**
 * ...or this much line time, if that is more. The line model hands bytes out
 * in batches (a delivery every DEFAULT_TICK_MS), so at rates no UART has (the
 * 1 Gbit/s bench: 200 KB a batch) 64 KiB is a fraction of one batch, and a
 * program that reads as fast as it can, in a busy process, was "overrunning"
 * on bytes it would have read a moment later (the bench's pty row lost ~4 %
 * of its bytes, and TCP over it crawled or stalled). Up to 32 Mbit/s the
 * 64 KiB still rules.
 */
export const RX_OVERRUN_MS = 20;

/** The receiver-overrun threshold for a line of `baud` bit/s (8N1: baud / 10 bytes a second). */
export function rxOverrunBytes(baud: number): number {
  return Math.max(RX_OVERRUN_BYTES, Math.ceil((baud / 10 / 1000) * RX_OVERRUN_MS));
}
/** How long to wait for socat to create its pty. */
export const PTY_START_TIMEOUT_MS = 5000;

export interface PtyNullModemOptions extends Omit<NullModemOptions, "names"> {
  /** Where to put the two pty symlinks, e.g. ["/tmp/ttyA", "/tmp/ttyB"]. */
  paths: [string, string];
  /** socat binary (default "socat" on PATH). */
  socat?: string;
}

export interface PtyNullModemStats extends NullModemStats {
  /** Bytes dropped because the program on that side did not read (receiver overrun). */
  rxOverrun: [number, number];
}

export interface PtyNullModem extends EventEmitter {
  /** The symlinks given in `paths`. */
  readonly paths: [string, string];
  /** The real devices, e.g. ["/dev/pts/3", "/dev/pts/4"]. */
  readonly devices: [string, string];
  cut(ms: number): void;
  stats(): PtyNullModemStats;
  /** Stop both socats (their programs see a hang-up). Idempotent. Emits 'close'. */
  close(): Promise<void>;
}

interface Side {
  proc: ChildProcess;
  device: string;
  rxOverrun: number;
}

/** Spawn one socat and wait for "PTY is /dev/pts/N" and the transfer loop. */
function spawnSocatPty(socat: string, path: string): Promise<{ proc: ChildProcess; device: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(socat, ["-d", "-d", `PTY,link=${path},raw,echo=0`, "STDIO"], { stdio: ["pipe", "pipe", "pipe"] });
    let log = "";
    let device = "";
    const fail = (err: Error): void => {
      clearTimeout(timer);
      proc.kill("SIGTERM");
      reject(err);
    };
    const timer = setTimeout(() => fail(codedError("ETIMEDOUT", `socat did not create a pty at ${path} within ${PTY_START_TIMEOUT_MS} ms:\n${log}`)), PTY_START_TIMEOUT_MS);
    proc.once("error", (err: NodeJS.ErrnoException) =>
      fail(codedError(err.code ?? "ENOENT", err.code === "ENOENT" ? `cannot run "${socat}": not installed? (apt-get install socat)` : `cannot run "${socat}": ${err.message}`, err)),
    );
    proc.once("exit", (code) => fail(codedError("EPIPE", `socat exited (${code}) before the pty at ${path} was ready:\n${log}`)));
    const onLog = (d: Buffer): void => {
      log += d.toString();
      const m = /PTY is (\S+)/.exec(log);
      if (m) device = m[1];
      if (device && /starting data transfer loop/.test(log)) {
        clearTimeout(timer);
        proc.removeAllListeners("exit");
        proc.stderr!.off("data", onLog);
        proc.stderr!.resume(); // keep draining socat's later diagnostics
        resolve({ proc, device });
      }
    };
    proc.stderr!.on("data", onLog);
  });
}

/** Join the pty behind `side` to the null-modem end `link`, with backpressure both ways. */
function attach(side: Side, link: Link, overrunBytes: number): void {
  const out = side.proc.stdout!;
  const inp = side.proc.stdin!;
  inp.on("error", () => undefined); // EPIPE when socat is gone; its 'exit' handles that
  out.on("data", (b: Buffer) => {
    if (!link.write(b)) out.pause();
  });
  link.on("drain", () => out.resume());
  link.on("data", (b: Buffer) => {
    if (inp.writableLength >= overrunBytes) side.rxOverrun += b.length;
    else inp.write(b);
  });
}

export async function startPtyNullModem(opts: PtyNullModemOptions): Promise<PtyNullModem> {
  const socat = opts.socat ?? "socat";
  const [p0, p1] = await Promise.all([spawnSocatPty(socat, opts.paths[0]), spawnSocatPty(socat, opts.paths[1])].map((p) => p.catch((e: Error) => e)));
  if (p0 instanceof Error || p1 instanceof Error) {
    if (!(p0 instanceof Error)) p0.proc.kill("SIGTERM");
    if (!(p1 instanceof Error)) p1.proc.kill("SIGTERM");
    throw p0 instanceof Error ? p0 : p1;
  }
  const nm = createNullModem({ ...opts, names: [`nullmodem:${opts.paths[0]}`, `nullmodem:${opts.paths[1]}`] });
  const sides: [Side, Side] = [
    { proc: p0.proc, device: p0.device, rxOverrun: 0 },
    { proc: p1.proc, device: p1.device, rxOverrun: 0 },
  ];
  const overrunBytes = rxOverrunBytes(opts.baud);
  attach(sides[0], nm.a, overrunBytes);
  attach(sides[1], nm.b, overrunBytes);

  const emitter = new EventEmitter();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    if (!closing) {
      nm.close();
      closing = Promise.all(
        sides.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.proc.exitCode !== null || s.proc.signalCode !== null) return resolve();
              s.proc.once("exit", () => resolve());
              s.proc.kill("SIGTERM");
            }),
        ),
      ).then(() => void emitter.emit("close"));
    }
    return closing;
  };
  for (const s of sides) s.proc.once("exit", () => void close());

  return Object.assign(emitter, {
    paths: opts.paths,
    devices: [sides[0].device, sides[1].device] as [string, string],
    cut: (ms: number) => nm.cut(ms),
    stats: (): PtyNullModemStats => ({ ...nm.stats(), rxOverrun: [sides[0].rxOverrun, sides[1].rxOverrun] }),
    close,
  });
}
