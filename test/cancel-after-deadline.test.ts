import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { researchSpecialists, settle } from './support.ts';

/** A cancel during the synthesis that follows a deadline still aborts the synthesizer and ends the run cancelled. */
describe('cancel during a synthesis that follows a deadline', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('run.cancel() aborts the synthesizer and the run ends cancelled', async () => {
    const provider = createScriptedProvider({
      byCaller: { historical: { latencyMs: 100 }, technical: { latencyMs: 200 }, societal: { latencyMs: 5_000 }, synthesizer: { latencyMs: 10_000 } },
    });
    const run = runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 1_000 }, { provider });

    await vi.advanceTimersByTimeAsync(1_500); // deadline at 1,000; synthesis running since then
    expect(run.actor.getSnapshot().value).toBe('synthesizing');
    run.cancel('user pressed stop');
    const result = await settle(run);

    const synthesis = provider.calls.find((call) => call.caller?.id === 'synthesizer')!;
    expect(synthesis).toMatchObject({ result: 'aborted', endedAt: 1_500 });
    expect(result.status).toBe('cancelled');
    expect(result.endedAt).toBe(1_500);
  });

  it('aborting the run signal during that synthesis cancels too', async () => {
    const provider = createScriptedProvider({
      byCaller: { historical: { latencyMs: 100 }, technical: { latencyMs: 200 }, societal: { hang: true }, synthesizer: { latencyMs: 10_000 } },
    });
    const controller = new AbortController();
    const run = runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 1_000 }, { provider, signal: controller.signal });

    await vi.advanceTimersByTimeAsync(1_500);
    controller.abort('shutting down');
    const result = await settle(run);
    expect(result.status).toBe('cancelled');
  });
});
