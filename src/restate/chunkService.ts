/**
 * A chunk of a fan-out on Restate: one service invocation runs up to `chunkSize` specialists
 * concurrently, each model call a journaled step (`ctx.run`) and each backoff a durable timer.
 * Chunks are plain service calls, so the Restate server spreads them over every instance of the
 * fanfold service, and nothing is loaded or saved per specialist: a finished call is replayed
 * from the invocation's journal after a crash, never made again.
 *
 * The rules are the shared ones: the group is stepped by `stepFanOut` and each specialist by
 * the attempt steps (a tool-using one runs its whole loop in one call of the agent service). All
 * waiting goes through one `RestatePromise.race` over every pending step, so a replay sees events
 * in the same order. The run's deadline needs no timer here: each call aborts itself at it, and
 * the first event at or past it stops the chunk. A stop decided elsewhere arrives as a
 * cancellation of the invocation: the chunk asks the run's stop signal why, cuts its unfinished
 * specialists short with that reason and answers with every outcome.
 */
import * as restate from '@restatedev/restate-sdk';
import type { FanOutStop } from '../core/fanOutStep.ts';
import { afterAttempt, afterWait, firstAttempt, stoppedAttempts, type AttemptEffect, type AttemptRecord, type AttemptStep, type AttemptsState, type SteppedOutcome } from '../core/attemptStep.ts';
import { fanOutDone, initialFanOut, stepFanOut, type FanOutEffect, type FanOutState, type FanOutStepEvent } from '../core/fanOutStep.ts';
import { cancelStop, deadlineStop, stoppedError } from '../core/stops.ts';
import { unstartedOutcome } from '../outcome.ts';
import type { ModelProvider } from '../providers/provider.ts';
import { callModelOnce } from './modelCall.ts';
import { AGENT_SERVICE, type AgentService } from './agentService.ts';
import { expandSpecs, type CompactSpecs } from './compactSpecs.ts';
import { readStop, reportFailures, sendStop } from './stopSignal.ts';
import { reportProgress, type ProgressReport } from './progress.ts';

/** The chunk services' name. */
export const CHUNK_SERVICE = 'fanfoldChunk';

/** What a chunk runs. Plain JSON. */
export interface ChunkRequest {
  /** The run's key: its stop signal's key. */
  runKey: string;
  /** Chunk number. */
  index: number;
  /** Run index of its first specialist. */
  from: number;
  task: string;
  /** Its specialists, policies pooled. */
  specs: CompactSpecs;
  deadlineAt: number;
  deadlineMs: number;
  /** This chunk's share of the run's concurrency limit. */
  maxConcurrency: number | null;
  quorum: number;
  /** Specialists in the whole run. */
  runTotal: number;
  /** Shortest time between two progress reports (`progressInterval` of the run's chunk count). */
  progressEveryMs: number;
}

/** What a chunk answers: every outcome (with its retries), and why it stopped. */
export interface ChunkResult {
  outcomes: SteppedOutcome[];
  stop: FanOutStop | null;
}

/** What wakes the chunk. */
type Wake = { kind: 'record'; index: number; record: AttemptRecord } | { kind: 'waited'; index: number } | { kind: 'settled'; index: number; outcome: SteppedOutcome } | { kind: 'report' };

/** One running specialist: its attempts, and since when its call is in flight (`null` while it waits). */
interface Running {
  state: AttemptsState;
  inFlightSince: number | null;
  /** While it waits out a backoff: when the wait ends. */
  waitUntil?: number;
}

/** Runs one chunk to the end. */
export async function runChunk(ctx: restate.Context, provider: ModelProvider, request: ChunkRequest): Promise<ChunkResult> {
  const specs = expandSpecs(request.specs);
  // The time of the event being handled: from the records themselves (first the run's start),
  // so the chunk adds no journal entries of its own. The run's deadline needs no timer here
  // either: each call aborts itself at it, and the lead's own timer stops the run.
  let now = request.deadlineAt - request.deadlineMs;
  const group: FanOutState = initialFanOut({
    specialists: specs,
    maxConcurrency: request.maxConcurrency,
    quorum: request.quorum,
    runTotal: request.runTotal,
    deadlineMs: request.deadlineMs,
    deadlineAt: request.deadlineAt,
  });
  const running = new Map<number, Running>();
  const pending = new Map<number, restate.RestatePromise<Wake>>();
  /** Outcomes of specialists whose last call ended at the run's deadline, for the deadline's stop to record. */
  const endedAtDeadline = new Map<number, SteppedOutcome>();
  /**
   * How a specialist whose call ended at the run's deadline ends: as it settled when that is
   * fulfilled or rejected; cut short by the deadline (its words, as every other straggler's) when
   * its call was aborted by it or would have been tried again.
   */
  const atDeadline = (step: AttemptStep, at: number): SteppedOutcome => {
    const stop = deadlineStop(request.deadlineMs);
    if (step.effect.type !== 'settle') return stoppedAttempts(step.state, null, 'timedOut', stoppedError(stop), at);
    const { outcome } = step.effect;
    return outcome.status === 'timedOut' ? { ...outcome, error: stoppedError(stop) } : outcome;
  };

  /** Carries out one attempt effect of specialist `index`. */
  const follow = (index: number, state: AttemptsState, effect: AttemptEffect) => {
    if (effect.type === 'settle') {
      running.delete(index);
      pending.delete(index);
      return apply({ type: 'settled', index, outcome: effect.outcome });
    }
    if (effect.type === 'wait') {
      running.set(index, { state, inFlightSince: null, waitUntil: now + effect.ms });
      pending.set(
        index,
        ctx.sleep(effect.ms).map((): Wake => ({ kind: 'waited', index })),
      );
      return;
    }
    // Past the run's deadline a call would only be aborted: the deadline stop after this wake cuts it instead.
    if (now >= request.deadlineAt) return void running.set(index, { state, inFlightSince: null });
    running.set(index, { state, inFlightSince: now });
    const spec = specs[index]!;
    if (spec.tools.length > 0) {
      // A tool-using specialist runs its whole loop in one agent invocation, which journals each turn and tool call.
      const agent = ctx.serviceClient<AgentService>({ name: AGENT_SERVICE } as AgentService).run({ task: request.task, spec, deadlineAt: request.deadlineAt });
      pending.set(
        index,
        agent.map((outcome, failure): Wake => {
          if (failure instanceof restate.CancelledError) throw failure;
          const settled = outcome ?? unstartedOutcome(spec, 'rejected', { kind: 'unknown', message: `specialist "${spec.id}": its agent invocation failed: ${failure?.message ?? 'no answer'}` }, now);
          return { kind: 'settled', index, outcome: settled };
        }),
      );
      return;
    }
    const call = ctx.run(`${spec.id}: attempt ${effect.attempt} on ${effect.model}`, () =>
      callModelOnce(provider, { task: request.task, spec, deadlineAt: request.deadlineAt }, effect.model, effect.attempt),
    );
    pending.set(
      index,
      call.map((record): Wake => ({ kind: 'record', index, record: record! })),
    );
  };

  /** Steps the group and carries out its effects, in order. */
  function apply(event: FanOutStepEvent): void {
    for (const effect of stepFanOut(group, event, { now })) carryOut(effect);
  }

  /** Carries out one of the group's effects. */
  function carryOut(effect: FanOutEffect): void {
    switch (effect.type) {
      case 'start': {
        const spec = specs[effect.index]!;
        if (spec.kind !== 'model') {
          // Task functions and sub-leads never reach a chunk (the client refuses them); say so if one does.
          const message = `specialist "${spec.id}" is ${spec.kind === 'task' ? 'a task function' : 'a nested sub-lead'}, which the Restate runtime does not run`;
          apply({ type: 'settled', index: effect.index, outcome: unstartedOutcome(spec, 'rejected', { kind: 'unknown', message }, now) });
          return;
        }
        const first = firstAttempt(spec, request.deadlineAt);
        follow(effect.index, first.state, first.effect);
        return;
      }
      case 'cut': {
        const ended = endedAtDeadline.get(effect.index);
        const cut = running.get(effect.index);
        running.delete(effect.index);
        pending.delete(effect.index);
        const outcome = ended ?? (cut ? stoppedAttempts(cut.state, cut.inFlightSince, effect.status, effect.error, now) : unstartedOutcome(specs[effect.index]!, effect.status, effect.error, now));
        apply({ type: 'settled', index: effect.index, outcome, cut: true });
        return;
      }
      case 'announce':
        sendStop(ctx, request.runKey, effect.stop);
        return;
      default:
        // `recorded`: read from the group's outcomes when reporting; a chunk has no call slots,
        // restarts or specialist deadlines of its own (`waitForSlot`, `discard`, `deadlineTimer`).
        return;
    }
  }

  // Progress for followers: what settled since the last report, sent at most every `progressEveryMs`.
  let reported = 0;
  let reportedAt = now;
  let reportTimer: restate.RestatePromise<Wake> | null = null;
  const report = () => {
    const settled: ProgressReport['settled'] = [];
    group.outcomes.forEach((outcome, offset) => outcome && !sent[offset] && settled.push({ offset, outcome: outcome as SteppedOutcome }));
    for (const { offset } of settled) sent[offset] = true;
    reported += settled.length;
    reportedAt = now;
    reportTimer = null;
    if (settled.length > 0) reportProgress(ctx, request.runKey, { chunk: request.index, from: request.from, settled });
  };
  const sent: boolean[] = new Array<boolean>(specs.length).fill(false);
  try {
    apply({ type: 'fill' });
    while (!fanOutDone(group)) {
      const failedBefore = group.unsuccessful;
      const wake = await restate.RestatePromise.race(reportTimer ? [...pending.values(), reportTimer] : [...pending.values()]);
      if (wake.kind === 'report') {
        report();
        continue;
      }
      if (wake.kind === 'waited') {
        const entry = running.get(wake.index)!;
        now = Math.max(now, entry.waitUntil ?? now);
        // A backoff that ran into the run's deadline: the deadline's stop below cuts it, with the others.
        if (now < request.deadlineAt) {
          const next = afterWait(entry.state);
          follow(wake.index, next.state, next.effect);
        }
      } else if (wake.kind === 'settled') {
        now = Math.max(now, wake.outcome.endedAt);
        const settle: AttemptStep = { state: running.get(wake.index)!.state, effect: { type: 'settle', outcome: wake.outcome } };
        if (now >= request.deadlineAt && group.stop === null) {
          pending.delete(wake.index);
          endedAtDeadline.set(wake.index, atDeadline(settle, now));
        } else {
          follow(wake.index, settle.state, settle.effect);
        }
      } else {
        const entry = running.get(wake.index)!;
        now = Math.max(now, wake.record.endedAt);
        const next = afterAttempt(entry.state, wake.record, () => ctx.rand.random());
        if (now >= request.deadlineAt && group.stop === null) {
          // At the run's deadline: this one ends with the stop below, as the others still running do,
          // and nothing new starts (settling it first would fill its slot).
          pending.delete(wake.index);
          endedAtDeadline.set(wake.index, atDeadline(next, now));
        } else {
          follow(wake.index, next.state, next.effect);
        }
      }
      // Past the run's deadline nothing more starts; what runs is cut short.
      if (now >= request.deadlineAt && group.stop === null) apply({ type: 'stop', stop: deadlineStop(request.deadlineMs) });
      // The run's quorum is judged over every chunk's failures, by the stop signal.
      const failed = group.unsuccessful - failedBefore;
      if (failed > 0 && group.stop === null && request.quorum > 0) reportFailures(ctx, request.runKey, { count: failed, quorum: request.quorum, total: request.runTotal });
      const settledNow = group.fulfilled + group.unsuccessful;
      if (settledNow > reported && !fanOutDone(group)) {
        if (now - reportedAt >= request.progressEveryMs) report();
        else reportTimer ??= ctx.sleep(reportedAt + request.progressEveryMs - now).map((): Wake => ({ kind: 'report' }));
      }
    }
  } catch (error) {
    if (!(error instanceof restate.CancelledError)) throw error;
    // Cancelled by the fan-out: a stop was decided elsewhere; the stop signal says which.
    const stop = (await readStop(ctx, request.runKey)) ?? cancelStop();
    now = Math.max(now, await ctx.date.now());
    apply({ type: 'stop', stop });
  }
  // A chunk that ran long enough to report tells followers the rest; a short one's outcomes
  // reach them with the fan-out's answer, moments later, without a write of their own.
  if (reported > 0) report();
  return { outcomes: group.outcomes as SteppedOutcome[], stop: group.stop };
}

/** The chunk service, bound to a provider. */
export function createChunkService(provider: ModelProvider) {
  return restate.service({
    name: CHUNK_SERVICE,
    handlers: {
      run: async (ctx: restate.Context, request: ChunkRequest): Promise<ChunkResult> => runChunk(ctx, provider, request),
    },
  });
}

/** The chunk service's type, for clients. */
export type ChunkService = ReturnType<typeof createChunkService>;
