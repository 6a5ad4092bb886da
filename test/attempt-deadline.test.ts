import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { record, researchSpecialists, settle } from './support.ts';

describe('per-attempt deadline (attemptTimeoutMs)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('aborts a hanging attempt at exactly its deadline and retries it', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { technical: [{ hang: true }, { text: 'second time lucky' }] },
    });
    const run = runFanOut(
      {
        task: 'nuclear fusion',
        specialists: researchSpecialists,
        deadlineMs: 60_000,
        policy: { attemptTimeoutMs: 1_000, retry: { initialDelayMs: 300, jitter: 0 } },
      },
      { provider, random: () => 0 },
    );
    const events = record(run);

    // Just before the deadline the first attempt is still waiting for its reply.
    await vi.advanceTimersByTimeAsync(999);
    const first = provider.calls.find((call) => call.caller?.id === 'technical' && call.caller.attempt === 1)!;
    expect(first).toMatchObject({ startedAt: 0, result: 'pending', endedAt: null });

    await vi.advanceTimersByTimeAsync(1);
    expect(first).toMatchObject({ result: 'aborted', endedAt: 1_000 });

    const result = await settle(run);
    expect(result.status).toBe('done');
    expect(result.outcomes.find((outcome) => outcome.id === 'technical')).toMatchObject({
      status: 'fulfilled',
      attempts: 2,
      output: 'second time lucky',
    });

    const calls = provider.calls.filter((call) => call.caller?.id === 'technical');
    expect(calls.map((call) => [call.caller?.attempt, call.result])).toEqual([
      [1, 'aborted'],
      [2, 'replied'],
    ]);
    expect(calls[1]!.startedAt).toBe(1_300);

    const retrying = events.filter((event) => event.type === 'specialist.retrying');
    expect(retrying).toHaveLength(1);
    expect(retrying[0]).toMatchObject({ id: 'technical', attempt: 2, reason: 'backoff', delayMs: 300, at: 1_000, error: { kind: 'timeout' } });
  });

  it('rejects the specialist with a timeout when every attempt hangs', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { technical: { hang: true } } });
    const run = runFanOut(
      {
        task: 'nuclear fusion',
        specialists: researchSpecialists,
        deadlineMs: 60_000,
        policy: { attemptTimeoutMs: 1_000, retry: { maxAttempts: 2, initialDelayMs: 300, jitter: 0 } },
      },
      { provider, random: () => 0 },
    );
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('partial');
    expect(result.outcomes.find((outcome) => outcome.id === 'technical')).toMatchObject({
      status: 'rejected',
      attempts: 2,
      output: null,
      error: { kind: 'timeout' },
      endedAt: 2_300,
    });
    const calls = provider.calls.filter((call) => call.caller?.id === 'technical');
    expect(calls.map((call) => [call.startedAt, call.endedAt, call.result])).toEqual([
      [0, 1_000, 'aborted'],
      [1_300, 2_300, 'aborted'],
    ]);
    expect(events.filter((event) => event.type === 'specialist.retrying')).toHaveLength(1);
    expect(result.missing).toEqual([expect.objectContaining({ id: 'technical', status: 'rejected' })]);
  });

  it('does not cut off an attempt that replies before its deadline', async () => {
    const provider = createScriptedProvider({ latencyMs: 999 });
    const run = runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 60_000, policy: { attemptTimeoutMs: 1_000 } }, { provider, random: () => 0 });
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('done');
    expect(result.outcomes.every((outcome) => outcome.attempts === 1)).toBe(true);
    expect(provider.calls.every((call) => call.result === 'replied')).toBe(true);
    expect(events.some((event) => event.type === 'specialist.retrying')).toBe(false);
  });
});
