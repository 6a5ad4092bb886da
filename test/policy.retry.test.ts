import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { record, researchSpecialists, settle } from './support.ts';

describe('retry policy', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('waits exactly the retry-after a 429 carries, then succeeds on the next attempt', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { technical: [{ latencyMs: 50, error: { kind: 'rate_limited', message: 'rate limited', status: 429, retryAfterMs: 1_500 } }, {}] },
    });
    const run = runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 60_000 }, { provider, random: () => 0.5 });
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('done');
    const technical = result.outcomes.find((outcome) => outcome.id === 'technical')!;
    expect(technical).toMatchObject({ status: 'fulfilled', attempts: 2 });
    const calls = provider.calls.filter((call) => call.caller?.id === 'technical');
    expect(calls).toHaveLength(2);
    // First call failed at t=50; the retry began exactly 1,500 ms later.
    expect(calls[1]!.startedAt - calls[0]!.endedAt!).toBe(1_500);
    expect(events.find((event) => event.type === 'specialist.retrying')).toMatchObject({
      id: 'technical',
      attempt: 2,
      delayMs: 1_500,
      reason: 'backoff',
      error: { kind: 'rate_limited', status: 429 },
    });
  });

  it('does not retry a 400: the specialist is rejected after one attempt and the run goes on', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { societal: { error: { kind: 'bad_request', message: 'max_tokens too large', status: 400 } } },
    });
    const result = await settle(runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 60_000 }, { provider }));

    expect(result.status).toBe('partial');
    expect(result.outcomes.find((outcome) => outcome.id === 'societal')).toMatchObject({
      status: 'rejected',
      attempts: 1,
      error: { kind: 'bad_request', status: 400 },
    });
    expect(provider.calls.filter((call) => call.caller?.id === 'societal')).toHaveLength(1);
  });
});
