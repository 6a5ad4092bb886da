/**
 * The runtime contract: one suite of behaviours every fanfold runtime must have (the in-process
 * `runFanOut`, the Restate runtime), registered with Vitest for each of them (see
 * `test/runtime.contract.test.ts`). A runtime that knowingly behaves otherwise in one case lists
 * it in `differences` with the reason and a check of what it does instead: that check runs as
 * its own test, named `differs: <case> — <reason>`, so a difference is visible and still tested,
 * never skipped. A reason that starts with `bug:` marks a difference nobody documented.
 *
 * Every case runs on real time with short latencies (20–2,500 ms) and scripts the model per
 * caller, so one script means the same on every runtime: the provider lives in the test process
 * either way, and its call log (who was called, on which model, when, and how the call ended)
 * is the runtime-independent witness the cases check against.
 */
import { describe, expect, it } from 'vitest';
import type { FanOutConfig } from '../../src/config.ts';
import { ConfigError, type ErrorKind } from '../../src/errors.ts';
import type { RunEvent, SpecialistsProgressEvent } from '../../src/events.ts';
import type { SpecialistOutcome } from '../../src/outcome.ts';
import { createScriptedProvider, type ScriptedCall, type ScriptedProvider, type ScriptedReply } from '../../src/providers/scripted.ts';
import { textOf } from '../../src/providers/provider.ts';
import type { RunResult } from '../../src/result.ts';

// ---------------------------------------------------------------------------------------------
// Scripts: what the model does, per caller.

/** What one call of a caller does. */
export interface CallScript {
  /** The reply's text. Default `<caller> finding #<call>` (`synthesis #<call>` for the synthesizer). */
  text?: string;
  /** Time from the call to its reply or failure. Default {@link DEFAULT_LATENCY_MS}. */
  latencyMs?: number;
  /** Fail with this HTTP status (after the latency) instead of replying. */
  status?: 400 | 429 | 500 | 503 | 529;
  /** With `status`: the server's `retry-after`, in ms. */
  retryAfterMs?: number;
  /** Never answer: only an abort ends the call. */
  hang?: boolean;
}

/**
 * Calls by caller id (`synthesizer` included): one script for every call, or a list indexed by
 * the caller's n-th call (the last entry repeats). Callers not listed reply after the default latency.
 */
export type RunScript = Record<string, CallScript | CallScript[]>;

/** Latency of calls a script does not time. */
export const DEFAULT_LATENCY_MS = 30;

/** Tokens every reply reports, so totals can be counted from the call log. */
export const REPLY_USAGE = { inputTokens: 10, outputTokens: 5, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };

const KIND_OF_STATUS: Record<NonNullable<CallScript['status']>, ErrorKind> = { 400: 'bad_request', 429: 'rate_limited', 500: 'server', 503: 'server', 529: 'overloaded' };

/** The text a call replies with, by default. */
export function defaultReplyText(caller: string, call: number): string {
  return caller === 'synthesizer' ? `synthesis #${call}` : `${caller} finding #${call}`;
}

/**
 * The scripted provider a script describes: both runtimes' adapters build their provider here,
 * so a script means the same on each.
 */
export function scriptedProviderFor(script: RunScript): ScriptedProvider {
  const callsBy = new Map<string, number>();
  return createScriptedProvider({
    latencyMs: DEFAULT_LATENCY_MS,
    reply: (_request, call): ScriptedReply => {
      const caller = call.caller?.id ?? 'unknown';
      const n = (callsBy.get(caller) ?? 0) + 1;
      callsBy.set(caller, n);
      const entry = script[caller];
      const step: CallScript = (Array.isArray(entry) ? entry[Math.min(n, entry.length) - 1] : entry) ?? {};
      const latencyMs = step.latencyMs ?? DEFAULT_LATENCY_MS;
      if (step.hang) return { hang: true };
      if (step.status !== undefined) {
        const error = { kind: KIND_OF_STATUS[step.status], message: `scripted ${step.status} for ${caller}`, status: step.status };
        return { latencyMs, error: step.retryAfterMs === undefined ? error : { ...error, retryAfterMs: step.retryAfterMs } };
      }
      return { latencyMs, text: step.text ?? defaultReplyText(caller, n), usage: REPLY_USAGE };
    },
  });
}

/** A task no other case uses: the Restate adapter routes a run's calls to its script by it. */
let taskSeq = 0;
export function uniqueTask(name: string): string {
  return `${name} [contract task ${++taskSeq}]`;
}

// ---------------------------------------------------------------------------------------------
// The port: what a runtime must offer the contract.

/** A command the caller sends to a running run. */
export type RunCommand = { type: 'run.cancel'; reason?: string } | { type: 'run.deadline' } | { type: 'specialist.restart'; id: string };

/** Options of one contract run. */
export interface RuntimeRunOptions {
  script: RunScript;
  /**
   * Once every specialist in `after` has settled, as the runtime itself reports it, send
   * `command`; `synthesizer` in `after` waits for the synthesis to have started.
   */
  control?: { after: string[]; command: RunCommand };
}

/** What a contract run gives back. */
export interface RuntimeRun {
  result: RunResult;
  /** Every event the runtime reported for the run, in order. */
  events: RunEvent[];
  /** This run's calls, from the provider's log (read after the result; a call may still be pending). */
  calls: ScriptedCall[];
  /** The most calls of this run in flight at once. */
  maxInFlight: number;
}

/** A runtime under contract. */
export interface Runtime {
  /** Runs `config` with the model scripted by `options.script`, to its end. */
  run(config: FanOutConfig, options: RuntimeRunOptions): Promise<RuntimeRun>;
}

/** What a runtime does instead of a contract case, and why. */
export interface RuntimeDifference {
  reason: string;
  /** Asserts the other behaviour. */
  check: (runtime: Runtime) => void | Promise<void>;
}

/** Options of {@link describeRuntimeContract}. */
export interface RuntimeContractOptions {
  /** Cases this runtime knowingly does otherwise, by title (see {@link RUNTIME_CASES}). */
  differences?: Partial<Record<RuntimeCase, RuntimeDifference>>;
  /** Per-test timeout in ms. Default `30_000`. */
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Helpers the cases (and differences' checks) share.

/** The calls of one caller, in order. */
export function callsOf(run: RuntimeRun, caller: string): ScriptedCall[] {
  return run.calls.filter((call) => call.caller?.id === caller);
}

/** An outcome by id. */
export function outcomeOf(run: RuntimeRun, id: string): SpecialistOutcome {
  const outcome = run.result.outcomes.find((candidate) => candidate.id === id);
  if (!outcome) throw new Error(`no outcome for "${id}"`);
  return outcome;
}

/** The text of the synthesizer's (last) request. */
export function synthesisPrompt(run: RuntimeRun): string {
  const call = callsOf(run, 'synthesizer').at(-1);
  if (!call) throw new Error('the synthesizer was never called');
  return call.request.messages.map((message) => textOf(message.content)).join('\n');
}

/** Indexes of events matching `match`. */
function indexesOf(events: RunEvent[], match: (event: RunEvent) => boolean): number[] {
  return events.flatMap((event, index) => (match(event) ? [index] : []));
}

const SETTLE_TYPES = new Set(['specialist.done', 'specialist.failed', 'specialist.timedOut', 'specialist.skipped']);

/** `[attempt, reason, delayMs, model]` of a specialist's `retrying` events. */
export function retriesOf(run: RuntimeRun, id: string): Array<[number, string, number, string | null]> {
  return run.events.flatMap((event) =>
    event.type === 'specialist.retrying' && event.id === id ? [[event.attempt, event.reason, event.delayMs, event.model] as [number, string, number, string | null]] : [],
  );
}

/**
 * Checks the ordering every run's events keep, whatever happened in it. A run that reports
 * starts as counts (`specialists.progress`, a lightly hosted run) has no per-specialist
 * `started` events; its counts must add up instead: never more settled than there are, never
 * fewer than before, and the last report with every outcome in.
 */
export function expectWellOrderedEvents(run: RuntimeRun): void {
  const { events, result } = run;
  const summaries = events.filter((event): event is SpecialistsProgressEvent => event.type === 'specialists.progress');
  for (const outcome of result.outcomes) {
    const started = indexesOf(events, (event) => event.type === 'specialist.started' && event.id === outcome.id);
    const settled = indexesOf(events, (event) => SETTLE_TYPES.has(event.type) && (event as { id: string }).id === outcome.id);
    expect(settled, `settle events of ${outcome.id}`).toHaveLength(1);
    const settleEvent = events[settled[0]!] as { type: string; outcome: SpecialistOutcome };
    expect(settleEvent.outcome, `settle event of ${outcome.id}`).toEqual(outcome);
    if (summaries.length > 0) {
      expect(started, `started events of ${outcome.id} (a run that reports counts)`).toHaveLength(0);
    } else if (outcome.startedAt !== null) {
      // A specialist that never started (cut before its slot opened) has no `started` event.
      expect(started, `started events of ${outcome.id}`).toHaveLength(1);
      expect(started[0]!).toBeLessThan(settled[0]!);
    }
  }
  let settledSoFar = 0;
  for (const summary of summaries) {
    const total = result.outcomes.length;
    expect(summary.total).toBe(total);
    expect(summary.queued + summary.running + summary.fulfilled + summary.unsuccessful).toBe(total);
    expect(summary.fulfilled + summary.unsuccessful).toBeGreaterThanOrEqual(settledSoFar);
    settledSoFar = summary.fulfilled + summary.unsuccessful;
  }
  if (summaries.length > 0) {
    expect(summaries.at(-1), 'the last count').toMatchObject({
      queued: 0,
      running: 0,
      fulfilled: result.outcomes.filter((outcome) => outcome.status === 'fulfilled').length,
      unsuccessful: result.outcomes.filter((outcome) => outcome.status !== 'fulfilled').length,
    });
  }
  const finished = indexesOf(events, (event) => event.type === 'run.finished');
  expect(finished).toEqual([events.length - 1]);
  expect(events.at(-1)).toEqual({ type: 'run.finished', result });
}

const ANGLES = { historical: 'Historical context', technical: 'Technical details', societal: 'Societal impact' };
const noJitter = { jitter: 0 };

// ---------------------------------------------------------------------------------------------
// The cases. Each is one test; its title is its key.

type Case = (runtime: Runtime) => Promise<void>;

/** Every behaviour the contract checks, by title. */
export const RUNTIME_CASES = {
  'all fulfilled: done, outcomes in config order, the synthesis made from every finding': async (runtime) => {
    const specialists = Object.entries(ANGLES).map(([id, angle]) => ({ id, angle }));
    // They finish in another order than config order.
    const run = await runtime.run(
      { task: uniqueTask('all fulfilled'), specialists, deadlineMs: 20_000 },
      {
        script: { historical: { latencyMs: 150 }, technical: { latencyMs: 20 }, societal: { latencyMs: 80 }, synthesizer: { text: 'the synthesis' } },
      },
    );
    const { result } = run;
    expect(result.status).toBe('done');
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.angle, outcome.status, outcome.output, outcome.attempts])).toEqual(
      specialists.map(({ id, angle }) => [id, angle, 'fulfilled', defaultReplyText(id, 1), 1]),
    );
    expect(result.synthesis).toBe('the synthesis');
    expect(result.synthesizer).toMatchObject({ id: 'synthesizer', status: 'fulfilled', output: 'the synthesis', attempts: 1 });
    expect(result.missing).toEqual([]);
    expect(result.error).toBeNull();
    // The synthesizer was asked once, after every specialist, with every finding in config order.
    const [synthesis] = callsOf(run, 'synthesizer');
    expect(callsOf(run, 'synthesizer')).toHaveLength(1);
    for (const id of Object.keys(ANGLES)) expect(synthesis!.startedAt).toBeGreaterThanOrEqual(callsOf(run, id)[0]!.endedAt!);
    const prompt = synthesisPrompt(run);
    const at = Object.keys(ANGLES).map((id) => prompt.indexOf(defaultReplyText(id, 1)));
    expect(at.every((index) => index >= 0)).toBe(true);
    expect(at).toEqual([...at].sort((a, b) => a - b));
  },

  'a non-transient error (400) is not retried: rejected after one attempt, and the run goes on': async (runtime) => {
    const retry = { maxAttempts: 3, initialDelayMs: 20, ...noJitter };
    const run = await runtime.run(
      { task: uniqueTask('permanent error'), specialists: [{ id: 'fine' }, { id: 'bad', policy: { retry } }], deadlineMs: 20_000 },
      { script: { bad: { status: 400, latencyMs: 40 } } },
    );
    expect(outcomeOf(run, 'bad')).toMatchObject({ status: 'rejected', attempts: 1, output: null, error: { kind: 'bad_request', status: 400 } });
    expect(callsOf(run, 'bad').map((call) => call.result)).toEqual(['failed']);
    expect(retriesOf(run, 'bad')).toEqual([]);
    expect(run.result.status).toBe('partial');
    expect(outcomeOf(run, 'fine').status).toBe('fulfilled');
  },

  'a transient error (503, 529) is retried per the policy with backoff, then falls back to the next model': async (runtime) => {
    const retry = { maxAttempts: 3, initialDelayMs: 40, factor: 2, ...noJitter };
    const fallbackModels = ['claude-haiku-4-5'];
    const run = await runtime.run(
      {
        task: uniqueTask('transient errors'),
        model: 'claude-sonnet-4-6',
        specialists: [
          { id: 'flaky', policy: { retry } },
          { id: 'fallsBack', policy: { retry: { ...retry, maxAttempts: 2 }, fallbackModels } },
          // 529 (overloaded) moves to the fallback at once (the default `fallbackOn`).
          { id: 'overloaded', policy: { retry, fallbackModels } },
        ],
        deadlineMs: 20_000,
      },
      {
        script: {
          flaky: [{ status: 503 }, { status: 503 }, {}],
          fallsBack: [{ status: 503 }, { status: 503 }, {}],
          overloaded: [{ status: 529 }, {}],
        },
      },
    );
    const { result } = run;
    expect(result.status).toBe('done');
    expect(outcomeOf(run, 'flaky')).toMatchObject({ status: 'fulfilled', attempts: 3, model: 'claude-sonnet-4-6', output: defaultReplyText('flaky', 3) });
    expect(outcomeOf(run, 'fallsBack')).toMatchObject({ status: 'fulfilled', attempts: 3, model: 'claude-haiku-4-5' });
    expect(outcomeOf(run, 'overloaded')).toMatchObject({ status: 'fulfilled', attempts: 2, model: 'claude-haiku-4-5' });
    const models = (id: string) => callsOf(run, id).map((call) => [call.request.model, call.caller?.attempt, call.result]);
    expect(models('flaky')).toEqual([
      ['claude-sonnet-4-6', 1, 'failed'],
      ['claude-sonnet-4-6', 2, 'failed'],
      ['claude-sonnet-4-6', 3, 'replied'],
    ]);
    expect(models('fallsBack')).toEqual([
      ['claude-sonnet-4-6', 1, 'failed'],
      ['claude-sonnet-4-6', 2, 'failed'],
      ['claude-haiku-4-5', 3, 'replied'],
    ]);
    expect(models('overloaded')).toEqual([
      ['claude-sonnet-4-6', 1, 'failed'],
      ['claude-haiku-4-5', 2, 'replied'],
    ]);
    // Each backoff was waited out before the next call.
    const flaky = callsOf(run, 'flaky');
    expect(flaky[1]!.startedAt - flaky[0]!.endedAt!).toBeGreaterThanOrEqual(40 - 5);
    expect(flaky[2]!.startedAt - flaky[1]!.endedAt!).toBeGreaterThanOrEqual(80 - 5);
    expect(retriesOf(run, 'flaky')).toEqual([
      [2, 'backoff', 40, 'claude-sonnet-4-6'],
      [3, 'backoff', 80, 'claude-sonnet-4-6'],
    ]);
    expect(retriesOf(run, 'fallsBack')).toEqual([
      [2, 'backoff', 40, 'claude-sonnet-4-6'],
      [3, 'fallback', 0, 'claude-haiku-4-5'],
    ]);
    expect(retriesOf(run, 'overloaded')).toEqual([[2, 'fallback', 0, 'claude-haiku-4-5']]);
    for (const event of run.events)
      if (event.type === 'specialist.retrying') expect(event.error).toMatchObject({ kind: event.id === 'overloaded' ? 'overloaded' : 'server', status: event.id === 'overloaded' ? 529 : 503 });
    // Retries are reported after the specialist started and before it settled.
    for (const id of ['flaky', 'fallsBack', 'overloaded']) {
      const started = run.events.findIndex((event) => event.type === 'specialist.started' && event.id === id);
      const settled = run.events.findIndex((event) => event.type === 'specialist.done' && event.id === id);
      for (const index of indexesOf(run.events, (event) => event.type === 'specialist.retrying' && event.id === id)) {
        expect(index).toBeGreaterThan(started);
        expect(index).toBeLessThan(settled);
      }
    }
  },

  "onFailure 'skip': a failed specialist is left out, the run ends partial naming the missing angle": async (runtime) => {
    const specialists = Object.entries(ANGLES).map(([id, angle]) => ({
      id,
      angle,
      ...(id === 'technical' ? { policy: { onFailure: 'skip' as const, retry: { maxAttempts: 2, initialDelayMs: 20, ...noJitter } } } : {}),
    }));
    const run = await runtime.run({ task: uniqueTask('skip'), specialists, deadlineMs: 20_000 }, { script: { technical: { status: 503, latencyMs: 40 }, synthesizer: { text: 'partial synthesis' } } });
    const { result } = run;
    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['historical', 'fulfilled'],
      ['technical', 'rejected'],
      ['societal', 'fulfilled'],
    ]);
    expect(outcomeOf(run, 'technical')).toMatchObject({ attempts: 2, error: { kind: 'server', status: 503 } });
    expect(result.missing).toEqual([{ id: 'technical', angle: 'Technical details', status: 'rejected', reason: expect.any(String) }]);
    expect(result.synthesis).toBe('partial synthesis');
    expect(result.error).toBeNull();
    const prompt = synthesisPrompt(run);
    expect(prompt).toContain(defaultReplyText('historical', 1));
    expect(prompt).toContain(defaultReplyText('societal', 1));
    // The synthesizer is told which angle is missing.
    expect(prompt).toContain('Technical details');
    expectWellOrderedEvents(run);
  },

  "onFailure 'escalate': the run fails at once, the specialists still running are skipped, no synthesis": async (runtime) => {
    // Four specialists, so a runtime that splits a fan-out has the escalation and a straggler in different parts.
    const run = await runtime.run(
      {
        task: uniqueTask('escalate'),
        specialists: [{ id: 'quick' }, { id: 'compliance', policy: { onFailure: 'escalate' } }, { id: 'slowA' }, { id: 'slowB' }],
        deadlineMs: 20_000,
      },
      { script: { quick: { latencyMs: 20 }, compliance: { status: 400, latencyMs: 80 }, slowA: { latencyMs: 4_000 }, slowB: { latencyMs: 4_000 } } },
    );
    const { result } = run;
    expect(result.status).toBe('failed');
    expect(result.synthesis).toBeNull();
    expect(result.synthesizer).toBeNull();
    expect(callsOf(run, 'synthesizer')).toEqual([]);
    expect(result.error).toEqual({ kind: 'unknown', message: 'specialist "compliance" failed and its policy escalates: scripted 400 for compliance' });
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['quick', 'fulfilled'],
      ['compliance', 'rejected'],
      ['slowA', 'skipped'],
      ['slowB', 'skipped'],
    ]);
    for (const id of ['slowA', 'slowB'])
      expect(outcomeOf(run, id)).toMatchObject({ output: null, error: { kind: 'cancelled', message: expect.stringContaining('"compliance" failed and its policy escalates') } });
    // At once: not after the stragglers' 4 s.
    expect(result.elapsedMs).toBeLessThan(3_000);
    expectWellOrderedEvents(run);
  },

  'a quorum out of reach stops the run: failed, the rest skipped, no synthesis': async (runtime) => {
    // Quorum 3 of 4: the second failure loses it. The failures are far apart in config order.
    const run = await runtime.run(
      { task: uniqueTask('quorum'), specialists: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }], quorum: 3, deadlineMs: 20_000 },
      { script: { a: { latencyMs: 20 }, b: { status: 400, latencyMs: 50 }, c: { latencyMs: 4_000 }, d: { status: 400, latencyMs: 120 } } },
    );
    const { result } = run;
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({ kind: 'unknown', message: 'quorum of 3 can no longer be met (2 of 4 specialists failed)' });
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['a', 'fulfilled'],
      ['b', 'rejected'],
      ['c', 'skipped'],
      ['d', 'rejected'],
    ]);
    expect(result.synthesis).toBeNull();
    expect(callsOf(run, 'synthesizer')).toEqual([]);
    expect(result.elapsedMs).toBeLessThan(3_000);
    expectWellOrderedEvents(run);
  },

  'the deadline cuts off stragglers: timedOut, finished outcomes kept, partial with a synthesis': async (runtime) => {
    const deadlineMs = 1_500;
    const run = await runtime.run(
      { task: uniqueTask('deadline'), specialists: [{ id: 'fast' }, { id: 'hung' }, { id: 'late' }], deadlineMs },
      { script: { fast: { latencyMs: 40 }, hung: { hang: true }, late: { latencyMs: 6_000 }, synthesizer: { text: 'late synthesis' } } },
    );
    const { result } = run;
    expect(result.status).toBe('partial');
    expect(outcomeOf(run, 'fast')).toMatchObject({ status: 'fulfilled', output: defaultReplyText('fast', 1) });
    for (const id of ['hung', 'late']) {
      expect(outcomeOf(run, id)).toMatchObject({ status: 'timedOut', output: null, attempts: 1, error: { kind: 'deadline' } });
      // Each straggler's call was cut off at the deadline, not left to run.
      expect(callsOf(run, id).map((call) => call.result)).toEqual(['aborted']);
    }
    expect(result.missing.map((missing) => [missing.id, missing.status])).toEqual([
      ['hung', 'timedOut'],
      ['late', 'timedOut'],
    ]);
    expect(result.synthesis).toBe('late synthesis');
    expect(synthesisPrompt(run)).toContain(defaultReplyText('fast', 1));
    expect(result.elapsedMs).toBeGreaterThanOrEqual(deadlineMs);
    expect(result.elapsedMs).toBeLessThan(deadlineMs + 1_500);
    expectWellOrderedEvents(run);
  },

  'run.deadline sent by the caller ends the wait at once: stragglers timedOut, partial with a synthesis': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('deadline now'), specialists: [{ id: 'quick' }, { id: 'slow' }], deadlineMs: 20_000 },
      { script: { quick: { latencyMs: 20 }, slow: { latencyMs: 4_000 } }, control: { after: ['quick'], command: { type: 'run.deadline' } } },
    );
    const { result } = run;
    expect(result.status).toBe('partial');
    expect(outcomeOf(run, 'quick').status).toBe('fulfilled');
    expect(outcomeOf(run, 'slow')).toMatchObject({ status: 'timedOut', output: null, error: { kind: 'deadline' } });
    expect(result.synthesis).toEqual(expect.any(String));
    expect(result.elapsedMs).toBeLessThan(4_000);
    expectWellOrderedEvents(run);
  },

  'cancel: the run is cancelled, finished outcomes kept, stragglers skipped, no synthesis': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('cancel'), specialists: [{ id: 'quick' }, { id: 'slow' }], deadlineMs: 20_000 },
      { script: { quick: { latencyMs: 20 }, slow: { latencyMs: 4_000 } }, control: { after: ['quick'], command: { type: 'run.cancel', reason: 'enough' } } },
    );
    const { result } = run;
    expect(result.status).toBe('cancelled');
    expect(result.error).toEqual({ kind: 'cancelled', message: 'the run was cancelled: enough' });
    expect(outcomeOf(run, 'quick')).toMatchObject({ status: 'fulfilled', output: defaultReplyText('quick', 1) });
    expect(outcomeOf(run, 'slow')).toMatchObject({ status: 'skipped', output: null, attempts: 1, error: { kind: 'cancelled' } });
    expect(result.synthesis).toBeNull();
    expect(result.synthesizer).toBeNull();
    expect(callsOf(run, 'synthesizer')).toEqual([]);
    expect(result.elapsedMs).toBeLessThan(4_000);
    expectWellOrderedEvents(run);
  },

  'a cancel while a specialist backs off: skipped, counting only the calls it made': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('cancel in backoff'), specialists: [{ id: 'quick' }, { id: 'waiting', policy: { retry: { maxAttempts: 3, initialDelayMs: 5_000, jitter: 0 } } }], deadlineMs: 20_000 },
      { script: { quick: { latencyMs: 200 }, waiting: [{ status: 503, latencyMs: 40 }, {}] }, control: { after: ['quick'], command: { type: 'run.cancel' } } },
    );
    expect(run.result.status).toBe('cancelled');
    expect(outcomeOf(run, 'waiting')).toMatchObject({ status: 'skipped', attempts: 1, error: { kind: 'cancelled' } });
    expect(callsOf(run, 'waiting')).toHaveLength(1);
    expect(run.result.modelCalls).toBe(run.calls.length);
    expect(retriesOf(run, 'waiting')).toEqual([[2, 'backoff', 5_000, 'claude-sonnet-4-6']]);
    expectWellOrderedEvents(run);
  },

  'a cancel aborts the calls of the specialists it cut short': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('cancel aborts'), specialists: [{ id: 'quick' }, { id: 'slow' }], deadlineMs: 20_000 },
      { script: { quick: { latencyMs: 20 }, slow: { latencyMs: 4_000 } }, control: { after: ['quick'], command: { type: 'run.cancel' } } },
    );
    const [call] = callsOf(run, 'slow');
    expect(call).toMatchObject({ result: 'aborted' });
    expect(call!.endedAt! - call!.startedAt).toBeLessThan(4_000);
  },

  "a server's retry-after (429) sets the wait before the next attempt": async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('retry after'), specialists: [{ id: 'limited', policy: { retry: { maxAttempts: 2, initialDelayMs: 10, jitter: 0 } } }], deadlineMs: 20_000 },
      { script: { limited: [{ status: 429, retryAfterMs: 150 }, {}] } },
    );
    expect(outcomeOf(run, 'limited')).toMatchObject({ status: 'fulfilled', attempts: 2 });
    expect(retriesOf(run, 'limited')).toEqual([[2, 'backoff', 150, 'claude-sonnet-4-6']]);
    const [first, second] = callsOf(run, 'limited');
    expect(second!.startedAt - first!.endedAt!).toBeGreaterThanOrEqual(150 - 5);
  },

  'a synthesis that fails fails the run: its error names the synthesis, the findings are kept': async (runtime) => {
    const run = await runtime.run({ task: uniqueTask('synthesis fails'), specialists: [{ id: 'one' }, { id: 'two' }], deadlineMs: 20_000 }, { script: { synthesizer: { status: 400 } } });
    const { result } = run;
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({ kind: 'bad_request', message: 'synthesis failed: scripted 400 for synthesizer' });
    expect(result.synthesis).toBeNull();
    expect(result.synthesizer).toMatchObject({ status: 'rejected', attempts: 1, error: { kind: 'bad_request', status: 400 } });
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(run.events.map((event) => event.type).filter((type) => type.startsWith('synthesis.') && type !== 'synthesis.token')).toEqual(['synthesis.started', 'synthesis.failed']);
    expectWellOrderedEvents(run);
  },

  'a deadline that leaves the quorum unmet fails the run without a synthesis': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('deadline quorum'), specialists: [{ id: 'fast' }, { id: 'slow' }], quorum: 2, deadlineMs: 1_000 },
      { script: { fast: { latencyMs: 30 }, slow: { latencyMs: 5_000 } } },
    );
    const { result } = run;
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/quorum/);
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['fast', 'fulfilled'],
      ['slow', 'timedOut'],
    ]);
    expect(result.synthesis).toBeNull();
    expect(callsOf(run, 'synthesizer')).toEqual([]);
  },

  'maxConcurrency is used in full: six specialists on three slots run three at a time': async (runtime) => {
    const ids = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
    const run = await runtime.run(
      { task: uniqueTask('slots in full'), specialists: ids.map((id) => ({ id })), maxConcurrency: 3, deadlineMs: 20_000 },
      { script: Object.fromEntries(ids.map((id) => [id, { latencyMs: 150 }])) },
    );
    expect(run.result.status).toBe('done');
    expect(run.maxInFlight).toBe(3);
  },

  'maxConcurrency bounds the calls in flight, and every specialist still runs': async (runtime) => {
    const ids = ['s1', 's2', 's3', 's4', 's5'];
    const run = await runtime.run(
      { task: uniqueTask('concurrency'), specialists: ids.map((id) => ({ id })), maxConcurrency: 2, deadlineMs: 20_000 },
      { script: Object.fromEntries(ids.map((id) => [id, { latencyMs: 80 }])) },
    );
    expect(run.result.status).toBe('done');
    expect(run.maxInFlight).toBe(2);
    for (const id of ids) expect(callsOf(run, id)).toHaveLength(1);
    // From the call log too: when any call starts, at most two are running (it included).
    const spans = ids.map((id) => callsOf(run, id)[0]!);
    for (const call of spans) {
      const running = spans.filter((other) => other.startedAt <= call.startedAt && other.endedAt! > call.startedAt);
      expect(running.length).toBeLessThanOrEqual(2);
    }
  },

  'the result has one shape: the keys of the result, its outcomes and its synthesizer': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('shape'), specialists: [{ id: 'one' }, { id: 'two', policy: { retry: { maxAttempts: 1 } } }], deadlineMs: 20_000 },
      { script: { two: { status: 400 } } },
    );
    const keys = (value: object) => Object.keys(value).sort();
    expect(keys(run.result)).toEqual(['elapsedMs', 'endedAt', 'error', 'missing', 'modelCalls', 'outcomes', 'startedAt', 'status', 'synthesis', 'synthesizer', 'task', 'usage']);
    const outcomeKeys = ['angle', 'attempts', 'endedAt', 'error', 'id', 'loopLimit', 'model', 'output', 'startedAt', 'status', 'stopReason', 'toolCalls', 'turns', 'usage'];
    for (const outcome of run.result.outcomes) expect(keys(outcome)).toEqual(outcomeKeys);
    expect(keys(run.result.synthesizer!)).toEqual(outcomeKeys);
    expect(keys(run.result.usage)).toEqual(['cacheCreationInputTokens', 'cacheReadInputTokens', 'inputTokens', 'outputTokens']);
    expect(keys(run.result.missing[0]!)).toEqual(['angle', 'id', 'reason', 'status']);
    expect(run.result.outcomes.map((outcome) => [outcome.turns, outcome.stopReason, outcome.loopLimit, outcome.toolCalls])).toEqual([
      [1, 'end_turn', null, []],
      [0, null, null, []],
    ]);
    expect(run.result.elapsedMs).toBe(run.result.endedAt - run.result.startedAt);
  },

  'events: each specialist starts before it settles, settles once, and run.finished comes last with the result': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('events'), specialists: [{ id: 'ok' }, { id: 'retried', policy: { retry: { maxAttempts: 2, initialDelayMs: 20, ...noJitter } } }, { id: 'broken' }], deadlineMs: 20_000 },
      { script: { retried: [{ status: 503 }, {}], broken: { status: 400 } } },
    );
    expectWellOrderedEvents(run);
    for (const event of run.events) if (event.type === 'specialist.started') expect(event.model).toBe('claude-sonnet-4-6');
    const types = run.events.map((event) => event.type);
    expect(types.filter((type) => SETTLE_TYPES.has(type)).sort()).toEqual(['specialist.done', 'specialist.done', 'specialist.failed']);
    const synthesisStarted = types.indexOf('synthesis.started');
    const synthesisDone = types.indexOf('synthesis.done');
    expect(synthesisStarted).toBeGreaterThan(Math.max(...indexesOf(run.events, (event) => SETTLE_TYPES.has(event.type))));
    expect(synthesisDone).toBeGreaterThan(synthesisStarted);
    expect((run.events[synthesisDone] as { outcome: SpecialistOutcome }).outcome).toEqual(run.result.synthesizer);
    expect(retriesOf(run, 'retried')).toEqual([[2, 'backoff', 20, 'claude-sonnet-4-6']]);
    // Every outcome lies within the run's time.
    for (const outcome of [...run.result.outcomes, run.result.synthesizer!]) {
      expect(outcome.startedAt!).toBeGreaterThanOrEqual(run.result.startedAt);
      expect(outcome.endedAt).toBeGreaterThanOrEqual(outcome.startedAt!);
      expect(outcome.endedAt).toBeLessThanOrEqual(run.result.endedAt);
    }
  },

  'usage and model calls: every call counted once, tokens summed over every reply': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('usage'), specialists: [{ id: 'ok' }, { id: 'retried', policy: { retry: { maxAttempts: 3, initialDelayMs: 20, ...noJitter } } }, { id: 'broken' }], deadlineMs: 20_000 },
      { script: { retried: [{ status: 503 }, { status: 529 }, {}], broken: { status: 400 } } },
    );
    const { result } = run;
    // ok 1 + retried 3 + broken 1 + synthesizer 1.
    expect(run.calls).toHaveLength(6);
    expect(result.modelCalls).toBe(6);
    expect(result.outcomes.map((outcome) => outcome.attempts)).toEqual([1, 3, 1]);
    const replied = run.calls.filter((call) => call.result === 'replied').length;
    expect(replied).toBe(3);
    expect(result.usage).toEqual({ inputTokens: 10 * replied, outputTokens: 5 * replied, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
    expect(outcomeOf(run, 'retried').usage).toEqual(REPLY_USAGE);
    expect(outcomeOf(run, 'broken').usage).toEqual({ inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
    expect(result.synthesizer!.usage).toEqual(REPLY_USAGE);
  },

  'a failed synthesis attempt is retried: synthesis.retrying, and the synthesizer counts both calls': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('synthesis retry'), specialists: [{ id: 'one' }], synthesizer: { policy: { retry: { maxAttempts: 2, initialDelayMs: 30, ...noJitter } } }, deadlineMs: 20_000 },
      { script: { synthesizer: [{ status: 503 }, { text: 'second try' }] } },
    );
    expect(run.result.status).toBe('done');
    expect(run.result.synthesis).toBe('second try');
    expect(run.result.synthesizer).toMatchObject({ status: 'fulfilled', attempts: 2 });
    expect(run.result.modelCalls).toBe(3);
    const retries = run.events.filter((event) => event.type === 'synthesis.retrying');
    expect(retries.map((event) => [event.attempt, event.reason, event.delayMs, event.model, event.error.kind])).toEqual([[2, 'backoff', 30, 'claude-sonnet-4-6', 'server']]);
    const types = run.events.map((event) => event.type);
    expect(types.indexOf('synthesis.retrying')).toBeGreaterThan(types.indexOf('synthesis.started'));
    expect(types.indexOf('synthesis.retrying')).toBeLessThan(types.indexOf('synthesis.done'));
  },

  "a backoff that would outlast the run's deadline ends the specialist at the deadline, counting only the calls made": async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('backoff past deadline'), specialists: [{ id: 'fine' }, { id: 'waiting', policy: { retry: { maxAttempts: 3, initialDelayMs: 5_000, ...noJitter } } }], deadlineMs: 1_000 },
      { script: { waiting: [{ status: 500, latencyMs: 40 }, {}] } },
    );
    expect(run.result.status).toBe('partial');
    expect(outcomeOf(run, 'waiting')).toMatchObject({ status: 'timedOut', attempts: 1, error: { kind: 'deadline', message: "the run's 1000 ms deadline passed before it finished" } });
    expect(callsOf(run, 'waiting')).toHaveLength(1);
    expect(run.result.modelCalls).toBe(run.calls.length);
    expect(run.result.elapsedMs).toBeLessThan(2_500);
  },

  'an attempt past its own timeout (attemptTimeoutMs) is aborted and retried as a timeout': async (runtime) => {
    const run = await runtime.run(
      {
        task: uniqueTask('attempt timeout'),
        specialists: [{ id: 'fine' }, { id: 'slow', policy: { attemptTimeoutMs: 150, retry: { maxAttempts: 2, initialDelayMs: 20, ...noJitter } } }],
        deadlineMs: 20_000,
      },
      { script: { slow: { hang: true } } },
    );
    expect(outcomeOf(run, 'slow')).toMatchObject({ status: 'rejected', attempts: 2, error: { kind: 'timeout' } });
    expect(callsOf(run, 'slow').map((call) => call.result)).toEqual(['aborted', 'aborted']);
    for (const call of callsOf(run, 'slow')) expect(call.endedAt! - call.startedAt).toBeGreaterThanOrEqual(150 - 5);
    expect(retriesOf(run, 'slow')).toEqual([[2, 'backoff', 20, 'claude-sonnet-4-6']]);
    expect(run.result.status).toBe('partial');
  },

  'a deadline with specialists still waiting for a slot: never started, timedOut with no attempts and no started event': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('deadline queue'), specialists: [{ id: 'first' }, { id: 'second' }, { id: 'third' }], maxConcurrency: 1, deadlineMs: 1_200 },
      { script: { first: { latencyMs: 700 }, second: { latencyMs: 2_000 }, third: { latencyMs: 2_000 } } },
    );
    expect(run.result.outcomes.map((outcome) => [outcome.id, outcome.status, outcome.attempts])).toEqual([
      ['first', 'fulfilled', 1],
      ['second', 'timedOut', 1],
      ['third', 'timedOut', 0],
    ]);
    expect(outcomeOf(run, 'third')).toMatchObject({ startedAt: null, error: { kind: 'deadline' } });
    expect(callsOf(run, 'third')).toEqual([]);
    expect(
      run.events
        .filter((event) => event.type === 'specialist.started')
        .map((event) => (event as { id: string }).id)
        .sort(),
    ).toEqual(['first', 'second']);
    expectWellOrderedEvents(run);
  },

  "the deadline's outcomes say why in one wording: the run's deadline with its length, and for one never started 'still waiting for a concurrency slot' and no model": async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('deadline wording'), specialists: [{ id: 'first' }, { id: 'second' }, { id: 'third' }], maxConcurrency: 1, deadlineMs: 1_200 },
      { script: { first: { latencyMs: 700 }, second: { latencyMs: 2_000 }, third: { latencyMs: 2_000 } } },
    );
    expect(outcomeOf(run, 'second').error).toEqual({ kind: 'deadline', message: "the run's 1200 ms deadline passed before it finished" });
    expect(outcomeOf(run, 'third')).toMatchObject({
      model: null,
      error: { kind: 'deadline', message: "the run's 1200 ms deadline passed before it finished (it was still waiting for a concurrency slot)" },
    });
    expect(run.result.missing.map((missing) => missing.reason)).toEqual([expect.stringContaining('1200 ms deadline'), expect.stringContaining('1200 ms deadline')]);
  },

  'a cancel during the synthesis: cancelled, the synthesizer skipped, no synthesis in the result': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('cancel synthesis'), specialists: [{ id: 'one' }], deadlineMs: 20_000 },
      { script: { synthesizer: { latencyMs: 2_500 } }, control: { after: ['synthesizer'], command: { type: 'run.cancel', reason: 'changed my mind' } } },
    );
    const { result } = run;
    expect(result.status).toBe('cancelled');
    expect(result.error).toEqual({ kind: 'cancelled', message: 'the run was cancelled: changed my mind' });
    expect(outcomeOf(run, 'one').status).toBe('fulfilled');
    expect(result.synthesizer).toMatchObject({ status: 'skipped', output: null, attempts: 1, error: { kind: 'cancelled' } });
    expect(result.synthesis).toBeNull();
    expect(run.events.map((event) => event.type).filter((type) => type.startsWith('synthesis.') && type !== 'synthesis.token')).toEqual(['synthesis.started', 'synthesis.failed']);
  },

  'a cancel during the synthesis aborts the synthesis call at once': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('cancel synthesis call'), specialists: [{ id: 'one' }], deadlineMs: 20_000 },
      { script: { synthesizer: { latencyMs: 2_500 } }, control: { after: ['synthesizer'], command: { type: 'run.cancel' } } },
    );
    expect(callsOf(run, 'synthesizer').map((call) => call.result)).toEqual(['aborted']);
    expect(run.result.status).toBe('cancelled');
    expect(run.result.elapsedMs).toBeLessThan(2_500);
  },

  'an invalid config is refused with a ConfigError before any call': async (runtime) => {
    let calls = 0;
    const refused = runtime.run({ task: uniqueTask('invalid'), specialists: [{ id: 'twin' }, { id: 'twin' }], quorum: 5 }, { script: {} }).then((run) => (calls = run.calls.length));
    await expect(refused).rejects.toThrow(ConfigError);
    await expect(refused).rejects.toThrow(/specialists/);
    expect(calls).toBe(0);
  },

  'tokens stream: specialist.token events before each specialist settles, synthesis.token before synthesis.done': async (runtime) => {
    const run = await runtime.run({ task: uniqueTask('tokens'), specialists: [{ id: 'one' }, { id: 'two' }], deadlineMs: 20_000 }, { script: {} });
    for (const id of ['one', 'two']) {
      const tokens = run.events.filter((event) => event.type === 'specialist.token' && event.id === id).map((event) => (event as { text: string }).text);
      expect(tokens.join('')).toBe(defaultReplyText(id, 1));
      const lastToken = Math.max(...indexesOf(run.events, (event) => event.type === 'specialist.token' && event.id === id));
      expect(lastToken).toBeLessThan(run.events.findIndex((event) => event.type === 'specialist.done' && event.id === id));
    }
    const synthesisTokens = run.events.filter((event) => event.type === 'synthesis.token').map((event) => (event as { text: string }).text);
    expect(synthesisTokens.join('')).toBe(run.result.synthesis);
  },

  'specialist.restart runs a specialist again with fresh attempts, counting the discarded call': async (runtime) => {
    const run = await runtime.run(
      { task: uniqueTask('restart'), specialists: [{ id: 'quick' }, { id: 'stuck' }], deadlineMs: 20_000 },
      { script: { quick: { latencyMs: 20 }, stuck: [{ latencyMs: 3_000 }, { latencyMs: 30 }] }, control: { after: ['quick'], command: { type: 'specialist.restart', id: 'stuck' } } },
    );
    expect(run.result.status).toBe('done');
    expect(callsOf(run, 'stuck').map((call) => [call.caller?.attempt, call.result])).toEqual([
      [1, 'aborted'],
      [1, 'replied'],
    ]);
    expect(outcomeOf(run, 'stuck')).toMatchObject({ status: 'fulfilled', output: defaultReplyText('stuck', 2), attempts: 2 });
    expect(run.result.elapsedMs).toBeLessThan(3_000);
  },

  'task functions and nested sub-leads run beside model specialists': async (runtime) => {
    const run = await runtime.run(
      {
        task: uniqueTask('task functions'),
        specialists: [{ id: 'counted', run: async () => 'forty-two' }, { id: 'team', specialists: [{ id: 'inner1' }, { id: 'inner2' }] }, { id: 'model' }],
        deadlineMs: 20_000,
      },
      { script: {} },
    );
    expect(run.result.status).toBe('done');
    expect(run.result.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['counted', 'fulfilled'],
      ['team', 'fulfilled'],
      ['model', 'fulfilled'],
    ]);
    expect(outcomeOf(run, 'counted').output).toBe('forty-two');
    expect(callsOf(run, 'inner1')).toHaveLength(1);
    expect(callsOf(run, 'inner2')).toHaveLength(1);
  },

  'a model lead answers the task itself (no specialists spawned): its text is the synthesis': async (runtime) => {
    const run = await runtime.run({ task: uniqueTask('model lead'), lead: {}, specialists: [{ id: 'explorer' }], deadlineMs: 20_000 }, { script: { lead: { text: 'answered by the lead' } } });
    expect(run.result.synthesis).toBe('answered by the lead');
    expect(callsOf(run, 'lead')).toHaveLength(1);
    expect(callsOf(run, 'explorer')).toEqual([]);
  },
} satisfies Record<string, Case>;

/** A contract case's title. */
export type RuntimeCase = keyof typeof RUNTIME_CASES;

/**
 * Registers the contract's tests for one runtime. `makeRuntime` is called once per test (it may
 * hand back a shared runtime started in the file's `beforeAll`).
 *
 * @example
 * describeRuntimeContract('in-process', () => inProcessRuntime());
 */
export function describeRuntimeContract(name: string, makeRuntime: () => Runtime, options: RuntimeContractOptions = {}): void {
  const differences: Partial<Record<string, RuntimeDifference>> = options.differences ?? {};
  const unknown = Object.keys(differences).filter((title) => !(title in RUNTIME_CASES));
  if (unknown.length > 0) throw new TypeError(`${name}: differences name cases the contract does not have: ${unknown.map((title) => JSON.stringify(title)).join(', ')}`);
  const timeout = options.timeoutMs ?? 30_000;

  describe(`runtime contract: ${name}`, () => {
    for (const [title, run] of Object.entries(RUNTIME_CASES) as Array<[string, Case]>) {
      const difference = differences[title];
      if (difference) it(`differs: ${title} — ${difference.reason}`, () => difference.check(makeRuntime()), timeout);
      else it(title, () => run(makeRuntime()), timeout);
    }
  });
}
