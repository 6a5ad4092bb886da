/**
 * The simulator's time source. Pacing (time to first token, tokens per second) and the
 * timestamps in the request log go through it, so tests can inject a clock they drive
 * instead of measuring wall time.
 */

/** Timers and a `now()`; structurally compatible with fanfold's `Clock` and XState's `SimulatedClock`. */
export interface SimulatorClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

/**
 * Real timers and `Date.now()`, looked up on every call so that Vitest fake timers installed
 * after import still apply.
 */
export const realClock: SimulatorClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};
