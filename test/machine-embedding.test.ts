import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { createRunActors, leadMachine, normalizeConfig, type FanOutConfig, type RunResult, type SpecialistOutcome, type TaskContext } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { researchSpecialists } from './support.ts';

const config: FanOutConfig = { task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 60_000 };

/**
 * Throws unless `value` is plain JSON data: objects with the plain prototype, arrays, strings,
 * finite numbers, booleans, null. `undefined` is accepted only where `allowUndefined` says so
 * (XState's own snapshot fields, e.g. `output` before the actor is done).
 */
function assertPlainJson(value: unknown, path = '$', allowUndefined = false): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (value === undefined) {
    if (allowUndefined) return;
    throw new Error(`${path} is undefined`);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path} is ${value}, not a finite number`);
    return;
  }
  if (typeof value !== 'object') throw new Error(`${path} is a ${typeof value}`);
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertPlainJson(item, `${path}[${index}]`, allowUndefined));
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) throw new Error(`${path} is an instance of ${prototype?.constructor?.name ?? 'a class'}`);
  for (const [key, item] of Object.entries(value)) assertPlainJson(item, `${path}.${key}`, allowUndefined);
}

/** The persisted snapshot is plain data and survives JSON unchanged. */
function expectJsonRoundTrip(persisted: unknown) {
  expect(() => assertPlainJson(persisted, '$', true)).not.toThrow();
  expect(JSON.parse(JSON.stringify(persisted))).toEqual(persisted);
}

describe('embedding the lead machine', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('runs to done with output, emitting events to actor.on listeners', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, chunks: 2 });
    const actor = createActor(leadMachine.provide({ actors: createRunActors({ provider }) }), { input: normalizeConfig(config).input });
    const done: Array<{ type: string; id: string; outcome: SpecialistOutcome }> = [];
    const finished: RunResult[] = [];
    actor.on('specialist.done', (event) => done.push(event));
    actor.on('run.finished', (event) => finished.push(event.result));
    actor.start();

    const { context } = actor.getSnapshot();
    expect(context.startedAt).toBe(0);
    expect(context.deadlineAt).toBe(context.startedAt + 60_000);
    expect(() => assertPlainJson(context)).not.toThrow();

    await vi.advanceTimersByTimeAsync(50);
    expect(actor.getSnapshot().value).toEqual({ fanningOut: 'waiting' });
    expect(done).toEqual([]);

    await vi.advanceTimersByTimeAsync(100);
    expect(actor.getSnapshot().value).toBe('synthesizing');
    expect(done.map((event) => event.id)).toEqual(['historical', 'technical', 'societal']);

    await vi.advanceTimersByTimeAsync(100);
    const snapshot = actor.getSnapshot();
    expect(snapshot.status).toBe('done');
    expect(snapshot.value).toBe('done');
    expect(snapshot.output).toMatchObject({ status: 'done', task: 'nuclear fusion', missing: [], error: null, modelCalls: 4 });
    expect(snapshot.output!.synthesis).toEqual(expect.stringContaining('[scripted claude-sonnet-4-6]'));
    expect(snapshot.output!.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual(researchSpecialists.map(({ id }) => [id, 'fulfilled']));
    expect(done.map((event) => event.outcome)).toEqual(snapshot.output!.outcomes);
    expect(finished).toEqual([snapshot.output]);
    expect(() => assertPlainJson(snapshot.context)).not.toThrow();
  });

  it('keeps context plain JSON, deadlineAt = startedAt + deadlineMs, and the persisted snapshot round-trips mid-run and at the end', async () => {
    vi.setSystemTime(5_000);
    const provider = createScriptedProvider({ byCaller: { historical: { latencyMs: 100 }, technical: { latencyMs: 300 }, societal: { latencyMs: 300 }, synthesizer: { latencyMs: 200 } } });
    const { input } = normalizeConfig({ ...config, deadlineMs: 2_500, maxConcurrency: 1 });
    const actor = createActor(leadMachine.provide({ actors: createRunActors({ provider }) }), { input });
    actor.start();

    const { context } = actor.getSnapshot();
    expect(context.startedAt).toBe(5_000);
    expect(context.deadlineAt).toBe(5_000 + 2_500);
    expect(context.input).toEqual(input);

    // Mid fan-out: one specialist settled, one running, one still queued.
    await vi.advanceTimersByTimeAsync(150);
    expect(actor.getSnapshot().value).toEqual({ fanningOut: 'dispatching' });
    expect(actor.getSnapshot().context.outcomes.map((outcome) => outcome?.status ?? null)).toEqual(['fulfilled', null, null]);
    expect(() => assertPlainJson(actor.getSnapshot().context)).not.toThrow();
    expectJsonRoundTrip(actor.getPersistedSnapshot());

    // Mid synthesis (specialists ran one at a time: 0–100, 100–400, 400–700).
    await vi.advanceTimersByTimeAsync(650);
    expect(actor.getSnapshot().value).toBe('synthesizing');
    expect(() => assertPlainJson(actor.getSnapshot().context)).not.toThrow();
    expectJsonRoundTrip(actor.getPersistedSnapshot());

    // At the end.
    await vi.advanceTimersByTimeAsync(200);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output!.status).toBe('done');
    expect(() => assertPlainJson(actor.getSnapshot().context)).not.toThrow();
    expect(() => assertPlainJson(actor.getSnapshot().output)).not.toThrow();
    expectJsonRoundTrip(actor.getPersistedSnapshot());
    expect(actor.getSnapshot().context.deadlineAt).toBe(actor.getSnapshot().context.startedAt + 2_500);
  });

  it('mixes a task-function specialist with model specialists, and folds them with a task-function synthesizer', async () => {
    const provider = createScriptedProvider({ latencyMs: 100 });
    const seenSignals: AbortSignal[] = [];
    let synthesizerContext: TaskContext | undefined;
    const mixed: FanOutConfig = {
      task: 'is the API up?',
      deadlineMs: 60_000,
      specialists: [
        { id: 'historical', angle: 'Historical context' },
        {
          id: 'ping',
          angle: 'Health check',
          run: async ({ signal }) => {
            seenSignals.push(signal);
            return 'pong';
          },
        },
        { id: 'technical', angle: 'Technical details' },
      ],
      synthesizer: {
        run: async (context) => {
          synthesizerContext = context;
          return { text: (context.outcomes ?? []).map((outcome) => `${outcome.id}=${outcome.status}`).join(', '), usage: { outputTokens: 3 } };
        },
      },
    };
    const { input, tasks } = normalizeConfig(mixed);
    expect(input.specialists.map((spec) => spec.kind)).toEqual(['model', 'task', 'model']);
    expect(input.synthesizer.kind).toBe('task');

    const actor = createActor(leadMachine.provide({ actors: createRunActors({ provider, tasks }) }), { input });
    const done: string[] = [];
    actor.on('specialist.done', (event) => done.push(event.id));
    actor.start();
    await vi.advanceTimersByTimeAsync(200);

    const snapshot = actor.getSnapshot();
    expect(snapshot.status).toBe('done');
    const result = snapshot.output!;
    expect(result.status).toBe('done');
    expect(done).toEqual(['ping', 'historical', 'technical']);

    const ping = result.outcomes[1]!;
    expect(ping).toMatchObject({ id: 'ping', angle: 'Health check', status: 'fulfilled', output: 'pong', attempts: 1, model: null });
    expect(seenSignals).toHaveLength(1);
    expect(seenSignals[0]).toBeInstanceOf(AbortSignal);
    expect(seenSignals[0]!.aborted).toBe(false);

    // The task synthesizer got every outcome, in config order, and no model was called for it or for ping.
    expect(synthesizerContext).toMatchObject({ task: 'is the API up?', id: 'synthesizer', angle: 'Synthesis', attempt: 1 });
    expect(synthesizerContext!.outcomes!.map((outcome: SpecialistOutcome) => outcome.id)).toEqual(['historical', 'ping', 'technical']);
    expect(synthesizerContext!.outcomes).toEqual(result.outcomes);
    expect(result.synthesis).toBe('historical=fulfilled, ping=fulfilled, technical=fulfilled');
    expect(result.synthesizer).toMatchObject({ status: 'fulfilled', model: null, usage: { outputTokens: 3 } });
    expect(provider.calls.map((call) => call.caller?.id)).toEqual(['historical', 'technical']);
    expect(result.modelCalls).toBe(2);
    expect(() => assertPlainJson(snapshot.context)).not.toThrow();
    expectJsonRoundTrip(actor.getPersistedSnapshot());
  });
});
