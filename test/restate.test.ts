/**
 * The Restate runtime end to end: a real restate-server, `fanfold serve --restate` as a child
 * process calling the simulator started here (so its request log survives service restarts),
 * runs started and followed through the ingress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFanOut, type FanOutConfig, type RunEvent, type RunResult } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { startSimulator, type Simulator } from '../src/simulator/entry.ts';
import { awaitRestateRun, followRestateRun, getRestateSnapshot, registerDeployment, sendRestateRun, startRestateRun } from '../src/restate/index.ts';
import { freePort, pollUntil, restateInvocations, startRestateServer, startService, type RestateServer, type ServiceProcess } from './restate-support.ts';

const API_KEY = 'sk-restate-test-key';
/** Most specialists one chunk invocation runs in these tests: the chunking test goes past it. */
const CHUNK_SIZE = 10;

let simulator: Simulator;
let server: RestateServer;
let service: ServiceProcess;
let servicePort: number;

const serviceEnv = () => ({ ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: simulator.url });

async function restartService(): Promise<void> {
  service = await startService(servicePort, serviceEnv(), ['--chunk-size', String(CHUNK_SIZE)]);
}

beforeAll(async () => {
  // Specialists answer fast unless a test slows one down; tokens stream at once.
  simulator = await startSimulator({ apiKey: API_KEY, latency: { firstTokenMs: 50, tokensPerSecond: Infinity } });
  server = await startRestateServer();
  servicePort = await freePort();
  await restartService();
  await registerDeployment(server.adminUrl, service.url);
}, 60_000);

afterAll(async () => {
  await service?.kill();
  await server?.stop();
  await simulator?.close();
}, 30_000);

/** Collects a run's events until `run.finished`. */
function collect(runId: string): Promise<RunEvent[]> {
  return new Promise((resolve, reject) => {
    const events: RunEvent[] = [];
    followRestateRun(server.ingressUrl, runId, { pollMs: 50 }).subscribe({ next: (event) => events.push(event), complete: () => resolve(events), error: reject });
  });
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, index) => `${prefix}${index + 1}`);

describe('fanfold on Restate', () => {
  it('survives a SIGKILL of the service mid-run: the run completes and finished specialists are not called again', async () => {
    const fast = ids('crash-fast-', 4);
    const slow = ids('crash-slow-', 3);
    for (const id of slow) simulator.addFault({ match: { caller: id }, fault: { type: 'latency', firstTokenMs: 2_500 } });
    const config: FanOutConfig = { task: 'durable fan-out', specialists: [...fast, ...slow].map((id) => ({ id })), deadlineMs: 50_000 };
    await startRestateRun(server.ingressUrl, 'crash-run', config);

    // Wait until the lead has recorded every fast specialist (its promise settled and was journaled).
    await pollUntil(
      () => getRestateSnapshot(server.ingressUrl, 'crash-run'),
      (snapshot) => snapshot.context.outcomes.filter((outcome) => outcome?.status === 'fulfilled').length >= fast.length,
      'the fast specialists to settle',
    );
    expect(slow.every((id) => simulator.requests.some((request) => request.caller === id && request.outcome === 'pending'))).toBe(true);

    await service.kill('SIGKILL');
    await restartService();

    const result = await awaitRestateRun(server.ingressUrl, 'crash-run', { pollMs: 100 });
    expect(result.status).toBe('done');
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual([...fast, ...slow].map((id) => [id, 'fulfilled']));
    expect(result.synthesis).toEqual(expect.any(String));
    for (const id of fast) expect(simulator.count({ caller: id })).toBe(1);
    // The slow ones were in flight when the service died: their calls are made again.
    for (const id of slow) expect(simulator.count({ caller: id })).toBeGreaterThanOrEqual(1);
    expect(simulator.count({ caller: 'synthesizer', pattern: 'durable fan-out' })).toBe(1);
  }, 60_000);

  it('gives the same result shape and the same events (less tokens) as the in-process runtime', async () => {
    const config: FanOutConfig = { task: 'shape comparison', specialists: ids('shape-', 3).map((id) => ({ id, angle: `Angle ${id}` })), deadlineMs: 30_000 };
    const provider = createAnthropicProvider({ apiKey: API_KEY, baseURL: simulator.url, env: {} });
    const local = runFanOut(config, { provider });
    const localEvents: RunEvent[] = [];
    local.events$.subscribe((event) => localEvents.push(event));
    const expected = await local.result;

    await startRestateRun(server.ingressUrl, 'shape-run', config);
    const events = await collect('shape-run');
    const result = await awaitRestateRun(server.ingressUrl, 'shape-run');

    const shape = (value: RunResult) => ({
      keys: Object.keys(value).sort(),
      outcomeKeys: value.outcomes.map((outcome) => Object.keys(outcome).sort()),
      synthesizerKeys: Object.keys(value.synthesizer ?? {}).sort(),
      statuses: value.outcomes.map((outcome) => [outcome.id, outcome.angle, outcome.status, outcome.attempts, outcome.model]),
      status: value.status,
      modelCalls: value.modelCalls,
      missing: value.missing,
      error: value.error,
    });
    expect(shape(result)).toEqual(shape(expected));
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    const kinds = (list: RunEvent[]) =>
      list
        .filter((event) => !event.type.endsWith('.token'))
        .map((event) => event.type)
        .sort();
    expect(kinds(events)).toEqual(kinds(localEvents));
    expect(events.at(-1)).toEqual({ type: 'run.finished', result });
    // Each specialist starts before it settles.
    for (const id of ids('shape-', 3)) {
      const started = events.findIndex((event) => event.type === 'specialist.started' && event.id === id);
      const settled = events.findIndex((event) => event.type === 'specialist.done' && event.id === id);
      expect(started).toBeGreaterThanOrEqual(0);
      expect(settled).toBeGreaterThan(started);
    }
  }, 60_000);

  it('cuts off a hung straggler at the deadline: the run ends partial and the hung call is aborted', async () => {
    simulator.addFault({ match: { caller: 'deadline-hung' }, fault: { type: 'hang' } });
    const config: FanOutConfig = { task: 'deadline on restate', specialists: [{ id: 'deadline-ok' }, { id: 'deadline-hung' }], deadlineMs: 2_000 };
    await startRestateRun(server.ingressUrl, 'deadline-run', config);
    const result = await awaitRestateRun(server.ingressUrl, 'deadline-run');

    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'timedOut']);
    expect(result.outcomes[1]!.error?.kind).toBe('deadline');
    expect(result.missing.map((missing) => missing.id)).toEqual(['deadline-hung']);
    expect(result.synthesis).toEqual(expect.any(String));
    // No AbortSignal reaches a promise actor, but it knows the deadline and aborts its own call.
    const hung = await simulator.waitFor((request) => request.caller === 'deadline-hung', 'ended');
    expect(hung.outcome).toBe('client_closed');
    expect(simulator.count({ caller: 'deadline-hung' })).toBe(1);
  }, 60_000);

  it('does not retry a non-transient error (400)', async () => {
    simulator.addFault({ match: { caller: 'bad-request' }, fault: { type: 'http_error', status: 400, errorType: 'invalid_request_error', message: 'bad prompt' } });
    const config: FanOutConfig = { task: 'permanent errors', specialists: [{ id: 'bad-ok' }, { id: 'bad-request' }], deadlineMs: 30_000 };
    await startRestateRun(server.ingressUrl, 'bad-run', config);
    const result = await awaitRestateRun(server.ingressUrl, 'bad-run');

    expect(result.status).toBe('partial');
    const bad = result.outcomes[1]!;
    expect(bad).toMatchObject({ status: 'rejected', attempts: 1, error: { kind: 'bad_request', status: 400 } });
    expect(simulator.count({ caller: 'bad-request' })).toBe(1);
  }, 60_000);

  it("retries a transient 503 per the specialist's policy, and falls back to the next model when out of attempts", async () => {
    simulator.addFault({ match: { caller: 'flaky' }, times: 2, fault: { type: 'server_error', status: 503 } });
    simulator.addFault({ match: { caller: 'falls-back', model: 'claude-sonnet-4-6' }, fault: { type: 'server_error', status: 503 } });
    const retry = { maxAttempts: 3, initialDelayMs: 100, factor: 2, jitter: 0 };
    const config: FanOutConfig = {
      task: 'transient errors',
      specialists: [
        { id: 'flaky', policy: { retry } },
        { id: 'falls-back', policy: { retry: { ...retry, maxAttempts: 2 }, fallbackModels: ['claude-haiku-4-5'] } },
      ],
      deadlineMs: 30_000,
    };
    await startRestateRun(server.ingressUrl, 'flaky-run', config);
    const events = await collect('flaky-run');
    const result = await awaitRestateRun(server.ingressUrl, 'flaky-run');

    expect(result.status).toBe('done');
    expect(result.outcomes[0]).toMatchObject({ id: 'flaky', status: 'fulfilled', attempts: 3 });
    expect(simulator.count({ caller: 'flaky' })).toBe(3);
    expect(result.outcomes[1]).toMatchObject({ id: 'falls-back', status: 'fulfilled', attempts: 3, model: expect.stringContaining('haiku') });
    expect(simulator.count({ caller: 'falls-back', model: 'claude-sonnet-4-6' })).toBe(2);
    expect(simulator.count({ caller: 'falls-back', model: 'claude-haiku-4-5' })).toBe(1);
    const retries = events.filter((event) => event.type === 'specialist.retrying');
    const retriesOf = (id: string) => retries.filter((event) => event.id === id).map((event) => [event.attempt, event.reason, event.delayMs, event.model]);
    expect(retriesOf('flaky')).toEqual([
      [2, 'backoff', 100, 'claude-sonnet-4-6'],
      [3, 'backoff', 200, 'claude-sonnet-4-6'],
    ]);
    expect(retriesOf('falls-back')).toEqual([
      [2, 'backoff', 100, 'claude-sonnet-4-6'],
      [3, 'fallback', 0, 'claude-haiku-4-5'],
    ]);
    // Retries are reported before the specialist settles.
    expect(events.findIndex((event) => event.type === 'specialist.done' && event.id === 'flaky')).toBeGreaterThan(
      events.findIndex((event) => event.type === 'specialist.retrying' && event.id === 'flaky'),
    );
  }, 60_000);

  it('splits a fan-out larger than the chunk size into chunk invocations and keeps every outcome in config order', async () => {
    const specialists = ids('chunked-', 25);
    simulator.addFault({ match: { caller: 'chunked-13' }, fault: { type: 'http_error', status: 400, errorType: 'invalid_request_error' } });
    await startRestateRun(server.ingressUrl, 'chunked-run', { task: 'chunked fan-out', specialists: specialists.map((id) => ({ id })), deadlineMs: 40_000 });
    const events = await collect('chunked-run');
    const result = await awaitRestateRun(server.ingressUrl, 'chunked-run');

    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => outcome.id)).toEqual(specialists);
    expect(result.outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(24);
    expect(result.missing.map((missing) => missing.id)).toEqual(['chunked-13']);
    for (const id of specialists) expect(simulator.count({ caller: id })).toBe(1);
    expect(events.filter((event) => event.type === 'specialist.started')).toHaveLength(25);
    // Three chunk invocations ran them (10 + 10 + 5), as the server's own records show.
    const chunks = await restateInvocations(server, 'fanfoldChunk');
    expect(chunks.filter((chunk) => chunk.status === 'completed').length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('cancels a run: finished outcomes are kept, stragglers are recorded as skipped, no synthesis', async () => {
    simulator.addFault({ match: { caller: 'cancel-hung' }, fault: { type: 'hang' } });
    await startRestateRun(server.ingressUrl, 'cancel-run', { task: 'cancel on restate', specialists: [{ id: 'cancel-ok' }, { id: 'cancel-hung' }], deadlineMs: 40_000 });
    await pollUntil(
      () => getRestateSnapshot(server.ingressUrl, 'cancel-run'),
      (snapshot) => snapshot.context.outcomes[0]?.status === 'fulfilled',
      'cancel-ok to settle',
    );
    await sendRestateRun(server.ingressUrl, 'cancel-run', { type: 'run.cancel', reason: 'enough' });
    const result = await awaitRestateRun(server.ingressUrl, 'cancel-run');

    expect(result.status).toBe('cancelled');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'skipped']);
    expect(result.error).toEqual({ kind: 'cancelled', message: 'the run was cancelled: enough' });
    expect(result.synthesizer).toBeNull();
    expect(simulator.count({ caller: 'synthesizer', pattern: 'cancel on restate' })).toBe(0);
  }, 60_000);

  it('stops the stragglers of a chunked fan-out at the deadline', async () => {
    const specialists = ids('chunkdl-', 14);
    simulator.addFault({ match: { caller: 'chunkdl-12' }, fault: { type: 'hang' } });
    await startRestateRun(server.ingressUrl, 'chunk-deadline-run', { task: 'chunked deadline', specialists: specialists.map((id) => ({ id })), deadlineMs: 3_000 });
    const result = await awaitRestateRun(server.ingressUrl, 'chunk-deadline-run');

    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(specialists.map((id) => (id === 'chunkdl-12' ? 'timedOut' : 'fulfilled')));
    expect(result.missing.map((missing) => missing.id)).toEqual(['chunkdl-12']);
    expect(result.synthesis).toEqual(expect.any(String));
  }, 60_000);

  it('rejects configs it cannot run and run ids it cannot key, with clear errors', async () => {
    await expect(startRestateRun(server.ingressUrl, 'tasks-run', { task: 't', specialists: [{ id: 'fn', run: async () => 'x' }] })).rejects.toThrow(/specialists\[0\].*`run` function/s);
    await expect(startRestateRun(server.ingressUrl, 'bad id!', { task: 't', specialists: [{ id: 'a' }] })).rejects.toThrow(/Invalid run id "bad id!"/);
    await expect(startRestateRun(server.ingressUrl, 'crash-run', { task: 't', specialists: [{ id: 'a' }] })).rejects.toThrow(/already exists/);
  });

  it("keeps the API key out of the object's snapshot", async () => {
    const snapshot = await getRestateSnapshot(server.ingressUrl, 'shape-run');
    expect(JSON.stringify(snapshot)).not.toContain(API_KEY);
    expect(service.output()).not.toContain(API_KEY);
  });
});
