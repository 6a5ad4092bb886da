/**
 * The Anthropic provider: the real SDK over loopback HTTP against fanfold's simulator. Time for
 * backoff and attempt deadlines is a `SimulatedClock` the test moves; network I/O is real.
 */
import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createAnthropicProvider } from '../src/providers/anthropic.ts';
import { runFanOut, type FanOutConfig, type RunEvent, type RunResult } from '../src/index.ts';
import type { Simulator } from '../src/simulator/index.ts';
import { pumpUntil, record, rejection, researchSpecialists, simulatorPerTest } from './support.ts';

const KEY = 'sk-ant-test-key-never-print-me';
const simulator = simulatorPerTest();

/** Starts a run on a simulated clock against the simulator. */
function start(server: Simulator, config: Partial<FanOutConfig> = {}) {
  const clock = new SimulatedClock();
  const provider = createAnthropicProvider({ apiKey: KEY, baseURL: server.url, env: {} });
  const run = runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 600_000, ...config }, { provider, clock, random: () => 0.5 });
  const events = record(run);
  const next = (predicate: (event: RunEvent) => boolean) => pumpUntil(clock, firstValueFrom(run.events$.pipe(filter(predicate))));
  /** Starts watching for an event now, to await later (events are hot). */
  const watch = (predicate: (event: RunEvent) => boolean) => {
    const seen = firstValueFrom(run.events$.pipe(filter(predicate)));
    return () => pumpUntil(clock, seen);
  };
  return { clock, run, events, next, watch, result: () => pumpUntil(clock, run.result) };
}

const byCaller = (server: Simulator, id: string) => server.requests.filter((request) => request.caller === id);

describe('Anthropic provider (real SDK ↔ simulator over loopback)', () => {
  it('streams: deltas arrive in order and assemble into the final text, with usage per call', async () => {
    const server = await simulator();
    const provider = createAnthropicProvider({ apiKey: KEY, baseURL: server.url, env: {} });
    const deltas: string[] = [];
    const response = await provider.stream(
      { model: 'claude-sonnet-4-6', system: 'Be brief.', messages: [{ role: 'user', content: 'Task: nuclear fusion\n\nYour angle: Historical context\n\nWrite 150-200 words.' }], maxTokens: 600 },
      { signal: new AbortController().signal, onText: (delta) => deltas.push(delta), caller: { id: 'historical', attempt: 1 } },
    );
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(response.text);
    expect(response.text).toMatch(/simulated/i);
    const words = response.text.trim().split(/\s+/).length;
    expect(words).toBeGreaterThanOrEqual(150);
    expect(words).toBeLessThanOrEqual(200 + 5);
    expect(response.model).toBe('claude-sonnet-4-6');
    expect(response.stopReason).toBe('end_turn');
    const [request] = server.requests;
    expect(request?.stream).toBe(true);
    expect(request?.caller).toBe('historical');
    expect(response.usage).toEqual({
      inputTokens: request?.usage?.input_tokens,
      outputTokens: request?.usage?.output_tokens,
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
    });
    expect(response.usage.outputTokens).toBeGreaterThan(100);
  });

  it('records cache-creation and cache-read tokens when specialists share a long system prompt', async () => {
    const server = await simulator();
    const system = `You are a meticulous analyst. ${'Follow the house style guide in every detail. '.repeat(120)}`;
    const { result } = start(server, { specialists: researchSpecialists.map((spec) => ({ ...spec, system })), maxConcurrency: 1, synthesizer: { run: async () => 'folded' } });
    const done = await result();
    const [first, second, third] = done.outcomes;
    expect(first!.usage.cacheCreationInputTokens).toBeGreaterThan(1000);
    expect(first!.usage.cacheReadInputTokens).toBe(0);
    expect(second!.usage.cacheReadInputTokens).toBe(first!.usage.cacheCreationInputTokens);
    expect(third!.usage.cacheReadInputTokens).toBe(first!.usage.cacheCreationInputTokens);
    expect(done.usage.cacheReadInputTokens).toBe(2 * first!.usage.cacheCreationInputTokens);
  });

  it('honours ANTHROPIC_BASE_URL', async () => {
    const server = await simulator();
    const provider = createAnthropicProvider({ env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: `${server.url}/` } });
    expect(provider.baseURL).toBe(server.url);
    await provider.stream({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hello' }], maxTokens: 50 }, { signal: new AbortController().signal });
    expect(server.count()).toBe(1);
  });

  it("429 with retry-after: waits exactly the server's delay (not its own backoff), then retries", async () => {
    const server = await simulator({ faults: [{ match: { caller: 'historical' }, times: 1, fault: { type: 'rate_limit', retryAfterSeconds: 3 } }] });
    const { clock, next, result } = start(server, { policy: { retry: { initialDelayMs: 10, jitter: 0 } } });
    const retrying = await next((event) => event.type === 'specialist.retrying');
    expect(retrying).toMatchObject({ id: 'historical', attempt: 2, delayMs: 3000, reason: 'backoff', error: { kind: 'rate_limited', status: 429, retryAfterMs: 3000 } });

    clock.increment(2999);
    await pumpUntil(clock, new Promise((resolve) => setTimeout(resolve, 50)));
    expect(byCaller(server, 'historical')).toHaveLength(1);
    clock.increment(1);
    await pumpUntil(
      clock,
      server.waitFor((request) => request.caller === 'historical' && request.seq !== byCaller(server, 'historical')[0]!.seq),
    );
    const done = await result();
    expect(done.status).toBe('done');
    expect(done.outcomes[0]).toMatchObject({ status: 'fulfilled', attempts: 2 });
    // One retry layer: the SDK did not retry the 429 on its own.
    expect(byCaller(server, 'historical')).toHaveLength(2);
  });

  it("caps a long retry-after at the policy's maxDelayMs", async () => {
    const server = await simulator({ faults: [{ match: { caller: 'technical' }, times: 1, fault: { type: 'rate_limit', retryAfterSeconds: 120 } }] });
    const { next, clock, result } = start(server, { policy: { retry: { maxDelayMs: 5000, jitter: 0 } } });
    const retrying = await next((event) => event.type === 'specialist.retrying');
    expect(retrying).toMatchObject({ id: 'technical', delayMs: 5000, error: { retryAfterMs: 120_000 } });
    clock.increment(5000);
    expect((await result()).status).toBe('done');
  });

  it('529 overloaded → the fallback model answers', async () => {
    const server = await simulator({ faults: [{ match: { model: 'claude-opus-4-7' }, fault: { type: 'overloaded' } }] });
    const { next, result } = start(server, { model: 'claude-opus-4-7', policy: { fallbackModels: ['claude-haiku-4-5'] }, synthesizer: { model: 'claude-haiku-4-5' } });
    const fallback = await next((event) => event.type === 'specialist.retrying');
    expect(fallback).toMatchObject({ reason: 'fallback', model: 'claude-haiku-4-5', delayMs: 0, error: { kind: 'overloaded', status: 529 } });
    const done = await result();
    expect(done.status).toBe('done');
    for (const outcome of done.outcomes) expect(outcome).toMatchObject({ status: 'fulfilled', model: 'claude-haiku-4-5', attempts: 2 });
    expect(server.count({ model: 'claude-opus-4-7' })).toBe(3);
    expect(server.count({ model: 'claude-haiku-4-5' })).toBe(4);
  });

  it('a hang before headers: the attempt deadline aborts the request, the simulator sees the connection close, the retry succeeds', async () => {
    const server = await simulator({ faults: [{ match: { caller: 'societal' }, times: 1, fault: { type: 'hang' } }] });
    const { clock, watch, result } = start(server, { policy: { attemptTimeoutMs: 20_000, retry: { initialDelayMs: 0, jitter: 0 } } });
    const nextRetry = watch((event) => event.type === 'specialist.retrying');
    const hung = await pumpUntil(
      clock,
      server.waitFor((request) => request.caller === 'societal'),
    );
    clock.increment(20_000);
    const closed = await pumpUntil(
      clock,
      server.waitFor((request) => request.seq === hung.seq, 'ended'),
    );
    expect(closed.outcome).toBe('client_closed');
    expect(closed.status).toBeNull();
    const retrying = await nextRetry();
    expect(retrying).toMatchObject({ id: 'societal', error: { kind: 'timeout' } });
    const done = await result();
    expect(done.outcomes[2]).toMatchObject({ status: 'fulfilled', attempts: 2 });
  });

  it('a stall mid-stream: text arrived, then nothing; the attempt deadline aborts it and the simulator sees the close', async () => {
    const server = await simulator({ faults: [{ match: { caller: 'technical' }, times: 1, fault: { type: 'stall', afterDeltas: 3 } }] });
    const { clock, next, result } = start(server, { policy: { attemptTimeoutMs: 20_000, retry: { initialDelayMs: 0, jitter: 0 } } });
    await next((event) => event.type === 'specialist.token' && event.id === 'technical');
    const stalled = byCaller(server, 'technical')[0]!;
    expect(stalled.status).toBe(200);
    clock.increment(20_000);
    const closed = await pumpUntil(
      clock,
      server.waitFor((request) => request.seq === stalled.seq, 'ended'),
    );
    expect(closed.outcome).toBe('client_closed');
    const done = await result();
    expect(done.outcomes[1]).toMatchObject({ status: 'fulfilled', attempts: 2 });
    expect(byCaller(server, 'technical')).toHaveLength(2);
  });

  it.each([
    ['a dropped socket', { type: 'drop', afterDeltas: 2 } as const, 'connection'],
    ['a mid-stream error event', { type: 'stream_error', afterDeltas: 2 } as const, 'overloaded'],
    ['a 500', { type: 'server_error' } as const, 'server'],
    ['malformed JSON', { type: 'malformed' } as const, 'server'],
  ])('%s is retried', async (_name, fault, kind) => {
    const server = await simulator({ faults: [{ match: { caller: 'historical' }, times: 1, fault }] });
    const { next, result } = start(server, { policy: { retry: { initialDelayMs: 0, jitter: 0 } } });
    const retrying = await next((event) => event.type === 'specialist.retrying');
    expect(retrying).toMatchObject({ id: 'historical', error: { kind } });
    const done = await result();
    expect(done.status).toBe('done');
    expect(done.outcomes[0]).toMatchObject({ status: 'fulfilled', attempts: 2 });
    expect(byCaller(server, 'historical')).toHaveLength(2);
  });

  it('one retry layer: with maxAttempts 3, three 500s mean exactly three requests', async () => {
    const server = await simulator({ faults: [{ match: { caller: 'historical' }, fault: { type: 'server_error', status: 503 } }] });
    const { result } = start(server, { policy: { retry: { maxAttempts: 3, initialDelayMs: 0, jitter: 0 } } });
    const done = await result();
    expect(done.status).toBe('partial');
    expect(done.outcomes[0]).toMatchObject({ status: 'rejected', attempts: 3, error: { kind: 'server', status: 503 } });
    expect(byCaller(server, 'historical')).toHaveLength(3);
  });

  it('401: a clear failure, not retried, and the key appears nowhere', async () => {
    const server = await simulator({ apiKey: 'sk-the-right-key' });
    const { result, events } = start(server);
    const done: RunResult = await result();
    expect(done.status).toBe('failed');
    for (const outcome of done.outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', attempts: 1, error: { kind: 'auth', status: 401 } });
      expect(outcome.error!.message).toMatch(/^ANTHROPIC_API_KEY was rejected \(401\)/);
    }
    expect(server.count()).toBe(3);
    expect(JSON.stringify({ done, events })).not.toContain(KEY);
  });

  it('400/403/404 are not retried and say what to check', async () => {
    const server = await simulator({
      faults: [
        { match: { caller: 'historical' }, fault: { type: 'http_error', status: 400, errorType: 'invalid_request_error', message: 'max_tokens: too large' } },
        { match: { caller: 'technical' }, fault: { type: 'http_error', status: 403, errorType: 'permission_error', message: 'no access' } },
        { match: { caller: 'societal' }, fault: { type: 'http_error', status: 404, errorType: 'not_found_error', message: 'model: claude-nope' } },
      ],
    });
    const { result } = start(server, { model: 'claude-nope', synthesizer: { run: async () => 'n/a' } });
    const done = await result();
    expect(done.outcomes.map((outcome) => [outcome.error?.kind, outcome.attempts])).toEqual([
      ['bad_request', 1],
      ['permission', 1],
      ['not_found', 1],
    ]);
    expect(done.outcomes[0]!.error!.message).toContain('max_tokens: too large');
    expect(done.outcomes[2]!.error!.message).toContain('check the model id "claude-nope"'.replace('check', 'Check'));
    expect(server.count()).toBe(3);
  });

  it('cancelling aborts the HTTP requests in flight', async () => {
    const server = await simulator({ faults: [{ match: { pattern: /Your angle/ }, fault: { type: 'hang' } }] });
    const { clock, run, result } = start(server);
    for (const { id } of researchSpecialists)
      await pumpUntil(
        clock,
        server.waitFor((request) => request.caller === id),
      );
    run.cancel('user');
    const done = await result();
    expect(done.status).toBe('cancelled');
    for (const request of server.requests) {
      await pumpUntil(
        clock,
        server.waitFor((r) => r.seq === request.seq, 'ended'),
      );
      expect(request.outcome).toBe('client_closed');
    }
  });

  it('latency model: 3 specialists run side by side, then the synthesis — exactly 4 calls', async () => {
    const server = await simulator({
      faults: [
        { match: { caller: 'historical' }, fault: { type: 'latency', firstTokenMs: 120, tokensPerSecond: Infinity } },
        { match: { caller: 'technical' }, fault: { type: 'latency', firstTokenMs: 240, tokensPerSecond: Infinity } },
        { match: { caller: 'societal' }, fault: { type: 'latency', firstTokenMs: 360, tokensPerSecond: Infinity } },
        { match: { caller: 'synthesizer' }, fault: { type: 'latency', firstTokenMs: 120, tokensPerSecond: Infinity } },
      ],
    });
    const provider = createAnthropicProvider({ apiKey: KEY, baseURL: server.url, env: {} });
    const done = await runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 60_000 }, { provider }).result;
    expect(done.status).toBe('done');
    expect(done.modelCalls).toBe(4);
    expect(server.count()).toBe(4);
    const specialists = server.requests.filter((request) => request.caller !== 'synthesizer');
    const synthesis = server.requests.find((request) => request.caller === 'synthesizer')!;
    // Parallel: every specialist request arrived before the first one finished.
    const firstEnd = Math.min(...specialists.map((request) => request.endedAt!));
    for (const request of specialists) expect(request.receivedAt).toBeLessThanOrEqual(firstEnd);
    // Fan-in: the synthesis began only after the slowest specialist had finished.
    expect(synthesis.receivedAt).toBeGreaterThanOrEqual(Math.max(...specialists.map((request) => request.endedAt!)));
  });

  it('an attempt that streamed and was then cut off still counts the tokens the API reported for it', async () => {
    const server = await simulator({ faults: [{ match: { caller: 'technical' }, times: 1, fault: { type: 'stall', afterDeltas: 3 } }] });
    const { clock, watch, result } = start(server, { policy: { attemptTimeoutMs: 20_000, retry: { initialDelayMs: 0, jitter: 0 } }, synthesizer: { run: async () => 'folded' } });
    // Once text has arrived, the stream's start (with its usage) has been read.
    await watch((event) => event.type === 'specialist.token' && event.id === 'technical')();
    clock.increment(20_000);
    const done = await result();
    const calls = server.requests.filter((request) => request.caller === 'technical');
    expect(calls.map((call) => call.outcome)).toEqual(['client_closed', 'completed']);
    const billedInput = calls.reduce((sum, call) => sum + call.usage!.input_tokens, 0);
    expect(done.outcomes[1]).toMatchObject({ status: 'fulfilled', attempts: 2 });
    expect(done.outcomes[1]!.usage.inputTokens).toBe(billedInput);
    expect(done.usage.inputTokens).toBe(server.requests.reduce((sum, call) => sum + call.usage!.input_tokens, 0));
  });

  it('refuses a key with line breaks or spaces, and a base URL that is not http(s), without quoting the key', () => {
    const attempt = (options: Parameters<typeof createAnthropicProvider>[0]) => {
      try {
        createAnthropicProvider({ env: {}, ...options });
      } catch (error) {
        return error as Error & { code?: string };
      }
      throw new Error('expected a config error');
    };
    const twoLines = attempt({ apiKey: 'sk-ant-LINEONE\nsk-ant-LINETWO' });
    expect(twoLines.code).toBe('config');
    expect(twoLines.message).not.toContain('LINEONE');
    expect(attempt({ apiKey: 'sk-ant-x', baseURL: 'localhost:8080' }).message).toBe('ANTHROPIC_BASE_URL must be an http(s) URL such as https://api.anthropic.com, got "localhost:8080"');
  });

  it('strips the key from any error message, whatever put it there', async () => {
    const provider = createAnthropicProvider({
      apiKey: KEY,
      env: {},
      baseURL: 'http://127.0.0.1:9',
      fetch: async () => {
        throw new TypeError(`proxy refused Authorization: Bearer ${KEY} for ${KEY}`);
      },
    });
    const error = await rejection(provider.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }], maxTokens: 10 }, { signal: new AbortController().signal }));
    expect(error).toMatchObject({ kind: 'connection' });
    expect((error as Error).message).not.toContain(KEY);
    expect((error as Error).message).toContain('[redacted]');
  });
});
