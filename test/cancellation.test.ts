import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut, type FanOutRun } from '../src/index.ts';
import { createScriptedProvider, type ScriptedProvider } from '../src/testing.ts';
import { record, researchSpecialists, settle } from './support.ts';

const task = 'nuclear fusion';

/** historical answers at 100 ms; technical and societal are still streaming at 150 ms. */
const staggered = () =>
  createScriptedProvider({
    byCaller: { historical: { latencyMs: 100, text: 'The first tokamak ran in 1958.' }, technical: { latencyMs: 500, chunks: 5 }, societal: { latencyMs: 1_000 } },
  });

/** After a run: no timer is left armed, and letting time run makes no new calls. */
async function expectNoZombieWork(run: FanOutRun, provider: ScriptedProvider) {
  expect(vi.getTimerCount()).toBe(0);
  const calls = provider.calls.length;
  const snapshot = run.actor.getSnapshot();
  await vi.advanceTimersByTimeAsync(300_000);
  expect(provider.calls).toHaveLength(calls);
  expect(provider.inFlight).toBe(0);
  expect(run.actor.getSnapshot()).toBe(snapshot);
}

describe('cancellation', () => {
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    warn = vi.spyOn(console, 'warn');
  });
  afterEach(() => {
    // An aborted call must not report back to its stopped actor (XState warns when that happens).
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    vi.useRealTimers();
  });

  it('run.cancel(reason) aborts every in-flight call and keeps what finished', async () => {
    const provider = staggered();
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider });
    const events = record(run);

    await vi.advanceTimersByTimeAsync(150);
    expect(provider.inFlight).toBe(2);
    run.cancel('user pressed stop');
    const result = await settle(run);

    const inFlightAtCancel = provider.calls.filter((call) => call.caller?.id === 'technical' || call.caller?.id === 'societal');
    expect(inFlightAtCancel).toHaveLength(2);
    for (const call of inFlightAtCancel) expect(call).toMatchObject({ result: 'aborted', endedAt: 150 });

    expect(result.status).toBe('cancelled');
    expect(result.error).toMatchObject({ kind: 'cancelled' });
    expect(result.error!.message).toContain('user pressed stop');
    expect(result.synthesis).toBeNull();
    expect(result.synthesizer).toBeNull();
    expect(provider.calls.some((call) => call.caller?.id === 'synthesizer')).toBe(false);

    const [historical, technical, societal] = result.outcomes;
    expect(historical).toMatchObject({ id: 'historical', status: 'fulfilled', endedAt: 100, output: 'The first tokamak ran in 1958.' });
    for (const stopped of [technical, societal]) {
      expect(stopped).toMatchObject({ status: 'skipped', output: null, attempts: 1, startedAt: 0, endedAt: 150, error: { kind: 'cancelled' } });
      expect(stopped!.error!.message).toContain('user pressed stop');
    }
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', result: { status: 'cancelled' } });
    expect(run.actor.getSnapshot().value).toBe('cancelled');

    await expectNoZombieWork(run, provider);
  });

  it('aborting the AbortSignal passed as `signal` cancels the run the same way', async () => {
    const provider = staggered();
    const controller = new AbortController();
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider, signal: controller.signal });

    await vi.advanceTimersByTimeAsync(150);
    controller.abort('user pressed stop');
    const result = await settle(run);

    expect(result.status).toBe('cancelled');
    expect(result.error!.message).toContain('user pressed stop');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'skipped', 'skipped']);
    expect(provider.calls.filter((call) => call.result === 'aborted').map((call) => call.caller?.id)).toEqual(['technical', 'societal']);
    await expectNoZombieWork(run, provider);
  });

  it('an Error given as the abort reason supplies the message', async () => {
    const provider = staggered();
    const controller = new AbortController();
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider, signal: controller.signal });

    await vi.advanceTimersByTimeAsync(150);
    controller.abort(new Error('server shutting down'));
    const result = await settle(run);

    expect(result.status).toBe('cancelled');
    expect(result.error!.message).toContain('server shutting down');
    await expectNoZombieWork(run, provider);
  });

  it('an already aborted signal cancels the run before any call can finish', async () => {
    const provider = staggered();
    const controller = new AbortController();
    controller.abort('too late');
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider, signal: controller.signal });
    const result = await settle(run);

    expect(result.status).toBe('cancelled');
    expect(result.error!.message).toContain('too late');
    expect(result.outcomes.every((outcome) => outcome.status === 'skipped')).toBe(true);
    expect(provider.calls.every((call) => call.result === 'aborted' && call.endedAt === 0)).toBe(true);
    await expectNoZombieWork(run, provider);
  });

  it('cancelling during synthesis aborts the synthesizer call and keeps every finding', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { synthesizer: { latencyMs: 2_000, chunks: 4 } } });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider });
    const events = record(run);

    await vi.advanceTimersByTimeAsync(700);
    expect(run.actor.getSnapshot().value).toBe('synthesizing');
    expect(events.some((event) => event.type === 'synthesis.token')).toBe(true);
    run.cancel('user pressed stop');
    const result = await settle(run);

    const synthesisCalls = provider.calls.filter((call) => call.caller?.id === 'synthesizer');
    expect(synthesisCalls).toHaveLength(1);
    expect(synthesisCalls[0]).toMatchObject({ result: 'aborted', startedAt: 100, endedAt: 700 });

    expect(result.status).toBe('cancelled');
    expect(result.error).toMatchObject({ kind: 'cancelled' });
    expect(result.error!.message).toContain('user pressed stop');
    expect(result.synthesis).toBeNull();
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(events.some((event) => event.type === 'synthesis.done')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', result: { status: 'cancelled' } });
    await expectNoZombieWork(run, provider);
  });

  it('cancelling during synthesis still reports the synthesizer: it started, made one call and was cut off', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { synthesizer: { latencyMs: 2_000 } } });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider });

    await vi.advanceTimersByTimeAsync(700);
    run.cancel('user pressed stop');
    const result = await settle(run);

    // RunResult.synthesizer is `null` only "if synthesis never started"; here it started at t = 100.
    expect(result.synthesizer).toMatchObject({
      id: 'synthesizer',
      status: 'skipped',
      output: null,
      attempts: 1,
      startedAt: 100,
      endedAt: 700,
      error: { kind: 'cancelled' },
    });
    // Model calls made: three specialists and the synthesizer's aborted attempt.
    expect(provider.calls).toHaveLength(4);
    expect(result.modelCalls).toBe(4);
    expect(result.endedAt).toBe(700);
  });
});
