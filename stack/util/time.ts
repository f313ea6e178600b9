/**
 * Time for sans-I/O cores. Every protocol core reads time only through the
 * `now` argument it is handed (a `Millis` from an injected `Clock`), never
 * from `Date.now()`, so tests drive it on a simulated clock and never sleep.
 */

/** Monotonic milliseconds. Only differences are meaningful. */
export type Millis = number;

export interface Clock {
  now(): Millis;
}

/** The real monotonic clock, for the Node edges (drivers, adapters). */
export const systemClock: Clock = {
  now: () => performance.now(),
};

/** A clock that moves only when a test tells it to. */
export class ManualClock implements Clock {
  constructor(private t: Millis = 0) {}
  now(): Millis {
    return this.t;
  }
  /** Move forward by `ms` (never backward). */
  advance(ms: Millis): Millis {
    if (ms < 0) throw new RangeError(`ManualClock cannot go back (${ms} ms)`);
    this.t += ms;
    return this.t;
  }
  /** Jump to an absolute time, if it is not in the past. */
  set(t: Millis): void {
    if (t > this.t) this.t = t;
  }
}

/** The earliest of several optional deadlines. */
export function earliest(...deadlines: (Millis | undefined)[]): Millis | undefined {
  let best: Millis | undefined;
  for (const d of deadlines) if (d !== undefined && (best === undefined || d < best)) best = d;
  return best;
}
