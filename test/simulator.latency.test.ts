/**
 * Pacing, driven by a clock the test owns: no test here measures wall time. The simulator
 * schedules every wait on the injected clock, so the test checks what was scheduled, advances
 * it, and sees the SDK receive the deltas one by one. The prefill tests check that the time to
 * first token follows the input usage the SDK is given: uncached input and cache writes at one
 * rate, cache reads at a faster one.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LATENCY, estimateTokens, simulatedReply, splitIntoDeltas, startSimulator, timeToFirstTokenMs, type Simulator } from '../src/simulator/index.ts';
import { FanfoldError } from '../src/errors.ts';
import { ManualClock } from './manual-clock.ts';

/** Lets pending I/O callbacks and promise continuations run a few rounds (no time passes on the test clock). */
async function flushIo(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Lets I/O and promise continuations run until `condition` holds (no time passes on the test clock). */
async function settle(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition not reached');
}

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const body = {
  model: 'claude-haiku-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user' as const, content: 'Task: Heat pumps in cold climates\n\nYour angle: Technical details\n\nAt most 60 words.' }],
};

describe('latency model', () => {
  it('a stream waits firstTokenMs plus prefill for headers and the first delta, then paces each delta by tokens/second', async () => {
    const clock = new ManualClock();
    // 1,000 input tokens/s: the prompt's 21 tokens take 21 ms to prefill.
    sim = await startSimulator({ clock, latency: { firstTokenMs: 200, tokensPerSecond: 50, prefillTokensPerSecond: 1_000 } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const deltas = splitIntoDeltas(simulatedReply(body).text);
    expect(deltas.length).toBeGreaterThan(5);
    const firstToken = 200 + estimateTokens(body.messages[0]!.content);
    expect(firstToken).toBe(221);

    const stream = client.messages.stream(body);
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const record = await sim.waitFor(() => true);
    expect(clock.pending()).toEqual([firstToken]);

    clock.advance(firstToken - 1);
    await flushIo();
    expect(record.status).toBeNull();
    expect(texts).toEqual([]);

    clock.advance(1);
    await settle(() => texts.length === 1);
    expect(record.status).toBe(200);
    expect(texts).toEqual([deltas[0]]);

    let elapsed = firstToken;
    for (let i = 1; i < deltas.length; i++) {
      await settle(() => clock.timers.length === 1);
      const wait = (estimateTokens(deltas[i] ?? '') / 50) * 1000;
      expect(clock.pending()).toEqual([wait]);
      expect(texts).toHaveLength(i);
      expect(record.endedAt).toBeNull();
      clock.advance(wait);
      elapsed += wait;
      await settle(() => texts.length === i + 1);
    }
    const message = await stream.finalMessage();
    expect(texts).toEqual(deltas);
    expect(message.content[0]).toEqual({ type: 'text', text: deltas.join('') });
    expect(message.usage.input_tokens).toBe(21);
    expect(record.endedAt).toBe(elapsed);
    expect(clock.timers).toEqual([]);
  });

  it('a JSON response waits firstTokenMs plus prefill, then the generation time of the rest, and arrives whole', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, latency: { firstTokenMs: 300, tokensPerSecond: 100, prefillTokensPerSecond: 1_000 } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const deltas = splitIntoDeltas(simulatedReply(body).text);
    const rest = deltas.slice(1).reduce((sum, delta) => sum + (estimateTokens(delta) / 100) * 1000, 0);

    const call = client.messages.create(body);
    const record = await sim.waitFor(() => true);
    expect(clock.pending()).toEqual([321]);
    clock.advance(321);
    await settle(() => clock.timers.length === 1);
    expect(clock.pending()[0]).toBeCloseTo(rest, 6);
    expect(record.status).toBeNull();
    clock.advance(rest + 1);
    const message = await call;
    expect(message.content[0]).toEqual({ type: 'text', text: deltas.join('') });
    expect(record.endedAt).toBeCloseTo(321 + rest + 1, 6);
  });

  it('tokensPerSecond Infinity sends every delta at once after the first-token delay', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, latency: { firstTokenMs: 50, tokensPerSecond: Infinity } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const stream = client.messages.stream(body);
    await sim.waitFor(() => true);
    expect(clock.pending()).toEqual([50]);
    clock.advance(50);
    const message = await stream.finalMessage();
    expect(clock.timers).toEqual([]);
    expect(message.content[0]).toEqual({ type: 'text', text: simulatedReply(body).text });
  });

  it('latencyByModel overrides the default per model, and a latency fault overrides both for one request', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({
      clock,
      latency: { firstTokenMs: 100, tokensPerSecond: Infinity },
      latencyByModel: { 'claude-opus-4-7': { firstTokenMs: 900 } },
      faults: [{ match: { pattern: 'slow lane' }, times: 1, fault: { type: 'latency', firstTokenMs: 5_000 } }],
    });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const cases: Array<[typeof body, number]> = [
      [body, 100],
      [{ ...body, model: 'claude-opus-4-7' }, 900],
      [{ ...body, messages: [{ role: 'user', content: 'the slow lane' }] }, 5_000],
    ];
    for (const [request, firstTokenMs] of cases) {
      const call = client.messages.create(request);
      const record = await sim.waitFor((entry) => entry.outcome === 'pending');
      expect(clock.pending()).toEqual([firstTokenMs]);
      clock.advance(firstTokenMs);
      await call;
      expect(record.outcome).toBe('completed');
    }
    expect(sim.requests.map((request) => request.fault)).toEqual([null, null, 'latency']);
  });

  it('receivedAt and endedAt come from the injected clock; an abort mid-wait cancels the timer', async () => {
    const clock = new ManualClock();
    clock.time = 1_000;
    sim = await startSimulator({ clock, latency: { firstTokenMs: 400, tokensPerSecond: 10 } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const controller = new AbortController();
    const call = client.messages.create(body, { signal: controller.signal });
    const record = await sim.waitFor(() => true);
    expect(record.receivedAt).toBe(1_000);
    clock.advance(150);
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
    await sim.waitFor((entry) => entry === record, 'ended');
    expect(record).toMatchObject({ outcome: 'client_closed', endedAt: 1_150, status: null });
    expect(clock.timers).toEqual([]);
  });

  it('rejects latencies no clock could honour', async () => {
    await expect(startSimulator({ latency: { tokensPerSecond: 0 } })).rejects.toMatchObject({ name: 'FanfoldError', code: 'config' });
    await expect(startSimulator({ latency: { firstTokenMs: -1 } })).rejects.toMatchObject({ name: 'FanfoldError', code: 'config' });
  });
});

/** Text of exactly `tokens` estimated tokens. */
function textOf(tokens: number, seed = 'Background on heat pumps in cold climates. '): string {
  const text = seed.repeat(Math.ceil((tokens * 4) / seed.length)).slice(0, tokens * 4);
  expect(estimateTokens(text)).toBe(tokens);
  return text;
}

/** A request with a long system prompt (cached when `cached`) and a short question. */
function withSystem(system: string, cached: boolean, model = 'claude-sonnet-4-6') {
  return {
    model,
    max_tokens: 200,
    system: [cached ? { type: 'text' as const, text: system, cache_control: { type: 'ephemeral' as const } } : { type: 'text' as const, text: system }],
    messages: [{ role: 'user' as const, content: 'Task: Heat pumps\n\nYour angle: Technical details' }],
  };
}

/** Moves the clock in large steps until `promise` settles (each step lets I/O run first). */
async function finish<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 1000 && !settled; i++) {
    await flushIo(2);
    clock.advance(60_000);
  }
  return promise;
}

/** The time to first token the usage implies, at the default rates and `firstTokenMs`. */
const expectedFirstToken = (firstTokenMs: number, usage: { input_tokens: number; cache_creation_input_tokens: number | null; cache_read_input_tokens: number | null }): number =>
  firstTokenMs +
  ((usage.input_tokens + (usage.cache_creation_input_tokens ?? 0)) / DEFAULT_LATENCY.prefillTokensPerSecond) * 1000 +
  ((usage.cache_read_input_tokens ?? 0) / DEFAULT_LATENCY.cachedPrefillTokensPerSecond) * 1000;

describe('prefill', () => {
  it('defaults: 20,000 uncached and 200,000 cached input tokens/s', () => {
    expect(DEFAULT_LATENCY).toEqual({ firstTokenMs: 250, tokensPerSecond: 150, prefillTokensPerSecond: 20_000, cachedPrefillTokensPerSecond: 200_000 });
    expect(timeToFirstTokenMs({ input_tokens: 1_000, cache_creation_input_tokens: 0, cache_read_input_tokens: 20_000 }, DEFAULT_LATENCY)).toBe(400);
  });

  it('time to first token grows linearly with the uncached input, for JSON and streamed responses alike', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, latency: { firstTokenMs: 100, tokensPerSecond: 1_000 } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const sizes = [4_000, 8_000, 16_000, 20_000];
    const firstTokens: number[] = [];
    for (const [index, tokens] of sizes.entries()) {
      const request = { ...body, messages: [{ role: 'user' as const, content: textOf(tokens) }] };
      const stream = index % 2 === 1;
      const call: Promise<Anthropic.Message> = stream ? client.messages.stream(request).finalMessage() : client.messages.create(request);
      const record = await sim.waitFor((entry) => entry.seq === index + 1);
      const [wait] = clock.pending();
      firstTokens.push(wait ?? Number.NaN);
      // Nothing (not even the headers) before the prefill is done.
      clock.advance((wait ?? 0) - 1);
      await flushIo();
      expect(record.status).toBeNull();
      expect(record.usage).toBeNull();
      const message = await finish(clock, call);
      expect(message.usage).toMatchObject({ input_tokens: tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
      expect(record.stream).toBe(stream);
    }
    // 100 ms plus 1 ms per 20 input tokens: a 20,000-token prompt adds a second.
    expect(firstTokens).toEqual([300, 500, 900, 1_100]);
  });

  it('a cache read makes the second request start sooner than the first, which wrote the cache, by the expected amount', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const system = textOf(20_000);
    const question = estimateTokens(withSystem(system, true).messages[0]!.content);

    const firstCall = client.messages.create(withSystem(system, true));
    await sim.waitFor((entry) => entry.seq === 1);
    const [first] = clock.pending();
    const written = await finish(clock, firstCall);

    const secondCall = client.messages.stream(withSystem(system, true)).finalMessage();
    await sim.waitFor((entry) => entry.seq === 2);
    const [second] = clock.pending();
    const read = await finish(clock, secondCall);

    expect(written.usage).toMatchObject({ input_tokens: question, cache_creation_input_tokens: 20_000, cache_read_input_tokens: 0 });
    expect(read.usage).toMatchObject({ input_tokens: question, cache_creation_input_tokens: 0, cache_read_input_tokens: 20_000 });
    // Latency and usage agree: each wait is what its reported usage implies.
    expect(first).toBeCloseTo(expectedFirstToken(250, written.usage), 9);
    expect(second).toBeCloseTo(expectedFirstToken(250, read.usage), 9);
    // 20,000 tokens: 1,000 ms written (prefilled like any input), 100 ms read.
    expect((first ?? 0) - (second ?? 0)).toBeCloseTo(900, 9);

    // Without cache_control the same prompt prefills as slowly as the cache write did.
    const plainCall = client.messages.create(withSystem(system, false));
    await sim.waitFor((entry) => entry.seq === 3);
    expect(clock.pending()[0]).toBeCloseTo(first ?? 0, 9);
    await finish(clock, plainCall);
  });

  it('a request that arrives while the writer is still prefilling pays the write too; one after its first token reads', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, latency: { firstTokenMs: 0, tokensPerSecond: 1_000 } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const system = textOf(20_000);
    const question = estimateTokens(withSystem(system, true).messages[0]!.content);
    const writeMs = ((20_000 + question) / 20_000) * 1000;

    const writer = client.messages.create(withSystem(system, true));
    await sim.waitFor((entry) => entry.seq === 1);
    expect(clock.pending()).toEqual([writeMs]);
    clock.advance(500);
    const racer = client.messages.create(withSystem(system, true));
    await sim.waitFor((entry) => entry.seq === 2);
    expect(clock.pending()).toEqual([writeMs - 500, writeMs]);
    clock.advance(writeMs - 500); // the writer's first token: its entry is now readable
    await settle(() => sim?.requests[0]?.usage !== null);
    const late = client.messages.create(withSystem(system, true));
    await sim.waitFor((entry) => entry.seq === 3);
    await Promise.all([finish(clock, writer), finish(clock, racer), finish(clock, late)]);
    expect(sim.requests.map((entry) => [entry.usage?.cache_creation_input_tokens, entry.usage?.cache_read_input_tokens])).toEqual([
      [20_000, 0],
      [20_000, 0],
      [0, 20_000],
    ]);
  });

  it('an instant model stays instant whatever the prompt; an explicit prefill field makes it pay, and only that field', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, latency: { firstTokenMs: 0, tokensPerSecond: Infinity } });
    let client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const system = textOf(20_000);
    const instantCall = client.messages.create(withSystem(system, true));
    let answered = false;
    void instantCall.then(() => (answered = true));
    await settle(() => answered || clock.timers.length > 0);
    expect(clock.timers).toEqual([]);
    expect((await instantCall).usage.cache_creation_input_tokens).toBe(20_000);
    expect(clock.time).toBe(0);
    await sim.close();

    // Uncached prefill at 10,000 tokens/s; the cached rate, left out of an instant layer, is instant.
    sim = await startSimulator({ clock, latency: { firstTokenMs: 0, tokensPerSecond: Infinity, prefillTokensPerSecond: 10_000 } });
    client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const question = estimateTokens(withSystem(system, true).messages[0]!.content);
    const writeCall = client.messages.create(withSystem(system, true));
    await sim.waitFor((entry) => entry.seq === 1);
    expect(clock.pending()).toEqual([((20_000 + question) / 10_000) * 1000]);
    await finish(clock, writeCall);
    const readCall = client.messages.create(withSystem(system, true));
    await sim.waitFor((entry) => entry.seq === 2);
    expect(clock.pending()).toHaveLength(1);
    expect(clock.pending()[0]).toBeCloseTo((question / 10_000) * 1000, 6);
    expect((await finish(clock, readCall)).usage.cache_read_input_tokens).toBe(20_000);
  });

  it('latencyByModel and a latency fault override the prefill rates field by field; count_tokens has no prefill', async () => {
    const clock = new ManualClock();
    const prompt = textOf(8_000);
    sim = await startSimulator({
      clock,
      latency: { firstTokenMs: 100, tokensPerSecond: Infinity },
      latencyByModel: {
        'claude-opus-4-7': { prefillTokensPerSecond: 4_000 },
        // A finite output rate alone does not bring prefill back: the default layer made it instant.
        'claude-sonnet-4-6': { tokensPerSecond: 1_000 },
        'claude-haiku-4-5': { tokensPerSecond: 1_000, prefillTokensPerSecond: 16_000 },
      },
      faults: [{ match: { pattern: 'slow lane' }, times: 1, fault: { type: 'latency', prefillTokensPerSecond: 2_000 } }],
    });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const ask = (model: string, content = prompt) => ({ model, max_tokens: 100, messages: [{ role: 'user' as const, content }] });
    const cases: Array<[ReturnType<typeof ask>, number]> = [
      [ask('claude-opus-4-7'), 100 + 2_000],
      [ask('claude-sonnet-4-6'), 100],
      [ask('claude-haiku-4-5'), 100 + 500],
      [ask('claude-other'), 100],
      [ask('claude-other', `${textOf(7_996)}in the slow lane`), 100 + 4_000],
    ];
    for (const [index, [request, firstToken]] of cases.entries()) {
      const call = client.messages.create(request);
      await sim.waitFor((entry) => entry.seq === index + 1);
      expect(clock.pending(), request.model).toEqual([firstToken]);
      expect((await finish(clock, call)).usage.input_tokens).toBe(8_000);
    }
    expect(sim.requests.map((request) => request.fault)).toEqual([null, null, null, null, 'latency']);

    const counted = await client.messages.countTokens({ model: 'claude-opus-4-7', messages: [{ role: 'user', content: prompt }] });
    expect(counted.input_tokens).toBe(8_000);
    expect(clock.timers).toEqual([]);
  });

  it('rejects prefill rates no clock could honour, naming every bad field at once', async () => {
    await expect(startSimulator({ latency: { prefillTokensPerSecond: 0 } })).rejects.toThrow(new FanfoldError('config', 'latency.prefillTokensPerSecond must be > 0 or Infinity (got 0)'));
    await expect(startSimulator({ latency: { cachedPrefillTokensPerSecond: Number.NaN } })).rejects.toThrow(
      new FanfoldError('config', 'latency.cachedPrefillTokensPerSecond must be > 0 or Infinity (got NaN)'),
    );
    await expect(startSimulator({ latency: { firstTokenMs: -1 }, latencyByModel: { 'claude-opus-4-7': { prefillTokensPerSecond: -5, cachedPrefillTokensPerSecond: 0 } } })).rejects.toThrow(
      new FanfoldError(
        'config',
        'latency.firstTokenMs must be >= 0 (got -1); latencyByModel[claude-opus-4-7].prefillTokensPerSecond must be > 0 or Infinity (got -5); latencyByModel[claude-opus-4-7].cachedPrefillTokensPerSecond must be > 0 or Infinity (got 0)',
      ),
    );
    await expect(startSimulator({ faults: [{ fault: { type: 'latency', cachedPrefillTokensPerSecond: -1 } }] })).rejects.toThrow(
      new FanfoldError('config', 'fault.cachedPrefillTokensPerSecond must be > 0 or Infinity (got -1)'),
    );
  });
});
