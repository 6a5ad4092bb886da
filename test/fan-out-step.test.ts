/**
 * The fan-out core at logic level: what each event does to the state, and which effects a shell
 * is told to carry out, in which order. The shells (the in-process fan-out actor and the Restate
 * chunks) are covered by the behaviour and runtime-contract suites; this pins the rules alone.
 */
import { describe, expect, it } from 'vitest';
import { normalizeConfig, type FanOutConfig } from '../src/config.ts';
import { fanOutDone, initialFanOut, stepFanOut, type FanOutEffect, type FanOutEnv, type FanOutRulesInput, type FanOutState } from '../src/core/fanOutStep.ts';
import { cancelStop, deadlineStop } from '../src/core/stops.ts';
import { unstartedOutcome, type SpecialistOutcome } from '../src/outcome.ts';
import { emptyUsage } from '../src/usage.ts';

const START = 1_000;

function rules(config: Partial<FanOutConfig> & { ids: string[] }, extra: Partial<FanOutRulesInput> = {}): FanOutRulesInput {
  const { ids, ...rest } = config;
  const { input } = normalizeConfig({ task: 't', specialists: ids.map((id) => ({ id, angle: id })), ...rest });
  return { specialists: input.specialists, quorum: input.quorum, maxConcurrency: input.maxConcurrency, deadlineMs: input.deadlineMs, deadlineAt: START + input.deadlineMs, ...extra };
}

const fulfilled = (id: string, attempts = 1): SpecialistOutcome => ({
  id,
  angle: id,
  status: 'fulfilled',
  output: `finding of ${id}`,
  error: null,
  attempts,
  model: 'm',
  usage: { ...emptyUsage(), inputTokens: 10, outputTokens: 5 },
  startedAt: START,
  endedAt: START + 1,
});
const failed = (id: string): SpecialistOutcome => ({ ...unstartedOutcome({ id, angle: id }, 'rejected', { kind: 'bad_request', message: 'no' }, START + 1), attempts: 1, model: 'm' });

/** Effects in a compact form: `start 0`, `cut 1 timedOut`, `recorded 2 skipped`… */
function brief(effects: FanOutEffect[]): string[] {
  return effects.map((effect) => {
    switch (effect.type) {
      case 'start':
      case 'discard':
        return `${effect.type} ${effect.index}`;
      case 'cut':
        return `cut ${effect.index} ${effect.status}`;
      case 'recorded':
        return `recorded ${effect.index} ${effect.outcome.status}${effect.kept ? ' kept' : ''}`;
      case 'announce':
        return `announce ${effect.stop.reason}`;
      case 'deadlineTimer':
        return `deadlineTimer ${effect.at}`;
      default:
        return effect.type;
    }
  });
}

/** A shell that answers `cut` at once with the stopped outcome, as both runtimes do. */
function step(state: FanOutState, event: Parameters<typeof stepFanOut>[1], env: FanOutEnv = { now: START }): string[] {
  const out: string[] = [];
  for (const effect of stepFanOut(state, event, env)) {
    out.push(...brief([effect]));
    if (effect.type === 'cut') {
      const spec = state.input.specialists[effect.index]!;
      out.push(...step(state, { type: 'settled', index: effect.index, outcome: unstartedOutcome(spec, effect.status, effect.error, env.now), cut: true }, env));
    }
  }
  return out;
}

describe('the fan-out core', () => {
  it('starts what the level and the run-wide call slots allow, and asks to be woken for the rest', () => {
    const state = initialFanOut(rules({ ids: ['a', 'b', 'c', 'd'], maxConcurrency: 3 }));
    expect(step(state, { type: 'restore', kept: [] }, { now: START, freeCallSlots: 2 })).toEqual(['start 0', 'start 1', 'waitForSlot', 'deadlineTimer null']);
    expect(state.running).toBe(2);
    // One settles: its slot goes to the next, within this level's limit of 3.
    expect(step(state, { type: 'settled', index: 0, outcome: fulfilled('a') }, { now: START, freeCallSlots: 3 })).toEqual(['recorded 0 fulfilled', 'start 2', 'start 3']);
    expect(state).toMatchObject({ running: 3, fulfilled: 1, nextIndex: 4 });
  });

  it('an escalating failure stops the rest: running ones cut, queued ones never started, in config order', () => {
    const state = initialFanOut(rules({ ids: ['a', 'b', 'c', 'd'], maxConcurrency: 2, policy: { onFailure: 'escalate' } }));
    step(state, { type: 'fill' });
    expect(step(state, { type: 'settled', index: 0, outcome: failed('a') })).toEqual([
      'recorded 0 rejected',
      'announce escalated',
      'cut 1 skipped',
      'recorded 1 skipped',
      'recorded 2 skipped',
      'recorded 3 skipped',
    ]);
    expect(state.stop).toMatchObject({ reason: 'escalated', by: 'a' });
    expect(state.outcomes[2]!.error!.message).toMatch(/still waiting for a concurrency slot/);
    expect(fanOutDone(state)).toBe(true);
  });

  it('a quorum out of reach stops the run; a group of a larger run judges it over the run size', () => {
    const small = initialFanOut(rules({ ids: ['a', 'b', 'c'], quorum: 2 }));
    step(small, { type: 'fill' });
    step(small, { type: 'settled', index: 0, outcome: failed('a') });
    expect(step(small, { type: 'settled', index: 1, outcome: failed('b') })).toEqual(['recorded 1 rejected', 'announce quorumUnreachable', 'cut 2 skipped', 'recorded 2 skipped']);
    // The same failures in a chunk of a 10-specialist run leave the quorum within reach.
    const chunk = initialFanOut(rules({ ids: ['a', 'b', 'c'], quorum: 2 }, { runTotal: 10 }));
    step(chunk, { type: 'fill' });
    step(chunk, { type: 'settled', index: 0, outcome: failed('a') });
    expect(step(chunk, { type: 'settled', index: 1, outcome: failed('b') })).toEqual(['recorded 1 rejected']);
    expect(chunk.stop).toBeNull();
  });

  it('a cut frees its call slot within the step: a specialist past its own deadline makes room for the next', () => {
    const state = initialFanOut(rules({ ids: ['a'] }, { open: true }));
    step(state, { type: 'restore', kept: [] }, { now: START, freeCallSlots: 1 });
    const added = step(state, { type: 'add', specs: rules({ ids: ['b'] }).specialists, deadlineAt: START + 50 }, { now: START, freeCallSlots: 0 });
    expect(added).toEqual(['waitForSlot', `deadlineTimer ${START + 50}`]);
    // `a` gets a deadline of its own, earlier than `b`'s: when it passes, `b` takes `a`'s slot at once.
    step(state, { type: 'deadlines', indexes: [0], deadlineAt: START + 40, message: 'a ran out' });
    expect(step(state, { type: 'agentDeadlines' }, { now: START + 45, freeCallSlots: 0 })).toEqual(['cut 0 timedOut', 'recorded 0 timedOut', 'start 1', `deadlineTimer ${START + 50}`]);
    expect(state.outcomes[0]!.error).toEqual({ kind: 'deadline', message: 'a ran out' });
    // Still open: more may come, so it is not done though everyone added settled.
    step(state, { type: 'settled', index: 1, outcome: fulfilled('b') });
    expect(fanOutDone(state)).toBe(false);
    expect(step(state, { type: 'close', message: 'lead done' })).toEqual([]);
    expect(fanOutDone(state)).toBe(true);
  });

  it('a spent budget: queued ones never start and running ones finish, or are cut with onBudget "cut"; a later deadline still cuts them', () => {
    const finish = initialFanOut(rules({ ids: ['a', 'b', 'c'], maxConcurrency: 2 }, { budget: { onBudget: 'finish' } }));
    step(finish, { type: 'fill' });
    expect(step(finish, { type: 'budget' })).toEqual(['recorded 2 skipped']);
    expect(finish.outcomes[2]!.error!.kind).toBe('budget');
    expect(step(finish, { type: 'stop', stop: deadlineStop(finish.input.deadlineMs) })).toEqual(['cut 0 timedOut', 'recorded 0 timedOut', 'cut 1 timedOut', 'recorded 1 timedOut']);
    const cut = initialFanOut(rules({ ids: ['a', 'b', 'c'], maxConcurrency: 2 }, { budget: { onBudget: 'cut' } }));
    step(cut, { type: 'fill' });
    expect(step(cut, { type: 'budget' })).toEqual(['cut 0 skipped', 'recorded 0 skipped', 'cut 1 skipped', 'recorded 1 skipped', 'recorded 2 skipped']);
  });

  it('a restart throws away the running one (what it spent is added to its next outcome) and starts it again first', () => {
    const state = initialFanOut(rules({ ids: ['a', 'b', 'c'], maxConcurrency: 2 }));
    step(state, { type: 'fill' });
    expect(step(state, { type: 'restart', index: 1 })).toEqual(['discard 1', 'start 1']);
    step(state, { type: 'discarded', index: 1, attempts: 2, usage: { ...emptyUsage(), inputTokens: 7 } });
    step(state, { type: 'settled', index: 1, outcome: fulfilled('b') });
    expect(state.outcomes[1]).toMatchObject({ attempts: 3, usage: { inputTokens: 17 } });
    // A settled one starts again once a slot frees, its finished outcome taken back.
    expect(step(state, { type: 'restart', index: 1 })).toEqual([]);
    expect(state).toMatchObject({ fulfilled: 0, requeued: [1] });
    expect(step(state, { type: 'settled', index: 0, outcome: fulfilled('a') })).toEqual(['recorded 0 fulfilled', 'start 1']);
    // After a stop nothing restarts.
    step(state, { type: 'stop', stop: cancelStop() });
    expect(step(state, { type: 'restart', index: 0 })).toEqual([]);
  });

  it('warms a shared context with one specialist before the others start', () => {
    const state = initialFanOut(rules({ ids: ['a', 'b', 'c'] }), { warmUp: true });
    expect(step(state, { type: 'fill' })).toEqual(['start 0']);
    expect(state).toMatchObject({ warm: 'warming', warmer: 'a' });
    expect(step(state, { type: 'cacheWritten', id: 'b' })).toEqual([]);
    expect(step(state, { type: 'cacheWritten', id: 'a' })).toEqual(['start 1', 'start 2']);
  });

  it('a restore starts the in-flight again, records what was kept elsewhere, and stops first when the deadline passed meanwhile', () => {
    const state = initialFanOut(rules({ ids: ['a', 'b', 'c', 'd'], maxConcurrency: 2 }));
    step(state, { type: 'fill' });
    step(state, { type: 'settled', index: 0, outcome: fulfilled('a') });
    const saved = structuredClone(state); // as a checkpoint keeps it: 1 and 2 in flight
    expect(step(saved, { type: 'restore', kept: [{ index: 2, outcome: fulfilled('c') }] })).toEqual(['recorded 2 fulfilled kept', 'start 1', 'start 3', 'deadlineTimer null']);
    const late = structuredClone(state);
    expect(step(late, { type: 'restore', kept: [] }, { now: late.input.deadlineAt })).toEqual(['recorded 1 timedOut', 'recorded 2 timedOut', 'recorded 3 timedOut']);
    expect(late.outcomes[1]!.error!.message).toMatch(/waiting to start again/);
    expect(late.stop).toMatchObject({ reason: 'deadline' });
  });

  it('an actor crash stops the run, keeping what finished', () => {
    const state = initialFanOut(rules({ ids: ['a', 'b'] }));
    step(state, { type: 'fill' });
    step(state, { type: 'settled', index: 0, outcome: fulfilled('a') });
    const crash = unstartedOutcome({ id: 'b', angle: 'b' }, 'rejected', { kind: 'unknown', message: 'internal error in specialist "b": boom' }, START);
    expect(step(state, { type: 'settled', index: 1, outcome: crash, crashed: true })).toEqual(['recorded 1 rejected']);
    expect(state.stop).toEqual({ reason: 'crashed', by: 'b', message: 'internal error in specialist "b": boom' });
    expect(state.outcomes[0]!.status).toBe('fulfilled');
  });
});
