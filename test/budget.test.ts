/**
 * Budget caps through the real SDK against the simulator: a run that cannot fit is refused
 * before any model call (its estimate counted with count_tokens); while it runs no specialist's
 * call starts past the line, the synthesis keeps its share, runs on what arrived and must fit
 * whole under the cap; the ledger's rules, and the edges (a synthesis squeezed or refused, a
 * sub-lead's refused synthesis, a provider that throws, count_tokens failing, config errors).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { researchConfig, runFanOut, type FanOutConfig, type ModelProvider, type ModelRequest } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { BudgetLedger, fitOutputTo, worstCaseOf, type Spend } from '../src/budget/ledger.ts';
import { DEFAULT_PRICES } from '../src/pricing/prices.ts';
import { BudgetExceededError } from '../src/budget/estimate.ts';
import type { Simulator } from '../src/simulator/index.ts';
import { settleOverLoopback, simulatorPerTest } from './support.ts';

const simulator = simulatorPerTest();
const provider = (server: Simulator) => createAnthropicProvider({ apiKey: 'sk-ant-budget', baseURL: server.url, env: {} });
const messages = (server: Simulator) => server.requests.filter((request) => request.path === '/v1/messages');
const research = (budget: NonNullable<FanOutConfig['budget']>): FanOutConfig => ({ ...researchConfig('nuclear fusion'), budget });

describe('budget caps (real SDK ↔ simulator)', () => {
  it("refuses, before any model call, a run whose first inputs and the synthesis's share already pass the cap, showing the estimate", async () => {
    const server = await simulator();
    const run = runFanOut(research({ usd: 0.001 }), { provider: provider(server) });
    const error = await run.result.then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(BudgetExceededError);
    const refused = error as BudgetExceededError;
    expect(refused.message).toMatch(
      /^Refused before any call \(run config\): the run's unavoidable cost is estimated at \$0\.\d{4}, [\d,]+ in \/ [\d,]+ out tokens — its 3 first calls' inputs \$0\.\d{4}/,
    );
    expect(refused.message).toContain('(3 counted with count_tokens)');
    expect(refused.estimate.total.usd).toBeGreaterThan(0.001);
    // Counted, not called.
    expect(server.requests.filter((request) => request.path === '/v1/messages/count_tokens')).toHaveLength(3);
    expect(messages(server)).toHaveLength(0);
  });

  it('stops the fan-out when the next call would pass the line; the synthesis runs on what arrived with its share; the run ends within its cap', async () => {
    const server = await simulator();
    const result = await runFanOut(research({ usd: 0.05 }), { provider: provider(server) }).result;
    expect(result).toMatchObject({ status: 'partial', stop: 'budget' });
    const skipped = result.outcomes.filter((outcome) => outcome.status === 'skipped');
    expect(skipped.length).toBeGreaterThan(0);
    for (const outcome of skipped) expect(outcome.error).toMatchObject({ kind: 'budget', message: expect.stringMatching(/^budget: /) });
    for (const missing of result.missing) expect(missing.reason).toMatch(/^budget: /);
    // The synthesis ran, on what arrived, within its share.
    expect(result.synthesizer).toMatchObject({ status: 'fulfilled' });
    expect(result.synthesis).toContain('## Cross-cutting synthesis');
    // What the run spent, booked per call, agrees with the result's own cost, and the overshoot bound holds.
    const budget = result.budget!;
    expect(budget.caps.usd).toBe(0.05);
    expect(budget.atExhaustion).not.toBeNull();
    expect(budget.spent.usd - 0.05).toBeLessThanOrEqual(budget.atExhaustion!.inFlight.usd);
    expect(budget.spent.usd).toBeLessThanOrEqual(0.05);
    expect(budget.reserve.usd).toBeGreaterThan(0);
    expect(budget.estimate.usd).toBeGreaterThan(budget.reserve.usd);
  });

  it("onBudget 'cut' stops the calls in flight when the budget runs out; 'finish' lets them end", async () => {
    const specialists = Array.from({ length: 6 }, (_, index) => ({ id: `s${index}`, angle: `Angle ${index}`, instructions: 'Write 150-200 words.', maxTokens: 400 }));
    for (const onBudget of ['finish', 'cut'] as const) {
      // One simulated clock for the run and the simulator: calls take time, so some are in flight when the line is reached.
      const clock = new SimulatedClock();
      const server = await simulator({ clock, latency: { firstTokenMs: 500, tokensPerSecond: 100 } });
      const run = runFanOut({ task: 'tidal power', specialists, maxConcurrency: 2, budget: { usd: 0.03, onBudget } }, { provider: provider(server), clock });
      const result = await settleOverLoopback(run, clock, () => true, 50);
      await server.close();
      expect(result).toMatchObject({ status: 'partial', stop: 'budget' });
      const budget = result.budget!;
      expect(budget.atExhaustion!.inFlight.usd).toBeGreaterThan(0);
      expect(budget.spent.usd - 0.03).toBeLessThanOrEqual(budget.atExhaustion!.inFlight.usd);
      const cut = result.outcomes.filter((outcome) => outcome.error?.message === "budget: stopped, the run's budget was spent");
      if (onBudget === 'cut') {
        // The calls in flight were stopped, keeping what they had done.
        expect(cut.length).toBeGreaterThan(0);
        for (const outcome of cut) expect(outcome).toMatchObject({ status: 'skipped', attempts: 1, error: { kind: 'budget' } });
        // Their requests were cut off (one aborted before it reached the server never shows there).
        const closed = server.requests.filter((request) => request.outcome === 'client_closed').length;
        expect(closed).toBeGreaterThan(0);
        expect(closed).toBeLessThanOrEqual(cut.length);
      } else {
        // Nothing was cut: the calls in flight ended with their findings.
        expect(cut).toEqual([]);
        expect(server.requests.every((request) => request.outcome === 'completed')).toBe(true);
      }
      expect(result.outcomes.filter((outcome) => outcome.status === 'fulfilled').length).toBeGreaterThan(0);
      expect(result.synthesizer!.status).toBe('fulfilled');
    }
  });

  it("a specialist's own budget stops it without touching the others", async () => {
    const server = await simulator();
    const config: FanOutConfig = { task: 'tidal power', specialists: [{ id: 'frugal', budget: { outputTokens: 10 } }, { id: 'free' }] };
    const result = await runFanOut(config, { provider: provider(server) }).result;
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['skipped', 'fulfilled']);
    expect(result.outcomes[0]!.error).toMatchObject({ kind: 'budget', message: expect.stringMatching(/^budget: its own would be passed by its next call/) });
    expect(result.outcomes[0]!.attempts).toBe(0);
    expect(messages(server).map((request) => request.caller)).toEqual(['free', 'synthesizer']);
  });

  it('config: caps must be positive; one of them at least', () => {
    expect(() => runFanOut({ task: 't', specialists: [{ id: 'a' }], budget: {} })).toThrow(/- budget: expected at least one of usd, inputTokens, outputTokens/);
    expect(() => runFanOut({ task: 't', specialists: [{ id: 'a' }], budget: { usd: 0 } })).toThrow(/- budget\.usd: expected USD above 0/);
  });
});

const usd = (amount: number): Spend => ({ usd: amount, inputTokens: 0, outputTokens: 0 });
const SONNET = 'claude-sonnet-4-6';

describe('the budget ledger', () => {
  it('specialists stop at the line; the synthesis must fit whole beside what was spent, not held back by specialists in flight', () => {
    const ledger = new BudgetLedger({ usd: 1, inputTokens: null, outputTokens: null }, DEFAULT_PRICES, usd(0.4));
    expect(ledger.admit('a', usd(0.5))).toBeNull();
    // Under the line (0.5 + 0.4 < 1) when it starts: admitted, though its worst case passes it.
    expect(ledger.admit('b', usd(0.5))).toBeNull();
    expect(ledger.admit('c', usd(0.01))).toMatchObject({ message: expect.stringMatching(/^budget: the run's \$1\.0000 is committed/) });
    expect(ledger.exhausted).toBe(true);
    // A lead's turn beside the specialists: what was spent and its own worst case fit.
    expect(ledger.admit('lead#1', usd(0.3), { synthesis: true })).toBeNull();
    ledger.settle('a', usd(0.45));
    ledger.settle('b', usd(0.45));
    // 0.9 spent + 0.3 of its own in flight + 0.2: past the cap, refused (and it does not exhaust the fan-out's budget twice).
    expect(ledger.admit('lead#2', usd(0.2), { synthesis: true })).toMatchObject({
      message: expect.stringMatching(/^budget: what is left of the run's \$1\.0000 cannot pay for this call \(spent \$0\.9000/),
    });
    ledger.settle('lead#1', usd(0.05));
    expect(ledger.admit('synthesis', usd(0.05), { synthesis: true })).toBeNull();
    expect(ledger.spent.usd).toBeCloseTo(0.95, 10);
  });

  it("lowers a synthesis's maxTokens to what is left of the cap, and leaves it when not even 256 tokens fit (then it is refused)", () => {
    const request = (): ModelRequest => ({ model: SONNET, maxTokens: 60_000, messages: [{ role: 'user', content: 'Fold these findings.' }] });
    const ledger = new BudgetLedger({ usd: 0.05, inputTokens: null, outputTokens: null }, DEFAULT_PRICES);
    ledger.book(usd(0.02));
    const squeezed = request();
    fitOutputTo(ledger, squeezed);
    expect(squeezed.maxTokens).toBeLessThan(2_000);
    expect(squeezed.maxTokens).toBeGreaterThan(1_900);
    expect(0.02 + worstCaseOf(squeezed, DEFAULT_PRICES).usd).toBeLessThanOrEqual(0.05);
    expect(ledger.admit('synthesis', worstCaseOf(squeezed, DEFAULT_PRICES), { synthesis: true })).toBeNull();

    const broke = new BudgetLedger({ usd: 0.05, inputTokens: null, outputTokens: null }, DEFAULT_PRICES);
    broke.book(usd(0.047));
    const tooLittle = request();
    fitOutputTo(broke, tooLittle);
    expect(tooLittle.maxTokens).toBe(60_000);
    expect(broke.admit('synthesis', worstCaseOf(tooLittle, DEFAULT_PRICES), { synthesis: true })).not.toBeNull();
  });
});

describe('budget caps: the edges (scripted provider)', () => {
  it('a synthesis asking for far more than is left writes a shorter answer, and the run stays within its cap', async () => {
    const provider = createScriptedProvider({
      reply: (_request, call) => (call.caller?.id === 'synthesizer' ? { text: 'folded', usage: { outputTokens: 1_500 } } : { text: 'a finding', usage: { outputTokens: 500 } }),
    });
    const config: FanOutConfig = {
      task: 'tidal power',
      specialists: ['a', 'b', 'c'].map((id) => ({ id, model: SONNET, maxTokens: 600 })),
      synthesizer: { model: SONNET, maxTokens: 60_000 },
      budget: { usd: 0.06 },
    };
    const result = await runFanOut(config, { provider }).result;
    expect(result.status).toBe('done');
    const synthesis = provider.calls.find((call) => call.caller?.id === 'synthesizer')!.request;
    expect(synthesis.maxTokens).toBeLessThan(60_000);
    expect(synthesis.maxTokens).toBeGreaterThanOrEqual(256);
    expect(result.budget!.spent.usd).toBeLessThanOrEqual(0.06);
  });

  it('a synthesis that cannot fit even a short answer is refused, not run past the cap; the findings are kept', async () => {
    const provider = createScriptedProvider({ reply: () => ({ text: 'a finding', usage: { outputTokens: 1_000 } }) });
    const config: FanOutConfig = {
      task: 'tidal power',
      specialists: ['a', 'b'].map((id) => ({ id, model: SONNET, maxTokens: 1_000 })),
      synthesizer: { model: SONNET, maxTokens: 1_000 },
      // Barely anything kept for the synthesis: both specialists start under the line and spend it all.
      budget: { usd: 0.031, reserve: 0.01 },
    };
    const result = await runFanOut(config, { provider }).result;
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(result.synthesizer).toMatchObject({
      status: 'skipped',
      attempts: 0,
      error: { kind: 'budget', message: expect.stringMatching(/^budget: what is left of the run's \$0\.0310 cannot pay for this call/) },
    });
    expect(result.status).toBe('failed');
    expect(provider.calls.filter((call) => call.caller?.id === 'synthesizer')).toHaveLength(0);
  });

  it("a sub-lead whose synthesis the budget refused hands up its findings as they came, and the run's synthesis folds them", async () => {
    const provider = createScriptedProvider({
      reply: (_request, call) =>
        call.caller?.id === 'x' || call.caller?.id === 'y' ? { text: `finding of ${call.caller.id}`, usage: { outputTokens: 1_000 } } : { text: 'folded', usage: { outputTokens: 100 } },
    });
    const config: FanOutConfig = {
      task: 'tidal power',
      specialists: [
        {
          id: 'team',
          angle: 'Team',
          specialists: [
            { id: 'x', angle: 'X side', maxTokens: 1_000 },
            { id: 'y', angle: 'Y side', maxTokens: 1_000 },
          ],
          synthesizer: { maxTokens: 400 },
        },
      ],
      synthesizer: { maxTokens: 500 },
      // 500 kept for the run's synthesis: x and y start under the line, spend 2,000, and the sub-lead's synthesis would start past it.
      budget: { outputTokens: 2_400 },
    };
    const result = await runFanOut(config, { provider }).result;
    const team = result.outcomes[0]!;
    expect(team.status).toBe('fulfilled');
    expect(team.output).toMatch(/^\(budget: .+ — not summarised; its 2 of 2 findings as they came\)\n\n## X side\n\nfinding of x\n\n## Y side\n\nfinding of y$/);
    expect(team.subOutcomes!.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
    const synthesis = provider.calls.find((call) => call.caller?.id === 'synthesizer')!.request;
    expect(JSON.stringify(synthesis.messages)).toContain('finding of y');
    expect(result.synthesizer!.status).toBe('fulfilled');
    expect(result.budget!.spent.outputTokens).toBeLessThanOrEqual(2_400);
  });

  it('a provider that throws instead of rejecting fails that specialist and leaves nothing booked in flight', async () => {
    const scripted = createScriptedProvider({ reply: () => ({ text: 'a finding', usage: { outputTokens: 50 } }) });
    const provider: ModelProvider = {
      name: 'throwing',
      stream: (request, options) => {
        if (options.caller?.id === 'greedy') throw new Error('boom: thrown, not rejected');
        return scripted.stream(request, options);
      },
    };
    const config: FanOutConfig = {
      task: 'tidal power',
      // Its worst case ($0.96) left booked would push the next specialist past the line.
      specialists: [
        { id: 'greedy', model: SONNET, maxTokens: 64_000, policy: { retry: { maxAttempts: 1 } } },
        { id: 'modest', model: SONNET, maxTokens: 500 },
      ],
      synthesizer: { model: SONNET, maxTokens: 4_000 },
      budget: { usd: 1 },
    };
    const result = await runFanOut(config, { provider }).result;
    expect(result.outcomes[0]).toMatchObject({ id: 'greedy', status: 'rejected', error: { message: expect.stringContaining('boom: thrown, not rejected') } });
    expect(result.outcomes[1]).toMatchObject({ id: 'modest', status: 'fulfilled' });
    expect(result).toMatchObject({ status: 'partial', synthesizer: { status: 'fulfilled' } });
  });

  it('count_tokens failing makes the estimate measure the text instead; the run goes on', async () => {
    const scripted = createScriptedProvider();
    let counts = 0;
    const provider: ModelProvider = {
      name: 'no-count',
      stream: (request, options) => scripted.stream(request, options),
      countTokens: async () => {
        counts++;
        throw new Error('404: count_tokens is not served here');
      },
    };
    const result = await runFanOut({ task: 'tidal power', specialists: [{ id: 'a' }, { id: 'b' }], budget: { usd: 1 } }, { provider }).result;
    expect(counts).toBe(1);
    expect(result.status).toBe('done');
    expect(result.budget!.estimate.usd).toBeGreaterThan(0);
  });

  it("a specialist's own USD cap is kept with the prices given, with no run budget", async () => {
    const provider = createScriptedProvider();
    const prices = { ...DEFAULT_PRICES, 'house-model': { input: 1_000, output: 1_000, cacheWrite: 1_000, cacheRead: 100 } };
    const config: FanOutConfig = { task: 'tidal power', specialists: [{ id: 'dear', model: 'house-model', budget: { usd: 0.01 } }, { id: 'plain' }] };
    const result = await runFanOut(config, { provider, prices }).result;
    expect(result.outcomes[0]).toMatchObject({ status: 'skipped', attempts: 0, error: { kind: 'budget', message: expect.stringMatching(/^budget: its own would be passed/) } });
    // Without the price, the model is unpriced and only token caps would count.
    const unpriced = await runFanOut(config, { provider }).result;
    expect(unpriced.outcomes[0]!.status).toBe('fulfilled');
  });

  it('config: weights, a context and budgets that could do nothing are errors naming their path', () => {
    const base = { task: 't', specialists: [{ id: 'a' }] };
    expect(() => runFanOut({ ...base, weights: {} })).toThrow(/- weights: expected at least one of confidence, sources, words, speed above 0/);
    expect(() => runFanOut({ ...base, weights: { confidence: 0, sources: 0 } })).toThrow(/- weights: expected at least one of/);
    expect(() => runFanOut({ ...base, context: {} })).toThrow(/- context: expected a non-empty `brief` or a document with text/);
    expect(() => runFanOut({ ...base, context: { brief: '  ', documents: [] } })).toThrow(/- context: expected a non-empty `brief`/);
    expect(() => runFanOut({ task: 't', specialists: [{ id: 'team', specialists: [{ id: 'x' }], budget: { usd: 1 } }] })).toThrow(
      /- specialists\[0\]\.budget: a sub-lead makes no model call of its own: put `budget` on its synthesizer or its specialists \(or cap the whole run with the run's `budget`\)/,
    );
    expect(() => runFanOut({ task: 't', specialists: [{ id: 'fn', run: async () => 'x', budget: { usd: 1 } }] })).toThrow(
      /- specialists\[0\]\.budget: a `run` function makes no model call, so it takes no `budget`/,
    );
  });
});
