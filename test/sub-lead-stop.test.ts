import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut, type FanOutConfig } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { settle } from './support.ts';

const nested = (overrides: Partial<FanOutConfig> = {}): FanOutConfig => ({
  task: 'nuclear fusion',
  specialists: [{ id: 'historical' }, { id: 'technical', specialists: [{ id: 'plasma' }, { id: 'materials' }, { id: 'fuel' }] }, { id: 'societal' }],
  deadlineMs: 60_000,
  ...overrides,
});

/** A sub-lead stopped by its parent reports every sub-specialist, finished or not, and every call made below it. */
describe('a sub-lead stopped by its parent', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('on cancel, subOutcomes lists every sub-specialist and every call made below is counted', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { fuel: { latencyMs: 5_000 } } });
    const run = runFanOut(nested(), { provider });
    await vi.advanceTimersByTimeAsync(300);
    run.cancel('stop');
    const result = await settle(run);

    const technical = result.outcomes[1]!;
    expect(technical.status).toBe('skipped');
    expect(technical.subOutcomes?.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['plasma', 'fulfilled'],
      ['materials', 'fulfilled'],
      ['fuel', 'skipped'],
    ]);
    expect(result.modelCalls).toBe(provider.calls.length);
  });

  it('a sub-specialist that finished in the same tick as the cancel keeps its outcome', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { materials: { latencyMs: 150 }, fuel: { latencyMs: 5_000 } } });
    const run = runFanOut(nested(), { provider });
    await vi.advanceTimersByTimeAsync(150); // materials replied at 150; its batch has not reached the nested lead yet
    expect(provider.calls.find((call) => call.caller?.id === 'materials')).toMatchObject({ result: 'replied' });
    run.cancel('stop');
    const result = await settle(run);

    expect(result.outcomes[1]!.subOutcomes?.find((outcome) => outcome.id === 'materials')).toMatchObject({ status: 'fulfilled' });
  });

  it('at the parent deadline, a sub-lead started later (behind maxConcurrency) still reports its timed-out sub-specialists', async () => {
    // historical takes the only slot until 100; technical starts then, with a deadline capped to the parent's (1,000).
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { fuel: { latencyMs: 5_000 } } });
    const run = runFanOut(nested({ deadlineMs: 1_000, maxConcurrency: 1 }), { provider });
    const result = await settle(run);

    const technical = result.outcomes[1]!;
    expect(technical.subOutcomes?.map((outcome) => outcome.id)).toEqual(['plasma', 'materials', 'fuel']);
    expect(result.modelCalls).toBe(provider.calls.length);
  });
});

/** The run's `maxConcurrency` caps calls in flight across every level: a sub-lead holds no slot, its specialists do. */
describe('maxConcurrency with a sub-lead', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('never has more model calls in flight than the run-level maxConcurrency', async () => {
    const provider = createScriptedProvider({ latencyMs: 100 });
    await settle(runFanOut(nested({ maxConcurrency: 2 }), { provider }));
    expect(provider.maxInFlight).toBeLessThanOrEqual(2);
  });
});
