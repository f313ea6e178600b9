/**
 * The built-in emulated null-modem: two in-process Links ("nullmodem:a" and
 * "nullmodem:b") joined by two LineModels, one per direction, each paced at
 * baud/10 bytes per second with a transmit FIFO that holds the writer back
 * like a UART. It is the thin timer edge over src/link/line-model.ts (which
 * holds all the logic and is tested on a ManualClock); `npm start` and the
 * end-to-end tests run a PPP client and server over it.
 *
 * Lines faster than FAST_LINE_BPS (no UART runs that fast: the 1 Gbit/s
 * "unthrottled" bench) drop the receiver batching (tickMs 0) and, on real
 * timers, wake on setImmediate when the next byte is due in under a
 * millisecond: a 1 ms timer plus a 2 ms batch per hop made such a line
 * latency-bound (TCP waited on it with the event loop 20–30 % idle) instead of
 * the fastest thing in the path. Up to FAST_LINE_BPS nothing changes.
 *
 * Closing one end hangs up the other ("peer closed": DTR → DCD on a real
 * null-modem cable) and empties both directions; reopen(side) gives a fresh
 * end, like opening the tty again; close() on the pair closes both without
 * 'hangup'.
 */
import { EventEmitter } from "node:events";
import { LineModel, DEFAULT_FIFO_BYTES, type LineStats } from "./line-model.js";
import type { Link } from "./link.js";
import { realTimers, type Timers } from "./timers.js";
import { systemClock, earliest, type Clock, type Millis } from "../../stack/util/time.js";
import { cryptoRng, type Rng } from "../../stack/util/rng.js";

/** Faster than any UART (FT232H-class adapters stop at 12 Mbaud): no receiver batching, sub-millisecond wake-ups. */
export const FAST_LINE_BPS = 20_000_000;

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
  /** Minimum gap between deliveries, ms (default 2; 0 above FAST_LINE_BPS). */
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
  /** The current end on each side (a new object after reopen()). */
  readonly a: Link;
  readonly b: Link;
  /**
   * Open a side again, as a program reopens /dev/ttyS0 after a hang-up (a
   * server's respawn, a client's `persist` redial). The side's current end is
   * closed first if it is still open (its peer sees 'hangup'); the other side
   * keeps its end, which is hung up if its peer had closed: reopen it too.
   */
  reopen(side: "a" | "b"): Link;
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
  const fast = opts.baud > FAST_LINE_BPS;
  /** Wake on setImmediate when a byte is due within 1 ms (a timer cannot wake sooner). Real time only: on a fake clock a zero wait would never advance. */
  const immediate = fast && timers === realTimers && clock === systemClock;
  const lineOpts = {
    baud: opts.baud,
    fifoBytes: opts.fifoBytes ?? DEFAULT_FIFO_BYTES,
    bitErrorRate: opts.bitErrorRate ?? 0,
    rng: opts.rng ?? ((opts.bitErrorRate ?? 0) > 0 ? cryptoRng : undefined),
    tickMs: opts.tickMs ?? (fast ? 0 : undefined),
  };
  const ab = new LineModel(lineOpts);
  const ba = new LineModel(lineOpts);
  const names = opts.names ?? ["nullmodem:a", "nullmodem:b"];
  /** The line each side transmits on. */
  const txLine = [ab, ba] as const;
  let pairClosed = false;

  /** The pending wake-up: a Timers handle, or a setImmediate one (`immediate` lines). Set ⇔ armedAt !== undefined. */
  let timer: unknown;
  let timerIsImmediate = false;
  let armedAt: Millis | undefined;

  const onClose = (end: NullModemEnd): void => {
    const side = ends.indexOf(end);
    if (side < 0) return; // an end already replaced by reopen()
    // An end that had already lost the line closing is the tail of the same hang-up: a far end opened since then keeps its line.
    if (end.hungUp) return;
    ab.reset();
    ba.reset();
    ends[1 - side].hangup("peer closed");
    if (ends[0].closed && ends[1].closed) disarm();
  };
  const makeEnd = (side: 0 | 1): NullModemEnd => new NullModemEnd(names[side], opts.baud, (bytes) => sendOn(txLine[side], bytes), onClose);
  /** The current end on each side. */
  const ends: [NullModemEnd, NullModemEnd] = [makeEnd(0), makeEnd(1)];

  function sendOn(line: LineModel, bytes: Uint8Array): boolean {
    const ok = line.write(bytes, clock.now());
    arm();
    return ok;
  }

  function disarm(): void {
    if (timer !== undefined) {
      if (timerIsImmediate) clearImmediate(timer as NodeJS.Immediate);
      else timers.clearTimeout(timer);
    }
    timer = undefined;
    armedAt = undefined;
  }

  function arm(): void {
    const due = earliest(ab.pollTimeout(), ba.pollTimeout());
    if (due === undefined) return disarm();
    if (armedAt !== undefined && armedAt <= due) return; // an earlier (or the same) wake-up is already set
    disarm();
    armedAt = due;
    const wait = due - clock.now();
    timerIsImmediate = immediate && wait < 1;
    timer = timerIsImmediate ? setImmediate(onTimer) : timers.setTimeout(onTimer, Math.max(0, Math.ceil(wait)));
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
    pump(ab, ends[1], ends[0]);
    pump(ba, ends[0], ends[1]);
    arm();
  }

  return {
    get a(): Link {
      return ends[0];
    },
    get b(): Link {
      return ends[1];
    },
    reopen(side: "a" | "b"): Link {
      if (pairClosed) throw new Error("null-modem: reopen() after close()");
      const i = side === "a" ? 0 : 1;
      void ends[i].close(); // like dropping DTR: the far end hangs up
      ends[i] = makeEnd(i);
      return ends[i];
    },
    cut(ms: number) {
      const now = clock.now();
      ab.cut(ms, now);
      ba.cut(ms, now);
    },
    stats: () => ({ ab: ab.stats(), ba: ba.stats() }),
    close() {
      pairClosed = true;
      for (const e of ends) e.closed = true;
      ab.reset();
      ba.reset();
      disarm();
    },
  };
}
