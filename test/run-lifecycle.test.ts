import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { researchSpecialists, settle } from './support.ts';

describe('the run handle around the lead actor', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('an app stopping the actor directly still gets a result: cancelled, with every finished outcome', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { societal: { latencyMs: 5_000 } } });
    const run = runFanOut({ task: 't', specialists: researchSpecialists, deadlineMs: 60_000 }, { provider });
    let completed = false;
    run.events$.subscribe({ complete: () => (completed = true) });
    await vi.advanceTimersByTimeAsync(500);
    run.actor.stop();
    const result = await run.result;

    expect(result.status).toBe('cancelled');
    expect(result.error?.message).toMatch(/stopped before the run finished/);
    expect(result.outcomes.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => outcome.id)).toEqual(['historical', 'technical']);
    expect(provider.calls.find((call) => call.caller?.id === 'societal')).toMatchObject({ result: 'aborted' });
    expect(completed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancelling a run that already ended does nothing (and warns about nothing)', async () => {
    const warn = vi.spyOn(console, 'warn');
    const run = runFanOut({ task: 't', specialists: researchSpecialists, deadlineMs: 60_000 }, { provider: createScriptedProvider({ latencyMs: 100 }) });
    const result = await settle(run);
    run.cancel('too late');
    expect(result.status).toBe('done');
    expect(run.actor.getSnapshot().output).toEqual(result);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('the outcomes a result hands out are its own: changing one changes nothing else', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { technical: { error: { kind: 'bad_request', message: 'no', status: 400 } } } });
    const first = await settle(runFanOut({ task: 't', specialists: researchSpecialists, deadlineMs: 60_000 }, { provider }));
    const technical = first.outcomes.find((outcome) => outcome.id === 'technical')!;
    technical.usage.inputTokens += 1_000;
    const second = await settle(runFanOut({ task: 't', specialists: researchSpecialists, deadlineMs: 60_000 }, { provider }));
    expect(second.outcomes.find((outcome) => outcome.id === 'technical')!.usage.inputTokens).toBe(0);
  });
});
