import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { settle } from './support.ts';

const task = 'nuclear fusion';
const tenSpecialists = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}` }));

describe('maxConcurrency', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('keeps exactly 3 calls in flight for 10 specialists, in 4 rounds of latency', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { synthesizer: { latencyMs: 0 } } });
    const run = runFanOut({ task, specialists: tenSpecialists, maxConcurrency: 3, deadlineMs: 60_000 }, { provider });
    const states: string[] = [JSON.stringify(run.actor.getSnapshot().value)];
    run.actor.subscribe((snapshot) => {
      const value = JSON.stringify(snapshot.value);
      if (states.at(-1) !== value) states.push(value);
    });

    await vi.advanceTimersByTimeAsync(50);
    expect(provider.inFlight).toBe(3);
    const result = await settle(run);

    expect(provider.maxInFlight).toBe(3);
    expect(result.status).toBe('done');
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual(tenSpecialists.map(({ id }) => [id, 'fulfilled']));

    // Rounds: s0–s2 at 0, s3–s5 at 100, s6–s8 at 200, s9 at 300; a slot is refilled the moment it frees.
    const specialistCalls = provider.calls.filter((call) => call.caller?.id !== 'synthesizer');
    expect(specialistCalls.map((call) => [call.caller?.id, call.startedAt])).toEqual(tenSpecialists.map(({ id }, i) => [id, Math.floor(i / 3) * 100]));
    expect(Math.max(...result.outcomes.map((outcome) => outcome.endedAt))).toBe(400);
    // Four rounds, not five: the whole run (with an instant synthesizer) ends within a round of 400 ms.
    // (A 0 ms timer set inside a fake-timer tick fires 1 ms later, hence not exactly 400.)
    expect(result.elapsedMs).toBeGreaterThanOrEqual(400);
    expect(result.elapsedMs).toBeLessThan(500);

    expect(states).toEqual([JSON.stringify({ fanningOut: 'dispatching' }), JSON.stringify({ fanningOut: 'waiting' }), JSON.stringify('synthesizing'), JSON.stringify('done')]);
  });

  it('stays in dispatching while specialists wait for a slot, and moves to waiting once the last has started', async () => {
    const provider = createScriptedProvider({ latencyMs: 100 });
    const run = runFanOut({ task, specialists: tenSpecialists, maxConcurrency: 3, deadlineMs: 60_000 }, { provider });

    await vi.advanceTimersByTimeAsync(250);
    expect(provider.calls).toHaveLength(9);
    expect(run.actor.getSnapshot().value).toEqual({ fanningOut: 'dispatching' });
    await vi.advanceTimersByTimeAsync(60);
    expect(provider.calls).toHaveLength(10);
    expect(run.actor.getSnapshot().value).toEqual({ fanningOut: 'waiting' });
    await settle(run);
  });

  it('a specialist backing off before a retry keeps its slot, so the cap still holds', async () => {
    // s0 fails at 50 ms with a 500 and waits 500 ms before retrying; the others take 100 ms.
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { s0: [{ latencyMs: 50, error: { kind: 'server', message: 'internal error', status: 500 } }, {}] },
    });
    const run = runFanOut(
      {
        task,
        specialists: tenSpecialists.slice(0, 4),
        maxConcurrency: 2,
        deadlineMs: 60_000,
        policy: { retry: { initialDelayMs: 500, jitter: 0 } },
      },
      { provider },
    );
    const result = await settle(run);

    expect(result.status).toBe('done');
    expect(provider.maxInFlight).toBeLessThanOrEqual(2);
    // While s0 backs off (50–550 ms) it holds one of the two slots: the others run one at a time.
    const starts = Object.fromEntries(provider.calls.filter((call) => call.caller?.id !== 'synthesizer').map((call) => [`${call.caller?.id}#${call.caller?.attempt}`, call.startedAt]));
    expect(starts).toEqual({ 's0#1': 0, 's1#1': 0, 's2#1': 100, 's3#1': 200, 's0#2': 550 });
    expect(result.outcomes[0]).toMatchObject({ id: 's0', status: 'fulfilled', attempts: 2, endedAt: 650 });
  });

  it('with every specialist retrying, in-flight calls never exceed the cap', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      reply: (_request, call) =>
        call.caller && call.caller.id !== 'synthesizer' && call.caller.attempt === 1
          ? { latencyMs: 20 + (call.index % 4) * 15, error: { kind: 'overloaded', message: 'overloaded', status: 529 } }
          : undefined,
    });
    const run = runFanOut(
      {
        task,
        specialists: tenSpecialists,
        maxConcurrency: 3,
        deadlineMs: 60_000,
        policy: { retry: { initialDelayMs: 70, jitter: 0 } },
      },
      { provider },
    );
    const result = await settle(run);

    expect(result.status).toBe('done');
    expect(result.outcomes.every((outcome) => outcome.status === 'fulfilled' && outcome.attempts === 2)).toBe(true);
    expect(provider.calls.filter((call) => call.caller?.id !== 'synthesizer')).toHaveLength(20);
    expect(provider.maxInFlight).toBe(3);
  });
});
