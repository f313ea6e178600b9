/**
 * Test helper: a timer scheduler on a ManualClock. advance(ms) fires what
 * falls due, in deadline order, moving the clock to each deadline first, so
 * link edges (CoreDriver, null-modem) run on simulated time.
 */
import type { Timers } from "../../../src/link/timers.js";
import type { ManualClock, Millis } from "../../../stack/util/time.js";

export class FakeTimers implements Timers {
  pending = new Map<number, { due: Millis; fn: () => void }>();
  private id = 0;
  constructor(private readonly clock: ManualClock) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const h = ++this.id;
    this.pending.set(h, { due: this.clock.now() + ms, fn });
    return h;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  /** Run timers due within the next `ms`, then leave the clock at now + ms. */
  advance(ms: Millis): void {
    const end = this.clock.now() + ms;
    for (let guard = 0; guard < 10_000_000; guard++) {
      let next: [number, { due: Millis; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].due <= end && (!next || e[1].due < next[1].due)) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.clock.set(next[1].due);
      next[1].fn();
    }
    this.clock.set(end);
  }
}
