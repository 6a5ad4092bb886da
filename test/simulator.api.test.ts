/**
 * The simulator as the real SDK sees it over loopback: JSON and streamed messages,
 * count_tokens, auth, validation, the request log, max_tokens and close().
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { estimateTokens, simulatedReply, startSimulator, type Simulator } from '../src/simulator/index.ts';
import { rejection } from './support.ts';

let sim: Simulator;
let client: Anthropic;

const instant = { firstTokenMs: 0, tokensPerSecond: Infinity };
const MODEL = 'claude-haiku-4-5';
const SYSTEM = 'You are one specialist in a team.';
const USER = 'Task: The history of container shipping\n\nYour angle: Economic impact\n\nWrite 150-200 words.';
const body = { model: MODEL, max_tokens: 1024, system: SYSTEM, messages: [{ role: 'user' as const, content: USER }] };

beforeEach(async () => {
  sim = await startSimulator({ latency: instant });
  client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
});

afterEach(async () => {
  await sim.close();
});

function post(path: string, payload: unknown, headers: Record<string, string> = { 'x-api-key': 'sk-raw' }): Promise<Response> {
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

describe('POST /v1/messages (JSON)', () => {
  it('returns a complete Message with deterministic simulated text and all four usage counts', async () => {
    const message = await client.messages.create(body);
    expect(message.id).toBe('msg_sim_000001');
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.model).toBe(MODEL);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.stop_sequence).toBeNull();
    expect(message.content).toHaveLength(1);
    const block = message.content[0];
    if (block?.type !== 'text') throw new Error('expected a text block');
    expect(block.text.startsWith('[Simulated] ')).toBe(true);
    expect(block.text).toBe(simulatedReply(body).text);
    expect(message.usage).toMatchObject({
      input_tokens: estimateTokens(SYSTEM) + estimateTokens(USER),
      output_tokens: estimateTokens(block.text),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
    expect(message._request_id).toBe('req_sim_000001');
  });

  it('sends application/json and a request-id header', async () => {
    const response = await post('/v1/messages', body);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('request-id')).toBe('req_sim_000001');
    const json = (await response.json()) as { content: Array<{ text: string }> };
    expect(json.content[0]?.text).toBe(simulatedReply(body).text);
  });

  it('the same request twice gets the same text; a different one gets different text', async () => {
    const first = await client.messages.create(body);
    const second = await client.messages.create(body);
    const other = await client.messages.create({ ...body, messages: [{ role: 'user', content: USER.replace('Economic impact', 'Technical details') }] });
    expect(second.content).toEqual(first.content);
    expect(other.content).not.toEqual(first.content);
  });

  it('honours max_tokens: the text is cut to fit and stop_reason is max_tokens', async () => {
    const message = await client.messages.create({ ...body, max_tokens: 7 });
    const block = message.content[0];
    if (block?.type !== 'text') throw new Error('expected a text block');
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage.output_tokens).toBe(7);
    expect(block.text).toHaveLength(28);
    expect(simulatedReply(body).text.startsWith(block.text)).toBe(true);
  });

  it('honours stop_sequences: the text stops before the first occurrence', async () => {
    const full = simulatedReply(body).text;
    const message = await client.messages.create({ ...body, stop_sequences: ['. '] });
    const block = message.content[0];
    if (block?.type !== 'text') throw new Error('expected a text block');
    expect(message.stop_reason).toBe('stop_sequence');
    expect(message.stop_sequence).toBe('. ');
    expect(block.text).toBe(full.slice(0, full.indexOf('. ')));
  });
});

describe('POST /v1/messages (stream)', () => {
  it('streams the exact event sequence with text/event-stream', async () => {
    const response = await post('/v1/messages', { ...body, stream: true });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const raw = await response.text();
    const events = [...raw.matchAll(/^event: (.+)$/gm)].map((match) => match[1]);
    const deltas = events.filter((event) => event === 'content_block_delta').length;
    expect(deltas).toBeGreaterThan(3);
    expect(events).toEqual(['message_start', 'ping', 'content_block_start', ...Array.from({ length: deltas }, () => 'content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
    // Every frame is an event line, one JSON data line, then a blank line.
    for (const frame of raw.split('\n\n').filter(Boolean)) {
      const [eventLine, dataLine, ...rest] = frame.split('\n');
      expect(eventLine).toMatch(/^event: /);
      expect(() => JSON.parse((dataLine ?? '').replace(/^data: /, ''))).not.toThrow();
      expect(rest).toEqual([]);
    }
  });

  it('messages.stream assembles the same text as the text events, with usage', async () => {
    const stream = client.messages.stream(body);
    let streamed = '';
    let events = 0;
    stream.on('text', (delta) => {
      streamed += delta;
      events++;
    });
    const message = await stream.finalMessage();
    const block = message.content[0];
    if (block?.type !== 'text') throw new Error('expected a text block');
    expect(block.text).toBe(streamed);
    expect(events).toBeGreaterThan(3);
    expect(block.text).toBe(simulatedReply(body).text);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({
      input_tokens: estimateTokens(SYSTEM) + estimateTokens(USER),
      output_tokens: estimateTokens(streamed),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it('a stream truncated by max_tokens reports max_tokens', async () => {
    const message = await client.messages.stream({ ...body, max_tokens: 10 }).finalMessage();
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage.output_tokens).toBe(10);
  });
});

describe('POST /v1/messages/count_tokens', () => {
  it('counts input tokens with the same estimator', async () => {
    const counted = await client.messages.countTokens({ model: MODEL, system: SYSTEM, messages: [{ role: 'user', content: USER }] });
    expect(counted.input_tokens).toBe(estimateTokens(SYSTEM) + estimateTokens(USER));
    expect(sim.requests[0]).toMatchObject({ path: '/v1/messages/count_tokens', model: MODEL, status: 200, outcome: 'completed', usage: null });
  });
});

describe('auth', () => {
  it('accepts the SDK’s Authorization: Bearer and a raw x-api-key', async () => {
    await client.messages.create(body);
    const raw = await post('/v1/messages', body, { 'x-api-key': 'anything' });
    expect(raw.status).toBe(200);
    expect(sim.count({ path: '/v1/messages' })).toBe(2);
  });

  it('rejects a request without a key with 401 authentication_error', async () => {
    const response = await post('/v1/messages', body, {});
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'x-api-key header is required' },
      request_id: 'req_sim_000001',
    });
  });

  it('with apiKey set, a wrong key is an AuthenticationError and the right key works either way', async () => {
    await sim.close();
    sim = await startSimulator({ latency: instant, apiKey: 'sk-right' });
    const wrong = new Anthropic({ apiKey: 'sk-wrong', baseURL: sim.url, maxRetries: 0 });
    const error = await rejection(wrong.messages.create(body));
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.AuthenticationError>).status).toBe(401);
    expect((error as Error).message).toContain('invalid x-api-key');

    const right = new Anthropic({ apiKey: 'sk-right', baseURL: sim.url, maxRetries: 0 });
    await expect(right.messages.create(body)).resolves.toMatchObject({ type: 'message' });
    expect((await post('/v1/messages', body, { 'x-api-key': 'sk-right' })).status).toBe(200);
    expect((await post('/v1/messages', body, { 'x-api-key': 'sk-wrong' })).status).toBe(401);
  });
});

describe('validation', () => {
  it('400 invalid_request_error when max_tokens is missing (a BadRequestError in the SDK)', async () => {
    const { max_tokens: _, ...withoutMaxTokens } = body;
    const error = await rejection(client.messages.create(withoutMaxTokens as unknown as typeof body));
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).type).toBe('invalid_request_error');
    expect((error as Error).message).toContain('max_tokens: Field required');
  });

  it('400 for a missing model, missing messages or a body that is not JSON', async () => {
    const noModel = await post('/v1/messages', { max_tokens: 10, messages: body.messages });
    const noMessages = await post('/v1/messages', { model: MODEL, max_tokens: 10 });
    const notJson = await post('/v1/messages', '{"model": ');
    for (const [response, message] of [
      [noModel, 'model: Field required'],
      [noMessages, 'messages: Field required'],
      [notJson, 'not valid JSON'],
    ] as const) {
      expect(response.status).toBe(400);
      const json = (await response.json()) as { type: string; error: { type: string; message: string } };
      expect(json.type).toBe('error');
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.error.message).toContain(message);
    }
  });

  it('404 not_found_error for an unknown path', async () => {
    const response = await post('/v1/completions', body);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('not_found_error');
    await expect(client.models.list()).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('the request log', () => {
  it('records each request with its caller, text, status, outcome and usage', async () => {
    await client.messages.create(body, { headers: { 'x-fanfold-caller': encodeURIComponent('lead/historical'), 'x-fanfold-attempt': '2' } });
    await client.messages.stream(body).finalMessage();
    expect(sim.requests).toHaveLength(2);
    const [first, second] = sim.requests;
    expect(first).toMatchObject({
      seq: 1,
      path: '/v1/messages',
      model: MODEL,
      stream: false,
      caller: 'lead/historical',
      attempt: 2,
      status: 200,
      fault: null,
      outcome: 'completed',
    });
    expect(first?.text).toBe(`${SYSTEM}\n\n${USER}`);
    expect(first?.endedAt).not.toBeNull();
    expect(first?.usage).toMatchObject({ output_tokens: estimateTokens(simulatedReply(body).text) });
    expect(second).toMatchObject({ seq: 2, stream: true, caller: null, status: 200, outcome: 'completed' });
    expect(sim.count({ caller: /historical$/ })).toBe(1);
    expect(sim.count({ pattern: 'container shipping' })).toBe(2);
    expect(sim.count({ model: 'claude-opus-4-7' })).toBe(0);
  });

  it('waitFor resolves for past and future requests, in the received or ended state', async () => {
    await client.messages.create(body);
    await expect(sim.waitFor((request) => request.seq === 1)).resolves.toMatchObject({ seq: 1 });
    const future = sim.waitFor((request) => request.caller === 'later', 'ended');
    await client.messages.create(body, { headers: { 'x-fanfold-caller': 'later' } });
    const ended = await future;
    expect(ended).toMatchObject({ seq: 2, caller: 'later', outcome: 'completed' });
    expect(ended.endedAt).not.toBeNull();
  });

  it('close() resolves with a hung request pending, records it and rejects pending waiters', async () => {
    sim.addFault({ fault: { type: 'hang' } });
    const call = rejection(client.messages.create(body));
    const hung = await sim.waitFor((request) => request.fault === 'hang');
    expect(hung.outcome).toBe('pending');
    const never = sim.waitFor((request) => request.seq === 99);
    await sim.close();
    expect(hung.outcome).toBe('client_closed');
    expect(hung.status).toBeNull();
    expect(await call).toBeInstanceOf(Anthropic.APIConnectionError);
    await expect(never).rejects.toThrow(/closed/);
  });
});
