/**
 * Batch mode through the real SDK against the simulator over loopback: specialists' calls go
 * into Message Batches, results become their outcomes, failures go through the supervision
 * policy, the deadline's margin cancels batches, and batched tokens cost half. Time for fanfold
 * and for the simulator's batches is one `SimulatedClock` the test moves; network I/O is real.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { z } from 'zod';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { ConfigError, ProviderError, costOfRun, defineTool, estimateCostUsd, normalizeConfig, runFanOut, type FanOutConfig, type FanOutRun, type Usage } from '../src/index.ts';
import { createBatchingProvider } from '../src/providers/batch/batchingProvider.ts';
import { callBase, customIdOf, parseCustomId } from '../src/providers/batch/callIdentity.ts';
import { CUSTOM_ID_PATTERN, DEFAULT_BATCH_SETTINGS, MAX_BATCH_BYTES, MAX_BATCH_REQUESTS, cancelMarginOf } from '../src/providers/batch/settings.ts';
import { BATCH_BODY_OVERHEAD, splitBatches } from '../src/providers/batch/splitBatches.ts';
import { BATCH_PRICE_FACTOR, DEFAULT_PRICES } from '../src/pricing/prices.ts';
import { decideAfterFailure, DEFAULT_POLICY, resolvePolicy } from '../src/policy.ts';
import * as simulatorLimits from '../src/simulator/index.ts';
import type { Simulator, SimulatorOptions } from '../src/simulator/index.ts';
import { record, researchSpecialists, simulatorPerTest, settleOverSdk } from './support.ts';

const KEY = 'sk-ant-batch-test-key';
const task = 'tidal power';
const simulator = simulatorPerTest();
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Request `i` of a batch completes `1,000 + i × 100` ms after its create; canceling takes 250 ms. */
const stepped = { baseMs: 1_000, perRequestMs: 100, jitterMs: 0, cancelMs: 250 };
/** A round is gathered for 100 ms and polled every 500 ms. */
const quick = { gatherMs: 100, pollMs: 500, maxPollMs: 500 };

async function start(options: SimulatorOptions = {}): Promise<{ sim: Simulator; clock: SimulatedClock }> {
  const clock = new SimulatedClock();
  const sim = await simulator({ clock, batchLatency: stepped, ...options });
  return { sim, clock };
}

const providerOf = (sim: Simulator) => createAnthropicProvider({ apiKey: KEY, baseURL: sim.url, env: {} });

function startRun(sim: Simulator, clock: SimulatedClock, config: Partial<FanOutConfig>): FanOutRun {
  return runFanOut({ task, specialists: researchSpecialists, deadlineMs: 600_000, batch: quick, ...config }, { provider: providerOf(sim), clock, random: () => 0.5 });
}

/** Pumps real I/O (no simulated time passes) until `done` says so. */
async function pumpUntil(clock: SimulatedClock, done: () => boolean, rounds = 2_000): Promise<void> {
  for (let round = 0; round < rounds && !done(); round++) {
    clock.increment(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (!done()) throw new Error('still waiting');
}

const messagesOf = (sim: Simulator, caller?: string) => sim.requests.filter((request) => request.path === '/v1/messages' && (caller === undefined || request.caller === caller));
const customIdsOf = (sim: Simulator) => sim.batches().map((batch) => batch.requests.map((request) => request.customId));
const costAt = (usage: Usage, model = 'claude-sonnet-4-6') => estimateCostUsd({ ...usage, batched: undefined } as unknown as Usage, model)!;

describe('the API limits and call identities', () => {
  it("the limits are the API's documented ones (100,000 requests, 256 MB) and the simulator enforces the same", () => {
    expect(MAX_BATCH_REQUESTS).toBe(100_000);
    expect(MAX_BATCH_BYTES).toBe(256 * 1024 * 1024);
    expect(MAX_BATCH_REQUESTS).toBe(simulatorLimits.MAX_BATCH_REQUESTS);
    expect(MAX_BATCH_BYTES).toBe(simulatorLimits.MAX_BATCH_BYTES);
    expect(CUSTOM_ID_PATTERN.source).toBe(simulatorLimits.CUSTOM_ID_PATTERN.source);
    expect(DEFAULT_BATCH_SETTINGS).toMatchObject({ maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 });
    expect(BATCH_PRICE_FACTOR).toBe(0.5);
  });

  it('splits by request count and by bytes, in order, and sets apart an entry too large for any batch', () => {
    const entries = [60, 60, 60, 60, 60].map((bytes, i) => ({ bytes, i }));
    expect(splitBatches(entries, { maxRequests: 2, maxBytes: 1_000 }).batches.map((batch) => batch.map((entry) => entry.i))).toEqual([[0, 1], [2, 3], [4]]);
    // 60 + 1 + 60 + overhead fits; a third entry would not.
    const byBytes = splitBatches(entries, { maxRequests: 100, maxBytes: BATCH_BODY_OVERHEAD + 121 });
    expect(byBytes.batches.map((batch) => batch.length)).toEqual([2, 2, 1]);
    const big = splitBatches([{ bytes: 10 }, { bytes: 500 }, { bytes: 10 }], { maxRequests: 10, maxBytes: 100 });
    expect(big.tooLarge).toEqual([{ bytes: 500 }]);
    expect(big.batches).toEqual([[{ bytes: 10 }, { bytes: 10 }]]);
  });

  it("a call's custom_id is stable for the same caller, attempt, turn and params, readable, and within the API's pattern", () => {
    const params = { model: 'claude-haiku-4-5', max_tokens: 200, messages: [{ role: 'user', content: 'Summarise this.' }] };
    const base = callBase({ id: 'historical', attempt: 1 }, params);
    expect(base).toBe(callBase({ id: 'historical', attempt: 1 }, structuredClone(params)));
    expect(base).toMatch(/^historical_a1_[0-9a-f]{16}$/);
    expect(callBase({ id: 'historical', attempt: 2 }, params)).not.toBe(base);
    expect(callBase({ id: 'historical', attempt: 1, turn: 2 }, params)).toMatch(/^historical_a1_t2_/);
    expect(callBase({ id: 'historical', attempt: 1 }, { ...params, max_tokens: 201 })).not.toBe(base);
    const odd = customIdOf(callBase({ id: `digest:${'ü'.repeat(80)}/x`, attempt: 1000, turn: 999 }, params), 1_234_567);
    expect(odd).toMatch(CUSTOM_ID_PATTERN);
    expect(parseCustomId(customIdOf(base, 3))).toEqual({ base, occurrence: 3 });
  });

  it('the cancel margin: as configured, else a tenth of the deadline from 1 s to 10 min', () => {
    expect(cancelMarginOf({ cancelMarginMs: null }, 300_000)).toBe(30_000);
    expect(cancelMarginOf({ cancelMarginMs: null }, 5_000)).toBe(1_000);
    expect(cancelMarginOf({ cancelMarginMs: null }, 24 * 3_600_000)).toBe(600_000);
    expect(cancelMarginOf({ cancelMarginMs: 42 }, 300_000)).toBe(42);
  });
});

describe('config', () => {
  it('batch: true resolves every default; specialists get no attempt deadline, the synthesizer keeps its own', () => {
    const { input } = normalizeConfig({ task, specialists: researchSpecialists, batch: true });
    expect(input.batch).toEqual({ ...DEFAULT_BATCH_SETTINGS });
    expect(input.specialists[0]!.policy.attemptTimeoutMs).toBeNull();
    expect(input.synthesizer.policy.attemptTimeoutMs).toBe(120_000);
    const given = normalizeConfig({ task, specialists: researchSpecialists, batch: true, policy: { attemptTimeoutMs: 3_600_000, streamOn: ['timeout'] } }).input;
    expect(given.specialists[0]!.policy).toMatchObject({ attemptTimeoutMs: 3_600_000, streamOn: ['timeout'] });
    expect(normalizeConfig({ task, specialists: researchSpecialists }).input.batch).toBeUndefined();
    expect(normalizeConfig({ task, specialists: researchSpecialists }).input.specialists[0]!.policy.streamOn).toEqual([]);
  });

  it('bad batch settings name every path and what was expected', () => {
    const error = (() => {
      try {
        normalizeConfig(
          { task, specialists: researchSpecialists, deadlineMs: 10_000, batch: { maxRequests: 0, maxBytes: 300 * 1024 * 1024, pollMs: 5_000, maxPollMs: 1_000, cancelMarginMs: 10_000 } },
          'app.yaml',
        );
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      [
        'Invalid fanfold config in app.yaml:',
        "  - batch.maxRequests: expected an integer from 1 to 100000 (the API's limit), got 0",
        "  - batch.maxBytes: expected an integer from 1 to 268435456 bytes (256 MB, the API's limit), got 314572800",
        '  - batch.maxPollMs: expected at least `pollMs` (5000), got 1000',
        "  - batch.cancelMarginMs: expected less than the run's deadline (10000 ms): batches are canceled this long before it, got 10000",
      ].join('\n'),
    );
    expect(() => normalizeConfig({ task, specialists: researchSpecialists, batch: 'yes' })).toThrow(/batch: expected true, false or `\{ gatherMs\?/);
    expect(() => normalizeConfig({ task, specialists: researchSpecialists, policy: { streamOn: ['sometimes'] } })).toThrow(/policy\.streamOn\[0\]: expected one of rate_limited/);
  });

  it('a provider without batch endpoints is a config error before any call', () => {
    const plain = { name: 'plain', stream: () => Promise.reject(new Error('not called')) };
    expect(() => runFanOut({ task, specialists: researchSpecialists, batch: true }, { provider: plain })).toThrow(/batch: batch mode needs a provider with the Message Batches endpoints/);
  });

  it('policy: a batched failure of a kind in streamOn is made again at once, streamed, on the same model — before fallbackOn, retryable or not', () => {
    const policy = resolvePolicy(DEFAULT_POLICY, { streamOn: ['overloaded', 'cancelled'], fallbackModels: ['claude-haiku-4-5'] });
    const position = { attemptsOnModel: 3, modelIndex: 0, modelCount: 2 };
    expect(decideAfterFailure(policy, position, { kind: 'cancelled', message: 'x', batch: true }, () => 0)).toEqual({ action: 'retry', delayMs: 0, modelIndex: 0, reason: 'fallback' });
    expect(decideAfterFailure(policy, position, { kind: 'overloaded', message: 'x', batch: true }, () => 0)).toEqual({ action: 'retry', delayMs: 0, modelIndex: 0, reason: 'fallback' });
    // Not batched: as before (overload moves to the fallback model; cancelled gives up).
    expect(decideAfterFailure(policy, position, { kind: 'overloaded', message: 'x' }, () => 0)).toEqual({ action: 'retry', delayMs: 0, modelIndex: 1, reason: 'fallback' });
    expect(decideAfterFailure(policy, position, { kind: 'cancelled', message: 'x' }, () => 0)).toEqual({ action: 'giveUp' });
  });
});

describe('a batched fan-out (real SDK ↔ simulator)', () => {
  it("one round, one batch: every specialist's call is in it, results are their outcomes, and only the synthesis streams", async () => {
    const { sim, clock } = await start();
    const run = startRun(sim, clock, {});
    const events = record(run);
    const result = await settleOverSdk(run, clock);

    expect(result.status).toBe('done');
    expect(sim.batches()).toHaveLength(1);
    const [batch] = sim.batches();
    expect(batch!.requests.map((request) => request.customId)).toEqual([
      expect.stringMatching(/^historical_a1_[0-9a-f]{16}_0$/),
      expect.stringMatching(/^technical_a1_[0-9a-f]{16}_0$/),
      expect.stringMatching(/^societal_a1_[0-9a-f]{16}_0$/),
    ]);
    // Created once the 100 ms window closed; polled every 500 ms until it ended at 100 + 1,200 ms.
    expect(batch!.createdAt).toBe(100);
    expect(batch!.endedAt).toBe(1_300);
    expect(messagesOf(sim).map((request) => request.caller)).toEqual(['synthesizer']);
    expect(result.modelCalls).toBe(4);

    for (const [index, outcome] of result.outcomes.entries()) {
      const request = batch!.requests[index]!;
      expect(outcome).toMatchObject({ status: 'fulfilled', attempts: 1, turns: 1, stopReason: 'end_turn', model: 'claude-sonnet-4-6' });
      expect(outcome.output).toContain('[Simulated]');
      // Usage as the simulator billed it, all of it batched.
      const tokens = { inputTokens: request.usage!.input_tokens, outputTokens: request.usage!.output_tokens, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
      expect(outcome.usage).toEqual({ ...tokens, batched: tokens });
    }
    expect(result.synthesizer!.usage.batched).toBeUndefined();
    expect(result.usage.batched).toEqual({
      inputTokens: result.outcomes.reduce((sum, outcome) => sum + outcome.usage.inputTokens, 0),
      outputTokens: result.outcomes.reduce((sum, outcome) => sum + outcome.usage.outputTokens, 0),
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
    });

    // A batch's progress: submitted, polled while it runs, ended with the results' counts — before the synthesis.
    const batchEvents = events.filter((event) => event.type.startsWith('batch.'));
    expect(batchEvents[0]).toEqual({ type: 'batch.submitted', batchId: batch!.id, requests: 3, bytes: expect.any(Number), at: 100 });
    expect(batchEvents.at(-1)).toEqual({
      type: 'batch.ended',
      batchId: batch!.id,
      requests: 3,
      counts: { processing: 0, succeeded: 3, errored: 0, canceled: 0, expired: 0 },
      canceled: null,
      kept: false,
      at: 1_600,
    });
    expect(batchEvents.slice(1, -1).map((event) => event.type)).toEqual(expect.arrayContaining(['batch.progress']));
    expect(events.findIndex((event) => event.type === 'batch.ended')).toBeLessThan(events.findIndex((event) => event.type === 'synthesis.started'));
    // Each specialist's text reached its listeners once, whole, as a token event.
    expect(events.filter((event) => event.type === 'specialist.token' && event['id'] === 'technical').map((event) => event['text'])).toEqual([result.outcomes[1]!.output]);
  });

  it('gives each specialist what the same call streamed gives it (text, stop reason, usage)', async () => {
    const { sim, clock } = await start();
    const batched = await settleOverSdk(startRun(sim, clock, {}), clock);
    const streamed = await settleOverSdk(startRun(sim, clock, { batch: false }), clock);
    for (const [index, outcome] of batched.outcomes.entries()) {
      const plain = streamed.outcomes[index]!;
      expect(outcome.output).toBe(plain.output);
      expect(outcome.stopReason).toBe(plain.stopReason);
      expect({ ...outcome.usage, batched: undefined }).toEqual({ ...plain.usage, batched: undefined });
    }
  });

  it('splits a round past maxRequests and past maxBytes into several batches, each call in exactly one', async () => {
    const { sim, clock } = await start();
    const specialists = Array.from({ length: 5 }, (_, i) => ({ id: `s${i + 1}`, angle: `Angle ${i + 1}` }));
    const byCount = await settleOverSdk(startRun(sim, clock, { specialists, batch: { ...quick, maxRequests: 2 } }), clock);
    expect(byCount.status).toBe('done');
    expect(customIdsOf(sim).map((ids) => ids.map((id) => id.split('_')[0]))).toEqual([['s1', 's2'], ['s3', 's4'], ['s5']]);

    const { sim: sim2, clock: clock2 } = await start();
    // A request here takes about 450 bytes: no more than two fit in 1,000.
    const run = startRun(sim2, clock2, { specialists, batch: { ...quick, maxBytes: 1_000 } });
    const events = record(run);
    expect((await settleOverSdk(run, clock2)).status).toBe('done');
    const submitted = events.filter((event) => event.type === 'batch.submitted');
    expect(submitted.length).toBeGreaterThanOrEqual(3);
    for (const event of submitted) expect((event['bytes'] as number) + BATCH_BODY_OVERHEAD + (event['requests'] as number) - 1).toBeLessThanOrEqual(1_000);
    expect(customIdsOf(sim2).map((ids) => ids.length)).toEqual(submitted.map((event) => event['requests']));
    expect(
      customIdsOf(sim2)
        .flat()
        .map((id) => id.split('_')[0]),
    ).toEqual(['s1', 's2', 's3', 's4', 's5']);
  });
});

describe('each result type becomes an outcome, and the policy decides', () => {
  it('errored (api_error): a server error, retried as a new call in a new batch', async () => {
    const { sim, clock } = await start({ faults: [{ match: { customId: /^technical_a1_/ }, times: 1, fault: { type: 'batch_errored', errorType: 'api_error', message: 'Internal failure.' } }] });
    const run = startRun(sim, clock, { policy: { retry: { initialDelayMs: 200, jitter: 0 } } });
    const events = record(run);
    const result = await settleOverSdk(run, clock);

    expect(result.status).toBe('done');
    expect(result.outcomes[1]).toMatchObject({ id: 'technical', status: 'fulfilled', attempts: 2 });
    expect(customIdsOf(sim)).toEqual([
      [expect.stringMatching(/^historical_a1_/), expect.stringMatching(/^technical_a1_/), expect.stringMatching(/^societal_a1_/)],
      [expect.stringMatching(/^technical_a2_/)],
    ]);
    expect(events.find((event) => event.type === 'specialist.retrying')).toMatchObject({
      id: 'technical',
      attempt: 2,
      reason: 'backoff',
      delayMs: 200,
      error: { kind: 'server', message: 'the batch request errored (api_error): Internal failure.', batch: true },
    });
    expect(messagesOf(sim, 'technical')).toEqual([]);
  });

  it('errored (invalid_request_error): bad_request, not retried; the run goes on without it', async () => {
    const { sim, clock } = await start({ faults: [{ match: { customId: /^societal_/ }, fault: { type: 'batch_errored', errorType: 'invalid_request_error', message: 'max_tokens: too large' } }] });
    const result = await settleOverSdk(startRun(sim, clock, {}), clock);
    expect(result.status).toBe('partial');
    expect(result.outcomes[2]).toMatchObject({
      status: 'rejected',
      attempts: 1,
      error: { kind: 'bad_request', message: 'the batch request errored (invalid_request_error): max_tokens: too large', batch: true },
    });
    expect(result.missing.map((missing) => missing.id)).toEqual(['societal']);
    expect(sim.batches()).toHaveLength(1);
  });

  it('expired: a timeout, retried in a new batch', async () => {
    const { sim, clock } = await start({
      batchLatency: { ...stepped, expiryMs: 60_000 },
      faults: [{ match: { customId: /^historical_a1_/ }, times: 1, fault: { type: 'batch_expired', afterMs: 1_050 } }],
    });
    const result = await settleOverSdk(startRun(sim, clock, { policy: { retry: { initialDelayMs: 100, jitter: 0 } } }), clock);
    expect(result.status).toBe('done');
    const [first, second] = sim.batches();
    // The first batch stopped processing after its first request; the rest expired at expires_at.
    expect(first!.requests.map((request) => request.status)).toEqual(['succeeded', 'expired', 'expired']);
    expect(second!.requests.map((request) => request.customId)).toEqual([expect.stringMatching(/^technical_a2_/), expect.stringMatching(/^societal_a2_/)]);
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.attempts])).toEqual([
      ['historical', 1],
      ['technical', 2],
      ['societal', 2],
    ]);
  });

  it('canceled by someone else: cancelled, which the default policy does not retry', async () => {
    const { sim, clock } = await start({ faults: [{ match: { customId: /^historical_a1_/ }, times: 1, fault: { type: 'batch_canceled', afterMs: 900 } }] });
    const result = await settleOverSdk(startRun(sim, clock, {}), clock);
    // Canceled at 100 + 900 ms, canceling for 250 ms: request 0 (due at 1,100) and 1 (1,200) finish, 2 (1,300) is canceled.
    expect(sim.batches()[0]).toMatchObject({ canceledBy: 'server', cancelInitiatedAt: 1_000 });
    expect(sim.batches()[0]!.requests.map((request) => request.status)).toEqual(['succeeded', 'succeeded', 'canceled']);
    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(result.outcomes[2]!.error).toEqual({ kind: 'cancelled', batch: true, message: `batch ${sim.batches()[0]!.id} was canceled before this request was processed` });
    expect(sim.batches()).toHaveLength(1);
  });

  it('canceled, with streamOn [cancelled]: the retry is a streamed call at once, at full price', async () => {
    const { sim, clock } = await start({ faults: [{ match: { customId: /^historical_a1_/ }, times: 1, fault: { type: 'batch_canceled', afterMs: 0 } }] });
    const run = startRun(sim, clock, { policy: { streamOn: ['cancelled'] } });
    const events = record(run);
    const result = await settleOverSdk(run, clock);
    expect(result.status).toBe('done');
    expect(sim.batches()).toHaveLength(1);
    expect(sim.batches()[0]!.requests.every((request) => request.status === 'canceled')).toBe(true);
    expect(messagesOf(sim).map((request) => [request.caller, request.attempt])).toEqual([
      ['historical', 2],
      ['technical', 2],
      ['societal', 2],
      ['synthesizer', 1],
    ]);
    expect(events.filter((event) => event.type === 'specialist.retrying').map((event) => [event['id'], event['reason'], event['delayMs']])).toEqual([
      ['historical', 'fallback', 0],
      ['technical', 'fallback', 0],
      ['societal', 'fallback', 0],
    ]);
    for (const outcome of result.outcomes) {
      expect(outcome).toMatchObject({ status: 'fulfilled', attempts: 2 });
      expect(outcome.usage.batched).toBeUndefined();
    }
  });
});

describe('the batch endpoints failing', () => {
  it('a refused create (500) fails its calls as server errors with batch: true; the retries go into a new batch', async () => {
    const { sim, clock } = await start({ faults: [{ match: { path: '/v1/messages/batches', method: 'POST' }, times: 1, fault: { type: 'server_error' } }] });
    const run = startRun(sim, clock, { policy: { retry: { initialDelayMs: 100, jitter: 0 } } });
    const events = record(run);
    const result = await settleOverSdk(run, clock);
    expect(result.status).toBe('done');
    expect(
      events.filter((event) => event.type === 'specialist.retrying').map((event) => (event['error'] as { kind: string; batch?: boolean }).kind + String((event['error'] as { batch?: boolean }).batch)),
    ).toEqual(['servertrue', 'servertrue', 'servertrue']);
    expect(customIdsOf(sim)).toEqual([[expect.stringMatching(/^historical_a2_/), expect.stringMatching(/^technical_a2_/), expect.stringMatching(/^societal_a2_/)]]);
  });

  it('a poll that fails (500) and a results read cut off mid-body are made again; each result reaches its call once', async () => {
    const { sim, clock } = await start({
      faults: [
        { match: { path: /^\/v1\/messages\/batches\/[^/]+$/, method: 'GET' }, times: 1, fault: { type: 'server_error' } },
        { match: { path: /\/results$/ }, times: 1, fault: { type: 'drop' } },
      ],
    });
    const run = startRun(sim, clock, {});
    const events = record(run);
    const result = await settleOverSdk(run, clock);
    expect(result.status).toBe('done');
    expect(result.outcomes.map((outcome) => [outcome.status, outcome.attempts])).toEqual([
      ['fulfilled', 1],
      ['fulfilled', 1],
      ['fulfilled', 1],
    ]);
    expect(sim.batches()).toHaveLength(1);
    expect(sim.requests.filter((request) => request.path.endsWith('/results')).map((request) => request.fault)).toEqual(['drop', null]);
    expect(events.filter((event) => event.type === 'batch.ended')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'specialist.token')).toHaveLength(3);
  });
});

describe('costs at batch prices', () => {
  it('a batched specialist costs half; the cost report, the budget ledger and the total agree', async () => {
    const { sim, clock } = await start();
    const result = await settleOverSdk(startRun(sim, clock, { budget: { usd: 5 } }), clock);
    const report = costOfRun(result, DEFAULT_PRICES);
    for (const [index, outcome] of result.outcomes.entries()) {
      expect(report.specialists[index]!.costUsd).toBeCloseTo(costAt(outcome.usage) / 2, 12);
      expect(report.specialists[index]!.costUsd).toBeGreaterThan(0);
    }
    expect(report.synthesizer!.costUsd).toBeCloseTo(costAt(result.synthesizer!.usage), 12);
    expect(result.budget!.spent.usd).toBeCloseTo(report.total.costUsd, 12);
    expect(report.total.costUsd).toBeCloseTo(report.specialists.reduce((sum, line) => sum + line.costUsd!, 0) + report.synthesizer!.costUsd!, 12);
  });

  it('a specialist that mixes batched and streamed turns is priced exactly: the batched turn at half, the streamed one in full', async () => {
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks up records for a query.',
      input: z.object({ query: z.string() }),
      run: async ({ query }) => `record for ${query}: 240 MW in 2011`,
    });
    // Turn 2 (attempt 2) errors in its batch; streamOn makes its retry (attempt 3) a streamed call.
    const { sim, clock } = await start({ faults: [{ match: { customId: /^historical_a2_t2_/ }, times: 1, fault: { type: 'batch_errored' } }] });
    const run = startRun(sim, clock, { specialists: [{ id: 'historical', angle: 'Historical context', tools: [lookup] }], policy: { streamOn: ['overloaded'] }, budget: { usd: 5 } });
    const result = await settleOverSdk(run, clock);

    const outcome = result.outcomes[0]!;
    expect(outcome).toMatchObject({ status: 'fulfilled', turns: 2, attempts: 3 });
    const turn1 = sim.batches()[0]!.requests[0]!;
    expect(turn1.customId).toMatch(/^historical_a1_t1_/);
    expect(sim.batches()[1]!.requests.map((request) => request.status)).toEqual(['errored']);
    const [turn2] = messagesOf(sim, 'historical');
    expect(turn2).toMatchObject({ attempt: 3, turn: 2 });
    const batchedPart = {
      inputTokens: turn1.usage!.input_tokens,
      outputTokens: turn1.usage!.output_tokens,
      cacheCreationInputTokens: turn1.usage!.cache_creation_input_tokens ?? 0,
      cacheReadInputTokens: turn1.usage!.cache_read_input_tokens ?? 0,
    };
    const streamedPart = {
      inputTokens: turn2!.usage!.input_tokens,
      outputTokens: turn2!.usage!.output_tokens,
      cacheCreationInputTokens: turn2!.usage!.cache_creation_input_tokens ?? 0,
      cacheReadInputTokens: turn2!.usage!.cache_read_input_tokens ?? 0,
    };
    expect(outcome.usage.batched).toEqual(batchedPart);
    expect(outcome.usage.inputTokens).toBe(batchedPart.inputTokens + streamedPart.inputTokens);
    expect(outcome.usage.outputTokens).toBe(batchedPart.outputTokens + streamedPart.outputTokens);

    const expected = costAt(batchedPart as Usage) * BATCH_PRICE_FACTOR + costAt(streamedPart as Usage);
    const report = costOfRun(result);
    expect(report.specialists[0]!.costUsd).toBeCloseTo(expected, 12);
    expect(result.budget!.spent.usd).toBeCloseTo(report.total.costUsd, 12);
  });
});

describe('the deadline and a cancel', () => {
  it("the deadline's margin cancels the batch; what finished is read in time and the synthesis runs on it", async () => {
    // Requests due at 100 + 1,000 + i × 3,000 ms: 1.1 s, 4.1 s, 7.1 s. Deadline 10 s, margin 4 s:
    // canceled at 6 s, canceling for 250 ms — the third is canceled, the first two are read.
    const { sim, clock } = await start({ batchLatency: { ...stepped, perRequestMs: 3_000 } });
    const run = startRun(sim, clock, { deadlineMs: 10_000, batch: { ...quick, cancelMarginMs: 4_000 } });
    const events = record(run);
    const result = await settleOverSdk(run, clock);

    expect(sim.batches()[0]).toMatchObject({ canceledBy: 'client', cancelInitiatedAt: 6_000, endedAt: 6_250 });
    expect(sim.batches()[0]!.requests.map((request) => request.status)).toEqual(['succeeded', 'succeeded', 'canceled']);
    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'timedOut']);
    expect(result.outcomes[2]!.error).toMatchObject({ kind: 'deadline' });
    expect(result.missing.map((missing) => missing.id)).toEqual(['societal']);
    // The two that finished were in before the deadline; the synthesis folds them.
    const ended = events.find((event) => event.type === 'batch.ended')!;
    expect(ended).toMatchObject({ canceled: 'deadline', counts: { succeeded: 2, canceled: 1 } });
    expect(ended['at'] as number).toBeLessThan(10_000);
    expect(result.outcomes[1]!.endedAt).toBeLessThan(10_000);
    expect(result.synthesis).toContain('Technical details');
    expect(messagesOf(sim).map((request) => request.caller)).toEqual(['synthesizer']);
    // No batch after the cut-off.
    expect(sim.batches()).toHaveLength(1);
  });

  it('cancelling the run cancels its batches', async () => {
    const { sim, clock } = await start();
    const run = startRun(sim, clock, {});
    clock.increment(100);
    await pumpUntil(clock, () => sim.batches().length === 1 && run.actor.getSnapshot().status === 'active');
    run.cancel('stop');
    const result = await settleOverSdk(run, clock);
    expect(result.status).toBe('cancelled');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['skipped', 'skipped', 'skipped']);
    await pumpUntil(clock, () => sim.batches()[0]!.cancelInitiatedAt !== null);
    // Canceled at once, not at a poll: nothing after it.
    expect(sim.batches()[0]).toMatchObject({ canceledBy: 'client', cancelInitiatedAt: 100 });
    expect(sim.batches()).toHaveLength(1);
    expect(messagesOf(sim)).toEqual([]);
  });

  it('a call aborted while its round gathers is never submitted', async () => {
    const { sim, clock } = await start();
    const base = providerOf(sim);
    const provider = createBatchingProvider({ provider: base, batches: base.batches, clock, settings: { ...DEFAULT_BATCH_SETTINGS, ...quick } });
    cleanups.push(() => void provider.close());
    const request = (angle: string) => ({ model: 'claude-haiku-4-5', maxTokens: 100, messages: [{ role: 'user' as const, content: `Task: tidal power\n\nYour angle: ${angle}` }] });
    const aborted = new AbortController();
    const outcomes: unknown[] = [];
    provider.stream(request('history'), { signal: aborted.signal, caller: { id: 'a', attempt: 1 } }).catch((error: unknown) => outcomes.push(error));
    const kept = provider.stream(request('technology'), { signal: new AbortController().signal, caller: { id: 'b', attempt: 1 } });
    clock.increment(50);
    aborted.abort();
    await pumpUntil(clock, () => outcomes.length === 1, 50);
    expect(outcomes[0]).toMatchObject({ kind: 'cancelled' });
    clock.increment(50);
    await pumpUntil(clock, () => sim.batches().length === 1);
    expect(customIdsOf(sim)).toEqual([[expect.stringMatching(/^b_a1_/)]]);
    clock.increment(1_500);
    await pumpUntil(clock, () => provider.submitted.length === 1);
    let text: string | null = null;
    kept.then((response) => (text = response.text));
    for (let step = 0; step < 40 && text === null; step++) {
      clock.increment(100);
      for (let round = 0; round < 10; round++) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(text).toContain('[Simulated]');
  });

  it("a call's AbortSignal rejects it at once; a batch nobody waits for is canceled at its next poll", async () => {
    const { sim, clock } = await start();
    const base = providerOf(sim);
    const provider = createBatchingProvider({ provider: base, batches: base.batches, clock, settings: { ...DEFAULT_BATCH_SETTINGS, ...quick } });
    cleanups.push(() => void provider.close());
    const controller = new AbortController();
    const request = { model: 'claude-haiku-4-5', maxTokens: 100, messages: [{ role: 'user' as const, content: 'Task: tidal power\n\nYour angle: history' }] };
    let outcome: unknown = 'pending';
    provider.stream(request, { signal: controller.signal, caller: { id: 'a', attempt: 1 } }).then(
      (value) => (outcome = value),
      (error: unknown) => (outcome = error),
    );
    clock.increment(100);
    await pumpUntil(clock, () => sim.batches().length === 1);
    controller.abort();
    await pumpUntil(clock, () => outcome !== 'pending', 50);
    expect(outcome).toBeInstanceOf(ProviderError);
    expect(outcome).toMatchObject({ kind: 'cancelled', message: 'the call was aborted' });
    expect(clock.now()).toBe(100);
    clock.increment(500);
    await pumpUntil(clock, () => sim.batches()[0]!.cancelInitiatedAt !== null);
    expect(sim.batches()[0]).toMatchObject({ canceledBy: 'client', cancelInitiatedAt: 600 });
  });
});
