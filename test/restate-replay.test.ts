/**
 * Replay safety on Restate. Restate replays an invocation's journal when it retries it, and a
 * handler that then writes something else than the first time is stuck on a "journal mismatch"
 * for good: the run never finishes. The machines read the time in transitions (a specialist's
 * start time, the deadline timer's delay), so the handlers that run them journal the time first
 * (`withJournaledClock`). Here every `create` and `send` of the real lead object, the fan-out's
 * promise invocation, every chunk invocation and every stop-signal handler is made to fail once
 * after its writes reached the journal, so each one is replayed: a chunk's replay must take its
 * events in the same order (one `RestatePromise.race` over everything it waits for).
 */
import * as restate from '@restatedev/restate-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FanOutConfig } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { startSimulator, type Simulator } from '../src/simulator/entry.ts';
import { awaitRestateRun, createRestateServices, invocationNow, startRestateRun, withJournaledClock, wrapTransitionHandlers } from '../src/restate/index.ts';
import { CHUNK_SERVICE } from '../src/restate/chunkService.ts';
import { STOP_SERVICE } from '../src/restate/stopSignal.ts';
import { PROGRESS_SERVICE } from '../src/restate/progress.ts';
import { pollUntil, serveForTest, startRestateServer, type RestateServer, type TestEndpoint } from './restate-support.ts';

const API_KEY = 'sk-restate-replay-key';

/** Invocations already failed once, by invocation id. */
const failedOnce = new Set<string>();
/** How many handler attempts were replays of a failed one, by `service/handler`. */
const replays = new Map<string, number>();
const replayCount = () => [...replays.values()].reduce((sum, count) => sum + count, 0);

/** A handler that runs `original`, lets a journaled sleep push its writes to the server, and fails its first attempt. */
function failOnceAfter<C extends { sleep(ms: number): PromiseLike<unknown>; request(): { id: string } }>(name: string, original: (ctx: C, request: unknown) => Promise<unknown>) {
  return async (ctx: C, request: unknown) => {
    const result = await original(ctx, request);
    await ctx.sleep(5);
    const id = ctx.request().id;
    if (!failedOnce.has(id)) {
      failedOnce.add(id);
      throw new Error(`injected transient failure of ${name} after its writes`);
    }
    replays.set(name, (replays.get(name) ?? 0) + 1);
    return result;
  };
}

/** Shared handlers of the stop signal and the progress objects: reads, with nothing to replay. */
const SHARED_READERS = new Set(['get', 'read']);

type Definition = { name: string; object?: Record<string, (ctx: never, request: unknown) => Promise<unknown>>; service?: Record<string, (ctx: never, request: unknown) => Promise<unknown>> };

/**
 * The same service or object, with every handler failing its first attempt after its work: the
 * lead's `create` and `send` (exclusive) and its `invokePromise` (shared: the fan-out and the
 * synthesizer run there), each chunk's `run`, each stop-signal handler.
 */
function failEachOnceAfterItsWrites<T>(definition: T): T {
  const { name, object, service } = definition as unknown as Definition;
  if (service) {
    const handlers = Object.fromEntries(Object.entries(service).map(([handler, original]) => [handler, failOnceAfter(`${name}/${handler}`, original as never)]));
    return restate.service({ name, handlers } as never) as unknown as T;
  }
  if (name !== 'fanfold') {
    // The stop signal and the progress: every exclusive handler (the shared readers stay as they are).
    const handlers = Object.fromEntries(
      Object.entries(object!).map(([handler, original]) => [handler, SHARED_READERS.has(handler) ? original : failOnceAfter(`${name}/${handler}`, original as never)]),
    );
    return restate.object({ name, handlers } as never) as unknown as T;
  }
  const wrapped = wrapTransitionHandlers(definition, (original, handlerName) => failOnceAfter(`${name}/${handlerName}`, original as never) as never);
  const { object: routes } = wrapped as unknown as Definition;
  const handlers: Record<string, unknown> = { ...routes };
  handlers['invokePromise'] = restate.handlers.object.shared(failOnceAfter(`${name}/invokePromise`, object!['invokePromise'] as never) as never);
  return restate.object({ name, handlers } as never) as unknown as T;
}

const attemptsSeen = new Map<string, number[]>();
/** A probe object whose `create` writes the time it reads, flushes, and fails its first attempt. */
const probe = (name: string, now: (ctx: object) => number) =>
  restate.object({
    name,
    handlers: {
      create: async (ctx: restate.ObjectContext) => {
        const seen = attemptsSeen.get(name) ?? [];
        attemptsSeen.set(name, seen);
        const at = now(ctx);
        seen.push(at);
        ctx.set('at', at);
        await ctx.sleep(25); // the write above reaches the server's journal
        if (seen.length === 1) throw new Error('transient failure after the write: Restate retries (a replay)');
        return at;
      },
      send: async () => {},
    },
  });

let simulator: Simulator;
let server: RestateServer;
let endpoint: TestEndpoint | undefined;

beforeAll(async () => {
  simulator = await startSimulator({ apiKey: API_KEY, latency: { firstTokenMs: 30, tokensPerSecond: Infinity } });
  server = await startRestateServer();
  const provider = createAnthropicProvider({ apiKey: API_KEY, baseURL: simulator.url, env: {} });
  const services = [
    ...createRestateServices({ provider, chunkSize: 3 }).map((definition) => failEachOnceAfterItsWrites(definition)),
    withJournaledClock(probe('clockProbeJournaled', (ctx) => invocationNow(ctx))),
    probe('clockProbeWallClock', () => Date.now()),
  ];
  endpoint = await serveForTest(server, services);
}, 60_000);

afterAll(async () => {
  await endpoint?.close();
  await server?.stop();
  await simulator?.close();
}, 30_000);

describe('replay safety on Restate', () => {
  it('a replayed handler reads the same journaled time, so its retry goes through', async () => {
    const response = await fetch(`${server.ingressUrl}/clockProbeJournaled/k1/create`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(200);
    const seen = attemptsSeen.get('clockProbeJournaled')!;
    expect(seen.length).toBe(2);
    expect(seen[1]).toBe(seen[0]);
    expect(await response.json()).toBe(seen[0]);
  }, 30_000);

  it('the same handler on Date.now() is stuck on a journal mismatch (why the machines never read it)', async () => {
    const accepted = await fetch(`${server.ingressUrl}/clockProbeWallClock/k1/create/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(accepted.ok).toBe(true);
    const { invocationId } = (await accepted.json()) as { invocationId: string };
    await pollUntil(
      async () => server.log(),
      (log) => /journal mismatch/i.test(log),
      'the journal mismatch in the server log',
      20_000,
    );
    const seen = attemptsSeen.get('clockProbeWallClock')!;
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[1]).not.toBe(seen[0]);
    // It would be retried for good: kill it.
    const killed = await fetch(`${server.adminUrl}/invocations/${invocationId}/kill`, { method: 'PATCH' });
    expect(killed.ok).toBe(true);
  }, 30_000);

  it('a chunked run whose every handler is replayed once completes, and its deadline still cuts off a straggler', async () => {
    simulator.addFault({ match: { caller: 'replay-hung' }, fault: { type: 'hang' } });
    const ids = ['replay-1', 'replay-2', 'replay-3', 'replay-4', 'replay-5', 'replay-hung'];
    const config: FanOutConfig = { task: 'replayed fan-out', specialists: ids.map((id) => ({ id })), deadlineMs: 4_000 };
    replays.clear();
    await startRestateRun(server.ingressUrl, 'replayed-run', config);
    const result = await awaitRestateRun(server.ingressUrl, 'replayed-run', { pollMs: 100 });

    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual(ids.map((id) => [id, id === 'replay-hung' ? 'timedOut' : 'fulfilled']));
    expect(result.synthesis).toEqual(expect.any(String));
    // The lead's create and its events, the fan-out and the synthesizer, both chunks and the stop signal's watch were all replayed.
    // A replay that only repeats work already journaled (the synthesizer's answer reached the lead
    // before its attempt failed) can end after the run did: wait for it, then count exactly.
    const expected: Array<[string, number]> = [
      ['fanfold/create', 1],
      ['fanfold/send', 2],
      ['fanfold/invokePromise', 2],
      [`${CHUNK_SERVICE}/run`, 2],
      [`${STOP_SERVICE}/watch`, 1],
      [`${PROGRESS_SERVICE}/report`, 2],
    ];
    await pollUntil(
      async () => expected.every(([name, count]) => (replays.get(name) ?? 0) >= count),
      (done) => done,
      'every handler to be replayed',
      20_000,
    );
    expect(replays.get('fanfold/create')).toBe(1);
    expect(replays.get('fanfold/send')).toBeGreaterThanOrEqual(2);
    expect(replays.get('fanfold/invokePromise')).toBe(2);
    expect(replays.get(`${CHUNK_SERVICE}/run`)).toBe(2);
    expect(replays.get(`${STOP_SERVICE}/watch`)).toBe(1);
    expect(replays.get(`${PROGRESS_SERVICE}/report`)).toBeGreaterThanOrEqual(2);
    expect(replayCount()).toBeGreaterThanOrEqual(10);
    // A replay repeats no model call: each specialist was called once.
    for (const id of ids) expect(simulator.count({ caller: id })).toBe(1);
  }, 60_000);
});
