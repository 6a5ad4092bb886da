/**
 * Prompt-cache accounting as the SDK reports it: writes, reads, the 1024-token minimum, and
 * what input_tokens counts.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MIN_CACHEABLE_TOKENS, estimateTokens, startSimulator, type Simulator } from '../src/simulator/index.ts';

let sim: Simulator;
let client: Anthropic;

beforeEach(async () => {
  sim = await startSimulator({ latency: { firstTokenMs: 0, tokensPerSecond: Infinity } });
  client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
});

afterEach(async () => {
  await sim.close();
});

/** A shared context of about `tokens` estimated tokens. */
function context(tokens: number): string {
  const text = 'Shared background for every specialist in this run. '.repeat(Math.ceil((tokens * 4) / 52));
  return text.slice(0, tokens * 4);
}

function request(system: string, user: string, cached = true, model = 'claude-sonnet-4-6') {
  return {
    model,
    max_tokens: 400,
    system: [cached ? { type: 'text' as const, text: system, cache_control: { type: 'ephemeral' as const } } : { type: 'text' as const, text: system }],
    messages: [{ role: 'user' as const, content: user }],
  };
}

describe('prompt caching', () => {
  it('the first request with a cacheable prefix writes it, later ones read it; input_tokens counts the rest', async () => {
    const system = context(2000);
    expect(estimateTokens(system)).toBe(2000);
    const first = await client.messages.create(request(system, 'Task: A\n\nYour angle: Historical context'));
    const second = await client.messages.stream(request(system, 'Task: A\n\nYour angle: Technical details')).finalMessage();
    const third = await client.messages.create(request(system, 'Task: A\n\nYour angle: Societal impact'));
    expect(first.usage).toMatchObject({
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 0,
      input_tokens: estimateTokens('Task: A\n\nYour angle: Historical context'),
    });
    expect(second.usage).toMatchObject({
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 2000,
      input_tokens: estimateTokens('Task: A\n\nYour angle: Technical details'),
    });
    expect(third.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 2000 });
    expect(sim.requests.map((entry) => entry.usage?.cache_read_input_tokens)).toEqual([0, 2000, 2000]);
  });

  it('below the minimum nothing is cached', async () => {
    const system = context(DEFAULT_MIN_CACHEABLE_TOKENS - 1);
    const first = await client.messages.create(request(system, 'hello'));
    const second = await client.messages.create(request(system, 'hello'));
    for (const message of [first, second]) {
      expect(message.usage).toMatchObject({
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        input_tokens: DEFAULT_MIN_CACHEABLE_TOKENS - 1 + estimateTokens('hello'),
      });
    }
  });

  it('exactly the minimum is cached', async () => {
    const system = context(DEFAULT_MIN_CACHEABLE_TOKENS);
    const message = await client.messages.create(request(system, 'hello'));
    expect(message.usage.cache_creation_input_tokens).toBe(DEFAULT_MIN_CACHEABLE_TOKENS);
  });

  it('without cache_control, or with a different prefix or model, there is no read', async () => {
    const system = context(1500);
    const plain = await client.messages.create(request(system, 'hello', false));
    expect(plain.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0, input_tokens: 1500 + 2 });
    await client.messages.create(request(system, 'hello'));
    const otherPrefix = await client.messages.create(request(`${system}!`, 'hello'));
    const otherModel = await client.messages.create(request(system, 'hello', true, 'claude-opus-4-7'));
    expect(otherPrefix.usage).toMatchObject({ cache_creation_input_tokens: 1501, cache_read_input_tokens: 0 });
    expect(otherModel.usage).toMatchObject({ cache_creation_input_tokens: 1500, cache_read_input_tokens: 0 });
  });

  it('a cached entry expires after its TTL on the simulator clock', async () => {
    await sim.close();
    let now = 0;
    sim = await startSimulator({
      latency: { firstTokenMs: 0, tokensPerSecond: Infinity },
      clock: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>), now: () => now },
    });
    client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const system = context(1200);
    await client.messages.create(request(system, 'hello'));
    now = 4 * 60_000;
    expect((await client.messages.create(request(system, 'hello'))).usage.cache_read_input_tokens).toBe(1200);
    now += 5 * 60_000 + 1; // a read refreshed the 5-minute TTL at 4 min; this is past it
    expect((await client.messages.create(request(system, 'hello'))).usage).toMatchObject({
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 1200,
    });
  });

  it('count_tokens counts the whole prompt, cached or not', async () => {
    const system = context(1100);
    await client.messages.create(request(system, 'hello'));
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-6', system: request(system, '').system, messages: [{ role: 'user', content: 'hello' }] });
    expect(counted.input_tokens).toBe(1100 + 2);
  });
});
