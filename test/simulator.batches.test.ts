/**
 * The Message Batches API as the real SDK sees it (`client.messages.batches.*` over loopback),
 * with time driven by a clock the test owns: a batch's requests complete only when the test
 * advances it, so no test here waits on wall time. Replies are the ones a non-streamed
 * `messages.create` with the same params gets.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { FanfoldError } from '../src/errors.ts';
import { BATCHES_PATH, DEFAULT_BATCH_LATENCY, MAX_BATCH_REQUESTS, batchRequestMs, startSimulator, type BatchLatency, type Simulator, type SimulatorOptions } from '../src/simulator/index.ts';
import { ManualClock } from './manual-clock.ts';
import { rejection } from './support.ts';

type Batch = Anthropic.Messages.Batches.MessageBatch;
type BatchResponse = Anthropic.Messages.Batches.MessageBatchIndividualResponse;
type BatchRequest = Anthropic.Messages.Batches.BatchCreateParams.Request;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const instant = { firstTokenMs: 0, tokensPerSecond: Infinity };
/** No jitter: request `i` completes at 1,000 + 100·i ms, so the test knows every instant. */
const stepped: Partial<BatchLatency> = { baseMs: 1_000, perRequestMs: 100, jitterMs: 0, cancelMs: 250 };

async function start(options: SimulatorOptions = {}): Promise<{ sim: Simulator; clock: ManualClock; client: Anthropic }> {
  const clock = new ManualClock();
  sim = await startSimulator({ clock, latency: instant, ...options });
  return { sim, clock, client: new Anthropic({ apiKey: 'test', baseURL: sim.url, maxRetries: 0, logLevel: 'off' }) };
}

const params = (topic: string, angle = 'Technical details') => ({
  model: 'claude-haiku-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user' as const, content: `Task: ${topic}\n\nYour angle: ${angle}\n\nAt most 60 words.` }],
});

const requests = (...ids: string[]): BatchRequest[] => ids.map((id) => ({ custom_id: id, params: params(`Topic ${id}`) }));

const at = (ms: number): string => new Date(ms).toISOString();

async function resultsOf(client: Anthropic, id: string): Promise<BatchResponse[]> {
  const lines: BatchResponse[] = [];
  for await (const line of await client.messages.batches.results(id)) lines.push(line);
  return lines;
}

const byId = (lines: BatchResponse[]): Record<string, BatchResponse['result']> => Object.fromEntries(lines.map((line) => [line.custom_id, line.result]));

describe('a batch end to end', () => {
  it('create, poll until ended, results(): every request succeeded with the reply messages.create gives for the same params', async () => {
    const { sim, clock, client } = await start();
    const items = [
      { custom_id: 'historical', params: params('Tidal power', 'Historical context') },
      { custom_id: 'technical', params: params('Tidal power', 'Technical details') },
      { custom_id: 'societal', params: params('Tidal power', 'Societal impact') },
    ];
    const created = await client.messages.batches.create({ requests: items });
    expect(created).toEqual({
      id: expect.stringMatching(/^msgbatch_/),
      type: 'message_batch',
      processing_status: 'in_progress',
      request_counts: { processing: 3, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      ended_at: null,
      created_at: at(0),
      expires_at: at(24 * 60 * 60_000),
      archived_at: null,
      cancel_initiated_at: null,
      results_url: null,
    });

    let batch: Batch = created;
    let polls = 0;
    while (batch.processing_status !== 'ended') {
      expect(++polls).toBeLessThan(10);
      clock.advance(clock.pending()[0] ?? 0);
      batch = await client.messages.batches.retrieve(created.id);
    }
    expect(batch.request_counts).toEqual({ processing: 0, succeeded: 3, errored: 0, canceled: 0, expired: 0 });
    const last = Math.max(...items.map((item, index) => batchRequestMs(item.custom_id, index, DEFAULT_BATCH_LATENCY)));
    expect(batch.ended_at).toBe(at(last));
    // Absolute, on the simulator: the SDK fetches it as given.
    expect(batch.results_url).toBe(`${sim.url}${BATCHES_PATH}/${created.id}/results`);
    expect(clock.timers).toEqual([]);

    const results = byId(await resultsOf(client, created.id));
    expect(Object.keys(results).sort()).toEqual(['historical', 'societal', 'technical']);
    for (const item of items) {
      const plain = await client.messages.create(item.params);
      const result = results[item.custom_id];
      expect(result?.type).toBe('succeeded');
      const message = (result as Anthropic.Messages.Batches.MessageBatchSucceededResult).message;
      expect(message.id).not.toBe(plain.id);
      expect({ ...message, id: plain.id }).toEqual(plain);
      expect(message.content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('[Simulated]') });
    }
  });

  it('requests complete in an order fixed by their custom_ids, and the results file lists them in that order', async () => {
    const { clock, client } = await start({ batchLatency: { baseMs: 100, perRequestMs: 0, jitterMs: 1_000 } });
    const ids = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    const expected = [...ids].sort(
      (a, b) => batchRequestMs(a, 0, { ...DEFAULT_BATCH_LATENCY, baseMs: 100, perRequestMs: 0 }) - batchRequestMs(b, 0, { ...DEFAULT_BATCH_LATENCY, baseMs: 100, perRequestMs: 0 }),
    );
    expect(expected).not.toEqual(ids);
    const batch = await client.messages.batches.create({ requests: requests(...ids) });
    clock.advance(1_100);
    expect((await client.messages.batches.retrieve(batch.id)).processing_status).toBe('ended');
    expect((await resultsOf(client, batch.id)).map((line) => line.custom_id)).toEqual(expected);
  });

  it('with the default batchLatency a 100-request batch ends within 3 s of (simulated) time', async () => {
    const { clock, client } = await start();
    const batch = await client.messages.batches.create({ requests: requests(...Array.from({ length: 100 }, (_, i) => `r-${i}`)) });
    clock.advance(2_999);
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended.processing_status).toBe('ended');
    expect(ended.request_counts.succeeded).toBe(100);
  });

  it('batch requests share the prompt cache with /v1/messages, and report its usage as a plain call does', async () => {
    const { clock, client } = await start({ minCacheableTokens: 20, batchLatency: stepped });
    const system = [{ type: 'text' as const, text: 'Shared briefing. '.repeat(40), cache_control: { type: 'ephemeral' as const } }];
    const first = await client.messages.create({ ...params('Fusion'), system });
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    const batch = await client.messages.batches.create({ requests: [{ custom_id: 'cached', params: { ...params('Fusion', 'Societal impact'), system } }] });
    clock.advance(1_000);
    const [line] = await resultsOf(client, batch.id);
    const message = (line!.result as Anthropic.Messages.Batches.MessageBatchSucceededResult).message;
    expect(message.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(message.usage.cache_creation_input_tokens).toBe(0);
    expect(sim!.batches()[0]?.requests[0]?.usage).toEqual(message.usage);
  });
});

describe('processing over time', () => {
  it('request_counts.processing falls as each request completes, and the batch ends with the last', async () => {
    const { clock, client } = await start({ batchLatency: stepped });
    const batch = await client.messages.batches.create({ requests: requests('a', 'b', 'c', 'd', 'e') });
    // One timer per batch: the next request's completion.
    expect(clock.pending()).toEqual([1_000]);
    clock.advance(999);
    expect((await client.messages.batches.retrieve(batch.id)).request_counts.processing).toBe(5);
    for (let done = 1; done <= 5; done++) {
      clock.advance(done === 1 ? 1 : 100);
      const now = await client.messages.batches.retrieve(batch.id);
      expect(now.request_counts).toEqual({ processing: 5 - done, succeeded: done, errored: 0, canceled: 0, expired: 0 });
      expect(now.processing_status).toBe(done === 5 ? 'ended' : 'in_progress');
      expect(now.results_url === null).toBe(done < 5);
    }
    expect((await client.messages.batches.retrieve(batch.id)).ended_at).toBe(at(1_400));
    expect(sim!.batches()[0]?.requests.map((request) => [request.customId, request.status, request.endedAt])).toEqual([
      ['a', 'succeeded', 1_000],
      ['b', 'succeeded', 1_100],
      ['c', 'succeeded', 1_200],
      ['d', 'succeeded', 1_300],
      ['e', 'succeeded', 1_400],
    ]);
  });

  it("batchCounts 'at_end' keeps every request processing until the batch ends, as the API reference describes", async () => {
    const { clock, client } = await start({ batchLatency: stepped, batchCounts: 'at_end' });
    const batch = await client.messages.batches.create({ requests: requests('a', 'b', 'c') });
    clock.advance(1_100);
    const midway = await client.messages.batches.retrieve(batch.id);
    expect(midway.request_counts).toEqual({ processing: 3, succeeded: 0, errored: 0, canceled: 0, expired: 0 });
    expect(sim!.batches()[0]?.requests.filter((request) => request.status === 'succeeded')).toHaveLength(2);
    clock.advance(100);
    expect((await client.messages.batches.retrieve(batch.id)).request_counts).toEqual({ processing: 0, succeeded: 3, errored: 0, canceled: 0, expired: 0 });
  });
});

describe('list', () => {
  it('lists newest first, pages with limit / after_id / before_id, and the SDK auto-paginates', async () => {
    const { client } = await start();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.messages.batches.create({ requests: requests(`b${i}`) })).id);
    const newest = [...ids].reverse() as [string, string, string, string, string];

    const first = await client.messages.batches.list({ limit: 2 });
    expect(first.data.map((batch) => batch.id)).toEqual(newest.slice(0, 2));
    expect([first.has_more, first.first_id, first.last_id]).toEqual([true, newest[0], newest[1]]);
    const second = await first.getNextPage();
    expect(second.data.map((batch) => batch.id)).toEqual(newest.slice(2, 4));
    const third = await second.getNextPage();
    expect(third.data.map((batch) => batch.id)).toEqual(newest.slice(4));
    expect(third.has_more).toBe(false);
    expect(third.hasNextPage()).toBe(false);

    const all: string[] = [];
    for await (const batch of client.messages.batches.list({ limit: 2 })) all.push(batch.id);
    expect(all).toEqual(newest);

    const after = await client.messages.batches.list({ after_id: newest[1], limit: 2 });
    expect(after.data.map((batch) => batch.id)).toEqual(newest.slice(2, 4));
    const before = await client.messages.batches.list({ before_id: newest[3], limit: 2 });
    expect(before.data.map((batch) => batch.id)).toEqual(newest.slice(1, 3));
    expect(before.has_more).toBe(true);
    const top = await client.messages.batches.list({ before_id: newest[1] });
    expect([top.data.map((batch) => batch.id), top.has_more]).toEqual([[newest[0]], false]);
    expect((await client.messages.batches.list()).data).toHaveLength(5);
  });

  it('refuses a limit outside 1–1000 with a 400', async () => {
    const { client } = await start();
    for (const limit of [0, 1_001]) {
      const error = await rejection(client.messages.batches.list({ limit }));
      expect(error).toBeInstanceOf(Anthropic.BadRequestError);
      expect((error as InstanceType<typeof Anthropic.APIError>).message).toContain('limit');
    }
  });
});

describe('cancel', () => {
  it('goes canceling, lets requests already in flight finish, cancels the rest, then ends', async () => {
    const { clock, client } = await start({ batchLatency: stepped });
    const batch = await client.messages.batches.create({ requests: requests('r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7') });
    clock.advance(1_150); // r0 and r1 are done
    const canceling = await client.messages.batches.cancel(batch.id);
    expect(canceling).toMatchObject({ processing_status: 'canceling', cancel_initiated_at: at(1_150), ended_at: null, results_url: null });
    expect(canceling.request_counts).toMatchObject({ processing: 6, succeeded: 2, canceled: 0 });
    // A second cancel changes nothing.
    expect(await client.messages.batches.cancel(batch.id)).toEqual(canceling);

    clock.advance(250); // cancelMs: r2, r3 and r4 (due at 1,200–1,400) were in flight
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended).toMatchObject({ processing_status: 'ended', ended_at: at(1_400), cancel_initiated_at: at(1_150) });
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 5, errored: 0, canceled: 3, expired: 0 });
    expect(clock.timers).toEqual([]);
    const results = byId(await resultsOf(client, batch.id));
    expect(Object.entries(results).map(([id, result]) => [id, result.type])).toEqual([
      ['r0', 'succeeded'],
      ['r1', 'succeeded'],
      ['r2', 'succeeded'],
      ['r3', 'succeeded'],
      ['r4', 'succeeded'],
      ['r5', 'canceled'],
      ['r6', 'canceled'],
      ['r7', 'canceled'],
    ]);
    expect(results['r5']).toEqual({ type: 'canceled' });
    expect(sim!.batches()[0]).toMatchObject({ canceledBy: 'client', cancelInitiatedAt: 1_150, endedAt: 1_400 });

    const late = await rejection(client.messages.batches.cancel(batch.id));
    expect(late).toBeInstanceOf(Anthropic.BadRequestError);
  });
});

describe('faults', () => {
  it('batch_errored: the matching request ends errored with the error type, the others succeed; /v1/messages is untouched', async () => {
    const { clock, client } = await start({
      batchLatency: stepped,
      faults: [
        { match: { customId: 'q-1' }, fault: { type: 'batch_errored', errorType: 'invalid_request_error', message: 'max_tokens: too large for this model' } },
        { match: { pattern: 'Topic q-3' }, fault: { type: 'batch_errored' } },
      ],
    });
    // A batch rule is never used up by an HTTP request.
    expect((await client.messages.create(params('Topic q-1'))).type).toBe('message');
    const batch = await client.messages.batches.create({ requests: requests('q-0', 'q-1', 'q-2', 'q-3') });
    clock.advance(1_300);
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 2, errored: 2, canceled: 0, expired: 0 });
    const results = byId(await resultsOf(client, batch.id));
    expect(results['q-1']).toEqual({ type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: too large for this model' }, request_id: null } });
    expect(results['q-3']).toMatchObject({ type: 'errored', error: { type: 'error', error: { type: 'overloaded_error' } } });
    expect(results['q-0']?.type).toBe('succeeded');
    expect(sim!.batches()[0]?.requests.map((request) => request.fault)).toEqual([null, 'batch_errored', null, 'batch_errored']);
  });

  it('batch_expired: processing stops after afterMs; at expires_at the batch ends with its unfinished requests expired', async () => {
    const day = 24 * 60 * 60_000;
    const { clock, client } = await start({ batchLatency: stepped, faults: [{ match: { customId: 'x-0' }, fault: { type: 'batch_expired', afterMs: 1_150 } }] });
    const batch = await client.messages.batches.create({ requests: requests('x-0', 'x-1', 'x-2', 'x-3') });
    clock.advance(10 * 60_000);
    const stuck = await client.messages.batches.retrieve(batch.id);
    expect(stuck).toMatchObject({ processing_status: 'in_progress', request_counts: { processing: 2, succeeded: 2 } });
    expect(clock.pending()).toEqual([day - 10 * 60_000]);
    clock.advance(day);
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended).toMatchObject({ processing_status: 'ended', ended_at: ended.expires_at, cancel_initiated_at: null });
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 2, errored: 0, canceled: 0, expired: 2 });
    const results = byId(await resultsOf(client, batch.id));
    expect([results['x-0']?.type, results['x-1']?.type, results['x-2'], results['x-3']]).toEqual(['succeeded', 'succeeded', { type: 'expired' }, { type: 'expired' }]);
    expect(sim!.batches()[0]).toMatchObject({ fault: 'batch_expired', endedAt: day });
    expect(sim!.batches()[0]?.requests.map((request) => request.dueAt)).toEqual([1_000, 1_100, null, null]);
  });

  it('batch_canceled: the server cancels the batch after afterMs, once (times: 1); its unfinished requests are canceled', async () => {
    const { clock, client } = await start({ batchLatency: stepped, faults: [{ match: { customId: 'c-0' }, times: 1, fault: { type: 'batch_canceled', afterMs: 1_050 } }] });
    const hit = await client.messages.batches.create({ requests: requests('c-0', 'c-1', 'c-2', 'c-3', 'c-4', 'c-5') });
    const spared = await client.messages.batches.create({ requests: requests('c-0', 'c-1') });
    clock.advance(1_050);
    expect(await client.messages.batches.retrieve(hit.id)).toMatchObject({ processing_status: 'canceling', cancel_initiated_at: at(1_050) });
    clock.advance(250);
    const ended = await client.messages.batches.retrieve(hit.id);
    expect(ended).toMatchObject({ processing_status: 'ended', ended_at: at(1_300) });
    // c-0 at 1,000 done before; c-1 to c-3 (1,100–1,300) in flight during canceling.
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 4, errored: 0, canceled: 2, expired: 0 });
    const other = await client.messages.batches.retrieve(spared.id);
    expect(other).toMatchObject({ processing_status: 'ended', cancel_initiated_at: null, request_counts: { succeeded: 2, canceled: 0 } });
    expect(sim!.batches().map((batch) => [batch.fault, batch.canceledBy])).toEqual([
      ['batch_canceled', 'server'],
      [null, null],
    ]);
  });

  it('an error-status fault on the create refuses it; a dropped answer comes after the batch is made, and the log shows the retry submitted it twice', async () => {
    const { client } = await start({ faults: [{ match: { path: BATCHES_PATH, method: 'POST' }, times: 1, fault: { type: 'overloaded' } }] });
    expect(await rejection(client.messages.batches.create({ requests: requests('once') }))).toBeInstanceOf(Anthropic.OverloadedError);
    expect(sim!.batches()).toEqual([]);

    sim!.addFault({ match: { path: BATCHES_PATH, method: 'POST' }, times: 1, fault: { type: 'drop' } });
    // The SDK reads a JSON body after its status: a cut body surfaces as undici's own TypeError('terminated'), not an AnthropicError.
    const dropped = await rejection(client.messages.batches.create({ requests: requests('once', 'twice') }));
    expect(dropped).toBeInstanceOf(TypeError);
    expect((dropped as Error).message).toBe('terminated');
    const retried = await client.messages.batches.create({ requests: requests('once', 'twice') });
    const submitted = sim!.batches().flatMap((batch) => batch.requests.map((request) => `${batch.id}:${request.customId}`));
    expect(submitted).toEqual([`${sim!.batches()[0]?.id}:once`, `${sim!.batches()[0]?.id}:twice`, `${retried.id}:once`, `${retried.id}:twice`]);
    const customIds = submitted.map((entry) => entry.split(':')[1]);
    expect(new Set(customIds).size).toBeLessThan(customIds.length);
    expect(sim!.requests.map((request) => [request.fault, request.batchId])).toEqual([
      ['overloaded', null],
      ['drop', sim!.batches()[0]?.id],
      [null, retried.id],
    ]);
  });

  it('a rule that matches customId with an HTTP fault is refused: it could never apply', async () => {
    const { sim } = await start();
    expect(() => sim.addFault({ match: { customId: 'a' }, fault: { type: 'overloaded' } })).toThrow(FanfoldError);
    expect(() => sim.addFault({ match: { path: '/v1/messages' }, fault: { type: 'batch_errored' } })).toThrow('never /v1/messages');
  });
});

describe('validation', () => {
  const refused = async (client: Anthropic, body: unknown): Promise<InstanceType<typeof Anthropic.APIError>> => {
    const error = await rejection(client.messages.batches.create(body as Anthropic.Messages.Batches.BatchCreateParams));
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    return error as InstanceType<typeof Anthropic.APIError>;
  };

  it('a duplicate custom_id is a 400 in the API error shape, and nothing is created', async () => {
    const { client } = await start();
    const error = await refused(client, { requests: requests('same', 'other', 'same') });
    expect(error.error).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('requests.2.custom_id: Duplicate custom_id "same"') },
      request_id: expect.stringMatching(/^req_/),
    });
    expect(sim!.batches()).toEqual([]);
    expect(sim!.requests[0]).toMatchObject({ path: BATCHES_PATH, status: 400, batchId: null });
  });

  it('a custom_id outside ^[a-zA-Z0-9_-]{1,64}$ is a 400', async () => {
    const { client } = await start();
    for (const bad of ['', 'has space', 'x'.repeat(65), 'dot.ted']) {
      const error = await refused(client, { requests: [{ custom_id: bad, params: params('T') }] });
      expect(error.message).toContain("requests.0.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'");
    }
    expect((await client.messages.batches.create({ requests: [{ custom_id: 'x'.repeat(64), params: params('T') }] })).type).toBe('message_batch');
  });

  it(`more than MAX_BATCH_REQUESTS (${MAX_BATCH_REQUESTS}) requests is a 400, counted before any is read`, async () => {
    const { client } = await start();
    const cheap = Array.from({ length: MAX_BATCH_REQUESTS + 1 }, (_, i) => ({ custom_id: `r${i}`, params: {} }));
    const error = await refused(client, { requests: cheap });
    expect(error.message).toContain(`requests: List should have at most ${MAX_BATCH_REQUESTS} items after validation, not ${MAX_BATCH_REQUESTS + 1}`);
  });

  it('params are checked as /v1/messages checks them, and stream: true is refused', async () => {
    const { client } = await start();
    const { max_tokens: _, ...noMaxTokens } = params('T');
    expect((await refused(client, { requests: [{ custom_id: 'a', params: noMaxTokens }] })).message).toContain('requests.0.params.max_tokens: Field required');
    expect((await refused(client, { requests: [requests('a')[0], { custom_id: 'b', params: { ...params('T'), stream: true } }] })).message).toContain('requests.1.params.stream');
    expect((await refused(client, { requests: [{ custom_id: 'a' }] })).message).toContain('requests.0.params: Field required');
    expect((await refused(client, { requests: [] })).message).toContain('requests: List should have at least 1 item');
    expect(sim!.batches()).toEqual([]);
  });

  it('takes a create body over the 32 MB a Messages call may have (batches allow 256 MB)', async () => {
    const { client } = await start();
    const long = 'word '.repeat(7_000); // ~35 KB a request
    const big = Array.from({ length: 1_000 }, (_, i) => ({ custom_id: `big-${i}`, params: params(long) }));
    expect(Buffer.byteLength(JSON.stringify({ requests: big }))).toBeGreaterThan(32 * 1024 * 1024);
    const batch = await client.messages.batches.create({ requests: big });
    expect(batch.request_counts.processing).toBe(1_000);
  });

  it('invalid batchLatency options are refused, every bad field at once', async () => {
    await expect(startSimulator({ batchLatency: { baseMs: -1, expiryMs: 0 } })).rejects.toThrow(/batchLatency\.baseMs must be .*; batchLatency\.expiryMs must be/);
  });
});

describe('results, retrieve and delete before and after the end', () => {
  it('results() before the batch ended is an error (the SDK stops at results_url: null; the endpoint answers 404)', async () => {
    const { sim, client } = await start({ batchLatency: stepped });
    const batch = await client.messages.batches.create({ requests: requests('a') });
    const error = await rejection(client.messages.batches.results(batch.id));
    expect(error).toBeInstanceOf(Anthropic.AnthropicError);
    expect((error as Error).message).toContain('No batch `results_url`');
    const response = await fetch(`${sim.url}${BATCHES_PATH}/${batch.id}/results`, { headers: { 'x-api-key': 'test' } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('not_found_error');
  });

  it('an unknown id is a 404; delete refuses a batch in progress, then removes an ended one from the API but not from the log', async () => {
    const { clock, client } = await start({ batchLatency: stepped });
    expect(await rejection(client.messages.batches.retrieve('msgbatch_nope'))).toBeInstanceOf(Anthropic.NotFoundError);
    const batch = await client.messages.batches.create({ requests: requests('a') });
    expect(await rejection(client.messages.batches.delete(batch.id))).toBeInstanceOf(Anthropic.BadRequestError);
    clock.advance(1_000);
    expect(await client.messages.batches.delete(batch.id)).toEqual({ id: batch.id, type: 'message_batch_deleted' });
    expect(await rejection(client.messages.batches.retrieve(batch.id))).toBeInstanceOf(Anthropic.NotFoundError);
    expect((await client.messages.batches.list()).data).toEqual([]);
    expect(sim!.batches()).toMatchObject([{ id: batch.id, deleted: true, processingStatus: 'ended' }]);
  });
});

describe('the log', () => {
  it('counts every submitted request with its batch, and every call about a batch', async () => {
    const { clock, client } = await start({ batchLatency: stepped });
    const one = await client.messages.batches.create({ requests: requests('a', 'b') });
    const two = await client.messages.batches.create({ requests: requests('c') }, { headers: { 'x-fanfold-caller': 'lead' } });
    clock.advance(1_100);
    await client.messages.batches.retrieve(one.id);
    await resultsOf(client, one.id);

    const log = sim!.batches();
    expect(log.map((batch) => [batch.id, batch.caller, batch.requests.map((request) => request.customId)])).toEqual([
      [one.id, null, ['a', 'b']],
      [two.id, 'lead', ['c']],
    ]);
    expect(log.map((batch) => sim!.requests.find((request) => request.seq === batch.seq)?.path)).toEqual([BATCHES_PATH, BATCHES_PATH]);
    const ids = log.flatMap((batch) => batch.requests.map((request) => request.customId));
    expect(new Set(ids).size).toBe(ids.length);
    // results() is a retrieve then a GET of results_url.
    expect(sim!.count({ batchId: one.id })).toBe(4);
    expect(sim!.count({ batchId: two.id })).toBe(1);
    expect(sim!.count({ path: BATCHES_PATH })).toBe(2);
    expect(log[0]?.requests[0]).toMatchObject({ model: 'claude-haiku-4-5', status: 'succeeded', dueAt: 1_000, endedAt: 1_000, text: expect.stringContaining('Topic a') });
    expect(log[0]?.requests[0]?.usage?.output_tokens).toBeGreaterThan(0);
  });
});
