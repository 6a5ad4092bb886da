/**
 * The fan-out actor: the lead's one child during `fanningOut`, and the parent of every
 * specialist actor. It starts specialists as concurrency slots open, keeps each outcome as it
 * arrives, applies the run-level policies that must act at once (escalate, quorum out of
 * reach), and on the deadline or a cancel stops the stragglers while keeping every finished
 * outcome. It reports to the lead in batches and completes with all outcomes.
 *
 * Why custom actor logic and not a machine with `spawnChild`: XState copies a machine's
 * `children` map on every spawn and every stop, so N children cost O(N²) (~1.5 s at 1,000
 * and ~47 s at 10,000 specialists here). This actor keeps its children in a `Map` and its
 * bookkeeping O(1) per outcome, creates a specialist actor only when a slot opens, and batches
 * its reports (one lead event per timer tick, not one per specialist).
 */
import { createActor, type ActorLogic, type AnyActorLogic, type AnyActorRef, type Snapshot } from 'xstate';
import type { Clock } from '../clock.ts';
import type { LeadInput, SpecialistSpec } from '../config.ts';
import { FanfoldError, type ErrorInfo } from '../errors.ts';
import { settledEventType, type RunEvent, type SpecialistProgressEvent, type SpecialistTokenEvent } from '../events.ts';
import { unstartedOutcome, type SpecialistOutcome } from '../outcome.ts';
import { addUsageInto, emptyUsage, type Usage } from '../usage.ts';
import { quorumUnreachable } from '../policy.ts';
import { cancelStop, deadlineStop as deadlineStopFor, escalates, escalationStop, quorumStop as quorumStopFor, stopAfterSettled, stoppedError, stoppedStatus } from '../core/stops.ts';
import type { NestedOutcomes } from '../checkpoint/nestedOutcomes.ts';
import type { LoopSteps } from '../checkpoint/loopSteps.ts';
import type { BudgetLedger } from '../budget/ledger.ts';
import type { StreamFold } from '../fold/streamFold.ts';
import { weighFindings } from '../findings/weights.ts';
import type { RunResult } from '../result.ts';
import { outcomeOfSubLead, stopSubLead, subLeadInput } from './subLead.ts';
import { callsMade, currentModel, outcomeOfStopped, type ProgressSinks, type SpecialistActorInput, type SpecialistActorLogic, type SpecialistSnapshot } from './specialist.ts';

/** What the fan-out is started with: the part of the lead's input it needs. Plain JSON. */
export type FanOutInput = Pick<LeadInput, 'task' | 'specialists' | 'quorum' | 'maxConcurrency' | 'deadlineMs' | 'weights' | 'context' | 'budget'> & {
  /** The shared context's cache is written already (a sub-lead's fan-out, under its parent's): no warm-up. */
  cacheWarm?: boolean;
  /** A streaming fold: each fulfilled finding is handed to the run's fold to digest, with this synthesizer. */
  fold?: { synthesizer: SpecialistSpec };
  /** When the run's deadline passes (ms since epoch); attempts need no timer of their own past it. */
  deadlineAt: number;
  /**
   * A model lead's fan-out: specialists are added while it runs (`fanOut.add`), and it ends
   * when told (`fanOut.close`) rather than when the last one settles; the quorum is judged then.
   */
  open?: boolean;
};

/** Why a fan-out ended before every specialist finished on its own. */
export interface FanOutStop {
  reason: 'deadline' | 'cancelled' | 'escalated' | 'quorumUnreachable' | 'crashed' | 'budget';
  message: string;
  /** The specialist whose failure escalated, or whose actor crashed. */
  by?: string;
}

/** The fan-out's output: one outcome per specialist, in config order. */
export interface FanOutOutput {
  outcomes: SpecialistOutcome[];
  stop: FanOutStop | null;
}

/** A batch of news for the lead. */
export interface FanOutProgressEvent {
  type: 'fanOut.progress';
  /** Run events since the last batch, in order. */
  events: RunEvent[];
  /** Outcomes settled since the last batch, with their index in config order. */
  settled: Array<{ index: number; outcome: SpecialistOutcome }>;
  /** True once every specialist has been started (none waits for a slot). */
  allStarted: boolean;
}

/** Events the fan-out handles. */
export type FanOutEvent =
  | SpecialistProgressEvent
  | { type: `xstate.done.actor.${string}`; output: SpecialistOutcome; actorId?: string }
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId?: string }
  | { type: 'fanOut.deadline' }
  /** A call slot is free: start the next queued specialist if it fits. */
  | { type: 'fanOut.fill' }
  | { type: 'fanOut.cancel'; reason?: string }
  | { type: 'specialist.restart'; id: string }
  /** An open fan-out: start these specialists too; each stops at `deadlineAt` if still running (`null`: the run's deadline). */
  | { type: 'fanOut.add'; specs: SpecialistSpec[]; deadlineAt: number | null; message?: string }
  /** An open fan-out: stop these specialists at `deadlineAt` (ms since epoch) if they are still running then, saying `message`. */
  | { type: 'fanOut.deadlines'; ids: string[]; deadlineAt: number; message: string }
  /** An open fan-out: the lead is done; stop whoever still runs (`skipped`, with `message`) and finish. */
  | { type: 'fanOut.close'; message: string }
  /** A specialist's own deadline passed (its timer fired). */
  | { type: 'fanOut.agentDeadline' }
  /** The cache warmer's first response has begun: the shared context is cached. */
  | { type: 'specialist.cacheWritten'; id: string }
  /** The run's budget is spent: nothing new starts (with `onBudget: 'cut'`, running ones stop too). */
  | { type: 'fanOut.budget' }
  | { type: 'xstate.stop' };

/** The fan-out's snapshot. Its fields are updated in place for O(1) bookkeeping: read, don't write. */
export type FanOutSnapshot = Snapshot<FanOutOutput> & {
  input: FanOutInput;
  /** Outcome per specialist in config order; `null` while unfinished. */
  outcomes: Array<SpecialistOutcome | null>;
  /** Index of the next specialist to start. */
  nextIndex: number;
  /** Specialists to start again (restarted after they settled), before `nextIndex`. */
  requeued: number[];
  running: number;
  fulfilled: number;
  unsuccessful: number;
  stop: FanOutStop | null;
  /**
   * Attempts and usage of runs a restart discarded, by specialist index, folded into that
   * specialist's next outcome so `modelCalls` and usage count every call made.
   */
  discarded: Record<number, { attempts: number; usage: Usage }>;
  /** An open fan-out: set once the lead closed it. */
  closed?: boolean;
  /** Specialists' own deadlines (an open fan-out's), by index: when, and what their outcome says. */
  deadlines?: Record<number, { at: number; message: string }>;
  /**
   * The shared context's cache warm-up: `pending` until the first specialist starts, `warming`
   * while only it runs (until its first response begins or it settles), then `done`. Absent
   * when there is nothing to warm.
   */
  warm?: 'pending' | 'warming' | 'done';
  /** The specialist warming the cache. */
  warmer?: string;
};

const DONE_PREFIX = 'xstate.done.actor.';
const ERROR_PREFIX = 'xstate.error.actor.';

/** The outcome of a specialist whose actor crashed: what it had done, and the error. */
function crashOutcome(spec: SpecialistSpec, child: AnyActorRef, error: unknown, now: number): SpecialistOutcome {
  const info: ErrorInfo = { kind: 'unknown', message: `internal error in specialist "${spec.id}": ${error instanceof Error ? error.message : String(error)}` };
  const last = child.getSnapshot() as Partial<SpecialistSnapshot>;
  if (last.progress && last.input) return { ...outcomeOfStopped(last as SpecialistSnapshot, 'skipped', info, now), status: 'rejected' };
  return unstartedOutcome(spec, 'rejected', info, now);
}

const deadlineStop = (snapshot: FanOutSnapshot): FanOutStop => deadlineStopFor(snapshot.input.deadlineMs);
/** An open fan-out not yet closed: more specialists may come, so nothing is judged yet. */
const stillOpen = (snapshot: FanOutSnapshot) => snapshot.input.open === true && snapshot.closed !== true && snapshot.stop === null;
const quorumLost = (snapshot: FanOutSnapshot) =>
  !stillOpen(snapshot) && quorumUnreachable({ total: snapshot.input.specialists.length, fulfilled: snapshot.fulfilled, unsuccessful: snapshot.unsuccessful }, snapshot.input.quorum);
const quorumStop = (snapshot: FanOutSnapshot): FanOutStop => quorumStopFor(snapshot.input.quorum, snapshot.unsuccessful, snapshot.input.specialists.length);

/**
 * Why a fan-out restored from a checkpoint must stop before starting anyone: its deadline passed
 * while the run was down, or a kept outcome escalates, or the kept failures already lose the
 * quorum (the process died before it could act on them). `null` for a fresh start.
 */
function stopOnRestore(snapshot: FanOutSnapshot, now: number): FanOutStop | null {
  if (snapshot.stop !== null || snapshot.fulfilled + snapshot.unsuccessful >= snapshot.input.specialists.length) return null;
  if (now >= snapshot.input.deadlineAt) return deadlineStop(snapshot);
  const escalating = snapshot.outcomes.find((outcome, index) => outcome !== null && escalates(snapshot.input.specialists[index]!, outcome));
  if (escalating) return escalationStop(escalating);
  return quorumLost(snapshot) ? quorumStop(snapshot) : null;
}

/**
 * The shortest shared context worth a warm-up: the API caches nothing below a model's minimum
 * (1,024 tokens for most models, more for some); below it the context is sent plainly and
 * every specialist starts at once.
 */
export const MIN_CACHED_CONTEXT_TOKENS = 1024;

/** About four characters a token: enough to tell a short context from a long one. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Most run events in one report to the lead. */
const MAX_BATCH = 128;

export type FanOutLogic = ActorLogic<FanOutSnapshot, FanOutEvent, FanOutInput>;

/**
 * The run's call slots (its `maxConcurrency`), shared by the fan-outs of every level: a
 * specialist holds one while it runs; a sub-lead holds none (its specialists do).
 */
interface CallSlots {
  limit: number;
  inFlight: number;
  /** Fan-outs waiting for a slot to start their next specialist. */
  waiting: Set<AnyActorRef>;
}

/** Live, non-JSON state of one fan-out actor. */
interface FanOutRuntime {
  children: Map<string, AnyActorRef>;
  /** Config indexes from the top fan-out down to this one's sub-lead; `null` for the top fan-out. */
  path: number[] | null;
  /** The run-wide call slots; `null` when the run has no `maxConcurrency`. */
  slots: CallSlots | null;
  /** Ids of the children holding a call slot. */
  holding: Set<string>;
  indexById: Map<string, number>;
  pendingEvents: RunEvent[];
  pendingSettled: Array<{ index: number; outcome: SpecialistOutcome }>;
  /**
   * True while the actor starts: nothing is sent then, so that whoever started the run (and
   * subscribes right after) receives every event, the first `specialist.started` included.
   */
  starting: boolean;
  /** Per specialist, its token event in the pending batch that later deltas can still join. */
  openTokens: Map<string, SpecialistTokenEvent>;
  flushTimer: unknown;
  reportedAllStarted: boolean;
  /** The timer of the earliest specialist deadline (an open fan-out's), and when it fires. */
  deadlineTimer: unknown;
  deadlineTimerAt: number | null;
  /** Stops listening to the run's budget. */
  unbudget?: (() => void) | null;
}

/** What the fan-out needs: the specialist logic to spawn, and the clock. */
export interface FanOutDependencies {
  specialist: SpecialistActorLogic;
  clock: Clock;
  /** Where to register this actor's direct progress intake (shared with the specialist logic). */
  sinks?: ProgressSinks;
  /** The lead logic to start for a sub-lead specialist (N-level fan-out). */
  subLead?: () => AnyActorLogic;
  /** Where fan-outs inside sub-leads report outcomes (for checkpoints) and take kept ones (on resume). */
  nested?: NestedOutcomes;
  /** Where specialists journal their loop steps (checkpointed runs), and kept steps are taken on resume. */
  steps?: LoopSteps;
  /** The run's budget: once it is spent, this fan-out stops starting specialists. */
  budget?: BudgetLedger;
  /** The run's streaming fold (`fanIn: 'stream'`): fulfilled findings are digested as they arrive. */
  fold?: { current: StreamFold | null };
}

/**
 * Creates the fan-out actor logic.
 *
 * @example
 * const fanOut = createFanOutLogic({ specialist: createSpecialistLogic(deps), clock: systemClock });
 */
export function createFanOutLogic({ specialist, clock, sinks, subLead, nested, steps, budget, fold }: FanOutDependencies): FanOutLogic {
  const subLeadLogic = () => {
    if (!subLead) throw new FanfoldError('usage', 'This fan-out was not given a sub-lead logic: create its actors with createRunActors()');
    return subLead();
  };

  const runtimes = new WeakMap<AnyActorRef, FanOutRuntime>();

  const runtimeOf = (self: AnyActorRef, snapshot: FanOutSnapshot): FanOutRuntime => {
    let runtime = runtimes.get(self);
    if (!runtime) {
      const indexById = new Map<string, number>();
      snapshot.input.specialists.forEach((spec, index) => indexById.set(spec.id, index));
      runtime = {
        children: new Map(),
        path: pathOf(self),
        slots: runSlots(self, snapshot),
        holding: new Set(),
        indexById,
        pendingEvents: [],
        pendingSettled: [],
        starting: false,
        openTokens: new Map(),
        flushTimer: null,
        reportedAllStarted: false,
        deadlineTimer: null,
        deadlineTimerAt: null,
      };
      runtimes.set(self, runtime);
    }
    return runtime;
  };

  /**
   * Where this fan-out sits: its lead is a sub-lead (a child of an enclosing fan-out, under
   * its specialist's id) or the top lead (no parent).
   */
  const pathOf = (self: AnyActorRef): number[] | null => {
    const lead = self._parent;
    const enclosing = lead?._parent ? runtimes.get(lead._parent) : undefined;
    const index = enclosing?.indexById.get(lead!.id);
    if (!enclosing || index === undefined) return null;
    return [...(enclosing.path ?? []), index];
  };

  /** The call slots of the run: an enclosing fan-out's (this one is in a sub-lead), or new ones. */
  const runSlots = (self: AnyActorRef, snapshot: FanOutSnapshot): CallSlots | null => {
    for (let ancestor = self._parent; ancestor; ancestor = ancestor._parent) {
      const enclosing = runtimes.get(ancestor);
      if (enclosing) return enclosing.slots;
    }
    const limit = snapshot.input.maxConcurrency;
    return limit === null ? null : { limit, inFlight: 0, waiting: new Set() };
  };

  /** Forgets a child; if it held a call slot, frees it and wakes the fan-outs waiting for one. */
  const removeChild = (runtime: FanOutRuntime, id: string) => {
    runtime.children.delete(id);
    const slots = runtime.slots;
    if (!slots || !runtime.holding.delete(id)) return;
    slots.inFlight--;
    const waiting = [...slots.waiting];
    slots.waiting.clear();
    for (const waiter of waiting) if (waiter.getSnapshot().status === 'active') waiter.send({ type: 'fanOut.fill' });
  };

  const allStarted = (snapshot: FanOutSnapshot) => snapshot.nextIndex >= snapshot.input.specialists.length && snapshot.requeued.length === 0;

  /** Sends the batch to the lead now. */
  const flush = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime) => {
    if (runtime.flushTimer !== null) {
      clock.clearTimeout(runtime.flushTimer);
      runtime.flushTimer = null;
    }
    const started = allStarted(snapshot);
    if (runtime.pendingEvents.length === 0 && runtime.pendingSettled.length === 0 && started === runtime.reportedAllStarted) return;
    const { pendingEvents: events, pendingSettled: settled } = runtime;
    runtime.pendingEvents = [];
    runtime.openTokens.clear();
    runtime.pendingSettled = [];
    runtime.reportedAllStarted = started;
    // At most MAX_BATCH run events per report (see scheduleFlush); settled outcomes go with the last.
    for (let at = MAX_BATCH; at < events.length; at += MAX_BATCH) {
      self._parent?.send({ type: 'fanOut.progress', events: events.slice(at - MAX_BATCH, at), settled: [], allStarted: false } satisfies FanOutProgressEvent);
    }
    const tail = events.length > MAX_BATCH ? events.slice(events.length - ((events.length - 1) % MAX_BATCH) - 1) : events;
    self._parent?.send({ type: 'fanOut.progress', events: tail, settled, allStarted: started } satisfies FanOutProgressEvent);
  };

  /**
   * Sends the batch on the next timer tick, so a burst of completions becomes one lead event;
   * a full batch goes at once (the lead re-emits each event as a deferred action, and XState
   * drains those with `Array#shift`, which is quadratic in the batch size).
   */
  const scheduleFlush = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime) => {
    if (runtime.pendingEvents.length >= MAX_BATCH && !runtime.starting) return flush(self, snapshot, runtime);
    if (runtime.flushTimer !== null) return;
    runtime.flushTimer = clock.setTimeout(() => {
      runtime.flushTimer = null;
      if (self.getSnapshot().status === 'active') flush(self, snapshot, runtime);
    }, 0);
  };

  /** Takes a specialist's progress event into the next batch. */
  const intake = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, event: SpecialistProgressEvent) => {
    if (event.type === 'specialist.token') {
      // Deltas of one specialist that arrive within one batch travel as one event.
      const open = runtime.openTokens.get(event.id);
      if (open) {
        open.text += event.text;
        return;
      }
      const joined = { ...event };
      runtime.openTokens.set(event.id, joined);
      runtime.pendingEvents.push(joined);
    } else {
      if (runtime.openTokens.size > 0) runtime.openTokens.delete(event.id);
      runtime.pendingEvents.push(event);
    }
    scheduleFlush(self, snapshot, runtime);
  };

  /** A specialist's input; in a checkpointed run, with its path and the loop steps a checkpoint kept. */
  const specialistInput = (snapshot: FanOutSnapshot, runtime: FanOutRuntime, spec: SpecialistSpec, index: number): SpecialistActorInput => {
    const input: SpecialistActorInput = { task: snapshot.input.task, spec, deadlineAt: snapshot.input.deadlineAt };
    if (snapshot.input.context !== undefined) input.context = snapshot.input.context;
    if (snapshot.warmer === spec.id) input.warmsCache = true;
    if (!steps || spec.tools.length === 0) return input;
    const path = [...(runtime.path ?? []), index];
    const kept = steps.take(path);
    return kept ? { ...input, path, resume: kept } : { ...input, path };
  };

  const spawn = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, index: number) => {
    const spec = snapshot.input.specialists[index] as SpecialistSpec;
    const child: AnyActorRef =
      spec.kind === 'fanOut'
        ? createActor(subLeadLogic(), {
            id: spec.id,
            parent: self,
            input: subLeadInput(snapshot.input.task, spec, snapshot.input.deadlineAt, clock.now(), snapshot.input.weights, snapshot.input.context, snapshot.input.budget),
          })
        : createActor(specialist, { id: spec.id, parent: self, input: specialistInput(snapshot, runtime, spec, index) });
    runtime.children.set(spec.id, child);
    if (runtime.slots && spec.kind !== 'fanOut') {
      runtime.slots.inFlight++;
      runtime.holding.add(spec.id);
    }
    snapshot.running++;
    if (runtime.openTokens.size > 0) runtime.openTokens.delete(spec.id);
    runtime.pendingEvents.push({ type: 'specialist.started', id: spec.id, model: currentModel(spec, 0), at: clock.now() });
    if (runtime.pendingEvents.length >= MAX_BATCH && !runtime.starting) flush(self, snapshot, runtime);
    child.start();
  };

  /**
   * Starts queued specialists, in order, while this level has room (its own `maxConcurrency`)
   * and the run has a free call slot; otherwise waits to be woken when one frees up.
   */
  const fillSlots = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime) => {
    const limit = snapshot.input.maxConcurrency ?? Infinity;
    const total = snapshot.input.specialists.length;
    const { slots } = runtime;
    while (snapshot.running < limit && snapshot.stop === null) {
      // Warming the shared context's cache: one specialist first, the rest once it is written.
      if (snapshot.warm === 'warming') break;
      const index = snapshot.requeued.length > 0 ? snapshot.requeued[0]! : snapshot.nextIndex < total ? snapshot.nextIndex : undefined;
      if (index === undefined) break;
      if (slots && slots.inFlight >= slots.limit && snapshot.input.specialists[index]!.kind !== 'fanOut') {
        slots.waiting.add(self);
        break;
      }
      if (snapshot.requeued.length > 0) snapshot.requeued.shift();
      else snapshot.nextIndex++;
      // Restored from a checkpoint whose journal settled it after the snapshot: never call it again.
      if (snapshot.outcomes[index]) continue;
      const spec = snapshot.input.specialists[index]!;
      if (snapshot.warm === 'pending' && spec.kind === 'model') {
        snapshot.warm = 'warming';
        snapshot.warmer = spec.id;
      }
      spawn(self, snapshot, runtime, index);
    }
  };

  /** Keeps a discarded run's attempts and usage for the specialist's next outcome. */
  const discard = (snapshot: FanOutSnapshot, index: number, attempts: number, usage: Usage) => {
    const kept = (snapshot.discarded[index] ??= { attempts: 0, usage: emptyUsage() });
    kept.attempts += attempts;
    addUsageInto(kept.usage, usage);
  };

  /** Keeps a settled outcome. `report`: tell the checkpoint of a nested one (not one it just handed back). */
  const record = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, index: number, settled: SpecialistOutcome, report = true) => {
    let outcome = settled;
    const kept = snapshot.discarded[index];
    if (kept) {
      delete snapshot.discarded[index];
      outcome = { ...settled, attempts: settled.attempts + kept.attempts, usage: addUsageInto({ ...kept.usage }, settled.usage) };
    }
    snapshot.outcomes[index] = outcome;
    if (outcome.status === 'fulfilled') snapshot.fulfilled++;
    else snapshot.unsuccessful++;
    // The warmer settled before its response began (it failed): the others go ahead uncached.
    if (snapshot.warm === 'warming' && snapshot.warmer === outcome.id) snapshot.warm = 'done';
    // A streaming fold digests the finding now, while the others still work.
    if (snapshot.input.fold && outcome.status === 'fulfilled' && fold?.current) {
      const { input } = snapshot;
      const weight = input.weights ? weighFindings([outcome], input.weights).get(outcome.id) : undefined;
      fold.current.add({ task: input.task, synthesizer: input.fold!.synthesizer, ...(input.context !== undefined ? { context: input.context } : {}) }, outcome, weight);
    }
    if (report && runtime.path) nested?.settled([...runtime.path, index], outcome);
    runtime.pendingSettled.push({ index, outcome });
    if (runtime.openTokens.size > 0) runtime.openTokens.delete(outcome.id);
    runtime.pendingEvents.push({ type: settledEventType(outcome), id: outcome.id, outcome });
    if (runtime.pendingEvents.length >= MAX_BATCH && !runtime.starting) flush(self, snapshot, runtime);
  };

  /**
   * Stops every unfinished specialist, recording why: running ones keep the attempts, model and
   * usage they had; queued ones never started.
   */
  const stopAll = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, stop: FanOutStop, stopChild: (child: AnyActorRef) => void) => {
    snapshot.stop = stop;
    const status = stoppedStatus(stop);
    const error = stoppedError(stop);
    snapshot.input.specialists.forEach((_spec, index) => stopOne(self, snapshot, runtime, index, status, error, stopChild));
    snapshot.running = 0;
    snapshot.requeued = [];
    snapshot.nextIndex = snapshot.input.specialists.length;
  };

  /** Stops one unfinished specialist, recording why (running: what it had done; queued: never started). */
  const stopOne = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, index: number, status: 'timedOut' | 'skipped', error: ErrorInfo, stopChild: (child: AnyActorRef) => void) => {
    if (snapshot.outcomes[index]) return;
    const spec = snapshot.input.specialists[index]!;
    const now = clock.now();
    const child = runtime.children.get(spec.id);
    if (child) {
      const last = child.getSnapshot();
      record(self, snapshot, runtime, index, spec.kind === 'fanOut' ? stopSubLead(child, spec, status, error, now) : outcomeOfStopped(last as SpecialistSnapshot, status, error, now));
      stopChild(child);
      removeChild(runtime, spec.id);
      snapshot.running--;
    } else {
      // Below nextIndex it had been started once: restarted, or resumed after a crash.
      const why = index < snapshot.nextIndex ? 'it was waiting to start again' : 'it was still waiting for a concurrency slot';
      record(self, snapshot, runtime, index, unstartedOutcome(spec, status, { kind: error.kind, message: `${error.message} (${why})` }, now));
      // Never to be started: out of the queue.
      snapshot.requeued = snapshot.requeued.filter((queued) => queued !== index);
    }
  };

  /** Arms one timer for the earliest deadline of an unfinished specialist (an open fan-out's). */
  const armDeadlines = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime) => {
    let earliest: number | null = null;
    for (const [index, deadline] of Object.entries(snapshot.deadlines ?? {})) {
      if (snapshot.outcomes[Number(index)]) continue;
      if (earliest === null || deadline.at < earliest) earliest = deadline.at;
    }
    if (earliest === runtime.deadlineTimerAt) return;
    if (runtime.deadlineTimer !== null) clock.clearTimeout(runtime.deadlineTimer);
    runtime.deadlineTimer = null;
    runtime.deadlineTimerAt = earliest;
    if (earliest === null) return;
    runtime.deadlineTimer = clock.setTimeout(
      () => {
        runtime.deadlineTimer = null;
        runtime.deadlineTimerAt = null;
        if (self.getSnapshot().status === 'active') self.send({ type: 'fanOut.agentDeadline' });
      },
      Math.max(0, earliest - clock.now()),
    );
  };

  /** Sets (or brings forward) a specialist's own deadline. */
  const setDeadline = (snapshot: FanOutSnapshot, index: number, at: number, message: string) => {
    const deadlines = (snapshot.deadlines ??= {});
    const current = deadlines[index];
    if (!current || at < current.at) deadlines[index] = { at, message };
  };

  /** Completes the fan-out once nothing is left unfinished. */
  const maybeFinish = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime): FanOutSnapshot => {
    if (snapshot.fulfilled + snapshot.unsuccessful < snapshot.input.specialists.length || stillOpen(snapshot)) return snapshot;
    runtime.unbudget?.();
    if (runtime.deadlineTimer !== null) clock.clearTimeout(runtime.deadlineTimer);
    runtime.deadlineTimer = null;
    flush(self, snapshot, runtime);
    sinks?.delete(self);
    runtime.slots?.waiting.delete(self);
    return { ...snapshot, status: 'done', error: undefined, output: { outcomes: snapshot.outcomes as SpecialistOutcome[], stop: snapshot.stop } };
  };

  return {
    getInitialSnapshot: (_scope, input) => ({
      status: 'active',
      output: undefined,
      error: undefined,
      input,
      outcomes: new Array<SpecialistOutcome | null>(input.specialists.length).fill(null),
      nextIndex: 0,
      requeued: [],
      running: 0,
      fulfilled: 0,
      unsuccessful: 0,
      stop: null,
      discarded: {},
      ...(input.context !== undefined && !input.cacheWarm && estimateTokens(input.context) >= MIN_CACHED_CONTEXT_TOKENS ? { warm: 'pending' as const } : {}),
    }),

    start: (snapshot, { self }) => {
      if (snapshot.status !== 'active') return;
      const runtime = runtimeOf(self, snapshot);
      sinks?.set(self, (event) => {
        if (self.getSnapshot().status === 'active') intake(self, self.getSnapshot(), runtime, event);
      });
      // Told (once) when the run's budget is spent; checked again as it starts, for a restore.
      runtime.unbudget =
        budget?.onExhausted(() => {
          if (self.getSnapshot().status === 'active') self.send({ type: 'fanOut.budget' });
        }) ?? null;
      // After a restore: specialists that were in flight (or queued by a restart) start again;
      // finished ones stay finished.
      snapshot.requeued = [];
      snapshot.input.specialists.forEach((_spec, index) => {
        if (index < snapshot.nextIndex && !snapshot.outcomes[index]) snapshot.requeued.push(index);
      });
      snapshot.running = 0;
      // A warm-up cut short by a restart: warm again (its warmer starts again first).
      if (snapshot.warm === 'warming') snapshot.warm = 'pending';
      runtime.starting = true;
      // A sub-lead restarted on resume: what its specialists finished before the crash is kept.
      if (runtime.path && nested) {
        snapshot.input.specialists.forEach((_spec, index) => {
          const kept = snapshot.outcomes[index] ? undefined : nested.take([...runtime.path!, index]);
          if (kept) record(self, snapshot, runtime, index, kept, false);
        });
      }
      // Restored after the deadline passed, or with an escalation or a lost quorum among the kept
      // outcomes: stop the rest before calling anyone, as the run would have.
      const stop = stopOnRestore(snapshot, clock.now());
      if (stop) stopAll(self, snapshot, runtime, stop, () => {});
      else fillSlots(self, snapshot, runtime);
      if (!stop) armDeadlines(self, snapshot, runtime);
      scheduleFlush(self, snapshot, runtime);
      runtime.starting = false;
      // Restored with every outcome in (the process died before it could finish): finish now.
      if (snapshot.fulfilled + snapshot.unsuccessful >= snapshot.input.specialists.length) self.send({ type: 'fanOut.fill' });
    },

    transition: (snapshot, event, { self, stopChild }) => {
      if (snapshot.status !== 'active') return snapshot;
      const runtime = runtimeOf(self, snapshot);
      switch (event.type) {
        case 'specialist.started':
        case 'specialist.token':
        case 'specialist.retrying':
        case 'specialist.tool.started':
        case 'specialist.tool.done':
        case 'specialist.turn':
          intake(self, snapshot, runtime, event);
          return snapshot;

        case 'fanOut.budget': {
          if (snapshot.stop !== null) return snapshot;
          const stop: FanOutStop = { reason: 'budget', message: "budget: not started, the run's budget was spent" };
          if (snapshot.input.budget?.onBudget === 'cut') {
            stopAll(self, snapshot, runtime, { reason: 'budget', message: "budget: stopped, the run's budget was spent" }, stopChild);
          } else {
            // Running ones finish (each call only while it fits under the line); queued ones never start.
            snapshot.stop = stop;
            snapshot.input.specialists.forEach((_spec, index) => {
              if (!snapshot.outcomes[index] && !runtime.children.has(snapshot.input.specialists[index]!.id))
                stopOne(self, snapshot, runtime, index, 'skipped', { kind: 'budget', message: stop.message }, stopChild);
            });
            snapshot.requeued = [];
            snapshot.nextIndex = snapshot.input.specialists.length;
          }
          scheduleFlush(self, snapshot, runtime);
          return maybeFinish(self, snapshot, runtime);
        }

        case 'specialist.cacheWritten':
          if (snapshot.warm !== 'warming' || event.id !== snapshot.warmer) return snapshot;
          snapshot.warm = 'done';
          fillSlots(self, snapshot, runtime);
          scheduleFlush(self, snapshot, runtime);
          return snapshot;

        case 'fanOut.fill':
          // A call slot freed up elsewhere in the run (or, after a restore, nothing is left to run).
          fillSlots(self, snapshot, runtime);
          scheduleFlush(self, snapshot, runtime);
          return maybeFinish(self, snapshot, runtime);

        case 'fanOut.deadline':
          stopAll(self, snapshot, runtime, deadlineStop(snapshot), stopChild);
          return maybeFinish(self, snapshot, runtime);

        case 'fanOut.add': {
          if (!stillOpen(snapshot)) return snapshot;
          for (const spec of event.specs) {
            const index = snapshot.input.specialists.length;
            snapshot.input.specialists.push(spec);
            snapshot.outcomes.push(null);
            runtime.indexById.set(spec.id, index);
            if (event.deadlineAt !== null) setDeadline(snapshot, index, event.deadlineAt, event.message ?? `its deadline passed before it finished`);
          }
          fillSlots(self, snapshot, runtime);
          armDeadlines(self, snapshot, runtime);
          scheduleFlush(self, snapshot, runtime);
          return snapshot;
        }

        case 'fanOut.deadlines': {
          for (const id of event.ids) {
            const index = runtime.indexById.get(id);
            if (index !== undefined && !snapshot.outcomes[index]) setDeadline(snapshot, index, event.deadlineAt, event.message);
          }
          armDeadlines(self, snapshot, runtime);
          return snapshot;
        }

        case 'fanOut.agentDeadline': {
          const now = clock.now();
          for (const [key, deadline] of Object.entries(snapshot.deadlines ?? {})) {
            const index = Number(key);
            if (deadline.at > now || snapshot.outcomes[index]) continue;
            stopOne(self, snapshot, runtime, index, 'timedOut', { kind: 'deadline', message: deadline.message }, stopChild);
          }
          fillSlots(self, snapshot, runtime);
          armDeadlines(self, snapshot, runtime);
          scheduleFlush(self, snapshot, runtime);
          return maybeFinish(self, snapshot, runtime);
        }

        case 'fanOut.close': {
          if (snapshot.input.open !== true || snapshot.closed) return snapshot;
          snapshot.closed = true;
          snapshot.input.specialists.forEach((_spec, index) => stopOne(self, snapshot, runtime, index, 'skipped', { kind: 'cancelled', message: event.message }, stopChild));
          snapshot.requeued = [];
          snapshot.nextIndex = snapshot.input.specialists.length;
          return maybeFinish(self, snapshot, runtime);
        }

        case 'fanOut.cancel':
          stopAll(self, snapshot, runtime, cancelStop(event.reason), stopChild);
          return maybeFinish(self, snapshot, runtime);

        case 'specialist.restart': {
          const index = runtime.indexById.get(event.id);
          if (index === undefined || snapshot.stop !== null) return snapshot;
          const child = runtime.children.get(event.id);
          if (child) {
            // Same id, fresh attempts: stop the old actor (aborting its call), start a new one.
            const spec = snapshot.input.specialists[index] as SpecialistSpec;
            const last = child.getSnapshot();
            if (spec.kind === 'fanOut') {
              const stopped = stopSubLead(child, spec, 'skipped', { kind: 'cancelled', message: `restarted` }, clock.now());
              discard(snapshot, index, stopped.attempts, stopped.usage);
            } else {
              const { progress } = last as SpecialistSnapshot;
              discard(snapshot, index, callsMade(progress), progress.usage);
            }
            stopChild(child);
            removeChild(runtime, event.id);
            snapshot.running--;
            // The warmer restarted before its cache write: it warms again, starting first.
            if (snapshot.warm === 'warming' && snapshot.warmer === event.id) snapshot.warm = 'pending';
            snapshot.requeued.unshift(index);
            fillSlots(self, snapshot, runtime);
          } else if (snapshot.outcomes[index]) {
            const previous = snapshot.outcomes[index];
            discard(snapshot, index, previous.attempts, previous.usage);
            if (previous.status === 'fulfilled') snapshot.fulfilled--;
            else snapshot.unsuccessful--;
            snapshot.outcomes[index] = null;
            snapshot.requeued.push(index);
            fillSlots(self, snapshot, runtime);
          }
          scheduleFlush(self, snapshot, runtime);
          return snapshot;
        }

        case 'xstate.stop':
          runtime.unbudget?.();
          sinks?.delete(self);
          runtime.slots?.waiting.delete(self);
          for (const [id, child] of [...runtime.children]) {
            stopChild(child);
            removeChild(runtime, id);
          }
          if (runtime.flushTimer !== null) clock.clearTimeout(runtime.flushTimer);
          runtime.flushTimer = null;
          if (runtime.deadlineTimer !== null) clock.clearTimeout(runtime.deadlineTimer);
          runtime.deadlineTimer = null;
          return { ...snapshot, status: 'stopped' };

        default: {
          // `xstate.done.actor.<id>`: a specialist settled. `xstate.error.actor.<id>`: its actor
          // crashed (a bug, not an expected failure) — recorded as rejected so the run goes on.
          const crashed = event.type.startsWith(ERROR_PREFIX);
          if (!crashed && !event.type.startsWith(DONE_PREFIX)) return snapshot;
          const id = event.type.slice(crashed ? ERROR_PREFIX.length : DONE_PREFIX.length);
          const index = runtime.indexById.get(id);
          const child = runtime.children.get(id);
          if (index === undefined || snapshot.outcomes[index] || !child) return snapshot;
          removeChild(runtime, id);
          snapshot.running--;
          const spec = snapshot.input.specialists[index] as SpecialistSpec;
          const outcome = crashed
            ? crashOutcome(spec, child, (event as unknown as { error: unknown }).error, clock.now())
            : spec.kind === 'fanOut'
              ? outcomeOfSubLead(spec, (event as { output: unknown }).output as RunResult)
              : (event as { output: SpecialistOutcome }).output;
          record(self, snapshot, runtime, index, outcome);
          if (crashed) {
            // A bug is never a policy matter: fail the run, keeping what finished.
            stopAll(self, snapshot, runtime, { reason: 'crashed', by: id, message: outcome.error!.message }, stopChild);
          } else {
            const decided = stopAfterSettled(
              spec,
              outcome,
              snapshot.input.quorum,
              { total: snapshot.input.specialists.length, fulfilled: snapshot.fulfilled, unsuccessful: snapshot.unsuccessful },
              stillOpen(snapshot),
            );
            if (decided) stopAll(self, snapshot, runtime, decided, stopChild);
            else fillSlots(self, snapshot, runtime);
          }
          scheduleFlush(self, snapshot, runtime);
          return maybeFinish(self, snapshot, runtime);
        }
      }
    },

    getPersistedSnapshot: (snapshot) => structuredClone(snapshot),
    restoreSnapshot: (snapshot) => snapshot as FanOutSnapshot,
  };
}
