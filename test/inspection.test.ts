import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { researchSpecialists, settle } from './support.ts';

describe('inspection', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('passes the inspect option to XState: the actor tree lead → fan-out → specialists is visible', async () => {
    const seen: InspectionEvent[] = [];
    const provider = createScriptedProvider({ latencyMs: 100, chunks: 20 });
    await settle(runFanOut({ task: 't', specialists: researchSpecialists, deadlineMs: 10_000 }, { provider, inspect: (event) => seen.push(event) }));

    const actors = seen.filter((event) => event.type === '@xstate.actor').map((event) => event.actorRef as AnyActorRef);
    const byId = (id: string) => actors.find((actor) => actor.id === id);
    const fanOut = byId('fanOut')!;
    expect(fanOut._parent).toBe(actors[0]);
    for (const { id } of researchSpecialists) expect(byId(id)?._parent).toBe(fanOut);
    expect(byId('synthesizer')?._parent).toBe(actors[0]);
    expect(byId('deadline')?._parent).toBe(actors[0]);
  });

  it('keeps inspection traffic small: streamed deltas do not become one inspection event each', async () => {
    const seen: InspectionEvent[] = [];
    // 3 specialists × 20 deltas each.
    const provider = createScriptedProvider({ latencyMs: 100, chunks: 20 });
    await settle(runFanOut({ task: 't', specialists: researchSpecialists, synthesizer: { run: async () => 'folded' }, deadlineMs: 10_000 }, { provider, inspect: (event) => seen.push(event) }));

    const tokenEvents = seen.filter((event) => event.type === '@xstate.event' && event.event.type === 'specialist.token');
    expect(tokenEvents).toHaveLength(0);
    // The lead receives the deltas in batches instead.
    const batches = seen.filter((event) => event.type === '@xstate.event' && event.event.type === 'fanOut.progress');
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.length).toBeLessThan(3 * 20);
  });
});
