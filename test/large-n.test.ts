import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { emptyUsage, runFanOut, type Usage } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { settle } from './support.ts';

const task = 'survey of fusion approaches';
const N = 2_000;
const specialists = Array.from({ length: N }, (_, i) => ({ id: `s${String(i).padStart(4, '0')}` }));
const indexOf = (id: string) => Number(id.slice(1));
const isBroken = (i: number) => i % 100 === 37;

/** Latency varies deterministically with the index; one specialist in every 100 fails with a 400. */
function largeProvider() {
  return createScriptedProvider({
    reply: (_request, call): ScriptedReply | undefined => {
      if (!call.caller || call.caller.id === 'synthesizer') return { latencyMs: 100 };
      const i = indexOf(call.caller.id);
      const latencyMs = 50 + (i % 7) * 10;
      return isBroken(i) ? { latencyMs, error: { kind: 'bad_request', message: `malformed request ${i}`, status: 400 } } : { latencyMs };
    },
  });
}

function sum(usages: Usage[]): Usage {
  const total = emptyUsage();
  for (const usage of usages) {
    total.inputTokens += usage.inputTokens;
    total.outputTokens += usage.outputTokens;
    total.cacheCreationInputTokens += usage.cacheCreationInputTokens;
    total.cacheReadInputTokens += usage.cacheReadInputTokens;
  }
  return total;
}

describe(`a fan-out of ${N} specialists`, () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('without a concurrency cap: partial, 20 rejected, 1,980 fulfilled, in config order, every call and token counted', async () => {
    const provider = largeProvider();
    const run = runFanOut({ task, specialists, deadlineMs: 60_000 }, { provider });
    const result = await settle(run);

    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => outcome.id)).toEqual(specialists.map((specialist) => specialist.id));

    const rejected = result.outcomes.filter((outcome) => outcome.status === 'rejected');
    const fulfilled = result.outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(rejected).toHaveLength(20);
    expect(fulfilled).toHaveLength(1_980);
    expect(rejected.every((outcome) => isBroken(indexOf(outcome.id)) && outcome.attempts === 1 && outcome.error?.kind === 'bad_request')).toBe(true);
    expect(result.missing.map((angle) => angle.id)).toEqual(rejected.map((outcome) => outcome.id));

    // Each outcome ended when its own latency said it would: all ran at once.
    expect(result.outcomes.every((outcome) => outcome.startedAt === 0 && outcome.endedAt === 50 + (indexOf(outcome.id) % 7) * 10)).toBe(true);
    expect(provider.maxInFlight).toBe(N);

    expect(provider.calls).toHaveLength(2_001);
    expect(result.modelCalls).toBe(2_001);
    expect(result.synthesizer).toMatchObject({ status: 'fulfilled', attempts: 1 });
    expect(result.usage).toEqual(sum([...result.outcomes.map((outcome) => outcome.usage), result.synthesizer!.usage]));
    expect(result.usage.outputTokens).toBeGreaterThan(0);

    const synthesisPrompt = provider.calls.at(-1)!.request.messages[0]!.content;
    expect(synthesisPrompt).toContain('Findings from 1980 of 2000 specialists');
    expect(synthesisPrompt).toContain('Missing angles (20)');
  });

  it('with maxConcurrency 50: exactly 50 calls in flight at most, and everything still completes', async () => {
    const provider = largeProvider();
    const run = runFanOut({ task, specialists, deadlineMs: 60_000, maxConcurrency: 50 }, { provider });
    const result = await settle(run);

    expect(provider.maxInFlight).toBe(50);
    expect(result.status).toBe('partial');
    expect(result.outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1_980);
    expect(result.outcomes.filter((outcome) => outcome.status === 'rejected')).toHaveLength(20);
    expect(result.outcomes.map((outcome) => outcome.id)).toEqual(specialists.map((specialist) => specialist.id));
    expect(result.modelCalls).toBe(2_001);
    // Specialists start in config order as slots open.
    const starts = provider.calls.filter((call) => call.caller?.id !== 'synthesizer').map((call) => call.caller!.id);
    expect(starts).toEqual(specialists.map((specialist) => specialist.id));
  });
});
