/**
 * 100,000 specialists in one run, flat and as a tree, on a simulated clock (no real waiting; a
 * heap-backed one, see heap-clock.ts): every outcome is there, in config order, with the right status and counts, and what a
 * run of that size keeps per specialist stays bounded (no text deltas, no per-specialist started
 * events) while the settled ones still arrive for the checkpoint and the result.
 */
import { describe, expect, it } from 'vitest';
import { LIGHT_HOSTING_ABOVE, runFanOut, type FanOutConfig, type RunEvent, type SpecialistsProgressEvent } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { HeapClock } from './heap-clock.ts';
import { settleWithClock } from './support.ts';

const N = 100_000;
const fold: NonNullable<FanOutConfig['synthesizer']> = { run: async ({ outcomes }) => `${outcomes?.filter((outcome) => outcome.status === 'fulfilled').length ?? 0} findings` };
const isBroken = (i: number) => i % 1_000 === 999;

/** 50–110 ms per call by index; one in every 1,000 fails with a 400 (not retried). */
function provider(clock: HeapClock) {
  return createScriptedProvider({
    clock,
    reply: (_request, call): ScriptedReply => {
      const i = Number(call.caller!.id.split('-').at(-1));
      const latencyMs = 50 + (i % 7) * 10;
      return isBroken(i) ? { latencyMs, error: { kind: 'bad_request', message: `bad ${i}`, status: 400 } } : { latencyMs, text: `finding ${i}` };
    },
  });
}

describe('100,000 specialists in one run', () => {
  it('flat: every outcome in config order, 100 rejected, each ended when its latency said, and no per-specialist noise', async () => {
    const clock = new HeapClock();
    const scripted = provider(clock);
    const config: FanOutConfig = { task: 't', specialists: Array.from({ length: N }, (_, i) => ({ id: `s-${i}` })), synthesizer: fold, deadlineMs: 60_000 };
    const run = runFanOut(config, { provider: scripted, clock });
    const counts = new Map<RunEvent['type'], number>();
    const summaries: SpecialistsProgressEvent[] = [];
    run.events$.subscribe((event) => {
      counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
      if (event.type === 'specialists.progress') summaries.push(event);
    });
    const result = await settleWithClock(run, clock, 10);

    expect(result.status).toBe('partial');
    expect(result.outcomes).toHaveLength(N);
    expect(result.outcomes.every((outcome, i) => outcome.id === `s-${i}`)).toBe(true);
    const rejected = result.outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(rejected).toHaveLength(N / 1_000);
    expect(rejected.every((outcome) => isBroken(Number(outcome.id.slice(2))) && outcome.error?.kind === 'bad_request')).toBe(true);
    expect(result.outcomes.every((outcome, i) => outcome.status === 'rejected' || outcome.output === `finding ${i}`)).toBe(true);
    expect(result.outcomes.every((outcome, i) => outcome.endedAt - outcome.startedAt! === 50 + (i % 7) * 10)).toBe(true);
    expect(scripted.calls).toHaveLength(N);
    expect(result.modelCalls).toBe(N);
    expect(result.synthesis).toBe(`${N - N / 1_000} findings`);

    // Large enough to be hosted lightly: settled events for each (the checkpoint journals them),
    // but no text deltas and no per-specialist started events.
    expect(N).toBeGreaterThan(LIGHT_HOSTING_ABOVE);
    expect(counts.get('specialist.done')).toBe(N - N / 1_000);
    expect(counts.get('specialist.failed')).toBe(N / 1_000);
    expect(counts.get('specialist.token') ?? 0).toBe(0);
    expect(counts.get('specialist.started') ?? 0).toBe(0);
    // Instead, counts: one summary per report to the lead, far fewer than one per specialist, the last with all settled.
    expect(summaries.length).toBeGreaterThan(10);
    expect(summaries.length).toBeLessThan(N / 50);
    expect(summaries.at(-1)).toMatchObject({ total: N, queued: 0, running: 0, fulfilled: N - N / 1_000, unsuccessful: N / 1_000 });
  }, 120_000);

  it('a tree of 100 sub-leads × 1,000: each sub-lead folds its own, the run folds the 100 and names the missing by path', async () => {
    const clock = new HeapClock();
    const scripted = provider(clock);
    const config: FanOutConfig = {
      task: 't',
      synthesizer: fold,
      deadlineMs: 60_000,
      specialists: Array.from({ length: 100 }, (_, s) => ({ id: `lead${s}`, synthesizer: fold, specialists: Array.from({ length: 1_000 }, (_, i) => ({ id: `s${s}-${i}` })) })),
    };
    const result = await settleWithClock(runFanOut(config, { provider: scripted, clock }), clock, 10);

    // Partial: each sub-lead lost one of its 1,000, and the run names all 100 by their path.
    expect(result.status).toBe('partial');
    expect(result.missing.map((angle) => angle.id)).toEqual(Array.from({ length: 100 }, (_, s) => `lead${s}/s${s}-999`));
    expect(result.outcomes.map((outcome) => outcome.id)).toEqual(Array.from({ length: 100 }, (_, s) => `lead${s}`));
    expect(result.outcomes.every((outcome) => outcome.status === 'fulfilled' && outcome.output === '999 findings')).toBe(true);
    expect(result.outcomes.every((outcome) => outcome.subOutcomes?.length === 1_000 && outcome.subOutcomes.filter((sub) => sub.status === 'rejected').length === 1)).toBe(true);
    expect(scripted.calls).toHaveLength(N);
    expect(result.modelCalls).toBe(N);
    expect(result.synthesis).toBe('100 findings');
  }, 120_000);
});
