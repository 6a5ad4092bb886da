import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut, type FanOutRun, type RunResult } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { record, researchSpecialists, settle } from './support.ts';

const task = 'nuclear fusion';

/** Captures anything thrown outside the run's promise (unhandled rejections, uncaught exceptions). */
function captureStrayErrors() {
  const errors: unknown[] = [];
  const onError = (error: unknown) => errors.push(error);
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  return {
    errors,
    dispose: () => {
      process.off('unhandledRejection', onError);
      process.off('uncaughtException', onError);
    },
  };
}

/** Advances far past every scripted latency and checks the finished run did not move. */
async function expectNothingChangesAfter(run: FanOutRun, result: RunResult, events: unknown[], callCount: () => number) {
  const snapshot = run.actor.getSnapshot();
  const eventCount = events.length;
  const calls = callCount();
  await vi.advanceTimersByTimeAsync(60_000);
  expect(run.actor.getSnapshot()).toBe(snapshot);
  expect(run.actor.getSnapshot().status).toBe('done');
  expect(run.actor.getSnapshot().output).toEqual(result);
  expect(events).toHaveLength(eventCount);
  expect(callCount()).toBe(calls);
  await expect(run.result).resolves.toBe(result);
}

describe('a specialist that would settle after the deadline', () => {
  let stray: ReturnType<typeof captureStrayErrors>;
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    stray = captureStrayErrors();
    // XState warns when an event is sent to a stopped actor: a late reply must not reach one.
    warn = vi.spyOn(console, 'warn');
  });
  afterEach(() => {
    // Checked for every test: no late settlement talked to a stopped actor.
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    stray.dispose();
    vi.useRealTimers();
  });

  it('a model call that would fail at 5 s does not crash the lead: the run is partial and stays so', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { societal: { latencyMs: 5_000, error: { kind: 'bad_request', message: 'late 400', status: 400 } } },
    });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 1_000 }, { provider });
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('partial');
    expect(run.actor.getSnapshot().status).toBe('done');
    expect(result.outcomes.find((outcome) => outcome.id === 'societal')).toMatchObject({ status: 'timedOut', error: { kind: 'deadline' } });
    expect(events.at(-1)).toMatchObject({ type: 'run.finished' });

    await expectNothingChangesAfter(run, result, events, () => provider.calls.length);
    expect(provider.calls.find((call) => call.caller?.id === 'societal')).toMatchObject({ result: 'aborted', endedAt: 1_000 });
    expect(stray.errors).toEqual([]);
  });

  it('with a quorum the late failure cannot meet, the run fails cleanly at the deadline', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { societal: { latencyMs: 5_000, error: { kind: 'server', message: 'late 500', status: 500 } } },
    });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 1_000, quorum: 3 }, { provider });
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('quorum not met: 2 of 3');
    expect(result.synthesizer).toBeNull();
    expect(provider.calls.some((call) => call.caller?.id === 'synthesizer')).toBe(false);
    expect(run.actor.getSnapshot().status).toBe('done');
    expect(result.outcomes.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => outcome.id)).toEqual(['historical', 'technical']);

    await expectNothingChangesAfter(run, result, events, () => provider.calls.length);
    expect(stray.errors).toEqual([]);
  });

  it('a task function that ignores its abort signal and throws at 5 s does not crash the lead', async () => {
    let threw = false;
    const provider = createScriptedProvider({ latencyMs: 100 });
    const run = runFanOut(
      {
        task,
        deadlineMs: 1_000,
        specialists: [
          ...researchSpecialists.slice(0, 2),
          {
            id: 'healthcheck',
            run: async () => {
              await new Promise((resolve) => setTimeout(resolve, 5_000));
              threw = true;
              throw new Error('upstream unreachable');
            },
          },
        ],
      },
      { provider },
    );
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('partial');
    expect(result.outcomes.find((outcome) => outcome.id === 'healthcheck')).toMatchObject({
      status: 'timedOut',
      output: null,
      error: { kind: 'deadline' },
      endedAt: 1_000,
    });
    expect(run.actor.getSnapshot().status).toBe('done');

    await expectNothingChangesAfter(run, result, events, () => provider.calls.length);
    expect(threw).toBe(true);
    expect(stray.errors).toEqual([]);
  });

  it('a late success is ignored: the outcome stays timedOut and its output never appears', async () => {
    let answered = false;
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { societal: { latencyMs: 5_000, text: 'LATE SOCIETAL FINDING' } } });
    const run = runFanOut(
      {
        task,
        deadlineMs: 1_000,
        specialists: [
          ...researchSpecialists,
          {
            id: 'healthcheck',
            run: async () => {
              await new Promise((resolve) => setTimeout(resolve, 5_000));
              answered = true;
              return 'LATE HEALTHCHECK PONG';
            },
          },
        ],
      },
      { provider },
    );
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('partial');
    expect(result.missing.map((angle) => angle.id)).toEqual(['societal', 'healthcheck']);

    await expectNothingChangesAfter(run, result, events, () => provider.calls.length);
    expect(answered).toBe(true);
    for (const id of ['societal', 'healthcheck']) {
      expect(result.outcomes.find((outcome) => outcome.id === id)).toMatchObject({ status: 'timedOut', output: null });
    }
    const everything = JSON.stringify({ result, events, snapshot: run.actor.getPersistedSnapshot() });
    expect(everything).not.toContain('LATE SOCIETAL FINDING');
    expect(everything).not.toContain('LATE HEALTHCHECK PONG');
    expect(stray.errors).toEqual([]);
  });
});
