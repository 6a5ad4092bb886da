import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { record, researchSpecialists, settle } from './support.ts';

const PRIMARY = 'claude-opus-4-1';
const FALLBACK = 'claude-haiku-4-5';

describe('fallback models', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('moves a specialist whose primary model is overloaded (529) to the fallback model at once', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { technical: [{ latencyMs: 50, error: { kind: 'overloaded', message: 'overloaded', status: 529 } }, {}] },
    });
    const run = runFanOut({ task: 'nuclear fusion', model: PRIMARY, specialists: researchSpecialists, deadlineMs: 60_000, policy: { fallbackModels: [FALLBACK] } }, { provider, random: () => 0 });
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('done');
    expect(result.outcomes.find((outcome) => outcome.id === 'technical')).toMatchObject({
      status: 'fulfilled',
      attempts: 2,
      model: FALLBACK,
    });
    const calls = provider.calls.filter((call) => call.caller?.id === 'technical');
    expect(calls.map((call) => call.request.model)).toEqual([PRIMARY, FALLBACK]);
    expect(calls.map((call) => call.result)).toEqual(['failed', 'replied']);
    // No backoff before a fallback: the second call starts the moment the first one failed.
    expect(calls[1]!.startedAt).toBe(calls[0]!.endedAt);
    expect(calls[0]!.endedAt).toBe(50);

    const retrying = events.filter((event) => event.type === 'specialist.retrying');
    expect(retrying).toHaveLength(1);
    expect(retrying[0]).toMatchObject({
      id: 'technical',
      attempt: 2,
      model: FALLBACK,
      delayMs: 0,
      reason: 'fallback',
      error: { kind: 'overloaded', status: 529 },
    });
    // The others never left their primary model.
    for (const id of ['historical', 'societal']) {
      expect(provider.calls.filter((call) => call.caller?.id === id).map((call) => call.request.model)).toEqual([PRIMARY]);
      expect(result.outcomes.find((outcome) => outcome.id === id)?.model).toBe(PRIMARY);
    }
  });

  it('moves to the fallback model once a 500 has used up every retry on the primary', async () => {
    const serverError = { latencyMs: 50, error: { kind: 'server', message: 'internal server error', status: 500 } } as const;
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { technical: [serverError, serverError, serverError, {}] },
    });
    const run = runFanOut(
      {
        task: 'nuclear fusion',
        model: PRIMARY,
        specialists: researchSpecialists,
        deadlineMs: 60_000,
        policy: { fallbackModels: [FALLBACK], retry: { maxAttempts: 3, initialDelayMs: 200, factor: 2, jitter: 0 } },
      },
      { provider, random: () => 0 },
    );
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('done');
    expect(result.outcomes.find((outcome) => outcome.id === 'technical')).toMatchObject({
      status: 'fulfilled',
      attempts: 4,
      model: FALLBACK,
    });
    const calls = provider.calls.filter((call) => call.caller?.id === 'technical');
    expect(calls.map((call) => call.request.model)).toEqual([PRIMARY, PRIMARY, PRIMARY, FALLBACK]);
    expect(calls.map((call) => call.startedAt)).toEqual([0, 250, 700, 750]);

    const retrying = events.filter((event) => event.type === 'specialist.retrying' && event['id'] === 'technical');
    expect(retrying.map((event) => [event['attempt'], event['model'], event['reason'], event['delayMs']])).toEqual([
      [2, PRIMARY, 'backoff', 200],
      [3, PRIMARY, 'backoff', 400],
      [4, FALLBACK, 'fallback', 0],
    ]);
    expect(retrying[2]).toMatchObject({ error: { kind: 'server', status: 500 } });
  });
});
