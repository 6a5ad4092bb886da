/**
 * The runtime contract (`test/contracts/runtime.contract.ts`) run against every runtime: the
 * in-process `runFanOut` and the Restate runtime on a real `restate-server`. Each documented
 * difference is a visible test, `differs: <case> — <reason>`, that checks what the runtime does
 * instead; none is skipped.
 *
 * On Restate one server serves the whole file (started in `beforeAll`, stopped in `afterAll`);
 * the fanfold services run in this process (`serveRestate`) on a provider that routes each call
 * to the scripted provider of the run it belongs to (by the run's task, unique per case), so a
 * case's script and call log are its own. Chunks of 3, so a case of 4–5 specialists spans two
 * chunk invocations and its stops travel through the stop signal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFanOut } from '../src/run.ts';
import type { FanOutConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import type { RunEvent } from '../src/events.ts';
import type { ModelProvider } from '../src/providers/provider.ts';
import { textOf } from '../src/providers/provider.ts';
import type { ScriptedProvider } from '../src/providers/scripted.ts';
import { awaitRestateRun, followRestateRun, getRestateSnapshot, registerDeployment, serveRestate, startRestateRun, type RestateServiceHandle } from '../src/restate/index.ts';
import {
  callsOf,
  defaultReplyText,
  describeRuntimeContract,
  outcomeOf,
  scriptedProviderFor,
  uniqueTask,
  type Runtime,
  type RuntimeContractOptions,
  type RuntimeRun,
  type RuntimeRunOptions,
} from './contracts/runtime.contract.ts';
import { pollUntil, startRestateServer, type RestateServer } from './restate-support.ts';
import { runCoreShell, type ShellRun } from './core-shell.ts';

const SETTLE_TYPES = new Set(['specialist.done', 'specialist.failed', 'specialist.timedOut', 'specialist.skipped']);

// ---------------------------------------------------------------------------------------------
// The in-process runtime.

function inProcessRuntime(options: { lightHostingAbove?: number } = {}): Runtime {
  return {
    async run(config: FanOutConfig, { script, control }: RuntimeRunOptions): Promise<RuntimeRun> {
      const provider = scriptedProviderFor(script);
      const run = runFanOut(config, { provider, ...options });
      const events: RunEvent[] = [];
      const settled = new Set<string>();
      let sent = false;
      run.events$.subscribe((event) => {
        events.push(event);
        if (SETTLE_TYPES.has(event.type)) settled.add((event as { id: string }).id);
        if (event.type === 'synthesis.started') settled.add('synthesizer');
        if (control && !sent && control.after.every((id) => settled.has(id))) {
          sent = true;
          // Not from inside the lead's own emit.
          setTimeout(() => {
            const { command } = control;
            if (command.type === 'run.cancel') run.cancel(command.reason);
            else run.actor.send(command);
          }, 0);
        }
      });
      const result = await run.result;
      return { result, events, calls: provider.calls, maxInFlight: provider.maxInFlight };
    },
  };
}

describeRuntimeContract('in-process', () => inProcessRuntime());

// The same runtime as a very large run keeps it: every specialist hosted lightly (no actor each,
// counts instead of per-specialist started events, no specialist tokens). Same rules, same outcomes.
const lightDifferences: RuntimeContractOptions['differences'] = {
  'tokens stream: specialist.token events before each specialist settles, synthesis.token before synthesis.done': {
    reason: "no specialist tokens: a very large run's findings arrive whole with their outcomes; the synthesis still streams",
    check: async (runtime) => {
      const run = await runtime.run({ task: uniqueTask('light tokens'), specialists: [{ id: 'one' }, { id: 'two' }], deadlineMs: 20_000 }, { script: {} });
      expect(run.events.filter((event) => event.type === 'specialist.token')).toEqual([]);
      expect(run.result.outcomes.map((outcome) => outcome.output)).toEqual([defaultReplyText('one', 1), defaultReplyText('two', 1)]);
      const synthesisTokens = run.events.filter((event) => event.type === 'synthesis.token').map((event) => (event as { text: string }).text);
      expect(synthesisTokens.join('')).toBe(run.result.synthesis);
    },
  },
  'a deadline with specialists still waiting for a slot: never started, timedOut with no attempts and no started event': {
    reason: 'starts are reported as counts (`specialists.progress`), not as a started event per specialist',
    check: async (runtime) => {
      const run = await runtime.run(
        { task: uniqueTask('light deadline queue'), specialists: [{ id: 'first' }, { id: 'second' }, { id: 'third' }], maxConcurrency: 1, deadlineMs: 1_200 },
        { script: { first: { latencyMs: 700 }, second: { latencyMs: 2_000 }, third: { latencyMs: 2_000 } } },
      );
      expect(run.result.outcomes.map((outcome) => [outcome.id, outcome.status, outcome.attempts])).toEqual([
        ['first', 'fulfilled', 1],
        ['second', 'timedOut', 1],
        ['third', 'timedOut', 0],
      ]);
      expect(callsOf(run, 'third')).toEqual([]);
      const counts = run.events.filter((event) => event.type === 'specialists.progress');
      // One slot: never more than one running, and the one left waiting was counted as queued.
      expect(counts.every((event) => event.running <= 1)).toBe(true);
      expect(counts.some((event) => event.queued >= 1)).toBe(true);
      expect(run.events.some((event) => event.type === 'specialist.started')).toBe(false);
    },
  },
};
describeRuntimeContract('in-process, lightly hosted', () => inProcessRuntime({ lightHostingAbove: 0 }), { differences: lightDifferences });

// ---------------------------------------------------------------------------------------------
// The Restate runtime.

const CHUNK_SIZE = 3;
let server: RestateServer;
let service: RestateServiceHandle;
/** Each run's scripted provider, by its task. */
const providersByTask = new Map<string, ScriptedProvider>();

/** The service's provider: each call goes to the scripted provider of the run whose task it carries. */
const routingProvider: ModelProvider = {
  name: 'contract-router',
  stream(request, options) {
    const prompt = request.messages.map((message) => textOf(message.content)).join('\n');
    for (const [task, provider] of providersByTask) if (prompt.includes(`Task: ${task}`)) return provider.stream(request, options);
    return Promise.reject(new Error(`no script for this request: ${prompt.slice(0, 120)}`));
  },
};

let runSeq = 0;

/** Collects a run's events until `run.finished`. */
function follow(runId: string): Promise<RunEvent[]> {
  return new Promise((resolve, reject) => {
    const events: RunEvent[] = [];
    followRestateRun(server.ingressUrl, runId, { pollMs: 50 }).subscribe({ next: (event) => events.push(event), complete: () => resolve(events), error: reject });
  });
}

/** Sends a command through the ingress: the lead object's `send`, as `sendRestateRun` does (which types only cancel and deadline). */
async function sendCommand(runId: string, event: NonNullable<RuntimeRunOptions['control']>['command']): Promise<void> {
  const response = await fetch(`${server.ingressUrl}/fanfold/${runId}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event }) });
  if (!response.ok) throw new Error(`send ${event.type} to ${runId}: HTTP ${response.status} ${await response.text()}`);
}

function restateRuntime(): Runtime {
  return {
    async run(config: FanOutConfig, { script, control }: RuntimeRunOptions): Promise<RuntimeRun> {
      const provider = scriptedProviderFor(script);
      providersByTask.set(config.task, provider);
      const runId = `contract-${++runSeq}`;
      await startRestateRun(server.ingressUrl, runId, config);
      const events = follow(runId);
      if (control) {
        await pollUntil(
          () => getRestateSnapshot(server.ingressUrl, runId),
          (snapshot) =>
            snapshot.status !== 'active' || control.after.every((id) => (id === 'synthesizer' ? snapshot.value === 'synthesizing' : snapshot.context.outcomes.some((outcome) => outcome?.id === id))),
          `${control.after.join(', ')} to settle`,
          20_000,
          25,
        );
        await sendCommand(runId, control.command);
      }
      const result = await awaitRestateRun(server.ingressUrl, runId, { pollMs: 50 });
      return { result, events: await events, calls: provider.calls, maxInFlight: provider.maxInFlight };
    },
  };
}

/** What the Restate runtime does instead, case by case (README, Running on Restate: "What differs"). */
const restateDifferences: RuntimeContractOptions['differences'] = {
  'a cancel aborts the calls of the specialists it cut short': {
    reason: 'a straggler cut by a stop is not aborted: its call runs to completion and its result is dropped; its outcome counts the attempt in flight, with no tokens',
    check: async (runtime) => {
      const run = await runtime.run(
        { task: uniqueTask('cancel does not abort'), specialists: [{ id: 'quick' }, { id: 'slow' }], deadlineMs: 20_000 },
        { script: { quick: { latencyMs: 20 }, slow: { latencyMs: 2_500 } }, control: { after: ['quick'], command: { type: 'run.cancel' } } },
      );
      expect(run.result.status).toBe('cancelled');
      expect(outcomeOf(run, 'slow')).toMatchObject({ status: 'skipped', attempts: 1, usage: { inputTokens: 0, outputTokens: 0 } });
      const [call] = callsOf(run, 'slow');
      expect(call!.result).not.toBe('aborted');
      // It goes on after the run ended, and replies at its own time.
      await pollUntil(
        async () => call!.result,
        (result) => result !== 'pending',
        "the cut-off call's end",
        5_000,
        20,
      );
      expect(call!.result).toBe('replied');
      expect(call!.endedAt! - call!.startedAt).toBeGreaterThanOrEqual(2_500 - 5);
      // What it cost is not counted: only the quick specialist's reply is.
      expect(run.result.usage).toMatchObject({ inputTokens: 10, outputTokens: 5 });
    },
  },
  'maxConcurrency is used in full: six specialists on three slots run three at a time': {
    reason: 'maxConcurrency is per fan-out and a chunked fan-out gives each chunk an equal share (at least 1): two chunks of three on three slots get one slot each, so two calls run at a time',
    check: async (runtime) => {
      const ids = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
      const run = await runtime.run(
        { task: uniqueTask('slots shared by chunks'), specialists: ids.map((id) => ({ id })), maxConcurrency: 3, deadlineMs: 20_000 },
        { script: Object.fromEntries(ids.map((id) => [id, { latencyMs: 150 }])) },
      );
      expect(run.result.status).toBe('done');
      expect(run.maxInFlight).toBe(2);
      // One call at a time within each chunk (m1–m3, m4–m6).
      for (const chunk of [ids.slice(0, 3), ids.slice(3)]) {
        const spans = chunk.map((id) => callsOf(run, id)[0]!).sort((a, b) => a.startedAt - b.startedAt);
        for (let i = 1; i < spans.length; i++) expect(spans[i]!.startedAt).toBeGreaterThanOrEqual(spans[i - 1]!.endedAt!);
      }
    },
  },
  'tokens stream: specialist.token events before each specialist settles, synthesis.token before synthesis.done': {
    reason: 'no token events: Restate runs stream none; outcomes and the synthesis carry the whole text',
    check: async (runtime) => {
      const run = await runtime.run({ task: uniqueTask('no tokens'), specialists: [{ id: 'one' }, { id: 'two' }], deadlineMs: 20_000 }, { script: {} });
      expect(run.events.filter((event) => event.type.endsWith('.token'))).toEqual([]);
      expect(run.result.outcomes.map((outcome) => outcome.output)).toEqual([defaultReplyText('one', 1), defaultReplyText('two', 1)]);
      expect(run.result.synthesis).toBe(defaultReplyText('synthesizer', 1));
      expect(run.events.map((event) => event.type)).toContain('synthesis.done');
    },
  },
  'specialist.restart runs a specialist again with fresh attempts, counting the discarded call': {
    reason: '`specialist.restart` is ignored: the specialist runs on and its first call decides it',
    check: async (runtime) => {
      const run = await runtime.run(
        { task: uniqueTask('restart ignored'), specialists: [{ id: 'quick' }, { id: 'stuck' }], deadlineMs: 20_000 },
        { script: { quick: { latencyMs: 20 }, stuck: [{ latencyMs: 3_000 }, { latencyMs: 30 }] }, control: { after: ['quick'], command: { type: 'specialist.restart', id: 'stuck' } } },
      );
      expect(run.result.status).toBe('done');
      expect(callsOf(run, 'stuck').map((call) => [call.caller?.attempt, call.result])).toEqual([[1, 'replied']]);
      expect(outcomeOf(run, 'stuck')).toMatchObject({ status: 'fulfilled', output: defaultReplyText('stuck', 1), attempts: 1 });
      expect(run.result.elapsedMs).toBeGreaterThanOrEqual(3_000);
    },
  },
  'task functions and nested sub-leads run beside model specialists': {
    reason: 'a `run` function cannot be sent to a service and nested sub-leads do not run there: startRestateRun refuses the config with a ConfigError naming their paths',
    check: async (runtime) => {
      const task = uniqueTask('task functions refused');
      const refused = runtime.run({ task, specialists: [{ id: 'counted', run: async () => 'forty-two' }, { id: 'team', specialists: [{ id: 'inner1' }] }, { id: 'model' }] }, { script: {} });
      await expect(refused).rejects.toThrow(ConfigError);
      await expect(refused).rejects.toThrow(/specialists\[0\]: a `run` function cannot be sent to a Restate service\n.*specialists\[1\]: nested sub-leads do not run on Restate yet/);
      expect(providersByTask.get(task)?.calls ?? []).toEqual([]);
    },
  },
  'a model lead answers the task itself (no specialists spawned): its text is the synthesis': {
    reason: 'a model lead does not run on Restate yet: startRestateRun refuses the config with a ConfigError naming `lead`',
    check: async (runtime) => {
      const task = uniqueTask('model lead refused');
      const refused = runtime.run({ task, lead: {}, specialists: [{ id: 'explorer' }] }, { script: {} });
      await expect(refused).rejects.toThrow(ConfigError);
      await expect(refused).rejects.toThrow(/- lead: a model lead does not run on Restate yet/);
      expect(providersByTask.get(task)?.calls ?? []).toEqual([]);
    },
  },
  'a cancel during the synthesis aborts the synthesis call at once': {
    reason: 'a cancel during the synthesis takes effect when the synthesis call ends',
    check: async (runtime) => {
      const run = await runtime.run(
        { task: uniqueTask('cancel waits for synthesis'), specialists: [{ id: 'one' }], deadlineMs: 20_000 },
        { script: { synthesizer: { latencyMs: 2_500 } }, control: { after: ['synthesizer'], command: { type: 'run.cancel' } } },
      );
      expect(callsOf(run, 'synthesizer').map((call) => call.result)).toEqual(['replied']);
      expect(run.result.status).toBe('cancelled');
      expect(run.result.endedAt).toBeGreaterThanOrEqual(callsOf(run, 'synthesizer')[0]!.endedAt!);
    },
  },
};

describe('on Restate', () => {
  beforeAll(async () => {
    server = await startRestateServer();
    service = await serveRestate({ provider: routingProvider, chunkSize: CHUNK_SIZE, port: 0 });
    await registerDeployment(server.adminUrl, service.url);
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await server?.stop();
  }, 30_000);

  describeRuntimeContract('Restate', restateRuntime, { differences: restateDifferences, timeoutMs: 40_000 });
});

// ---------------------------------------------------------------------------------------------
// Logic level: the pure core alone (src/core), through a synchronous shell on a manual clock,
// with the contract's scripts. What it decides is what both runtimes must show.

describe('logic level: the core rules through a synchronous shell (manual clock)', () => {
  const statuses = (run: ShellRun) => run.outcomes.map((outcome) => [outcome.id, outcome.status, outcome.attempts]);
  const retries = (run: ShellRun, id: string) => (run.outcomes.find((outcome) => outcome.id === id)?.retries ?? []).map((retry) => [retry.attempt, retry.reason, retry.delayMs, retry.model, retry.at]);

  it('retries a transient error with backoff on the manual clock, falls back to the next model, and does not retry a 400', () => {
    const retry = { maxAttempts: 3, initialDelayMs: 40, factor: 2, jitter: 0 };
    const run = runCoreShell(
      {
        task: 'core retries',
        specialists: [
          { id: 'flaky', policy: { retry } },
          { id: 'fallsBack', policy: { retry: { ...retry, maxAttempts: 2 }, fallbackModels: ['claude-haiku-4-5'] } },
          { id: 'overloaded', policy: { retry, fallbackModels: ['claude-haiku-4-5'] } },
          { id: 'bad', policy: { retry } },
        ],
        deadlineMs: 20_000,
      },
      { flaky: [{ status: 503 }, { status: 503 }, {}], fallsBack: [{ status: 503 }, { status: 503 }, {}], overloaded: [{ status: 529 }, {}], bad: { status: 400, latencyMs: 40 } },
    );
    expect(run.stop).toBeNull();
    expect(statuses(run)).toEqual([
      ['flaky', 'fulfilled', 3],
      ['fallsBack', 'fulfilled', 3],
      ['overloaded', 'fulfilled', 2],
      ['bad', 'rejected', 1],
    ]);
    // 30 ms calls: fail at 30, wait 40, fail at 100, wait 80, reply at 210.
    expect(run.calls.filter((call) => call.id === 'flaky').map((call) => [call.startedAt, call.endedAt])).toEqual([
      [0, 30],
      [70, 100],
      [180, 210],
    ]);
    expect(retries(run, 'flaky')).toEqual([
      [2, 'backoff', 40, 'claude-sonnet-4-6', 30],
      [3, 'backoff', 80, 'claude-sonnet-4-6', 100],
    ]);
    expect(retries(run, 'fallsBack')).toEqual([
      [2, 'backoff', 40, 'claude-sonnet-4-6', 30],
      [3, 'fallback', 0, 'claude-haiku-4-5', 100],
    ]);
    expect(retries(run, 'overloaded')).toEqual([[2, 'fallback', 0, 'claude-haiku-4-5', 30]]);
    expect(run.calls.filter((call) => call.id === 'bad')).toHaveLength(1);
    expect(run.outcomes[3]!.error).toMatchObject({ kind: 'bad_request', status: 400 });
  });

  it('an escalating failure stops the group at once: the running are cut (their call counted, no tokens)', () => {
    const run = runCoreShell(
      { task: 'core escalate', specialists: [{ id: 'quick' }, { id: 'compliance', policy: { onFailure: 'escalate' } }, { id: 'slowA' }, { id: 'slowB' }], deadlineMs: 20_000 },
      { quick: { latencyMs: 20 }, compliance: { status: 400, latencyMs: 80 }, slowA: { latencyMs: 2_500 }, slowB: { latencyMs: 2_500 } },
    );
    expect(run.stop).toEqual({ reason: 'escalated', by: 'compliance', message: 'specialist "compliance" failed and its policy escalates: scripted 400 for compliance' });
    expect(statuses(run)).toEqual([
      ['quick', 'fulfilled', 1],
      ['compliance', 'rejected', 1],
      ['slowA', 'skipped', 1],
      ['slowB', 'skipped', 1],
    ]);
    expect(run.outcomes[2]!.usage.outputTokens).toBe(0);
    expect(run.endedAt).toBe(80);
  });

  it('a quorum out of reach stops the group when the failure that loses it settles', () => {
    const run = runCoreShell(
      { task: 'core quorum', specialists: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }], quorum: 3, deadlineMs: 20_000 },
      { a: { latencyMs: 20 }, b: { status: 400, latencyMs: 50 }, c: { latencyMs: 2_500 }, d: { status: 400, latencyMs: 120 } },
    );
    expect(run.stop).toEqual({ reason: 'quorumUnreachable', message: 'quorum of 3 can no longer be met (2 of 4 specialists failed)' });
    expect(statuses(run)).toEqual([
      ['a', 'fulfilled', 1],
      ['b', 'rejected', 1],
      ['c', 'skipped', 1],
      ['d', 'rejected', 1],
    ]);
    expect(run.endedAt).toBe(120);
  });

  it('the deadline cuts the running (timedOut, their call counted) and the queued (never started, no model, waiting for a slot)', () => {
    const run = runCoreShell(
      { task: 'core deadline', specialists: [{ id: 'first' }, { id: 'second' }, { id: 'third' }], maxConcurrency: 1, deadlineMs: 1_200 },
      { first: { latencyMs: 700 }, second: { latencyMs: 2_000 }, third: { latencyMs: 2_000 } },
    );
    expect(run.stop?.reason).toBe('deadline');
    expect(statuses(run)).toEqual([
      ['first', 'fulfilled', 1],
      ['second', 'timedOut', 1],
      ['third', 'timedOut', 0],
    ]);
    expect(run.outcomes[1]!.error).toEqual({ kind: 'deadline', message: "the run's 1200 ms deadline passed before it finished" });
    expect(run.outcomes[2]).toMatchObject({
      startedAt: null,
      model: null,
      error: { kind: 'deadline', message: "the run's 1200 ms deadline passed before it finished (it was still waiting for a concurrency slot)" },
    });
    expect(run.calls.map((call) => call.id)).toEqual(['first', 'second']);
    expect(run.endedAt).toBe(1_200);
  });

  it('a backoff that would outlast the deadline ends the specialist at the deadline, counting only the calls made', () => {
    const run = runCoreShell(
      { task: 'core backoff', specialists: [{ id: 'fine' }, { id: 'waiting', policy: { retry: { maxAttempts: 3, initialDelayMs: 5_000, jitter: 0 } } }], deadlineMs: 1_000 },
      { waiting: [{ status: 500, latencyMs: 40 }, {}] },
    );
    expect(statuses(run)).toEqual([
      ['fine', 'fulfilled', 1],
      ['waiting', 'timedOut', 1],
    ]);
    expect(run.outcomes[1]!.error).toEqual({ kind: 'deadline', message: "the run's 1000 ms deadline passed before it finished" });
    expect(run.calls.filter((call) => call.id === 'waiting')).toHaveLength(1);
    expect(run.endedAt).toBe(1_000);
  });

  it('the wording of what the deadline cut depends on the shell, not the core: a shell whose calls and waits end themselves at the deadline before its stop words them as Restate does', () => {
    const queued = runCoreShell(
      { task: 'core deadline last', specialists: [{ id: 'first' }, { id: 'second' }, { id: 'third' }], maxConcurrency: 1, deadlineMs: 1_200 },
      { first: { latencyMs: 700 }, second: { latencyMs: 2_000 }, third: { latencyMs: 2_000 } },
      { deadlineLast: true },
    );
    expect(statuses(queued)).toEqual([
      ['first', 'fulfilled', 1],
      ['second', 'timedOut', 1],
      ['third', 'timedOut', 0],
    ]);
    expect(queued.outcomes[1]!.error).toEqual({ kind: 'deadline', message: "the run's deadline passed before it finished" });
    // The second's own end at the deadline opened a slot, so the core started the third; no call
    // is made past the deadline, and the stop cuts it as started: no slot note, its model named.
    expect(queued.outcomes[2]).toMatchObject({ startedAt: null, model: 'claude-sonnet-4-6', error: { kind: 'deadline', message: "the run's 1200 ms deadline passed before it finished" } });
    expect(queued.calls.map((call) => call.id)).toEqual(['first', 'second']);
    const backingOff = runCoreShell(
      { task: 'core backoff last', specialists: [{ id: 'fine' }, { id: 'waiting', policy: { retry: { maxAttempts: 3, initialDelayMs: 5_000, jitter: 0 } } }], deadlineMs: 1_000 },
      { waiting: [{ status: 500, latencyMs: 40 }, {}] },
      { deadlineLast: true },
    );
    expect(backingOff.outcomes[1]).toMatchObject({ status: 'timedOut', attempts: 1, error: { kind: 'deadline', message: "the run's deadline passed while it waited to retry" } });
  });

  it('maxConcurrency: never more calls in flight than slots, every specialist runs, in waves', () => {
    const ids = ['s1', 's2', 's3', 's4', 's5'];
    const run = runCoreShell({ task: 'core concurrency', specialists: ids.map((id) => ({ id })), maxConcurrency: 2, deadlineMs: 20_000 }, Object.fromEntries(ids.map((id) => [id, { latencyMs: 80 }])));
    expect(run.maxInFlight).toBe(2);
    expect(run.calls.map((call) => [call.id, call.startedAt])).toEqual([
      ['s1', 0],
      ['s2', 0],
      ['s3', 80],
      ['s4', 80],
      ['s5', 160],
    ]);
    expect(run.outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    expect(run.endedAt).toBe(240);
  });

  it('a cancel cuts the running as skipped and keeps what finished', () => {
    const run = runCoreShell(
      { task: 'core cancel', specialists: [{ id: 'quick' }, { id: 'slow' }], deadlineMs: 20_000 },
      { quick: { latencyMs: 20 }, slow: { latencyMs: 2_500 } },
      { cancelAt: 100, cancelReason: 'enough' },
    );
    expect(run.stop).toEqual({ reason: 'cancelled', message: 'the run was cancelled: enough' });
    expect(statuses(run)).toEqual([
      ['quick', 'fulfilled', 1],
      ['slow', 'skipped', 1],
    ]);
    expect(run.outcomes[1]!.error).toEqual({ kind: 'cancelled', message: 'the run was cancelled: enough' });
    expect(run.calls.find((call) => call.id === 'slow')!.endedAt).toBe(100);
  });
});

describe('the runtime contract harness', () => {
  it('refuses a difference for a case the contract does not have, before registering anything', () => {
    const differences = { 'a case that does not exist': { reason: 'typo', check: () => {} } } as never;
    expect(() => describeRuntimeContract('misnamed', () => inProcessRuntime(), { differences })).toThrow('misnamed: differences name cases the contract does not have: "a case that does not exist"');
  });
});
