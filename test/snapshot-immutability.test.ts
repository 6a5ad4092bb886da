import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { createRunActors, leadMachine, normalizeConfig } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { researchSpecialists } from './support.ts';

/** Lead snapshots are immutable: later outcomes never change an earlier (or persisted) snapshot. */
describe('lead snapshots are immutable', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('an earlier snapshot and persisted snapshot do not change when later outcomes arrive', async () => {
    const provider = createScriptedProvider({ byCaller: { historical: { latencyMs: 100 }, technical: { latencyMs: 300 }, societal: { latencyMs: 300 } } });
    const actor = createActor(leadMachine.provide({ actors: createRunActors({ provider }) }), {
      input: normalizeConfig({ task: 't', specialists: researchSpecialists, deadlineMs: 60_000 }).input,
    });
    actor.start();
    await vi.advanceTimersByTimeAsync(50);
    const before = actor.getSnapshot();
    const persisted = actor.getPersistedSnapshot() as unknown as { context: { outcomes: unknown[]; settled: number } };
    expect(before.context.outcomes).toEqual([null, null, null]);

    await vi.advanceTimersByTimeAsync(100); // historical settles
    const after = actor.getSnapshot();
    expect(after.context.outcomes[0]).toMatchObject({ id: 'historical' });

    expect(before.context.outcomes).toEqual([null, null, null]);
    expect(persisted.context.outcomes).toEqual([null, null, null]);
    expect(persisted.context.settled).toBe(0);
    expect(after.context.outcomes).not.toBe(before.context.outcomes);
    actor.stop();
  });
});
