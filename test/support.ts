/**
 * Shared helpers for the specification tests. Time is driven by Vitest fake timers: every
 * timer fanfold uses (provider latency, backoff, attempt deadlines, the run deadline, batching)
 * goes through the faked globals, so a test advances time instead of sleeping.
 */
import { vi } from 'vitest';
import type { FanOutRun, RunResult } from '../src/index.ts';

/** Advances fake time in steps until the run's result is in, and returns it. */
export async function settle(run: FanOutRun, stepMs = 10, maxMs = 600_000): Promise<RunResult> {
  let result: RunResult | undefined;
  let failure: unknown;
  run.result.then((value) => (result = value), (error: unknown) => (failure = error));
  for (let elapsed = 0; elapsed <= maxMs && result === undefined && failure === undefined; elapsed += stepMs) {
    await vi.advanceTimersByTimeAsync(stepMs);
  }
  if (failure !== undefined) throw failure;
  if (result === undefined) throw new Error(`run did not finish within ${maxMs} ms of fake time`);
  return result;
}

/** Collects every event a run emits. */
export function record(run: FanOutRun): Array<{ type: string } & Record<string, unknown>> {
  const events: Array<{ type: string } & Record<string, unknown>> = [];
  run.events$.subscribe((event) => events.push(event as { type: string } & Record<string, unknown>));
  return events;
}

/** The three classic research angles. */
export const researchSpecialists = [
  { id: 'historical', angle: 'Historical context' },
  { id: 'technical', angle: 'Technical details' },
  { id: 'societal', angle: 'Societal impact' },
];
