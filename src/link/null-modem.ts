/**
 * The built-in emulated null-modem: two in-process Links ("nullmodem:a" and
 * "nullmodem:b") joined by two LineModels, one per direction, each paced at
 * baud/10 bytes per second with a transmit FIFO that holds the writer back
 * like a UART. It is the thin timer edge over src/link/line-model.ts (which
 * holds all the logic and is tested on a ManualClock); `npm start` and the
 * end-to-end tests run a PPP client and server over it.
 *
 * Closing one end hangs up the other ("peer closed": DTR → DCD on a real
 * null-modem cable); close() on the pair closes both without 'hangup'.
 */
import { EventEmitter } from "node:events";
import { LineModel, DEFAULT_FIFO_BYTES, type LineStats } from "./line-model.js";
import type { Link } from "./link.js";
import { realTimers, type Timers } from "./timers.js";
import { systemClock, earliest, type Clock, type Millis } from "../../stack/util/time.js";
import { cryptoRng, type Rng } from "../../stack/util/rng.js";

export interface NullModemOptions {
  /** Line rate in bit/s, both directions. */
  baud: number;
  /** Transmit FIFO per direction (default 4096). */
  fifoBytes?: number;
  /** Probability of each data bit being flipped (default 0). */
  bitErrorRate?: number;
  /** Randomness for bit errors (default cryptoRng; pass a SeededRng to replay). */
  rng?: Rng;
  /** Time source (default systemClock). */
  clock?: Clock;
  /** Timer primitives (default real ones); with a ManualClock and fake timers the whole pair runs on simulated time. */
  timers?: Timers;
  /** Minimum gap between deliveries, ms (default 2). */
  tickMs?: number;
  /** Names of the two ends (default "nullmodem:a", "nullmodem:b"). */
  names?: [string, string];
}

export interface NullModemStats {
  /** a → b direction. */
  ab: LineStats;
  /** b → a direction. */
  ba: LineStats;
}

export interface NullModem {
  a: Link;
  b: Link;
  /** Drop everything on the wire, both directions, for `ms` milliseconds. */
  cut(ms: number): void;
  stats(): NullModemStats;
  /** Close both ends (no 'hangup' on either). */
  close(): void;
}

class NullModemEnd extends EventEmitter implements Link {
  closed = false;
  hungUp = false;
  constructor(
    readonly name: string,
    readonly bitsPerSecond: number,
    private readonly send: (bytes: Uint8Array) => boolean,
    private readonly onClose: (end: NullModemEnd) => void,
  ) {
    super();
  }
  write(bytes: Uint8Array): boolean {
    if (this.closed || this.hungUp) return false;
    return this.send(bytes);
  }
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.onClose(this);
    }
    return Promise.resolve();
  }
  /** The far end went away. */
  hangup(reason: string): void {
    if (this.closed || this.hungUp) return;
    this.hungUp = true;
    this.emit("hangup", reason);
  }
}

export function createNullModem(opts: NullModemOptions): NullModem {
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? realTimers;
  const lineOpts = {
    baud: opts.baud,
    fifoBytes: opts.fifoBytes ?? DEFAULT_FIFO_BYTES,
    bitErrorRate: opts.bitErrorRate ?? 0,
    rng: opts.rng ?? ((opts.bitErrorRate ?? 0) > 0 ? cryptoRng : undefined),
    tickMs: opts.tickMs,
  };
  const ab = new LineModel(lineOpts);
  const ba = new LineModel(lineOpts);
  const [nameA, nameB] = opts.names ?? ["nullmodem:a", "nullmodem:b"];

  let timer: unknown;
  let armedAt: Millis | undefined;

  const onClose = (end: NullModemEnd): void => {
    const other = end === a ? b : a;
    (end === a ? ab : ba).reset();
    (end === a ? ba : ab).reset();
    other.hangup("peer closed");
    if (a.closed && b.closed) disarm();
  };
  const a: NullModemEnd = new NullModemEnd(nameA, opts.baud, (bytes) => sendOn(ab, bytes), onClose);
  const b: NullModemEnd = new NullModemEnd(nameB, opts.baud, (bytes) => sendOn(ba, bytes), onClose);

  function sendOn(line: LineModel, bytes: Uint8Array): boolean {
    const ok = line.write(bytes, clock.now());
    arm();
    return ok;
  }

  function disarm(): void {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    armedAt = undefined;
  }

  function arm(): void {
    const due = earliest(ab.pollTimeout(), ba.pollTimeout());
    if (due === undefined) return disarm();
    if (armedAt !== undefined && armedAt <= due) return; // an earlier (or the same) wake-up is already set
    disarm();
    armedAt = due;
    timer = timers.setTimeout(onTimer, Math.max(0, Math.ceil(due - clock.now())));
  }

  function pump(line: LineModel, to: NullModemEnd, from: NullModemEnd): void {
    for (let chunk; (chunk = line.pollTransmit()); ) {
      if (!to.closed && !to.hungUp) to.emit("data", Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    for (let ev; (ev = line.pollEvent()); ) {
      if (ev.type === "drain" && !from.closed && !from.hungUp) from.emit("drain");
    }
  }

  function onTimer(): void {
    timer = undefined;
    armedAt = undefined;
    const now = clock.now();
    ab.handleTimeout(now);
    ba.handleTimeout(now);
    // Listeners may write (and so re-arm) from inside these emits; arm() below keeps the earliest.
    pump(ab, b, a);
    pump(ba, a, b);
    arm();
  }

  return {
    a,
    b,
    cut(ms: number) {
      const now = clock.now();
      ab.cut(ms, now);
      ba.cut(ms, now);
    },
    stats: () => ({ ab: ab.stats(), ba: ba.stats() }),
    close() {
      a.closed = true;
      b.closed = true;
      ab.reset();
      ba.reset();
      disarm();
    },
  };
}
