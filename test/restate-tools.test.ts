/**
 * Tool-using specialists on Restate: a real `restate-server`, the fanfold services on an
 * in-process endpoint (with a code tool registered on it) and the simulator, which plays tool
 * use through the real SDK. Each such specialist's loop runs in one agent-service invocation,
 * every turn and tool call a journaled step; its outcome must match the same config run
 * in-process, and a replay of the invocation must repeat no model turn and no tool call.
 */
import * as restate from '@restatedev/restate-sdk';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, runFanOut, type FanOutConfig, type RunResult, type SpecialistOutcome } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { startSimulator, type Simulator } from '../src/simulator/entry.ts';
import { awaitRestateRun, createRestateServices, registerDeployment, serveRestate, startRestateRun } from '../src/restate/index.ts';
import { AGENT_SERVICE } from '../src/restate/agentService.ts';
import { pollUntil, serveForTest, startRestateServer, type RestateServer, type TestEndpoint } from './restate-support.ts';

const API_KEY = 'sk-restate-tools-key';

/** Executions of the code tool, by `<specialist>/<call id>`. */
const executions = new Map<string, number>();
const executionCount = () => [...executions.values()].reduce((sum, count) => sum + count, 0);

/** A code tool that answers at once, from its input, counting each execution. */
const lookup = defineTool({
  name: 'lookup',
  description: 'Looks up records about a subject.',
  input: z.object({ query: z.string() }),
  run: ({ query }, { specialist, callId }) => {
    const key = `${specialist.id}/${callId}`;
    executions.set(key, (executions.get(key) ?? 0) + 1);
    return `record for ${query}: output peaked at 240 MW in 2011 (https://records.example/${encodeURIComponent(query)})`;
  },
});

/** Calls of the stalling tool that were aborted (by the run's deadline). */
let stallsAborted = 0;
/** A code tool that never answers: only its signal ends it. */
const stall = defineTool({
  name: 'stall',
  description: 'Waits for a slow archive.',
  input: z.object({ query: z.string() }),
  run: (_input, { signal }) =>
    new Promise<string>((_resolve, reject) =>
      signal.addEventListener('abort', () => {
        stallsAborted++;
        reject(signal.reason);
      }),
    ),
});

/** A tool the service was not given. */
const unregistered = defineTool({ name: 'unregistered_tool', description: 'Not on the service.', input: z.object({ q: z.string() }), run: () => 'never' });

/** While set, each agent invocation fails once after its writes (its first attempt), so Restate replays it. */
let failAgentsOnce = false;
const failedOnce = new Set<string>();
let agentReplays = 0;

/** The agent service, its handler wrapped: run it, let a journaled sleep push its writes, then fail its first attempt when asked. */
function failOnceAfterWrites<T>(definition: T): T {
  const { name, service } = definition as unknown as { name: string; service?: Record<string, (ctx: restate.Context, request: unknown) => Promise<unknown>> };
  if (name !== AGENT_SERVICE || !service) return definition;
  const original = service['run']!;
  const run = async (ctx: restate.Context, request: unknown) => {
    const result = await original(ctx, request);
    if (!failAgentsOnce) return result;
    await ctx.sleep(5);
    const id = ctx.request().id;
    if (!failedOnce.has(id)) {
      failedOnce.add(id);
      throw new Error('injected transient failure of the agent invocation after its writes');
    }
    agentReplays++;
    return result;
  };
  return restate.service({ name, handlers: { run } }) as unknown as T;
}

let simulator: Simulator;
let server: RestateServer;
let endpoint: TestEndpoint | undefined;
let provider: ReturnType<typeof createAnthropicProvider>;

beforeAll(async () => {
  simulator = await startSimulator({ apiKey: API_KEY, latency: { firstTokenMs: 20, tokensPerSecond: Infinity } });
  server = await startRestateServer();
  provider = createAnthropicProvider({ apiKey: API_KEY, baseURL: simulator.url, env: {} });
  endpoint = await serveForTest(
    server,
    createRestateServices({ provider, chunkSize: 2, tools: [lookup, stall] }).map((definition) => failOnceAfterWrites(definition)),
  );
}, 60_000);

afterAll(async () => {
  await endpoint?.close();
  await server?.stop();
  await simulator?.close();
}, 30_000);

/** Runs `config` on Restate as run `runId`. */
async function onRestate(runId: string, config: FanOutConfig): Promise<RunResult> {
  await startRestateRun(server.ingressUrl, runId, config);
  return awaitRestateRun(server.ingressUrl, runId, { pollMs: 100 });
}

const byId = (result: RunResult, id: string): SpecialistOutcome => result.outcomes.find((outcome) => outcome.id === id)!;
/** What a loop's outcome must agree on across runtimes (tool timings aside). */
const loopOf = (outcome: SpecialistOutcome) => ({
  status: outcome.status,
  output: outcome.output,
  attempts: outcome.attempts,
  turns: outcome.turns,
  stopReason: outcome.stopReason,
  loopLimit: outcome.loopLimit,
  toolCalls: outcome.toolCalls?.map((call) => [call.name, call.isError, call.server ?? false]),
  sources: outcome.sources,
});

describe('tool-using specialists on Restate', () => {
  it('end as the same config does in-process: turns, tool calls in order, stop reason, sources, a retried turn', async () => {
    const config: FanOutConfig = {
      task: 'tidal power',
      deadlineMs: 60_000,
      policy: { retry: { initialDelayMs: 50, maxDelayMs: 50 } },
      specialists: [
        { id: 'historian', angle: 'Historical context', tools: [lookup] },
        { id: 'surveyor', angle: 'Current projects', tools: [lookup, 'web_search'] },
        { id: 'retrier', angle: 'Economics', tools: [lookup] },
        { id: 'plain', angle: 'Outlook' },
      ],
    };
    // The retrier's second turn fails once (rate limited): the turn is retried, not the loop.
    simulator.addFault({ match: { caller: 'retrier', turn: 2 }, times: 1, fault: { type: 'rate_limit' } });
    executions.clear();
    const firstRequest = simulator.requests.length;
    const durable = await onRestate('tools-same', config);
    const durableRequests = simulator.requests.slice(firstRequest);
    const ranOnRestate = executionCount();

    simulator.addFault({ match: { caller: 'retrier', turn: 2 }, times: 1, fault: { type: 'rate_limit' } });
    executions.clear();
    const local = await runFanOut(config, { provider }).result;

    expect(durable.status).toBe('done');
    expect(local.status).toBe('done');
    for (const id of ['historian', 'surveyor', 'retrier']) {
      const outcome = byId(durable, id);
      expect(outcome.status).toBe('fulfilled');
      expect(outcome.turns).toBeGreaterThanOrEqual(2);
      expect(outcome.toolCalls!.length).toBeGreaterThanOrEqual(1);
      expect(loopOf(outcome)).toEqual(loopOf(byId(local, id)));
      // Only its model turns made requests: one per turn, the retried one twice.
      expect(durableRequests.filter((request) => request.caller === id).length).toBe(outcome.attempts);
    }
    expect(byId(durable, 'retrier').attempts).toBe(byId(durable, 'retrier').turns! + 1);
    // The server tool ran inside a model call: it is among the tool calls, and its results among the sources.
    expect(byId(durable, 'surveyor').toolCalls!.some((call) => call.name === 'web_search' && call.server === true)).toBe(true);
    expect(byId(durable, 'surveyor').sources!.length).toBeGreaterThan(0);
    expect(byId(durable, 'plain')).toMatchObject({ status: 'fulfilled', turns: 1, toolCalls: [] });
    // The code tool ran once per client tool call, on the service.
    const clientCalls = durable.outcomes.flatMap((outcome) => outcome.toolCalls ?? []).filter((call) => !call.server).length;
    expect(ranOnRestate).toBe(clientCalls);
    expect(executionCount()).toBe(clientCalls);
    expect(durable.synthesis).toEqual(expect.any(String));
  }, 90_000);

  it('limits as in-process: maxTurns makes the second turn the last, maxToolCalls answers the calls past it without running them', async () => {
    const config: FanOutConfig = {
      task: 'offshore wind',
      deadlineMs: 60_000,
      specialists: [
        { id: 'brief', angle: 'Costs', tools: [lookup], policy: { maxTurns: 2 } },
        { id: 'frugal', angle: 'Grid', tools: [lookup], policy: { maxToolCalls: 1 } },
      ],
    };
    executions.clear();
    const durable = await onRestate('tools-limits', config);
    const frugalRuns = [...executions.keys()].filter((key) => key.startsWith('frugal/')).length;
    const local = await runFanOut(config, { provider }).result;

    expect(byId(durable, 'brief')).toMatchObject({ status: 'fulfilled', turns: 2, loopLimit: 'maxTurns' });
    expect(byId(durable, 'frugal')).toMatchObject({ status: 'fulfilled', turns: 2, loopLimit: 'maxToolCalls' });
    expect(frugalRuns).toBe(1);
    // Calls past maxToolCalls are answered with an error result, never run.
    const frugalCalls = byId(durable, 'frugal').toolCalls!;
    expect(frugalCalls.filter((call) => !call.isError)).toHaveLength(1);
    for (const id of ['brief', 'frugal']) expect(loopOf(byId(durable, id))).toEqual(loopOf(byId(local, id)));
  }, 90_000);

  it('a tool the service was not given: that specialist is rejected with a message naming it, the others go on', async () => {
    const result = await onRestate('tools-missing', {
      task: 'wave energy',
      deadlineMs: 60_000,
      specialists: [
        { id: 'lacking', tools: [lookup, unregistered] },
        { id: 'fine', tools: [lookup] },
      ],
    });
    expect(result.status).toBe('partial');
    const lacking = byId(result, 'lacking');
    expect(lacking.status).toBe('rejected');
    expect(lacking.error?.message).toMatch(/specialist "lacking": the Restate service has no tool "unregistered_tool"/);
    expect(simulator.count({ caller: 'lacking' })).toBe(0);
    expect(byId(result, 'fine').status).toBe('fulfilled');
  }, 90_000);

  it("the run's deadline cuts off a specialist whose tool hangs: timedOut, and the tool's signal is aborted on the service", async () => {
    stallsAborted = 0;
    const startedAt = Date.now();
    const result = await onRestate('tools-deadline', {
      task: 'hydro storage',
      deadlineMs: 3_000,
      specialists: [
        { id: 'stuck', tools: [stall] },
        { id: 'quick', tools: [lookup] },
      ],
    });
    expect(result.status).toBe('partial');
    expect(byId(result, 'stuck')).toMatchObject({ status: 'timedOut', error: { kind: 'deadline' } });
    expect(byId(result, 'quick').status).toBe('fulfilled');
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    // The hung call was stopped where it ran, at the deadline, not left running.
    await pollUntil(
      async () => stallsAborted,
      (count) => count >= 1,
      'the stalled tool call to be aborted',
      10_000,
    );
    // Past the deadline no further model turn was asked for: only its first turn reached the model.
    expect(simulator.count({ caller: 'stuck' })).toBe(1);
  }, 60_000);

  it('a replayed agent invocation repeats no finished model turn and no finished tool call', async () => {
    const ids = ['replay-a', 'replay-b', 'replay-c'];
    executions.clear();
    failAgentsOnce = true;
    agentReplays = 0;
    const firstRequest = simulator.requests.length;
    let result: RunResult;
    try {
      result = await onRestate('tools-replayed', { task: 'geothermal heat', deadlineMs: 60_000, specialists: ids.map((id) => ({ id, tools: [lookup] })) });
    } finally {
      failAgentsOnce = false;
    }
    expect(result.status).toBe('done');
    // Each of the three agent invocations failed once after its writes and was replayed.
    expect(agentReplays).toBe(3);
    const requests = simulator.requests.slice(firstRequest);
    for (const id of ids) {
      const outcome = byId(result, id);
      expect(outcome.status).toBe('fulfilled');
      expect(outcome.turns).toBeGreaterThanOrEqual(2);
      // One request per model turn: turns 1..n, each once.
      const turns = requests.filter((request) => request.caller === id).map((request) => request.turn);
      expect(turns).toEqual(Array.from({ length: outcome.turns! }, (_, index) => index + 1));
      // One execution per tool call.
      const ran = [...executions].filter(([key]) => key.startsWith(`${id}/`));
      expect(ran.length).toBe(outcome.toolCalls!.length);
      for (const [, count] of ran) expect(count).toBe(1);
    }
  }, 90_000);

  it('MCP tools from servers serveRestate started: the call reaches the server once per tool call, and close() stops it', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/mcp-server.mjs', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'fanfold-restate-mcp-'));
    const logFile = join(dir, 'fixture.log');
    const mcp = { fixture: { command: process.execPath, args: [fixture], env: { MCP_FIXTURE_LOG: logFile } } };
    const lines = () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { pid: number; event: string; tool?: string });
    // A server of its own: the services of serveRestate's endpoint would replace this file's on the shared one.
    const own = await startRestateServer();
    const service = await serveRestate({ provider, port: 0, mcpServers: mcp });
    let closed = false;
    try {
      await registerDeployment(own.adminUrl, service.url);
      // The config names the server (and is checked against it); the service started its own.
      await startRestateRun(own.ingressUrl, 'tools-mcp', { task: 'pumped hydro', deadlineMs: 60_000, mcp, specialists: [{ id: 'echoer', tools: ['fixture.echo'] }] });
      const result = await awaitRestateRun(own.ingressUrl, 'tools-mcp', { pollMs: 100 });
      const echoer = byId(result, 'echoer');
      expect(echoer).toMatchObject({ status: 'fulfilled' });
      expect(echoer.toolCalls!.length).toBeGreaterThanOrEqual(1);
      expect(echoer.toolCalls!.every((call) => call.name === 'echo' && !call.isError)).toBe(true);
      expect(lines().filter((line) => line.event === 'call' && line.tool === 'echo')).toHaveLength(echoer.toolCalls!.length);
      const pid = lines().find((line) => line.event === 'start')!.pid;
      await service.close();
      closed = true;
      await pollUntil(
        async () => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        },
        (alive) => !alive,
        'the MCP server to exit after close()',
        10_000,
      );
    } finally {
      if (!closed) await service.close();
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
