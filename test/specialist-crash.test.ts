import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut, type RunResult } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { researchSpecialists } from './support.ts';

/** A crashed specialist actor (a bug, not an expected failure) fails the run at once with an internal error. */
describe('a specialist actor that crashes', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('fails the run promptly with an internal error naming it, not as a deadline time-out minutes later', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { technical: { latencyMs: 50, error: { kind: 'server', message: '500', status: 500 } } } });
    // A jitter source that throws: the crash happens inside the specialist's transition (afterFailure).
    const run = runFanOut(
      { task: 't', specialists: researchSpecialists, deadlineMs: 300_000 },
      {
        provider,
        random: () => {
          throw new Error('boom');
        },
      },
    );
    let outcome: RunResult | Error | undefined;
    run.result.then(
      (result) => (outcome = result),
      (error: Error) => (outcome = error),
    );

    await vi.advanceTimersByTimeAsync(1_000);
    expect(outcome, 'the run should have ended by t = 1 s').toBeDefined();
    expect(outcome).not.toBeInstanceOf(Error);
    const result = outcome as RunResult;
    expect(result.status).toBe('failed');
    expect(result.error?.message).toBe('internal error in specialist "technical": boom');
    expect(result.outcomes.find((o) => o.id === 'technical')).toMatchObject({ status: 'rejected', attempts: 1, error: { kind: 'unknown' } });
    // What finished before the crash is kept.
    expect(result.outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.id)).toEqual([]);
    expect(
      result.outcomes
        .filter((o) => o.status === 'skipped')
        .map((o) => o.id)
        .sort(),
    ).toEqual(['historical', 'societal']);
  });
});
