import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { runFanOut, type RunResult } from '../src/index.ts';
import { createScriptedProvider, type ScriptedProvider } from '../src/testing.ts';
import { promptOf, record, researchSpecialists, settle, settleWithClock } from './support.ts';

const task = 'nuclear fusion';

/** historical answers at 100 ms, technical at 200 ms, societal would need 5 s. */
const withStraggler = { historical: { latencyMs: 100 }, technical: { latencyMs: 200 }, societal: { latencyMs: 5_000 } };

/** What every deadline test expects of a run where `societal` was still running at t = 1,000. */
function expectStragglerCutOffAt1000(result: RunResult, provider: ScriptedProvider) {
  const byId = Object.fromEntries(result.outcomes.map((outcome) => [outcome.id, outcome]));

  // The straggler's call saw the abort at the deadline, not at its scripted 5 s.
  const societalCalls = provider.calls.filter((call) => call.caller?.id === 'societal');
  expect(societalCalls).toHaveLength(1);
  expect(societalCalls[0]).toMatchObject({ result: 'aborted', startedAt: 0, endedAt: 1_000 });

  expect(byId['societal']).toMatchObject({
    status: 'timedOut',
    output: null,
    attempts: 1,
    startedAt: 0,
    endedAt: 1_000,
    error: { kind: 'deadline' },
  });
  expect(byId['societal']!.error!.message).toContain('1000 ms deadline');

  // What finished before the deadline is kept, with its output.
  const replies = new Map(provider.calls.filter((call) => call.result === 'replied').map((call) => [call.caller?.id, call]));
  expect(byId['historical']).toMatchObject({ status: 'fulfilled', endedAt: 100, error: null });
  expect(byId['technical']).toMatchObject({ status: 'fulfilled', endedAt: 200, error: null });
  expect(byId['historical']!.output).toMatch(/^\[scripted claude-sonnet-4-6\] Reply to: Task: nuclear fusion/);
  expect(byId['technical']!.output).toMatch(/^\[scripted claude-sonnet-4-6\] Reply to: Task: nuclear fusion/);

  // Synthesis ran on what arrived, right after the deadline.
  const synthesisCalls = provider.calls.filter((call) => call.caller?.id === 'synthesizer');
  expect(synthesisCalls).toHaveLength(1);
  expect(synthesisCalls[0]!.startedAt).toBe(1_000);
  expect(replies.get('synthesizer')).toBeDefined();
  expect(result.synthesizer).toMatchObject({ status: 'fulfilled' });
  expect(result.synthesis).toBe(result.synthesizer!.output);

  const prompt = promptOf(synthesisCalls[0]!);
  expect(prompt).toContain('Findings from 2 of 3 specialists');
  expect(prompt).toContain(`<finding specialist="historical" angle="Historical context">\n${byId['historical']!.output}\n</finding>`);
  expect(prompt).toContain(`<finding specialist="technical" angle="Technical details">\n${byId['technical']!.output}\n</finding>`);
  expect(prompt).not.toContain('<finding specialist="societal"');
  const missingSection = prompt.slice(prompt.indexOf('Missing angles'));
  expect(missingSection).toMatch(/^Missing angles \(1\)/);
  expect(missingSection).toContain(`- societal ("Societal impact"): ${byId['societal']!.error!.message}`);

  expect(result.status).toBe('partial');
  expect(result.error).toBeNull();
  expect(result.missing).toEqual([{ id: 'societal', angle: 'Societal impact', status: 'timedOut', reason: byId['societal']!.error!.message }]);
  expect(result.outcomes.map((outcome) => outcome.id)).toEqual(['historical', 'technical', 'societal']);
}

describe('global deadline (fake timers)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('stops the straggler at the deadline, keeps what finished and synthesizes a partial result', async () => {
    const provider = createScriptedProvider({ byCaller: withStraggler });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 1_000 }, { provider });
    const events = record(run);

    await vi.advanceTimersByTimeAsync(999);
    expect(provider.calls.find((call) => call.caller?.id === 'societal')!.result).toBe('pending');
    expect(events.some((event) => event.type === 'specialist.timedOut')).toBe(false);

    const result = await settle(run);
    expectStragglerCutOffAt1000(result, provider);
    expect(events.find((event) => event.type === 'specialist.timedOut')).toMatchObject({ id: 'societal', outcome: { status: 'timedOut' } });
    expect(result.elapsedMs).toBeLessThan(5_000);
  });

  it('times out specialists still queued behind maxConcurrency: they never started', async () => {
    const provider = createScriptedProvider({ latencyMs: 600 });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 1_000, maxConcurrency: 1 }, { provider });
    const result = await settle(run);

    expect(result.status).toBe('partial');
    const [historical, technical, societal] = result.outcomes;
    expect(historical).toMatchObject({ id: 'historical', status: 'fulfilled', attempts: 1, startedAt: 0, endedAt: 600 });
    // Started when historical freed the slot, cut off mid-call.
    expect(technical).toMatchObject({ id: 'technical', status: 'timedOut', attempts: 1, startedAt: 600, endedAt: 1_000, error: { kind: 'deadline' } });
    // Never got a slot.
    expect(societal).toMatchObject({
      id: 'societal',
      status: 'timedOut',
      attempts: 0,
      startedAt: null,
      endedAt: 1_000,
      model: null,
      output: null,
      error: { kind: 'deadline' },
      usage: { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
    });
    expect(societal!.error!.message).toContain('waiting for a concurrency slot');
    expect(provider.calls.filter((call) => call.caller?.id === 'societal')).toHaveLength(0);
    expect(provider.calls.find((call) => call.caller?.id === 'technical')).toMatchObject({ result: 'aborted', endedAt: 1_000 });
    expect(result.missing.map((angle) => [angle.id, angle.status])).toEqual([
      ['technical', 'timedOut'],
      ['societal', 'timedOut'],
    ]);
    // Only calls actually made are counted: historical, technical's aborted attempt, the synthesizer.
    expect(result.modelCalls).toBe(3);
  });
});

describe('global deadline (SimulatedClock)', () => {
  it('behaves the same when the run and the provider share a simulated clock', async () => {
    const clock = new SimulatedClock();
    const provider = createScriptedProvider({ clock, byCaller: withStraggler });
    const run = runFanOut({ task, specialists: researchSpecialists, deadlineMs: 1_000 }, { provider, clock });

    const result = await settleWithClock(run, clock);

    expectStragglerCutOffAt1000(result, provider);
    expect(result.startedAt).toBe(0);
    expect(clock.now()).toBeLessThan(5_000);
  });
});
