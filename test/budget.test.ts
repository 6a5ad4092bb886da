/**
 * Budget caps through the real SDK against the simulator: a run that cannot fit is refused
 * before any model call (its estimate counted with count_tokens); while it runs no call starts
 * past the line, the synthesis keeps its share and runs on what arrived, and the overshoot is
 * never more than what was in flight when the budget ran out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createAnthropicProvider, researchConfig, runFanOut, type FanOutConfig } from '../src/index.ts';
import { BudgetExceededError } from '../src/budget/estimate.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/simulator/index.ts';
import { settleOverLoopback } from './support.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ latency: { firstTokenMs: 0, tokensPerSecond: Infinity }, ...options });
  return sim;
}
const provider = (server: Simulator) => createAnthropicProvider({ apiKey: 'sk-ant-budget', baseURL: server.url, env: {} });
const messages = (server: Simulator) => server.requests.filter((request) => request.path === '/v1/messages');
const research = (budget: NonNullable<FanOutConfig['budget']>): FanOutConfig => ({ ...researchConfig('nuclear fusion'), budget });

describe('budget caps (real SDK ↔ simulator)', () => {
  it('refuses, before any model call, a run whose first inputs and the synthesis\'s share already pass the cap, showing the estimate', async () => {
    const server = await simulator();
    const run = runFanOut(research({ usd: 0.001 }), { provider: provider(server) });
    const error = await run.result.then(() => null, (failure: unknown) => failure);
    expect(error).toBeInstanceOf(BudgetExceededError);
    const refused = error as BudgetExceededError;
    expect(refused.message).toMatch(/^Refused before any call \(run config\): the run's unavoidable cost is estimated at \$0\.\d{4}, [\d,]+ in \/ [\d,]+ out tokens — its 3 first calls' inputs \$0\.\d{4}/);
    expect(refused.message).toContain('(3 counted with count_tokens)');
    expect(refused.estimate.total.usd).toBeGreaterThan(0.001);
    // Counted, not called.
    expect(server.requests.filter((request) => request.path === '/v1/messages/count_tokens')).toHaveLength(3);
    expect(messages(server)).toHaveLength(0);
  });

  it('stops the fan-out when the next call would pass the line; the synthesis runs on what arrived with its share; the overshoot is at most what was in flight', async () => {
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
      sim = undefined;
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
