/**
 * The time source every fanfold actor uses: timers for backoff, per-attempt deadlines and
 * batching, and `now()` for timestamps. XState's `SimulatedClock` satisfies it, so tests can
 * drive a whole run without real sleeps.
 */
export interface Clock {
  setTimeout(fn: (...args: unknown[]) => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

/**
 * The real clock. It looks the globals up on every call (rather than binding them once) so
 * that Vitest fake timers installed after import still take effect.
 */
export const systemClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};
