/**
 * A simulated point-to-point link between two sans-I/O endpoints on a
 * ManualClock, with seeded impairments: loss, reordering (extra delay),
 * duplication, bit corruption, propagation delay and a serialisation rate
 * with a drop-tail queue. `SimPair.drive()` jumps the clock straight to the
 * next deadline (a link delivery or a core timer), so a 10 MiB transfer with
 * retransmission timeouts runs in simulated seconds and real milliseconds.
 */
import type { SeededRng } from "../../../stack/util/rng.js";
import type { ManualClock, Millis } from "../../../stack/util/time.js";

export interface Impairments {
  /** Probability a datagram is lost. */
  loss: number;
  /** Probability a datagram is held back by `reorderMs` (so later ones pass it). */
  reorder: number;
  reorderMs: Millis;
  /** Probability a datagram is delivered twice. */
  dup: number;
  /** Probability one random bit of a datagram is flipped. */
  corrupt: number;
  /** One-way propagation delay. */
  delayMs: Millis;
  /** Serialisation rate in bytes per millisecond (e.g. 12500 = 100 Mbit/s); 0 = infinite. */
  bytesPerMs: number;
  /** Drop-tail queue limit in bytes waiting for serialisation. */
  queueBytes: number;
}

export const clean: Impairments = { loss: 0, reorder: 0, reorderMs: 0, dup: 0, corrupt: 0, delayMs: 5, bytesPerMs: 12_500, queueBytes: 1 << 20 };

/** The shape both the IpLayer and a NodeStack-like adapter present. */
export interface SimEndpoint {
  handleInput(packet: Uint8Array, now: Millis): void;
  handleTimeout(now: Millis): void;
  pollTransmit(): { packet: Uint8Array } | undefined;
  pollTimeout(): Millis | undefined;
}

interface InFlight {
  at: Millis;
  seq: number;
  to: 0 | 1;
  packet: Uint8Array;
}

export class SimPair {
  private readonly flight: InFlight[] = [];
  private seq = 0;
  private readonly busyUntil: [Millis, Millis] = [0, 0];
  readonly counts = { sent: 0, delivered: 0, lost: 0, reordered: 0, duplicated: 0, corrupted: 0, queueDrops: 0 };

  constructor(
    readonly clock: ManualClock,
    readonly rng: SeededRng,
    readonly ends: [SimEndpoint, SimEndpoint],
    readonly imp: Impairments,
  ) {}

  private enqueue(from: 0 | 1, packet: Uint8Array, now: Millis): void {
    this.counts.sent++;
    const imp = this.imp;
    const start = Math.max(now, this.busyUntil[from]);
    if (imp.bytesPerMs > 0 && (start - now) * imp.bytesPerMs > imp.queueBytes) {
      this.counts.queueDrops++;
      return;
    }
    const txTime = imp.bytesPerMs > 0 ? packet.length / imp.bytesPerMs : 0;
    this.busyUntil[from] = start + txTime;
    if (this.rng.next() < imp.loss) {
      this.counts.lost++;
      return;
    }
    // Copy: the sender may reuse its buffer; the corrupted copy must not touch the sender's.
    let p = packet.slice();
    if (this.rng.next() < imp.corrupt) {
      this.counts.corrupted++;
      p[this.rng.below(p.length)] ^= 1 << this.rng.below(8);
    }
    let at = start + txTime + imp.delayMs;
    if (this.rng.next() < imp.reorder) {
      this.counts.reordered++;
      at += imp.reorderMs;
    }
    const to = (1 - from) as 0 | 1;
    this.push({ at, seq: this.seq++, to, packet: p });
    if (this.rng.next() < imp.dup) {
      this.counts.duplicated++;
      this.push({ at: at + 0.1, seq: this.seq++, to, packet: p.slice() });
    }
  }

  private push(f: InFlight): void {
    // Keep sorted by (at, seq); inserts are mostly at the end.
    let i = this.flight.length;
    while (i > 0 && (this.flight[i - 1].at > f.at || (this.flight[i - 1].at === f.at && this.flight[i - 1].seq > f.seq))) i--;
    this.flight.splice(i, 0, f);
  }

  /** Move every pending transmission onto the link. */
  private collect(now: Millis): boolean {
    let any = false;
    for (const i of [0, 1] as const) {
      for (let t = this.ends[i].pollTransmit(); t; t = this.ends[i].pollTransmit()) {
        this.enqueue(i, t.packet, now);
        any = true;
      }
    }
    return any;
  }

  /**
   * Run until `done()` or `maxSimMs` of simulated time pass. Returns true when done() held.
   * `onStep` runs after every step (apps feeding data into their sockets).
   */
  drive(done: () => boolean, maxSimMs: Millis, onStep?: () => void): boolean {
    const end = this.clock.now() + maxSimMs;
    for (;;) {
      const now = this.clock.now();
      onStep?.();
      this.collect(now);
      let progressed = false;
      while (this.flight.length > 0 && this.flight[0].at <= now) {
        const f = this.flight.shift()!;
        this.counts.delivered++;
        this.ends[f.to].handleInput(f.packet, now);
        progressed = true;
      }
      for (const e of this.ends) {
        const t = e.pollTimeout();
        if (t !== undefined && t <= now) {
          e.handleTimeout(now);
          progressed = true;
        }
      }
      if (done()) return true;
      if (progressed) continue;
      if (this.collect(now)) continue;
      let next: Millis | undefined = this.flight[0]?.at;
      for (const e of this.ends) {
        const t = e.pollTimeout();
        if (t !== undefined && (next === undefined || t < next)) next = t;
      }
      if (next === undefined || next > end) return done();
      this.clock.set(next);
    }
  }
}
