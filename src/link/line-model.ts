/**
 * One direction of an emulated serial line, as a sans-I/O core: a UART
 * transmitter with a FIFO, paced at `baud / 10` bytes per second (8N1: a
 * start bit, 8 data bits, a stop bit), optional bit errors from a seeded Rng,
 * and cuts (the wire is unplugged for a while). It sits under
 * src/link/null-modem.ts, which owns the timer (and which
 * src/link/pty-null-modem.ts reuses for real ptys).
 *
 * Inputs:  write(bytes, now) — the sender's side; cut(ms, now); handleTimeout(now).
 * Outputs: pollTransmit() — bytes that came out at the far end, in chunks;
 *          pollEvent() — { type: "drain" } when a held-back sender may write again;
 *          pollTimeout() — when the next chunk is due.
 *
 * Timing model: the transmitter serialises the FIFO head continuously; byte k
 * (counting from the head) is complete at `txStart + (k + 1) * byteTime`.
 * Completed bytes are handed out at most every `tickMs` (so a fast line gives
 * chunks of a few dozen bytes, a slow one single bytes as they complete).
 */
import type { Millis } from "../../stack/util/time.js";
import type { Rng } from "../../stack/util/rng.js";

/** 8N1 framing: start + 8 data + stop bits per byte on the wire. */
export const BITS_PER_BYTE_8N1 = 10;
/** A 16550-class UART has a 16-byte FIFO; USB serial adapters and ptys buffer far more. 4 KiB is a typical tty write buffer. */
export const DEFAULT_FIFO_BYTES = 4096;
/** Smallest gap between two deliveries: emulates the receiver's interrupt/poll batching (2–10 ms is what real ttys show). */
export const DEFAULT_TICK_MS = 2;
/** Tolerance for float arithmetic on byte completion times. */
const EPS = 1e-7;

export interface LineModelOptions {
  /** Line rate in bit/s (> 0). */
  baud: number;
  /** Transmit FIFO size in bytes; write() returns false once it is full. */
  fifoBytes?: number;
  /** 'drain' fires when the FIFO falls to this many bytes or fewer. Default fifoBytes / 2. */
  drainBelow?: number;
  /** Probability that each data bit is flipped in transit (0 = clean line). Needs `rng` when > 0. */
  bitErrorRate?: number;
  rng?: Rng;
  /** Minimum gap between deliveries, ms. */
  tickMs?: number;
}

export type LineEvent = { type: "drain" };

export interface LineStats {
  /** Bytes accepted into the FIFO. */
  bytesWritten: number;
  /** Bytes that came out at the far end (including corrupted ones). */
  bytesDelivered: number;
  /** Bytes refused because the sender wrote into a full FIFO (ignored write() → false). */
  bytesOverrun: number;
  /** Bytes lost on the wire during a cut. */
  bytesCut: number;
  /** Bits flipped by the error model. */
  bitsFlipped: number;
  /** Bytes with at least one flipped bit. */
  bytesCorrupted: number;
  /** Times write() returned false. */
  writesHeldBack: number;
}

export class LineModel {
  readonly baud: number;
  readonly fifoBytes: number;
  readonly drainBelow: number;
  /** Milliseconds to serialise one byte: BITS_PER_BYTE_8N1 * 1000 / baud. */
  readonly byteTime: number;
  private readonly tickMs: number;
  private readonly ber: number;
  private readonly rng: Rng | undefined;

  /** FIFO content: chunks copied at write() (ownership changes there); `headOff` bytes of chunks[0] are already gone. */
  private chunks: Uint8Array[] = [];
  private headOff = 0;
  /** Bytes in the FIFO (not yet out at the far end). Invariant: equals sum of chunk lengths minus headOff. */
  private queued = 0;
  /** When the FIFO head byte began serialising; meaningful only while queued > 0. */
  private txStart: Millis = 0;
  /** When the last delivery happened (for tickMs batching). */
  private lastDelivery: Millis = -Infinity;
  /** The sender got false from write() and waits for 'drain'. */
  private heldBack = false;
  /** Bytes completing in [cutFrom, cutUntil) are lost. */
  private cutFrom: Millis = 0;
  private cutUntil: Millis = 0;
  /** Bits to pass before the next flipped bit (geometric skip, so the Rng is asked once per error, not once per bit). */
  private bitsToNextError = Infinity;

  private out: Uint8Array[] = [];
  private events: LineEvent[] = [];
  private readonly st: LineStats = {
    bytesWritten: 0,
    bytesDelivered: 0,
    bytesOverrun: 0,
    bytesCut: 0,
    bitsFlipped: 0,
    bytesCorrupted: 0,
    writesHeldBack: 0,
  };

  constructor(opts: LineModelOptions) {
    if (!(opts.baud > 0)) throw new RangeError(`LineModel: baud must be > 0 (got ${opts.baud})`);
    this.baud = opts.baud;
    this.fifoBytes = Math.max(1, Math.floor(opts.fifoBytes ?? DEFAULT_FIFO_BYTES));
    this.drainBelow = Math.min(this.fifoBytes - 1, Math.max(0, Math.floor(opts.drainBelow ?? this.fifoBytes / 2)));
    this.byteTime = (BITS_PER_BYTE_8N1 * 1000) / this.baud;
    this.tickMs = Math.max(0, opts.tickMs ?? DEFAULT_TICK_MS);
    this.ber = opts.bitErrorRate ?? 0;
    if (!(this.ber >= 0 && this.ber < 1)) throw new RangeError(`LineModel: bitErrorRate must be in [0, 1) (got ${this.ber})`);
    if (this.ber > 0 && !opts.rng) throw new RangeError("LineModel: bitErrorRate > 0 needs an rng (pass a SeededRng in tests)");
    this.rng = opts.rng;
    if (this.ber > 0) this.bitsToNextError = this.drawGap();
  }

  /** Bytes waiting in the FIFO. */
  get queuedBytes(): number {
    return this.queued;
  }

  /**
   * The sender writes. Returns false when the FIFO is full afterwards; the
   * sender should then wait for a 'drain' event. Bytes written while the FIFO
   * is already full (the sender ignored false) are dropped and counted as
   * overrun, as a UART would lose them. The bytes are copied.
   */
  write(bytes: Uint8Array, now: Millis): boolean {
    if (bytes.length === 0) return this.queued < this.fifoBytes;
    if (this.queued >= this.fifoBytes) {
      this.st.bytesOverrun += bytes.length;
      this.heldBack = true;
      this.st.writesHeldBack++;
      return false;
    }
    if (this.queued === 0) {
      // Idle transmitter: it starts now, or when the last byte finished, whichever is later.
      this.txStart = Math.max(now, this.txStart);
      this.headOff = 0;
    }
    this.chunks.push(bytes.slice());
    this.queued += bytes.length;
    this.st.bytesWritten += bytes.length;
    if (this.queued >= this.fifoBytes) {
      this.heldBack = true;
      this.st.writesHeldBack++;
      return false;
    }
    return true;
  }

  /** Drop everything that completes on the wire during [now, now + ms). A new cut replaces an older one. */
  cut(ms: Millis, now: Millis): void {
    this.cutFrom = now;
    this.cutUntil = now + Math.max(0, ms);
  }

  /** True while a cut is in force at `now`. */
  isCut(now: Millis): boolean {
    return now >= this.cutFrom && now < this.cutUntil;
  }

  /** When the next chunk is due, or undefined when the FIFO is empty. */
  pollTimeout(): Millis | undefined {
    if (this.queued === 0) return undefined;
    return Math.max(this.txStart + this.byteTime, this.lastDelivery + this.tickMs);
  }

  /** Move bytes completed by `now` out of the FIFO. */
  handleTimeout(now: Millis): void {
    if (this.queued === 0) return;
    if (now < this.lastDelivery + this.tickMs - EPS) return;
    const done = Math.min(this.queued, Math.floor((now - this.txStart) / this.byteTime + EPS));
    if (done <= 0) return;
    const chunk = new Uint8Array(done);
    let kept = 0;
    // Fast path, same result: no error model and no byte of this batch completing inside the cut window: copy runs, not bytes (a 1 Gbit/s line moves ~100 KB a batch).
    const firstAt = this.txStart + this.byteTime;
    const lastAt = this.txStart + done * this.byteTime;
    const clean = this.ber === 0 && (lastAt < this.cutFrom - EPS || firstAt >= this.cutUntil - EPS);
    while (clean && kept < done) {
      const head = this.chunks[0];
      const n = Math.min(head.length - this.headOff, done - kept);
      chunk.set(head.subarray(this.headOff, this.headOff + n), kept);
      kept += n;
      this.headOff += n;
      if (this.headOff === head.length) {
        this.chunks.shift();
        this.headOff = 0;
      }
    }
    for (let k = clean ? done : 0; k < done; k++) {
      const head = this.chunks[0];
      const byte = head[this.headOff++];
      if (this.headOff === head.length) {
        this.chunks.shift();
        this.headOff = 0;
      }
      const completedAt = this.txStart + (k + 1) * this.byteTime;
      // The error model runs on every byte on the wire, cut or not, so a cut does not shift later errors.
      const b = this.ber > 0 ? this.corrupt(byte) : byte;
      if (completedAt >= this.cutFrom - EPS && completedAt < this.cutUntil - EPS) {
        this.st.bytesCut++;
        continue;
      }
      chunk[kept++] = b;
    }
    this.queued -= done;
    this.txStart += done * this.byteTime;
    this.lastDelivery = now;
    if (kept > 0) {
      this.st.bytesDelivered += kept;
      this.out.push(kept === done ? chunk : chunk.subarray(0, kept));
    }
    if (this.heldBack && this.queued <= this.drainBelow) {
      this.heldBack = false;
      this.events.push({ type: "drain" });
    }
  }

  /** Next chunk that came out at the far end. */
  pollTransmit(): Uint8Array | undefined {
    return this.out.shift();
  }

  pollEvent(): LineEvent | undefined {
    return this.events.shift();
  }

  /** Forget everything queued (the line was closed). */
  reset(): void {
    this.chunks = [];
    this.headOff = 0;
    this.queued = 0;
    this.out = [];
    this.events = [];
    this.heldBack = false;
  }

  stats(): LineStats {
    return { ...this.st };
  }

  /** Flip bits of one byte per the error model. */
  private corrupt(byte: number): number {
    // Only the 8 data bits are modelled: a flipped start/stop bit is a framing error the receiver drops; we keep it simple.
    let b = byte;
    let bitsLeft = 8;
    let flipped = 0;
    while (this.bitsToNextError < bitsLeft) {
      const pos = 8 - bitsLeft + this.bitsToNextError;
      b ^= 1 << pos;
      flipped++;
      bitsLeft -= this.bitsToNextError + 1;
      this.bitsToNextError = this.drawGap();
    }
    this.bitsToNextError -= bitsLeft;
    if (flipped > 0) {
      this.st.bitsFlipped += flipped;
      this.st.bytesCorrupted++;
    }
    return b;
  }

  /** Clean bits before the next error: geometric with parameter ber. */
  private drawGap(): number {
    const u = ((this.rng as Rng).u32() + 0.5) / 2 ** 32; // in (0, 1)
    return Math.floor(Math.log(u) / Math.log1p(-this.ber));
  }
}
