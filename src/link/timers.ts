/**
 * The timer primitives the link edges use (CoreDriver, the null-modems).
 * Injected so that tests can run an edge on a ManualClock with a fake
 * scheduler instead of sleeping; production uses `realTimers`.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
