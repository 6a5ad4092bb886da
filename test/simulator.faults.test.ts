/**
 * Every simulator fault as the real SDK sees it, plus how rules match and count down.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simulatedReply, splitIntoDeltas, startSimulator, type Fault, type Simulator } from '../src/simulator/index.ts';
import { rejection } from './support.ts';

let sim: Simulator;
let client: Anthropic;

const instant = { firstTokenMs: 0, tokensPerSecond: Infinity };
const body = {
  model: 'claude-sonnet-4-6',
  max_tokens: 1024,
  messages: [{ role: 'user' as const, content: 'Task: Desalination at city scale\n\nYour angle: Technical details' }],
};

beforeEach(async () => {
  sim = await startSimulator({ latency: instant });
  client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0, logLevel: 'off' });
});

afterEach(async () => {
  await sim.close();
});

const withText = (text: string) => ({ ...body, messages: [{ role: 'user' as const, content: text }] });

describe('error-status faults', () => {
  it('rate_limit: 429 RateLimitError with retry-after readable on error.headers', async () => {
    sim.addFault({ fault: { type: 'rate_limit', retryAfterSeconds: 7 } });
    const error = await rejection(client.messages.create(body));
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const apiError = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(apiError.status).toBe(429);
    expect(apiError.type).toBe('rate_limit_error');
    expect(apiError.headers.get('retry-after')).toBe('7');
    expect(apiError.headers.get('retry-after-ms')).toBeNull();
    expect(sim.requests[0]).toMatchObject({ status: 429, fault: 'rate_limit', outcome: 'fault', usage: null });
  });

  it('rate_limit with retryAfterMs sends retry-after-ms and a rounded-up retry-after', async () => {
    sim.addFault({ fault: { type: 'rate_limit', retryAfterMs: 1500 } });
    const error = (await rejection(client.messages.stream(body).finalMessage())) as InstanceType<typeof Anthropic.RateLimitError>;
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(error.headers.get('retry-after-ms')).toBe('1500');
    expect(error.headers.get('retry-after')).toBe('2');
  });

  it('overloaded: 529 OverloadedError', async () => {
    sim.addFault({ fault: { type: 'overloaded' } });
    const error = (await rejection(client.messages.create(body))) as InstanceType<typeof Anthropic.APIError>;
    expect(error).toBeInstanceOf(Anthropic.OverloadedError);
    expect(error.status).toBe(529);
    expect(error.type).toBe('overloaded_error');
  });

  it('server_error: 500 api_error by default, or the given status', async () => {
    sim.addFault({ times: 1, fault: { type: 'server_error' } });
    sim.addFault({ times: 1, fault: { type: 'server_error', status: 503 } });
    const first = (await rejection(client.messages.create(body))) as InstanceType<typeof Anthropic.APIError>;
    expect(first).toBeInstanceOf(Anthropic.InternalServerError);
    expect(first.status).toBe(500);
    expect(first.type).toBe('api_error');
    const second = (await rejection(client.messages.create(body))) as InstanceType<typeof Anthropic.APIError>;
    expect(second.status).toBe(503);
    expect(second).toBeInstanceOf(Anthropic.InternalServerError);
  });

  it('http_error: any status and error type (403 → PermissionDeniedError, 400 → BadRequestError)', async () => {
    sim.addFault({ times: 1, fault: { type: 'http_error', status: 403, errorType: 'permission_error', message: 'no access to this model' } });
    sim.addFault({ times: 1, fault: { type: 'http_error', status: 400, errorType: 'invalid_request_error' } });
    const forbidden = (await rejection(client.messages.create(body))) as InstanceType<typeof Anthropic.APIError>;
    expect(forbidden).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(forbidden.type).toBe('permission_error');
    expect(forbidden.message).toContain('no access to this model');
    expect(await rejection(client.messages.create(body))).toBeInstanceOf(Anthropic.BadRequestError);
  });
});

describe('connection faults', () => {
  it('hang: no headers ever; aborting gives APIUserAbortError and the log says client_closed', async () => {
    sim.addFault({ fault: { type: 'hang' } });
    const controller = new AbortController();
    const call = rejection(client.messages.create(body, { signal: controller.signal }));
    const hung = await sim.waitFor((request) => request.fault === 'hang');
    expect(hung).toMatchObject({ status: null, outcome: 'pending' });
    controller.abort();
    expect(await call).toBeInstanceOf(Anthropic.APIUserAbortError);
    const ended = await sim.waitFor((request) => request === hung, 'ended');
    expect(ended).toMatchObject({ status: null, fault: 'hang', outcome: 'client_closed' });
  });

  it('stall: 200 and some text, then nothing; aborting gives APIUserAbortError and client_closed', async () => {
    sim.addFault({ fault: { type: 'stall', afterDeltas: 2 } });
    const controller = new AbortController();
    const stream = client.messages.stream(body, { signal: controller.signal });
    const texts: string[] = [];
    const twoDeltas = new Promise<void>((resolve) =>
      stream.on('text', (delta) => {
        texts.push(delta);
        if (texts.length === 2) resolve();
      }),
    );
    const final = rejection(stream.finalMessage());
    const stalled = await sim.waitFor((request) => request.fault === 'stall');
    await twoDeltas;
    expect(stalled).toMatchObject({ status: 200, outcome: 'pending', endedAt: null });
    controller.abort();
    expect(await final).toBeInstanceOf(Anthropic.APIUserAbortError);
    expect(texts).toEqual(splitIntoDeltas(simulatedReply(body).text).slice(0, 2));
    await sim.waitFor((request) => request === stalled, 'ended');
    expect(stalled.outcome).toBe('client_closed');
  });

  it('stall on a JSON request: headers arrive, the body never completes', async () => {
    sim.addFault({ fault: { type: 'stall' } });
    const controller = new AbortController();
    const call = rejection(client.messages.create(body, { signal: controller.signal }));
    const stalled = await sim.waitFor((request) => request.fault === 'stall' && request.status === 200);
    controller.abort();
    expect(await call).toBeInstanceOf(Anthropic.APIUserAbortError);
    await sim.waitFor((request) => request === stalled, 'ended');
    expect(stalled.outcome).toBe('client_closed');
  });

  it('drop: the socket closes mid-stream; the stream rejects with the partial message kept', async () => {
    sim.addFault({ fault: { type: 'drop', afterDeltas: 3 } });
    const stream = client.messages.stream(body);
    const error = await rejection(stream.finalMessage());
    expect(error).toBeInstanceOf(Anthropic.AnthropicError);
    expect(error).not.toBeInstanceOf(Anthropic.APIUserAbortError);
    const partial = stream.currentMessage?.content[0];
    expect(partial?.type === 'text' ? partial.text : null).toBe(splitIntoDeltas(simulatedReply(body).text).slice(0, 3).join(''));
    expect(sim.requests[0]).toMatchObject({ status: 200, fault: 'drop', outcome: 'fault' });
  });

  it('drop on a JSON request: the body is cut and create() rejects', async () => {
    sim.addFault({ fault: { type: 'drop' } });
    await expect(client.messages.create(body)).rejects.toThrow();
    expect(sim.requests[0]).toMatchObject({ status: 200, fault: 'drop', outcome: 'fault' });
  });
});

describe('body faults', () => {
  it('stream_error: an error event mid-stream rejects with its type (overloaded_error by default)', async () => {
    sim.addFault({ times: 1, fault: { type: 'stream_error', afterDeltas: 1 } });
    sim.addFault({ times: 1, fault: { type: 'stream_error', errorType: 'api_error' } });
    const texts: string[] = [];
    const stream = client.messages.stream(body);
    stream.on('text', (delta) => texts.push(delta));
    const first = (await rejection(stream.finalMessage())) as InstanceType<typeof Anthropic.APIError>;
    expect(first).toBeInstanceOf(Anthropic.APIError);
    expect(first.status).toBeUndefined();
    expect(first.type).toBe('overloaded_error');
    expect(texts).toHaveLength(1);
    const second = (await rejection(client.messages.stream(body).finalMessage())) as InstanceType<typeof Anthropic.APIError>;
    expect(second.type).toBe('api_error');
    expect(sim.requests.map((request) => [request.status, request.outcome])).toEqual([
      [200, 'fault'],
      [200, 'fault'],
    ]);
  });

  it('stream_error on a JSON request becomes that error’s status', async () => {
    sim.addFault({ fault: { type: 'stream_error' } });
    const error = (await rejection(client.messages.create(body))) as InstanceType<typeof Anthropic.APIError>;
    expect(error.status).toBe(529);
  });

  it('malformed: a broken data line rejects the stream; a truncated JSON body rejects create()', async () => {
    sim.addFault({ fault: { type: 'malformed' } });
    const streamed = await rejection(client.messages.stream(body).finalMessage());
    expect(streamed).toBeInstanceOf(Anthropic.AnthropicError);
    expect((streamed as Error).message).toMatch(/JSON/);
    await expect(client.messages.create(body)).rejects.toThrow();
    expect(sim.requests.map((request) => [request.status, request.fault, request.outcome])).toEqual([
      [200, 'malformed', 'fault'],
      [200, 'malformed', 'fault'],
    ]);
  });
});

describe('rules', () => {
  it('times: only that many matching requests get the fault', async () => {
    sim.addFault({ times: 2, fault: { type: 'overloaded' } });
    await expect(client.messages.create(body)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.create(body)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.create(body)).resolves.toMatchObject({ type: 'message' });
    expect(sim.requests.map((request) => request.fault)).toEqual(['overloaded', 'overloaded', null]);
  });

  it('matches by model, pattern (string or RegExp), caller and path; other requests pass', async () => {
    sim.addFault({ match: { model: 'claude-opus-4-7' }, fault: { type: 'http_error', status: 404, errorType: 'not_found_error' } });
    sim.addFault({ match: { pattern: 'poison' }, fault: { type: 'server_error' } });
    sim.addFault({ match: { pattern: /^Task: Fusion/m }, fault: { type: 'overloaded' } });
    sim.addFault({ match: { caller: /^lead\/tech/ }, fault: { type: 'rate_limit' } });
    sim.addFault({ match: { path: '/v1/messages/count_tokens' }, fault: { type: 'http_error', status: 403, errorType: 'permission_error' } });

    await expect(client.messages.create({ ...body, model: 'claude-opus-4-7' })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(client.messages.create(withText('a poison pill'))).rejects.toBeInstanceOf(Anthropic.InternalServerError);
    await expect(client.messages.create(withText('Intro\nTask: Fusion power'))).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.create(body, { headers: { 'x-fanfold-caller': 'lead/technical' } })).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    await expect(client.messages.countTokens({ model: body.model, messages: body.messages })).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
    await expect(client.messages.create(body, { headers: { 'x-fanfold-caller': 'lead/historical' } })).resolves.toMatchObject({
      type: 'message',
    });
    expect(sim.requests.map((request) => request.fault)).toEqual(['http_error', 'server_error', 'overloaded', 'rate_limit', 'http_error', null]);
  });

  it('the first matching rule wins, and clearFaults removes every rule', async () => {
    sim.addFault({ match: { pattern: 'Desalination' }, fault: { type: 'overloaded' } });
    sim.addFault({ fault: { type: 'server_error' } });
    await expect(client.messages.create(body)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.create(withText('other'))).rejects.toHaveProperty('status', 500);
    sim.clearFaults();
    await expect(client.messages.create(body)).resolves.toMatchObject({ type: 'message' });
  });

  it('faults given at start apply like added ones', async () => {
    await sim.close();
    sim = await startSimulator({ latency: instant, faults: [{ times: 1, fault: { type: 'overloaded' } }] });
    client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    await expect(client.messages.create(body)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.create(body)).resolves.toMatchObject({ type: 'message' });
  });

  it('the SDK’s own retries see the fault only `times` times', async () => {
    sim.addFault({ times: 1, fault: { type: 'rate_limit', retryAfterMs: 1 } });
    const retrying = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 1 });
    await expect(retrying.messages.create(body)).resolves.toMatchObject({ type: 'message' });
    expect(sim.requests.map((request) => request.status)).toEqual([429, 200]);
  });

  it('refuses a misspelt fault type rather than matching and doing nothing', async () => {
    expect(() => sim.addFault({ fault: { type: 'rate_limited' } as unknown as Fault })).toThrow('Unknown fault type "rate_limited": expected one of rate_limit, overloaded');
    await expect(startSimulator({ faults: [{ fault: { type: 'http_error' } as unknown as Fault }] })).rejects.toThrow('An http_error fault needs `status` (400-599) and `errorType`');
  });
});
