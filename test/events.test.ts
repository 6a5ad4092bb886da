import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut, type RunEvent, type RunResult } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { researchSpecialists, settle } from './support.ts';

const task = 'nuclear fusion';
const ids = researchSpecialists.map((specialist) => specialist.id);
const settleTypes = new Set(['specialist.done', 'specialist.failed', 'specialist.timedOut', 'specialist.skipped']);

/** Three specialists finishing at different times, each streaming three deltas; the synthesis streams three too. */
function streamingRun() {
  const provider = createScriptedProvider({
    chunks: 3,
    byCaller: {
      historical: { latencyMs: 300, text: 'Fusion research began in the 1950s with pinch devices.' },
      technical: { latencyMs: 100, text: 'Tokamaks confine plasma with magnetic fields.' },
      societal: { latencyMs: 200, text: 'Cheap fusion power would reshape energy markets.' },
      synthesizer: { latencyMs: 150, text: 'Fusion: old dream, hard physics, big stakes.' },
    },
  });
  const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider });
  return { provider, run };
}

describe('the run event stream', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('orders events: started, tokens, settled per specialist; all settled before synthesis; run.finished last', async () => {
    const { run } = streamingRun();
    const events: RunEvent[] = [];
    let completed = false;
    run.events$.subscribe({ next: (event) => events.push(event), complete: () => (completed = true) });
    const result = await settle(run);

    const at = (predicate: (event: RunEvent) => boolean) => events.findIndex(predicate);
    const allAt = (predicate: (event: RunEvent) => boolean) => events.flatMap((event, index) => (predicate(event) ? [index] : []));

    for (const id of ids) {
      const started = allAt((event) => event.type === 'specialist.started' && event.id === id);
      const tokens = allAt((event) => event.type === 'specialist.token' && event.id === id);
      const settled = allAt((event) => settleTypes.has(event.type) && 'id' in event && event.id === id);
      expect(started, id).toHaveLength(1);
      expect(tokens, id).toHaveLength(3);
      expect(settled, id).toHaveLength(1);
      expect(events[settled[0]!]!.type, id).toBe('specialist.done');
      expect(started[0]!, id).toBeLessThan(tokens[0]!);
      expect(tokens[2]!, id).toBeLessThan(settled[0]!);

      // The deltas add up to the specialist's output.
      const streamed = tokens.map((index) => (events[index] as { text: string }).text).join('');
      const outcome = result.outcomes.find((o) => o.id === id)!;
      expect(streamed, id).toBe(outcome.output);
      expect(events[settled[0]!]).toEqual({ type: 'specialist.done', id, outcome });
    }
    // Settled in the order they finished.
    expect(events.filter((event) => event.type === 'specialist.done').map((event) => (event as { id: string }).id)).toEqual(['technical', 'societal', 'historical']);

    const synthesisStarted = at((event) => event.type === 'synthesis.started');
    const lastSettled = Math.max(...allAt((event) => settleTypes.has(event.type)));
    const lastSpecialistEvent = Math.max(...allAt((event) => event.type.startsWith('specialist.')));
    expect(synthesisStarted).toBeGreaterThan(lastSettled);
    expect(synthesisStarted).toBeGreaterThan(lastSpecialistEvent);

    const synthesisTokens = allAt((event) => event.type === 'synthesis.token');
    const synthesisDone = allAt((event) => event.type === 'synthesis.done');
    expect(synthesisTokens).toHaveLength(3);
    expect(synthesisDone).toHaveLength(1);
    expect(synthesisStarted).toBeLessThan(synthesisTokens[0]!);
    expect(synthesisTokens[2]!).toBeLessThan(synthesisDone[0]!);
    expect(synthesisTokens.map((index) => (events[index] as { text: string }).text).join('')).toBe(result.synthesis);
    expect(events[synthesisDone[0]!]).toEqual({ type: 'synthesis.done', outcome: result.synthesizer });

    // run.finished is last, once, and carries the run's result.
    expect(allAt((event) => event.type === 'run.finished')).toEqual([events.length - 1]);
    const finished = events.at(-1) as { type: 'run.finished'; result: RunResult };
    expect(finished.result).toEqual(result);
    expect(finished.result.status).toBe('done');
    expect(completed).toBe(true);

    // Every specialist starts at once (no concurrency cap), before any delta; the synthesis closes the stream.
    expect(events.slice(0, 3).map((event) => event.type)).toEqual(['specialist.started', 'specialist.started', 'specialist.started']);
    expect(events.slice(-6).map((event) => event.type)).toEqual(['synthesis.started', 'synthesis.token', 'synthesis.token', 'synthesis.token', 'synthesis.done', 'run.finished']);
    expect(events).toHaveLength(3 + 3 * 3 + 3 + 6);
  });

  it('delivers the same events through run.actor.on(type, handler)', async () => {
    const { run } = streamingRun();
    const viaStream: RunEvent[] = [];
    run.events$.subscribe((event) => viaStream.push(event));
    const done: unknown[] = [];
    const all: unknown[] = [];
    run.actor.on('specialist.done', (event) => done.push(event));
    run.actor.on('*', (event) => all.push(event));
    const result = await settle(run);

    expect(done).toHaveLength(3);
    expect(done).toEqual(viaStream.filter((event) => event.type === 'specialist.done'));
    expect(done).toEqual(['technical', 'societal', 'historical'].map((id) => ({ type: 'specialist.done', id, outcome: result.outcomes.find((o) => o.id === id) })));
    expect(all).toEqual(viaStream);
  });

  it('completes events$ for a run that ends without synthesis too', async () => {
    const { run } = streamingRun();
    const types: string[] = [];
    let completed = false;
    run.events$.subscribe({ next: (event) => types.push(event.type), complete: () => (completed = true) });
    await vi.advanceTimersByTimeAsync(150);
    run.cancel('enough');
    await settle(run);
    expect(completed).toBe(true);
    expect(types.at(-1)).toBe('run.finished');
    expect(types.filter((type) => type === 'specialist.skipped')).toHaveLength(2);
    expect(types.some((type) => type.startsWith('synthesis.'))).toBe(false);
  });
});
