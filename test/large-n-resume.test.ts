/**
 * A lightly hosted run (more than LIGHT_HOSTING_ABOVE specialists) checkpoints and resumes like
 * any other: after a crash, what finished is kept and never called again, what was in flight
 * runs again, and the resumed run ends with every outcome in config order.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryCheckpointStore, LIGHT_HOSTING_ABOVE, resumeFanOut, runFanOut, type FanOutConfig } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { settle } from './support.ts';

const N = 3_000;
const FAST = 2_000;
const config: FanOutConfig = {
  task: 't',
  specialists: Array.from({ length: N }, (_, i) => ({ id: `s${i}` })),
  synthesizer: { run: async ({ outcomes }) => `${outcomes?.filter((outcome) => outcome.status === 'fulfilled').length} findings` },
  deadlineMs: 60_000,
};
/** The first 2,000 answer in 50 ms, the rest in 1 s. */
const provider = () => createScriptedProvider({ reply: (_request, call) => ({ latencyMs: Number(call.caller!.id.slice(1)) < FAST ? 50 : 1_000, text: `finding of ${call.caller!.id}` }) });

describe(`a checkpointed run of ${N.toLocaleString('en')} specialists`, () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('crashes with 1,000 in flight; the resumed run calls only those, and keeps the 2,000 that finished', async () => {
    expect(N).toBeGreaterThan(LIGHT_HOSTING_ABOVE);
    const store = createMemoryCheckpointStore();
    const first = provider();
    const run = runFanOut(config, { provider: first, checkpoint: { store, runId: 'big' } });
    await vi.advanceTimersByTimeAsync(200);
    run.actor.stop();
    expect(first.calls).toHaveLength(N);

    const second = provider();
    const resumed = resumeFanOut('big', { store, provider: second, config });
    expect(resumed.kept).toHaveLength(FAST);
    expect(resumed.pending).toHaveLength(N - FAST);
    const result = await settle(resumed);

    expect(result.status).toBe('done');
    expect(second.calls.map((call) => call.caller!.id).sort()).toEqual(Array.from({ length: N - FAST }, (_, i) => `s${FAST + i}`).sort());
    expect(result.outcomes.map((outcome) => outcome.id)).toEqual(config.specialists.map((spec) => spec.id));
    expect(result.outcomes.every((outcome) => outcome.status === 'fulfilled' && outcome.output === `finding of ${outcome.id}`)).toBe(true);
    expect(result.synthesis).toBe(`${N} findings`);
  });
});
