/**
 * One cached shared context through the real SDK against the simulator: a long context goes
 * first in every call as a cache prefix; one call writes the cache and the rest start once its
 * response has begun, so they read it; a short one is sent plainly with nothing held back.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runFanOut, type FanOutConfig } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { settle, simulatorPerTest } from './support.ts';
import { costOfRun, priceOf } from '../src/pricing/cost.ts';

const simulator = simulatorPerTest();

const REPORT = 'The tidal barrage at La Rance has produced power since 1966, at 240 MW peak. '.repeat(1000);
const config = (context: NonNullable<FanOutConfig['context']>): FanOutConfig => ({
  task: 'tidal power',
  context,
  specialists: Array.from({ length: 10 }, (_, index) => ({ id: `s${index}`, angle: `Angle ${index}` })),
  synthesizer: { run: async ({ outcomes }) => `folded ${outcomes?.length}` },
});

/** What the inputs of a run's calls cost, uncached, cache writes and cache reads at their prices. */
function inputCost(outcomes: ReadonlyArray<{ usage: { inputTokens: number; cacheCreationInputTokens: number; cacheReadInputTokens: number }; model: string | null }>): number {
  return outcomes.reduce((sum, outcome) => {
    const price = priceOf(outcome.model!)!;
    return sum + (outcome.usage.inputTokens * price.input + outcome.usage.cacheCreationInputTokens * price.cacheWrite + outcome.usage.cacheReadInputTokens * price.cacheRead) / 1e6;
  }, 0);
}

describe('a shared context, cached once (real SDK ↔ simulator)', () => {
  it('one call writes the cache, the other nine read it: input cost at most a quarter of the same run uncached', async () => {
    const server = await simulator();
    const cached = await runFanOut(config({ brief: 'Use the report.', documents: [{ title: 'Tidal report', text: REPORT }] }), {
      provider: createAnthropicProvider({ apiKey: 'sk-ant-ctx', baseURL: server.url, env: {} }),
    }).result;
    expect(cached.status).toBe('done');
    const requests = server.requests.filter((request) => request.path === '/v1/messages');
    const [first, ...rest] = requests;
    // The first writes the context's cache; every other one reads exactly that prefix — so each
    // was sent after the first's response began (a write becomes readable only then).
    expect(first!.usage!.cache_creation_input_tokens).toBeGreaterThan(15_000);
    for (const request of rest) {
      expect(request.usage!.cache_read_input_tokens).toBe(first!.usage!.cache_creation_input_tokens);
      expect(request.usage!.cache_creation_input_tokens).toBe(0);
    }
    // The context went first, identical for every call.
    expect(requests.every((request) => request.text.startsWith('<context>\n<brief>\nUse the report.\n</brief>\n<document index="1" title="Tidal report">'))).toBe(true);
    // Per specialist: one write, nine reads, in usage and cost.
    expect(cached.outcomes.filter((outcome) => outcome.usage.cacheCreationInputTokens > 0).map((outcome) => outcome.id)).toEqual([first!.caller]);
    expect(cached.outcomes.filter((outcome) => outcome.usage.cacheReadInputTokens > 0)).toHaveLength(9);
    expect(costOfRun(cached).total.costUsd).toBeGreaterThan(0);

    // The same run without prompt caching pays the whole context ten times.
    const uncached = await runFanOut(config({ brief: 'Use the report.', documents: [{ title: 'Tidal report', text: REPORT }] }), {
      provider: createAnthropicProvider({ apiKey: 'sk-ant-ctx', baseURL: server.url, env: {}, promptCaching: false }),
    }).result;
    expect(uncached.outcomes.every((outcome) => outcome.usage.cacheReadInputTokens === 0 && outcome.usage.cacheCreationInputTokens === 0)).toBe(true);
    expect(inputCost(cached.outcomes) / inputCost(uncached.outcomes)).toBeLessThanOrEqual(0.25);
  });

  it('a context below the cache minimum is sent plainly, and no call waits for another', async () => {
    // The first specialist hangs: a warm-up would hold the others back; a short context holds nobody.
    const server = await simulator({ faults: [{ match: { caller: 's0' }, fault: { type: 'hang' } }] });
    const run = runFanOut({ ...config('A short brief: focus on Europe.'), deadlineMs: 60_000 }, { provider: createAnthropicProvider({ apiKey: 'sk-ant-ctx', baseURL: server.url, env: {} }) });
    await server.waitFor((request) => request.caller === 's9', 'ended');
    expect(server.requests.filter((request) => request.caller?.startsWith('s')).length).toBe(10);
    for (const request of server.requests.filter((entry) => entry.caller !== 's0')) expect(request.usage!.cache_creation_input_tokens + request.usage!.cache_read_input_tokens).toBe(0);
    run.cancel('done looking');
    expect((await run.result).status).toBe('cancelled');
  });

  it('a long context with a first call that fails: the others still start (uncached)', async () => {
    const server = await simulator({ faults: [{ match: { caller: 's0' }, fault: { type: 'http_error', status: 400, errorType: 'invalid_request_error' } }] });
    const result = await runFanOut(config(REPORT), { provider: createAnthropicProvider({ apiKey: 'sk-ant-ctx', baseURL: server.url, env: {} }) }).result;
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['rejected', ...Array(9).fill('fulfilled')]);
  });

  describe('the warm-up with failures and restarts (scripted provider, fake time)', () => {
    afterEach(() => vi.useRealTimers());

    it("the warmer's first call failing lets the others start then, not after its retries", async () => {
      vi.useFakeTimers({ now: 0 });
      const provider = createScriptedProvider({ latencyMs: 100, byCaller: { s0: [{ error: { kind: 'overloaded', message: '529 overloaded' }, latencyMs: 100 }, { latencyMs: 100 }] } });
      const result = await settle(runFanOut(config(REPORT), { provider, random: () => 0.5 }));
      expect(result.status).toBe('done');
      const s0 = provider.calls.filter((call) => call.caller?.id === 's0');
      expect(s0).toHaveLength(2);
      // s0's retry waits out its backoff; the others start as soon as its first call ended.
      expect(s0[1]!.startedAt).toBeGreaterThan(100);
      const others = provider.calls.filter((call) => /^s[1-9]$/.test(call.caller?.id ?? ''));
      expect(others).toHaveLength(9);
      expect(others.every((call) => call.startedAt === 100)).toBe(true);
    });

    it('a warmer restarted before its cache write warms again, first, and the run finishes', async () => {
      vi.useFakeTimers({ now: 0 });
      let s0Calls = 0;
      const provider = createScriptedProvider({ latencyMs: 100, reply: (_request, call) => (call.caller?.id === 's0' && ++s0Calls === 1 ? { hang: true } : undefined) });
      const run = runFanOut({ ...config(REPORT), deadlineMs: 60_000 }, { provider });
      await vi.advanceTimersByTimeAsync(500);
      // Warming: only the warmer has been called.
      expect(provider.calls.map((call) => call.caller?.id)).toEqual(['s0']);
      run.actor.send({ type: 'specialist.restart', id: 's0' });
      const result = await settle(run);
      expect(result.status).toBe('done');
      const order = provider.calls.map((call) => [call.caller?.id, call.startedAt]);
      // The restarted warmer is called again first; the others once its response is in.
      expect(order[0]).toEqual(['s0', 0]);
      expect(order[1]).toEqual(['s0', 500]);
      expect(order.slice(2).every(([id, at]) => id !== 's0' && at === 600)).toBe(true);
      expect(order).toHaveLength(11);
    });
  });
});
