/**
 * A specialist's attempts as a pure step: given what the last attempt returned, what happens
 * next — call again (the same model after a backoff, or the next one), or settle. The decision
 * itself is the policy's (`decideAfterFailure`, shared with the in-process specialist); this
 * module only strings attempts together so a shell can run each effect in its own way: the
 * Restate runtime journals every call with `ctx.run` and every wait with a durable timer.
 *
 * Specialists stepped here make one model call per attempt and run no tools.
 */
import type { SpecialistSpec } from '../config.ts';
import type { ErrorInfo } from '../errors.ts';
import type { SpecialistRetryingEvent } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { decideAfterFailure } from '../policy.ts';
import { addUsageInto, emptyUsage, type Usage } from '../usage.ts';

/**
 * What one attempt returned, as the shell records it (plain JSON either way). It carries its
 * own start and end times, so an outcome's timestamps need nothing else.
 */
export type AttemptRecord = { startedAt: number; endedAt: number; usage: Usage } & ({ ok: true; text: string; model: string; stopReason?: string | null } | { ok: false; error: ErrorInfo });

/**
 * A settled specialist's outcome, plus the retries it made: a runtime that cannot emit events
 * as they happen turns these into `specialist.retrying` events, then strips them.
 */
export type SteppedOutcome = SpecialistOutcome & { retries?: SpecialistRetryingEvent[] };

/** Where a specialist's attempts stand. Plain JSON; each step returns a new one. */
export interface AttemptsState {
  spec: SpecialistSpec;
  /** The run's deadline (ms since epoch), if any: a backoff that would outlast it ends there. */
  deadlineAt?: number;
  /** Number of the attempt in flight or next (from 1). */
  attempt: number;
  attemptsOnModel: number;
  modelIndex: number;
  usage: Usage;
  startedAt: number | null;
  endedAt: number;
  retries: SpecialistRetryingEvent[];
  /** Waiting out a backoff that reaches the run's deadline: the wait ends it. */
  waitsForDeadline?: boolean;
}

/** What the shell must do next. */
export type AttemptEffect =
  /** Make attempt `attempt` on `model` and step again with its record ({@link afterAttempt}). */
  | { type: 'call'; model: string; attempt: number }
  /** Wait `ms`, then step again ({@link afterWait}). */
  | { type: 'wait'; ms: number }
  /** Done: this is the outcome. */
  | { type: 'settle'; outcome: SteppedOutcome };

/** One step: the new state and what to do. */
export interface AttemptStep {
  state: AttemptsState;
  effect: AttemptEffect;
}

/** Where a specialist's attempts stand, as the policy counts them. */
export interface AttemptCounters {
  /** Number of the attempt just made (from 1). */
  attempt: number;
  attemptsOnModel: number;
  modelIndex: number;
}

/** What follows a failed attempt: give up, or the next attempt's counters, after `delayMs`. */
export type NextAttempt = { action: 'giveUp' } | { action: 'retry'; next: AttemptCounters; delayMs: number; reason: 'backoff' | 'fallback' };

/**
 * The one rule for stepping attempts after a failure, shared by every runtime: the policy decides
 * (`decideAfterFailure`), and a retry counts one more attempt — on the same model, or the first
 * on the next one.
 */
export function nextAttemptAfter(policy: SpecialistSpec['policy'], counters: AttemptCounters, modelCount: number, error: ErrorInfo, random: () => number): NextAttempt {
  const decision = decideAfterFailure(policy, { attemptsOnModel: counters.attemptsOnModel, modelIndex: counters.modelIndex, modelCount }, error, random);
  if (decision.action === 'giveUp') return decision;
  const sameModel = decision.modelIndex === counters.modelIndex;
  return {
    action: 'retry',
    next: { attempt: counters.attempt + 1, attemptsOnModel: sameModel ? counters.attemptsOnModel + 1 : 1, modelIndex: decision.modelIndex },
    delayMs: decision.delayMs,
    reason: decision.reason,
  };
}

const callOf = (state: AttemptsState): AttemptEffect => ({ type: 'call', model: state.spec.models[state.modelIndex]!, attempt: state.attempt });

/** The outcome fields every settle shares: counts, usage, times and the loop fields of a one-call specialist. */
function settled(state: AttemptsState, fields: Pick<SpecialistOutcome, 'status' | 'output' | 'error' | 'model'>, stopReason: string | null = null): AttemptStep {
  const { spec } = state;
  const outcome: SteppedOutcome = {
    id: spec.id,
    angle: spec.angle,
    ...fields,
    attempts: state.attempt,
    usage: state.usage,
    startedAt: state.startedAt,
    endedAt: state.endedAt,
    turns: fields.status === 'fulfilled' ? 1 : 0,
    stopReason,
    loopLimit: null,
    toolCalls: [],
    ...(state.retries.length > 0 ? { retries: state.retries } : {}),
  };
  return { state, effect: { type: 'settle', outcome } };
}

/** The first step of a model specialist: call its first model. */
export function firstAttempt(spec: SpecialistSpec, deadlineAt?: number): AttemptStep {
  const state: AttemptsState = {
    spec,
    ...(deadlineAt !== undefined ? { deadlineAt } : {}),
    attempt: 1,
    attemptsOnModel: 1,
    modelIndex: 0,
    usage: emptyUsage(),
    startedAt: null,
    endedAt: 0,
    retries: [],
  };
  return { state, effect: callOf(state) };
}

/**
 * The step after an attempt: settle on success, on the run's deadline or when the policy gives
 * up; otherwise the next attempt, after its backoff. `random` gives the backoff's jitter (a
 * durable runtime passes its journaled random source, so a replay decides the same).
 */
export function afterAttempt(previous: AttemptsState, record: AttemptRecord, random: () => number): AttemptStep {
  const usage = emptyUsage();
  addUsageInto(usage, previous.usage);
  addUsageInto(usage, record.usage);
  const state: AttemptsState = { ...previous, usage, startedAt: previous.startedAt ?? record.startedAt, endedAt: record.endedAt };
  const model = state.spec.models[state.modelIndex] ?? null;
  if (record.ok) return settled(state, { status: 'fulfilled', output: record.text, error: null, model: record.model }, record.stopReason ?? null);
  const { error } = record;
  if (error.kind === 'deadline') return settled(state, { status: 'timedOut', output: null, error, model });
  const { spec } = state;
  const decision = nextAttemptAfter(spec.policy, state, spec.models.length, error, random);
  if (decision.action === 'giveUp') return settled(state, { status: 'rejected', output: null, error, model });
  const next: AttemptsState = { ...state, ...decision.next };
  const at = record.endedAt;
  next.retries = [
    ...state.retries,
    { type: 'specialist.retrying', id: spec.id, attempt: next.attempt, model: spec.models[next.modelIndex] ?? null, delayMs: decision.delayMs, reason: decision.reason, error, at },
  ];
  if (decision.delayMs <= 0) return { state: next, effect: callOf(next) };
  // A backoff that would outlast the run's deadline ends the specialist there instead.
  if (state.deadlineAt !== undefined && at + decision.delayMs >= state.deadlineAt) {
    return { state: { ...next, waitsForDeadline: true }, effect: { type: 'wait', ms: Math.max(0, state.deadlineAt - at) } };
  }
  return { state: next, effect: { type: 'wait', ms: decision.delayMs } };
}

/** The step after a backoff: the next attempt, or `timedOut` when the wait ran into the run's deadline. */
export function afterWait(state: AttemptsState): AttemptStep {
  if (!state.waitsForDeadline) return { state, effect: callOf(state) };
  // The attempt it waited for never happened.
  const ended: AttemptsState = { ...state, attempt: state.attempt - 1, endedAt: state.deadlineAt ?? state.endedAt, waitsForDeadline: false };
  return settled(ended, {
    status: 'timedOut',
    output: null,
    error: { kind: 'deadline', message: "the run's deadline passed while it waited to retry" },
    model: state.spec.models[state.modelIndex] ?? null,
  });
}

/**
 * The outcome of a specialist a stop cut short: what its finished attempts did, plus the one in
 * flight since `inFlightSince` (counted, its tokens unknown), ending `now`.
 */
export function stoppedAttempts(state: AttemptsState, inFlightSince: number | null, status: 'timedOut' | 'skipped', error: ErrorInfo, now: number): SteppedOutcome {
  // Between attempts (`attempt` is the next one) only the finished ones count.
  const attempts = inFlightSince !== null ? state.attempt : state.attempt - 1;
  const cut: AttemptsState = { ...state, attempt: attempts, endedAt: now, startedAt: state.startedAt ?? inFlightSince };
  return (settled(cut, { status, output: null, error, model: state.spec.models[state.modelIndex] ?? null }).effect as { outcome: SteppedOutcome }).outcome;
}
