/**
 * Shared helpers for the specification tests. Time is driven by Vitest fake timers: every
 * timer fanfold uses (provider latency, backoff, attempt deadlines, the run deadline, batching)
 * goes through the faked globals, so a test advances time instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, expect, vi } from 'vitest';
import type { FanOutRun, RunResult } from '../src/index.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/simulator/index.ts';

/** Advances fake time in steps until the run's result is in, and returns it. */
export async function settle(run: FanOutRun, stepMs = 10, maxMs = 600_000): Promise<RunResult> {
  let result: RunResult | undefined;
  let failure: unknown;
  run.result.then(
    (value) => (result = value),
    (error: unknown) => (failure = error),
  );
  for (let elapsed = 0; elapsed <= maxMs && result === undefined && failure === undefined; elapsed += stepMs) {
    await vi.advanceTimersByTimeAsync(stepMs);
  }
  if (failure !== undefined) throw failure;
  if (result === undefined) throw new Error(`run did not finish within ${maxMs} ms of fake time`);
  return result;
}

/** Collects every event a run emits. */
export function record(run: FanOutRun): Array<{ type: string } & Record<string, unknown>> {
  const events: Array<{ type: string } & Record<string, unknown>> = [];
  run.events$.subscribe((event) => events.push(event as unknown as { type: string } & Record<string, unknown>));
  return events;
}

/** The three classic research angles. */
export const researchSpecialists = [
  { id: 'historical', angle: 'Historical context' },
  { id: 'technical', angle: 'Technical details' },
  { id: 'societal', angle: 'Societal impact' },
];

/** Lets every pending promise callback run. No timers fire and no time passes. */
export async function flushMicrotasks(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** The part of XState's `SimulatedClock` the helpers below drive. */
export interface SteppableClock {
  now(): number;
  increment(ms: number): void;
}

/**
 * Advances a `SimulatedClock` by `ms` in steps of `stepMs`. After each step, promise callbacks
 * run and timers that became due meanwhile (0 ms batching timers, say) fire at the same instant,
 * as they would on a real event loop.
 */
export async function advanceClock(clock: SteppableClock, ms: number, stepMs = 1): Promise<void> {
  const until = clock.now() + ms;
  const drain = async () => {
    for (let round = 0; round < 3; round++) {
      await flushMicrotasks();
      clock.increment(0);
    }
    await flushMicrotasks();
  };
  await drain();
  while (clock.now() < until) {
    clock.increment(Math.min(stepMs, until - clock.now()));
    await drain();
  }
}

/**
 * Runs a `SimulatedClock` until the run settles, for runs that talk to a loopback server (the
 * SDK against the simulator): real I/O goes on between steps, and simulated time moves `stepMs`
 * after each ten rounds of it.
 */
export async function settleOverSdk(run: FanOutRun, clock: SteppableClock, stepMs = 50, maxSteps = 4_000): Promise<RunResult> {
  let settled = false;
  run.result.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let step = 0; step < maxSteps && !settled; step++) {
    for (let round = 0; round < 10 && !settled; round++) {
      clock.increment(0);
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (!settled) clock.increment(stepMs);
  }
  if (!settled) throw new Error(`run did not finish within ${maxSteps * stepMs} ms of simulated time`);
  return run.result;
}

/** Like {@link settle}, for a run driven by a `SimulatedClock`. */
export async function settleWithClock(run: FanOutRun, clock: SteppableClock, stepMs = 1, maxMs = 600_000): Promise<RunResult> {
  let result: RunResult | undefined;
  let failure: unknown;
  run.result.then(
    (value) => (result = value),
    (error: unknown) => (failure = error),
  );
  const until = clock.now() + maxMs;
  while (result === undefined && failure === undefined && clock.now() < until) await advanceClock(clock, stepMs, stepMs);
  if (failure !== undefined) throw failure;
  if (result === undefined) throw new Error(`run did not finish within ${maxMs} ms of simulated time`);
  return result;
}

/** The request a provider call sent, as one prompt string. */
export function promptOf(call: { request: { messages: Array<{ content: string | unknown[] }> } }): string {
  return call.request.messages.map((message) => (typeof message.content === 'string' ? message.content : JSON.stringify(message.content))).join('\n');
}

/** Asserts that a run ended without synthesis: no synthesizer call, outcome or event. */
export function expectNoSynthesis(result: RunResult, provider: { calls: Array<{ caller: { id: string } | null }> }, events: Array<{ type: string }>): void {
  expect(provider.calls.some((call) => call.caller?.id === 'synthesizer')).toBe(false);
  expect(result.synthesizer).toBeNull();
  expect(events.some((event) => event.type.startsWith('synthesis.'))).toBe(false);
}

/**
 * For runs on a `SimulatedClock` that also do real I/O (the SDK against the simulator): lets
 * real I/O progress and fires timers due at the current simulated instant (0 ms batching), until
 * `promise` settles. Simulated time does not move; the test moves it with `clock.increment`.
 */
export async function pumpUntil<T>(clock: SteppableClock, promise: Promise<T>, realBudgetMs = 15_000): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  const giveUpAt = Date.now() + realBudgetMs;
  while (!settled) {
    if (Date.now() > giveUpAt) throw new Error(`still waiting after ${realBudgetMs} ms of real time`);
    clock.increment(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return promise;
}

/** The rejection of a promise that must reject. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** What a child process printed, and how it ended. */
export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` with a clean environment (PATH and HOME, plus `env`: no API key unless
 * given) and collects its output. `onSpawn` gets the child, e.g. to send it a signal.
 */
export function runNode(args: string[], env: Record<string, string> = {}, onSpawn?: (child: ChildProcess) => void): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    onSpawn?.(child);
  });
}

/** Resolves with the first match of `pattern` in the child's stdout. */
export function watchStdout(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) resolve(match);
    });
  });
}

/**
 * Runs a `SimulatedClock` until the run settles, with real network I/O (the SDK ↔ simulator)
 * between steps: simulated time moves only while `idle()` says no call is in flight (but ones
 * that may hang), so real HTTP never races the run's timers.
 */
export async function settleOverLoopback(run: FanOutRun, clock: SteppableClock, idle: () => boolean, stepMs = 100, realBudgetMs = 20_000): Promise<RunResult> {
  let result: RunResult | undefined;
  let failure: unknown;
  run.result.then(
    (value) => (result = value),
    (error: unknown) => (failure = error),
  );
  const giveUpAt = Date.now() + realBudgetMs;
  while (result === undefined && failure === undefined && Date.now() < giveUpAt) {
    clock.increment(0);
    await new Promise((resolve) => setImmediate(resolve));
    if (result === undefined && failure === undefined && idle()) clock.increment(stepMs);
  }
  if (failure !== undefined) throw failure;
  if (result === undefined) throw new Error(`run did not finish within ${realBudgetMs} ms of real time`);
  return result;
}

/**
 * Starts simulators for a test file's tests (instant replies unless `defaults` or the options
 * say otherwise); every one a test started is closed after it.
 */
export function simulatorPerTest(defaults: SimulatorOptions = { latency: { firstTokenMs: 0, tokensPerSecond: Infinity } }): (options?: SimulatorOptions) => Promise<Simulator> {
  const started: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((sim) => sim.close()));
  });
  return async (options = {}) => {
    const sim = await startSimulator({ ...defaults, ...options });
    started.push(sim);
    return sim;
  };
}
