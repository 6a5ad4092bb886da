import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { settle } from './support.ts';

/** `attempts` and `modelCalls` count calls made: a specialist stopped while backing off has not made its next call. */
describe('attempts of a specialist stopped while backing off', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const failingOnce = () =>
    createScriptedProvider({
      latencyMs: 100,
      byCaller: { technical: [{ latencyMs: 50, error: { kind: 'server', message: '500', status: 500 } }, {}] },
    });

  it('at the run deadline: attempts and modelCalls count only the calls made', async () => {
    const provider = failingOnce();
    const run = runFanOut({ task: 't', specialists: [{ id: 'historical' }, { id: 'technical' }], deadlineMs: 1_000, policy: { retry: { initialDelayMs: 5_000, jitter: 0 } } }, { provider });
    const result = await settle(run);

    expect(provider.calls.filter((call) => call.caller?.id === 'technical')).toHaveLength(1);
    expect(result.outcomes[1]).toMatchObject({ id: 'technical', status: 'timedOut' });
    expect(result.outcomes[1]!.attempts).toBe(1);
    expect(result.modelCalls).toBe(provider.calls.length);
  });

  it('on a cancel: same', async () => {
    const provider = failingOnce();
    const run = runFanOut({ task: 't', specialists: [{ id: 'historical' }, { id: 'technical' }], deadlineMs: 60_000, policy: { retry: { initialDelayMs: 5_000, jitter: 0 } } }, { provider });
    await vi.advanceTimersByTimeAsync(60);
    run.cancel('stop');
    const result = await settle(run);
    expect(result.outcomes[1]!.attempts).toBe(1);
    expect(result.modelCalls).toBe(provider.calls.length);
  });

  it('on a restart during the backoff: the discarded run counts one call, not two', async () => {
    const provider = failingOnce();
    const run = runFanOut({ task: 't', specialists: [{ id: 'historical' }, { id: 'technical' }], deadlineMs: 60_000, policy: { retry: { initialDelayMs: 5_000, jitter: 0 } } }, { provider });
    await vi.advanceTimersByTimeAsync(60);
    run.actor.send({ type: 'specialist.restart', id: 'technical' });
    const result = await settle(run);
    const technicalCalls = provider.calls.filter((call) => call.caller?.id === 'technical');
    expect(result.outcomes[1]).toMatchObject({ status: 'fulfilled' });
    expect(result.outcomes[1]!.attempts).toBe(technicalCalls.length);
    expect(result.modelCalls).toBe(provider.calls.length);
  });
});
