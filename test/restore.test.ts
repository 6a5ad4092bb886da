import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { createRunActors, leadMachine, normalizeConfig, type FanOutConfig } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';

/** Resuming a persisted lead snapshot: the deadline re-arms from the stored timestamp; queued work runs once. */
describe('restoring a persisted lead snapshot', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  /** Persists `actor` mid-run, stops it, and resumes a fresh actor from the JSON. */
  function persistAndResume(config: FanOutConfig, provider: ReturnType<typeof createScriptedProvider>) {
    const machine = leadMachine.provide({ actors: createRunActors({ provider }) });
    const { input } = normalizeConfig(config);
    const first = createActor(machine, { input });
    first.start();
    return {
      first,
      resume: () => {
        const persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
        first.stop();
        // `input` is ignored when a snapshot is given (XState's types still ask for it).
        const resumed = createActor(machine, { snapshot: persisted, input });
        resumed.start();
        return resumed;
      },
    };
  }

  it('the run deadline still fires at deadlineAt after a resume (a hanging straggler is cut off)', async () => {
    // societal hangs; its attempt timer (120 s) is not armed because the run deadline (1 s) is sooner.
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { societal: { hang: true } } });
    const { resume } = persistAndResume({ task: 't', specialists: [{ id: 'historical' }, { id: 'technical' }, { id: 'societal' }], deadlineMs: 1_000 }, provider);
    await vi.advanceTimersByTimeAsync(500);
    const resumed = resume();
    expect(resumed.getSnapshot().context.deadlineAt).toBe(1_000);

    await vi.advanceTimersByTimeAsync(1_000); // now t = 1,500: past deadlineAt, plus synthesis latency
    expect(resumed.getSnapshot().status).toBe('done');
    expect(resumed.getSnapshot().output).toMatchObject({ status: 'partial' });
    expect(resumed.getSnapshot().output!.outcomes[2]).toMatchObject({ id: 'societal', status: 'timedOut' });
  });

  it('a specialist requeued by a restart (waiting for a slot) runs once after a resume, and the slot is not leaked', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { b: { latencyMs: 400 } } });
    const { first, resume } = persistAndResume({ task: 't', specialists: [{ id: 'a' }, { id: 'b' }], deadlineMs: 60_000, maxConcurrency: 1 }, provider);
    await vi.advanceTimersByTimeAsync(150); // a settled at 100; b running 100–500
    first.send({ type: 'specialist.restart', id: 'a' }); // a requeued: the only slot is b's
    const resumed = resume();

    await vi.advanceTimersByTimeAsync(5_000);
    const snapshot = resumed.getSnapshot();
    expect(snapshot.status).toBe('done');
    expect(snapshot.output).toMatchObject({ status: 'done' });
    // After the resume: a once and b once (in flight at the persist, so restarted), then the synthesizer.
    const afterResume = provider.calls.filter((call) => call.startedAt >= 150).map((call) => call.caller?.id);
    expect(afterResume).toEqual(['a', 'b', 'synthesizer']);
  });
});
