import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { record, researchSpecialists, settle } from './support.ts';

const task = 'nuclear fusion';

/** Every reply says which call produced it, so an outcome can be traced to its call. */
function numberedReplies(latencies: Record<string, number>) {
  return createScriptedProvider({
    latencyMs: 100,
    reply: (_request, call): ScriptedReply | undefined =>
      call.caller && call.caller.id !== 'synthesizer' ? { text: `${call.caller.id} from call #${call.index}`, latencyMs: latencies[call.caller.id] ?? 100 } : undefined,
  });
}

/** Records every specialist actor the run's system creates, by actor id. */
function actorsCreated() {
  const actors: AnyActorRef[] = [];
  const inspect = (event: InspectionEvent) => {
    if (event.type === '@xstate.actor') actors.push(event.actorRef as AnyActorRef);
  };
  return { actors, inspect, withId: (id: string) => actors.filter((actor) => actor.id === id) };
}

describe('specialist.restart', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('restarting an in-flight specialist aborts its call and runs it again under the same id', async () => {
    const provider = numberedReplies({ historical: 100, technical: 1_000, societal: 200 });
    const created = actorsCreated();
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider, inspect: created.inspect });
    const events = record(run);

    await vi.advanceTimersByTimeAsync(300);
    expect(created.withId('technical')).toHaveLength(1);
    const [first] = created.withId('technical');
    run.actor.send({ type: 'specialist.restart', id: 'technical' });
    await vi.advanceTimersByTimeAsync(0);

    const technicalCalls = provider.calls.filter((call) => call.caller?.id === 'technical');
    expect(technicalCalls).toHaveLength(2);
    expect(technicalCalls[0]).toMatchObject({ result: 'aborted', startedAt: 0, endedAt: 300 });
    expect(technicalCalls[1]).toMatchObject({ result: 'pending', startedAt: 300, caller: { id: 'technical', attempt: 1 } });

    // A fresh actor with the same id replaced the old one, which is stopped.
    const restarted = created.withId('technical');
    expect(restarted).toHaveLength(2);
    expect(restarted[1]).not.toBe(first);
    expect(first!.getSnapshot().status).toBe('stopped');
    expect(restarted[1]!.getSnapshot().status).toBe('active');

    const result = await settle(run);
    expect(result.status).toBe('done');
    expect(result.outcomes.map((outcome) => outcome.id)).toEqual(['historical', 'technical', 'societal']);
    // `attempts` counts every call made for the specialist, the one the restart discarded included.
    expect(result.outcomes[1]).toMatchObject({
      id: 'technical',
      status: 'fulfilled',
      attempts: 2,
      startedAt: 300,
      endedAt: 1_300,
      output: `technical from call #${technicalCalls[1]!.index}`,
    });
    expect(technicalCalls[1]).toMatchObject({ result: 'replied', endedAt: 1_300 });
    expect(restarted[1]!.getSnapshot().status).toBe('done');

    // The event stream tells the story under the one id: started, started again, done once.
    const technicalEvents = events.filter((event) => event.id === 'technical' && event.type !== 'specialist.token').map((event) => event.type);
    expect(technicalEvents).toEqual(['specialist.started', 'specialist.started', 'specialist.done']);
    expect(events.filter((event) => event.type === 'specialist.done').map((event) => event.id)).toEqual(['historical', 'societal', 'technical']);
  });

  it('restarting a specialist that already settled runs it again before the fan-out completes', async () => {
    const provider = numberedReplies({ historical: 100, technical: 200, societal: 5_000 });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider });
    const events = record(run);

    await vi.advanceTimersByTimeAsync(300);
    expect(run.actor.getSnapshot().context.outcomes[0]).toMatchObject({ id: 'historical', status: 'fulfilled' });
    run.actor.send({ type: 'specialist.restart', id: 'historical' });
    await vi.advanceTimersByTimeAsync(0);

    const historicalCalls = provider.calls.filter((call) => call.caller?.id === 'historical');
    expect(historicalCalls).toHaveLength(2);
    expect(historicalCalls[0]).toMatchObject({ result: 'replied', startedAt: 0, endedAt: 100 });
    expect(historicalCalls[1]).toMatchObject({ result: 'pending', startedAt: 300, caller: { id: 'historical', attempt: 1 } });
    expect(run.actor.getSnapshot().value).toEqual({ fanningOut: 'waiting' });

    await vi.advanceTimersByTimeAsync(200);
    expect(historicalCalls[1]).toMatchObject({ result: 'replied', endedAt: 400 });
    // The fan-out is still waiting for societal; nothing has been synthesized yet.
    expect(provider.calls.some((call) => call.caller?.id === 'synthesizer')).toBe(false);

    const result = await settle(run);
    expect(result.status).toBe('done');
    // `attempts` counts every call made for the specialist, the settled run it replaced included.
    expect(result.outcomes[0]).toMatchObject({
      id: 'historical',
      status: 'fulfilled',
      attempts: 2,
      startedAt: 300,
      endedAt: 400,
      output: `historical from call #${historicalCalls[1]!.index}`,
    });
    // The synthesizer saw the re-run's finding, not the first one.
    const synthesisPrompt = provider.calls.find((call) => call.caller?.id === 'synthesizer')!.request.messages[0]!.content;
    expect(synthesisPrompt).toContain(`historical from call #${historicalCalls[1]!.index}`);
    expect(synthesisPrompt).not.toContain(`historical from call #${historicalCalls[0]!.index}`);
    expect(events.filter((event) => event.type === 'specialist.done').map((event) => event.id)).toEqual(['historical', 'technical', 'historical', 'societal']);
  });

  it("keeps the lead's progress counts consistent while a settled specialist re-runs", async () => {
    const provider = numberedReplies({ historical: 100, technical: 200, societal: 5_000 });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider });

    await vi.advanceTimersByTimeAsync(300);
    run.actor.send({ type: 'specialist.restart', id: 'historical' });
    await vi.advanceTimersByTimeAsync(200);

    // historical (re-run) and technical have settled; societal is still running.
    const { context } = run.actor.getSnapshot();
    const fulfilledOutcomes = context.outcomes.filter((outcome) => outcome?.status === 'fulfilled').length;
    expect(fulfilledOutcomes).toBe(2);
    expect(context.fulfilled).toBe(fulfilledOutcomes);
    expect(context.settled).toBe(2);
    await settle(run);
  });

  it('counts the work a restart discards: modelCalls and usage cover every call made', async () => {
    // Every call that replies reports 10 input and 5 output tokens.
    const provider = createScriptedProvider({
      reply: (_request, call): ScriptedReply => ({
        latencyMs: call.caller?.id === 'societal' ? 5_000 : call.caller?.id === 'technical' ? 1_000 : 100,
        usage: { inputTokens: 10, outputTokens: 5 },
      }),
    });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider });

    await vi.advanceTimersByTimeAsync(300);
    run.actor.send({ type: 'specialist.restart', id: 'historical' }); // settled at 100: its reply is thrown away
    run.actor.send({ type: 'specialist.restart', id: 'technical' }); // in flight: its call is aborted
    const result = await settle(run);

    expect(result.status).toBe('done');
    // historical ×2, technical ×2 (one aborted), societal, synthesizer.
    expect(provider.calls).toHaveLength(6);
    expect(result.modelCalls).toBe(provider.calls.length);
    const replied = provider.calls.filter((call) => call.result === 'replied').length;
    expect(replied).toBe(5);
    expect(result.usage).toMatchObject({ inputTokens: 10 * replied, outputTokens: 5 * replied });
  });

  it('ignores a restart for an unknown id', async () => {
    const provider = numberedReplies({});
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 60_000 }, { provider });
    await vi.advanceTimersByTimeAsync(50);
    run.actor.send({ type: 'specialist.restart', id: 'nobody' });
    const result = await settle(run);
    expect(result.status).toBe('done');
    expect(provider.calls).toHaveLength(4);
  });
});
