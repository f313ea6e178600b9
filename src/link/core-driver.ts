/**
 * The one driver that runs a sans-I/O core (a PPP session, a line model…)
 * on a Link with a real timer. It is the only place where a core meets Node
 * I/O: link 'data' → core.handleInput(bytes, now); the timer →
 * core.handleTimeout(now); after each, transmit is drained into the link,
 * events are emitted, and a single timer is re-armed at core.pollTimeout().
 *
 * Backpressure: when link.write() returns false the driver stops pulling
 * from core.pollTransmit() until the link's 'drain', so frames wait in the
 * core (where they can be prioritised or dropped by policy), not in OS or tty
 * buffers.
 *
 * Pacing (opt-in, `pacing` option; PppLine turns it on): when the link knows its rate (`link.bitsPerSecond`, at most
 * `pacing.maxBitsPerSecond`), the driver also estimates what the line has
 * sent since each write (elapsed time × rate, `bitsPerByte` per byte: 10 for
 * 8N1) and pulls the next frame only while less than `aheadBytes` are still
 * unsent; otherwise it arms a second timer for when there will be room. So
 * at most `aheadBytes` + one frame wait in OS, tty or FIFO buffers, and the
 * queue that forms is the core's, where it is scheduled. Links with no
 * known rate (TCP, stdio), or faster than the bound, write until false.
 *
 * Hang-up: the link's 'hangup' is re-emitted twice over, as the driver's
 * 'hangup' (reason) and as a synthetic 'event' `{ type: "hangup", reason }`
 * (DriverHangup) in the core's event stream, so one switch over 'event' sees
 * it in order with the core's events; the app tells the session `lineDown` and
 * calls kick(). From then
 * on, transmit is discarded (counted), while events and timers keep running
 * so the core can settle; the app calls stop() when it is done.
 *
 * Events: 'event' (E | DriverHangup) per core event, 'hangup' (reason: string),
 * 'error' (Error) when the core throws (a bug; without a listener it throws).
 */
import { EventEmitter } from "node:events";
import type { Link } from "./link.js";
import { realTimers, type Timers } from "./timers.js";
import { systemClock, type Clock, type Millis } from "../../stack/util/time.js";

export { realTimers, type Timers } from "./timers.js";

/** The synthetic 'event' the driver adds when the link hangs up. */
export interface DriverHangup {
  type: "hangup";
  reason: string;
}

export interface SansIoCore<E> {
  handleInput(b: Uint8Array, now: Millis): void;
  handleTimeout(now: Millis): void;
  pollTimeout(): Millis | undefined;
  pollTransmit(): Uint8Array | undefined;
  pollEvent(): E | undefined;
}

export interface PacingOptions {
  /** Pull the next frame only while fewer than this many bytes are unsent. Default max(256, 40 ms of line). */
  aheadBytes?: number;
  /** Bits on the wire per byte: 10 for 8N1 (start + 8 data + stop). Default 10. */
  bitsPerByte?: number;
  /** Links faster than this are not paced (a 1 ms timer could not keep them busy). Default 4,000,000. */
  maxBitsPerSecond?: number;
}

export interface CoreDriverOptions {
  /** Default systemClock. */
  clock?: Clock;
  /** Default real setTimeout/clearTimeout. */
  timers?: Timers;
  /**
   * Pace writes to link.bitsPerSecond when it is known (true or options);
   * default false: write until link.write() says false. PppLine turns it on.
   */
  pacing?: PacingOptions | boolean;
}

/** Default pacing lead: 40 ms of line (enough slack for a late timer), at least 256 bytes. */
export const DEFAULT_PACING_LEAD_MS = 40;
/** RS-232 8N1: a start bit, 8 data bits, a stop bit. */
export const BITS_PER_BYTE_8N1 = 10;

export interface CoreDriverStats {
  bytesIn: number;
  bytesOut: number;
  framesOut: number;
  /** Times link.write() returned false and the driver paused. */
  heldBack: number;
  /** Frames the core produced after the line hung up (not written). */
  framesDiscarded: number;
  timerFires: number;
  /** Times the driver stopped pulling because `aheadBytes` were still unsent (and armed the pacing timer). */
  paced: number;
}

export class CoreDriver<E> extends EventEmitter {
  private readonly clock: Clock;
  private readonly timers: Timers;
  private started = false;
  private stopped = false;
  /** link.write() said false; no pollTransmit() until 'drain'. */
  private blocked = false;
  /** The link hung up; transmit is discarded from now on. */
  private hungUp = false;
  /** The one pending timer and the deadline it was armed for. Invariant: timer set ⇔ armedFor !== undefined. */
  private timer: unknown;
  private armedFor: Millis | undefined;
  /** Re-entrancy: an 'event' listener may call kick() while we pump. */
  private pumping = false;
  private pumpAgain = false;
  private readonly st: CoreDriverStats = { bytesIn: 0, bytesOut: 0, framesOut: 0, heldBack: 0, framesDiscarded: 0, timerFires: 0, paced: 0 };
  /** Pacing: line bytes per millisecond (undefined: not paced) and the lead we allow. */
  private readonly bytesPerMs: number | undefined;
  private readonly aheadBytes: number;
  /** Estimated bytes written but not yet on the wire, as of `backlogAt`. Invariant: ≥ 0. */
  private backlog = 0;
  private backlogAt: Millis = 0;
  /** The pacing timer (separate from the core's); set ⇔ paceTimer !== undefined. */
  private paceTimer: unknown;

  private readonly onData = (b: Buffer): void => {
    if (this.stopped) return;
    this.st.bytesIn += b.length;
    this.guard(() => this.core.handleInput(b, this.clock.now()));
    this.pump();
  };
  private readonly onDrain = (): void => {
    if (this.stopped) return;
    this.blocked = false;
    this.pump();
  };
  private readonly onHangup = (reason: string): void => {
    if (this.stopped || this.hungUp) return;
    this.hungUp = true;
    this.blocked = false;
    this.emit("hangup", reason);
    if (!this.stopped) this.emit("event", { type: "hangup", reason } satisfies DriverHangup);
    this.pump();
  };
  private readonly onPace = (): void => {
    this.paceTimer = undefined;
    if (this.stopped) return;
    this.pump();
  };
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.armedFor = undefined;
    if (this.stopped) return;
    this.st.timerFires++;
    this.guard(() => this.core.handleTimeout(this.clock.now()));
    this.pump();
  };

  constructor(
    readonly core: SansIoCore<E>,
    readonly link: Link,
    opts: CoreDriverOptions = {},
  ) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.timers = opts.timers ?? realTimers;
    const p = opts.pacing;
    const bps = link.bitsPerSecond;
    const po: PacingOptions = typeof p === "object" ? p : {};
    if (p !== undefined && p !== false && bps !== undefined && bps > 0 && bps <= (po.maxBitsPerSecond ?? 4_000_000)) {
      this.bytesPerMs = bps / (po.bitsPerByte ?? BITS_PER_BYTE_8N1) / 1000;
      this.aheadBytes = Math.max(1, po.aheadBytes ?? Math.max(256, Math.round(this.bytesPerMs * DEFAULT_PACING_LEAD_MS)));
    } else {
      this.bytesPerMs = undefined;
      this.aheadBytes = Infinity;
    }
  }

  /** Wire link 'data'/'drain'/'hangup' to the core, flush what the core already has, arm the timer. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.link.on("data", this.onData);
    this.link.on("drain", this.onDrain);
    this.link.on("hangup", this.onHangup);
    this.pump();
  }

  /** Call after pushing something into the core from outside (sendIp, open, lineDown): flush and re-arm. */
  kick(): void {
    if (!this.started || this.stopped) return;
    this.pump();
  }

  /** Detach from the link and cancel the timer. Does not close the link. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.link.off("data", this.onData);
    this.link.off("drain", this.onDrain);
    this.link.off("hangup", this.onHangup);
    this.disarm();
    if (this.paceTimer !== undefined) this.timers.clearTimeout(this.paceTimer);
    this.paceTimer = undefined;
  }

  /** The link is refusing writes and the driver is waiting for 'drain'. */
  get waitingForDrain(): boolean {
    return this.blocked;
  }

  /** Pacing: the estimated bytes written to the link and not yet on the wire (0 when not paced). */
  get unsentEstimate(): number {
    if (this.bytesPerMs === undefined) return 0;
    this.decay(this.clock.now());
    return this.backlog;
  }

  /** Pacing: the lead in bytes (Infinity when not paced). */
  get pacingAheadBytes(): number {
    return this.aheadBytes;
  }

  /** The deadline the timer is armed for, if any. */
  get armedDeadline(): Millis | undefined {
    return this.armedFor;
  }

  stats(): CoreDriverStats {
    return { ...this.st };
  }

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.flushTransmit();
        for (let ev; !this.stopped && (ev = this.guard(() => this.core.pollEvent())) !== undefined; ) this.emit("event", ev);
      } while (this.pumpAgain && !this.stopped);
    } finally {
      this.pumping = false;
    }
    this.arm();
  }

  private flushTransmit(): void {
    if (this.hungUp) {
      for (let f; (f = this.guard(() => this.core.pollTransmit())) !== undefined; ) this.st.framesDiscarded++;
      return;
    }
    while (!this.blocked && !this.stopped) {
      if (this.bytesPerMs !== undefined) {
        this.decay(this.clock.now());
        if (this.backlog >= this.aheadBytes) {
          this.armPace();
          return;
        }
      }
      const frame = this.guard(() => this.core.pollTransmit());
      if (frame === undefined) return;
      this.st.framesOut++;
      this.st.bytesOut += frame.length;
      if (this.bytesPerMs !== undefined) this.backlog += frame.length;
      if (!this.link.write(frame)) {
        this.blocked = true;
        this.st.heldBack++;
      }
    }
  }

  /** Take off what the line sent since the last look. */
  private decay(now: Millis): void {
    const dt = now - this.backlogAt;
    this.backlogAt = now;
    if (dt > 0) this.backlog = Math.max(0, this.backlog - dt * this.bytesPerMs!);
  }

  /** Wake when the unsent estimate falls below aheadBytes. */
  private armPace(): void {
    if (this.paceTimer !== undefined) return;
    this.st.paced++;
    const ms = Math.max(1, Math.ceil((this.backlog - this.aheadBytes + 1) / this.bytesPerMs!));
    this.paceTimer = this.timers.setTimeout(this.onPace, ms);
  }

  private arm(): void {
    if (this.stopped) return;
    const due = this.guard(() => this.core.pollTimeout());
    if (due === undefined) return this.disarm();
    if (due === this.armedFor) return;
    this.disarm();
    this.armedFor = due;
    this.timer = this.timers.setTimeout(this.onTimer, Math.max(0, Math.ceil(due - this.clock.now())));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
  }

  /** Run a core call; a throw is a bug in the core, reported as 'error' rather than thrown into a socket callback. */
  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.emit("error", err instanceof Error ? err : new Error(String(err)));
      return undefined;
    }
  }
}
