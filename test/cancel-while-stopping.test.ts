/**
 * A cancel that arrives while the lead is stopping stragglers for the deadline (the fan-out has
 * not reported back yet) still cancels the run: no synthesis, finished work kept.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { createRunActors, leadMachine, normalizeConfig, type FanOutOutput, type SpecialistOutcome } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { emptyUsage } from '../src/usage.ts';
import { flushMicrotasks, researchSpecialists } from './support.ts';

const outcome = (id: string, status: SpecialistOutcome['status']): SpecialistOutcome => ({
  id,
  angle: id,
  status,
  output: status === 'fulfilled' ? 'found' : null,
  error: status === 'fulfilled' ? null : { kind: 'deadline', message: 'the deadline passed' },
  attempts: 1,
  model: 'm',
  usage: emptyUsage(),
  startedAt: 0,
  endedAt: 10,
});

describe('cancel while stopping for the deadline', () => {
  it('ends cancelled without a synthesis, keeping what finished', async () => {
    let report!: (output: FanOutOutput) => void;
    // A fan-out that takes its time to stop stragglers: it reports only when the test says so.
    const slowFanOut = fromPromise<FanOutOutput>(() => new Promise((resolve) => (report = resolve)));
    const provider = createScriptedProvider();
    const actors = { ...createRunActors({ provider }), fanOut: slowFanOut };
    const { input } = normalizeConfig({ task: 't', specialists: researchSpecialists, deadlineMs: 60_000 });
    const actor = createActor(leadMachine.provide({ actors: actors as never }), { input });
    actor.start();
    await flushMicrotasks();

    actor.send({ type: 'run.deadline' });
    expect(actor.getSnapshot().value).toEqual({ fanningOut: 'stopping' });
    actor.send({ type: 'run.cancel', reason: 'Ctrl-C' });
    report({ outcomes: [outcome('historical', 'fulfilled'), outcome('technical', 'timedOut'), outcome('societal', 'timedOut')], stop: { reason: 'deadline', message: 'the deadline passed' } });
    await flushMicrotasks();

    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toBe('cancelled');
    expect(snapshot.output).toMatchObject({ status: 'cancelled', synthesis: null, synthesizer: null, error: { kind: 'cancelled', message: 'the run was cancelled: Ctrl-C' } });
    expect(snapshot.output!.outcomes.map((entry) => entry.status)).toEqual(['fulfilled', 'timedOut', 'timedOut']);
    expect(provider.calls).toHaveLength(0);
  });
});
