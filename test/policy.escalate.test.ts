import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { record, settle, expectNoSynthesis } from './support.ts';

describe('onFailure: escalate', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const start = () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: {
        historical: { latencyMs: 50, text: 'Eddington, 1920.' },
        compliance: { latencyMs: 200, error: { kind: 'permission', message: 'model access denied', status: 403 } },
        technical: { latencyMs: 5_000 },
        societal: { hang: true },
      },
    });
    const run = runFanOut(
      {
        task: 'nuclear fusion',
        specialists: [
          { id: 'historical', angle: 'Historical context' },
          { id: 'compliance', angle: 'Export control', policy: { onFailure: 'escalate' } },
          { id: 'technical', angle: 'Technical details' },
          { id: 'societal', angle: 'Societal impact' },
        ],
        deadlineMs: 60_000,
      },
      { provider },
    );
    return { provider, run, events: record(run) };
  };

  it('fails the run at once, with an error naming the escalating specialist', async () => {
    const { run } = start();
    const result = await settle(run);

    expect(result.status).toBe('failed');
    expect(result.synthesis).toBeNull();
    expect(result.error?.message).toContain('compliance');
    expect(result.endedAt).toBe(200);
    expect(result.outcomes[1]).toMatchObject({ id: 'compliance', status: 'rejected', attempts: 1, error: { kind: 'permission', status: 403 } });
  });

  it('aborts the calls of the specialists still in flight and records them as skipped', async () => {
    const { run, provider } = start();
    const result = await settle(run);

    for (const id of ['technical', 'societal']) {
      const calls = provider.calls.filter((call) => call.caller?.id === id);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ result: 'aborted', endedAt: 200 });
    }
    expect(provider.inFlight).toBe(0);
    expect(result.outcomes[2]).toMatchObject({ id: 'technical', status: 'skipped', output: null });
    expect(result.outcomes[3]).toMatchObject({ id: 'societal', status: 'skipped', output: null });
  });

  it('keeps the output of a specialist that had already finished', async () => {
    const { run, events } = start();
    const result = await settle(run);

    expect(result.outcomes[0]).toMatchObject({ id: 'historical', status: 'fulfilled', output: 'Eddington, 1920.', endedAt: 50 });
    expect(events.find((event) => event.type === 'specialist.done')).toMatchObject({ id: 'historical' });
  });

  it('makes no synthesizer call', async () => {
    const { run, provider, events } = start();
    const result = await settle(run);

    expectNoSynthesis(result, provider, events);
  });

  it('leaves no timer behind once the run has ended', async () => {
    const { run } = start();
    await settle(run);

    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops a specialist that is waiting out a backoff: its retry never happens and its timer is cleared', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: {
        technical: [{ latencyMs: 50, error: { kind: 'server', message: 'internal server error', status: 500 } }, {}],
        compliance: { latencyMs: 200, error: { kind: 'bad_request', message: 'bad', status: 400 } },
      },
    });
    const run = runFanOut(
      {
        task: 'nuclear fusion',
        specialists: [{ id: 'technical' }, { id: 'compliance', policy: { onFailure: 'escalate' } }],
        policy: { retry: { initialDelayMs: 5_000, jitter: 0 } },
        deadlineMs: 60_000,
      },
      { provider, random: () => 0 },
    );
    const result = await settle(run);

    expect(result.status).toBe('failed');
    expect(result.outcomes[0]).toMatchObject({ id: 'technical', status: 'skipped', output: null });
    expect(provider.calls.filter((call) => call.caller?.id === 'technical')).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(provider.calls.filter((call) => call.caller?.id === 'technical')).toHaveLength(1);
  });

  it('does not escalate a specialist whose policy is skip, even when another one escalates on failure', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { historical: { latencyMs: 50, error: { kind: 'bad_request', message: 'bad', status: 400 } } },
    });
    const run = runFanOut(
      {
        task: 'nuclear fusion',
        specialists: [{ id: 'historical' }, { id: 'compliance', policy: { onFailure: 'escalate' } }],
        deadlineMs: 60_000,
      },
      { provider },
    );
    const result = await settle(run);

    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled']);
    expect(provider.calls.filter((call) => call.caller?.id === 'synthesizer')).toHaveLength(1);
  });
});
