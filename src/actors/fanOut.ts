/**
 * The fan-out actor: the lead's one child during `fanningOut`, and the parent of every
 * specialist actor. It starts specialists as concurrency slots open, keeps each outcome as it
 * arrives, applies the run-level policies that must act at once (escalate, quorum out of
 * reach), and on the deadline or a cancel stops the stragglers while keeping every finished
 * outcome. It reports to the lead in batches and completes with all outcomes.
 *
 * The rules are the core's (src/core/fanOutStep.ts): this actor is the shell that runs their
 * effects — it spawns and stops child actors, holds the run-wide call slots, batches reports,
 * arms timers, and hands findings to a streaming fold and a sub-lead's checkpoint.
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
import { settledEventType, type RunEvent, type SpecialistProgressEvent, type SpecialistsProgressEvent, type SpecialistTokenEvent } from '../events.ts';
import { unstartedOutcome, type SpecialistOutcome } from '../outcome.ts';
import type { Usage } from '../usage.ts';
import { cancelStop, deadlineStop } from '../core/stops.ts';
import { allStarted, fanOutDone, initialFanOut, stepFanOut, stillOpen, type FanOutState, type FanOutStepEvent } from '../core/fanOutStep.ts';
import type { NestedOutcomes } from '../checkpoint/nestedOutcomes.ts';
import type { LoopSteps } from '../checkpoint/loopSteps.ts';
import type { BudgetLedger } from '../budget/ledger.ts';
import type { StreamFold } from '../fold/streamFold.ts';
import { weighFindings } from '../findings/weights.ts';
import type { RunResult } from '../result.ts';
import { createLiteActor, isLiteActor } from './liteActor.ts';
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

import type { FanOutStop } from '../core/fanOutStep.ts';

export type { FanOutStop };

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

/**
 * The fan-out's snapshot: the core's state (see `FanOutState` in src/core/fanOutStep.ts) with
 * the actor's status. Its fields are updated in place for O(1) bookkeeping: read, don't write.
 */
export type FanOutSnapshot = Snapshot<FanOutOutput> & FanOutState & { input: FanOutInput };

const DONE_PREFIX = 'xstate.done.actor.';
const ERROR_PREFIX = 'xstate.error.actor.';

/** The outcome of a specialist whose actor crashed: what it had done, and the error. */
function crashOutcome(spec: SpecialistSpec, child: AnyActorRef, error: unknown, now: number): SpecialistOutcome {
  const info: ErrorInfo = { kind: 'unknown', message: `internal error in specialist "${spec.id}": ${error instanceof Error ? error.message : String(error)}` };
  const last = child.getSnapshot() as Partial<SpecialistSnapshot>;
  if (last.progress && last.input) return { ...outcomeOfStopped(last as SpecialistSnapshot, 'skipped', info, now), status: 'rejected' };
  return unstartedOutcome(spec, 'rejected', info, now);
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

/**
 * Fan-outs with more specialists than this host them lightly (src/actors/liteActor.ts: the same
 * specialist logic without an XState actor around each), so 100,000 in flight fit in memory; the
 * inspector then shows the fan-out's progress rather than an actor per specialist.
 */
export const LIGHT_HOSTING_ABOVE = 1_000;

/** Specialists in a fan-out's whole tree: its own, and those of its sub-leads at every level. */
function treeSize(specs: readonly SpecialistSpec[]): number {
  let size = 0;
  for (const spec of specs) size += spec.kind === 'fanOut' && spec.fanOut ? treeSize(spec.fanOut.specialists) : 1;
  return size;
}

/**
 * A run this large hosts its specialists lightly, and they stream no text deltas: a fan-out
 * above the size, or any fan-out of a tree above it (100 sub-leads × 1,000 are 100,000 too).
 */
const lightlyHosted = (runtime: FanOutRuntime, snapshot: FanOutSnapshot) => runtime.lightly || snapshot.input.specialists.length > runtime.lightAbove;

/** Ends a child from outside: an actor through its parent's `stopChild`, a light one itself. */
function endChild(child: AnyActorRef, stopChild: (child: AnyActorRef) => void): void {
  if (isLiteActor(child)) child.stop();
  else stopChild(child);
}

/** A large fan-out reports settled outcomes to the lead in about this many shares (see `settledDue`). */
const SETTLED_REPORTS = 64;
/** …or this long after the first one held back. */
const SETTLED_LAG_MS = 20;

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
  /** The run is large enough to host its specialists lightly (see `lightlyHosted`). */
  lightly: boolean;
  /** Above how many specialists a fan-out hosts them lightly. */
  lightAbove: number;
  /** The counts of the last progress summary sent (a lightly hosted fan-out's). */
  summarized: string;
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
  /** A large fan-out's timer for settled outcomes held back (see `settledDue`). */
  settledTimer: unknown;
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
  /** Runs of more specialists than this host them lightly (see {@link LIGHT_HOSTING_ABOVE}, the default). */
  lightHostingAbove?: number;
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
export function createFanOutLogic({ specialist, clock, sinks, subLead, nested, steps, budget, fold, lightHostingAbove = LIGHT_HOSTING_ABOVE }: FanOutDependencies): FanOutLogic {
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
        lightAbove: lightHostingAbove,
        lightly: enclosingOf(self)?.lightly ?? treeSize(snapshot.input.specialists) > lightHostingAbove,
        summarized: '',
        holding: new Set(),
        indexById,
        pendingEvents: [],
        pendingSettled: [],
        starting: false,
        openTokens: new Map(),
        flushTimer: null,
        settledTimer: null,
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
  const enclosingOf = (self: AnyActorRef): FanOutRuntime | undefined => {
    const lead = self._parent;
    return lead?._parent ? runtimes.get(lead._parent) : undefined;
  };

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

  /**
   * Whether the outcomes settled since the last report go to the lead now. The lead copies its
   * outcome list for each report that carries some (its snapshots are immutable), so a large
   * fan-out sends them in shares of at least 1/{@link SETTLED_REPORTS} of its size, or after
   * {@link SETTLED_LAG_MS}: O(N) copies in all rather than O(N²). Small ones send them at once.
   */
  const settledDue = (snapshot: FanOutSnapshot, runtime: FanOutRuntime, finishing: boolean) => {
    return finishing || !lightlyHosted(runtime, snapshot) || runtime.pendingSettled.length * SETTLED_REPORTS >= snapshot.input.specialists.length;
  };

  /**
   * A lightly hosted fan-out's counts, in place of per-specialist started events: `null` when
   * they have not changed since the last report.
   */
  const progressSummary = (snapshot: FanOutSnapshot, runtime: FanOutRuntime): SpecialistsProgressEvent | null => {
    const total = snapshot.input.specialists.length;
    const { running, fulfilled, unsuccessful } = snapshot;
    const key = `${total}/${running}/${fulfilled}/${unsuccessful}`;
    if (key === runtime.summarized) return null;
    runtime.summarized = key;
    return { type: 'specialists.progress', total, queued: total - running - fulfilled - unsuccessful, running, fulfilled, unsuccessful, at: clock.now() };
  };

  /** Sends the batch to the lead now (`finishing`: with every settled outcome). */
  const flush = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, finishing = false) => {
    if (runtime.flushTimer !== null) {
      clock.clearTimeout(runtime.flushTimer);
      runtime.flushTimer = null;
    }
    const started = allStarted(snapshot);
    const sendSettled = runtime.pendingSettled.length > 0 && settledDue(snapshot, runtime, finishing);
    const summary = lightlyHosted(runtime, snapshot) ? progressSummary(snapshot, runtime) : null;
    if (runtime.pendingEvents.length === 0 && !sendSettled && started === runtime.reportedAllStarted && summary === null) return;
    if (summary) runtime.pendingEvents.push(summary);
    const { pendingEvents: events } = runtime;
    const settled = sendSettled ? runtime.pendingSettled : [];
    runtime.pendingEvents = [];
    runtime.openTokens.clear();
    if (sendSettled) {
      runtime.pendingSettled = [];
      if (runtime.settledTimer !== null) clock.clearTimeout(runtime.settledTimer);
      runtime.settledTimer = null;
    } else if (runtime.pendingSettled.length > 0 && runtime.settledTimer === null) {
      runtime.settledTimer = clock.setTimeout(() => {
        runtime.settledTimer = null;
        if (self.getSnapshot().status === 'active') flush(self, snapshot, runtime, true);
      }, SETTLED_LAG_MS);
    }
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
    if (lightlyHosted(runtime, snapshot)) input.quiet = true;
    if (snapshot.input.context !== undefined) input.context = snapshot.input.context;
    if (snapshot.warmer === spec.id) input.warmsCache = true;
    if (!steps || spec.tools.length === 0) return input;
    const path = [...(runtime.path ?? []), index];
    const kept = steps.take(path);
    return kept ? { ...input, path, resume: kept } : { ...input, path };
  };

  /** Starts specialist `index` (the core counted it as running). */
  const spawn = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, index: number) => {
    const spec = snapshot.input.specialists[index] as SpecialistSpec;
    const child: AnyActorRef =
      spec.kind === 'fanOut'
        ? createActor(subLeadLogic(), {
            id: spec.id,
            parent: self,
            input: subLeadInput(snapshot.input.task, spec, snapshot.input.deadlineAt, clock.now(), snapshot.input.weights, snapshot.input.context, snapshot.input.budget),
          })
        : lightlyHosted(runtime, snapshot)
          ? (createLiteActor(specialist, { id: spec.id, parent: self, input: specialistInput(snapshot, runtime, spec, index) }) as unknown as AnyActorRef)
          : createActor(specialist, { id: spec.id, parent: self, input: specialistInput(snapshot, runtime, spec, index) });
    runtime.children.set(spec.id, child);
    if (runtime.slots && spec.kind !== 'fanOut') {
      runtime.slots.inFlight++;
      runtime.holding.add(spec.id);
    }
    if (runtime.openTokens.size > 0) runtime.openTokens.delete(spec.id);
    // A very large run reports counts instead (see `progressSummary`).
    if (!lightlyHosted(runtime, snapshot)) runtime.pendingEvents.push({ type: 'specialist.started', id: spec.id, model: currentModel(spec, 0), at: clock.now() });
    if (runtime.pendingEvents.length >= MAX_BATCH && !runtime.starting) flush(self, snapshot, runtime);
    child.start();
  };

  /** Tells the run of a recorded outcome: the lead's next batch, the streaming fold, and a sub-lead's checkpoint. */
  const announceRecorded = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, index: number, outcome: SpecialistOutcome, kept: boolean) => {
    // A streaming fold digests the finding now, while the others still work.
    if (snapshot.input.fold && outcome.status === 'fulfilled' && fold?.current) {
      const { input } = snapshot;
      const weight = input.weights ? weighFindings([outcome], input.weights).get(outcome.id) : undefined;
      fold.current.add({ task: input.task, synthesizer: input.fold!.synthesizer, ...(input.context !== undefined ? { context: input.context } : {}) }, outcome, weight);
    }
    // Not one the checkpoint just handed back.
    if (!kept && runtime.path) nested?.settled([...runtime.path, index], outcome);
    runtime.pendingSettled.push({ index, outcome });
    if (runtime.openTokens.size > 0) runtime.openTokens.delete(outcome.id);
    runtime.pendingEvents.push({ type: settledEventType(outcome), id: outcome.id, outcome });
    if (runtime.pendingEvents.length >= MAX_BATCH && !runtime.starting) flush(self, snapshot, runtime);
  };

  /** Arms one timer for the earliest specialist deadline (an open fan-out's). */
  const armDeadlineTimer = (self: AnyActorRef, runtime: FanOutRuntime, at: number | null) => {
    if (at === runtime.deadlineTimerAt) return;
    if (runtime.deadlineTimer !== null) clock.clearTimeout(runtime.deadlineTimer);
    runtime.deadlineTimer = null;
    runtime.deadlineTimerAt = at;
    if (at === null) return;
    runtime.deadlineTimer = clock.setTimeout(
      () => {
        runtime.deadlineTimer = null;
        runtime.deadlineTimerAt = null;
        if (self.getSnapshot().status === 'active') self.send({ type: 'fanOut.agentDeadline' });
      },
      Math.max(0, at - clock.now()),
    );
  };

  /** Applies an event to the core and carries out its effects, in order. */
  const step = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, event: FanOutStepEvent, stopChild: (child: AnyActorRef) => void): void => {
    const { slots } = runtime;
    const now = clock.now();
    const effects = stepFanOut(snapshot, event, slots ? { now, freeCallSlots: slots.limit - slots.inFlight } : { now });
    for (const effect of effects) {
      switch (effect.type) {
        case 'start':
          spawn(self, snapshot, runtime, effect.index);
          break;
        case 'recorded':
          announceRecorded(self, snapshot, runtime, effect.index, effect.outcome, effect.kept);
          break;
        case 'cut': {
          // Running ones keep the attempts, model and usage they had.
          const spec = snapshot.input.specialists[effect.index]!;
          const child = runtime.children.get(spec.id);
          const now = clock.now();
          const outcome = !child
            ? unstartedOutcome(spec, effect.status, effect.error, now)
            : spec.kind === 'fanOut'
              ? stopSubLead(child, spec, effect.status, effect.error, now)
              : outcomeOfStopped(child.getSnapshot() as SpecialistSnapshot, effect.status, effect.error, now);
          if (child) {
            endChild(child, stopChild);
            removeChild(runtime, spec.id);
          }
          step(self, snapshot, runtime, { type: 'settled', index: effect.index, outcome, cut: true }, stopChild);
          break;
        }
        case 'discard': {
          // Same id, fresh attempts: stop the old actor (aborting its call); what it spent is kept.
          const spec = snapshot.input.specialists[effect.index]!;
          const child = runtime.children.get(spec.id);
          if (!child) break;
          let spent: { attempts: number; usage: Usage };
          if (spec.kind === 'fanOut') {
            spent = stopSubLead(child, spec, 'skipped', { kind: 'cancelled', message: 'restarted' }, clock.now());
          } else {
            const { progress } = child.getSnapshot() as SpecialistSnapshot;
            spent = { attempts: callsMade(progress), usage: progress.usage };
          }
          endChild(child, stopChild);
          removeChild(runtime, spec.id);
          step(self, snapshot, runtime, { type: 'discarded', index: effect.index, attempts: spent.attempts, usage: spent.usage }, stopChild);
          break;
        }
        case 'waitForSlot':
          slots?.waiting.add(self);
          break;
        case 'deadlineTimer':
          armDeadlineTimer(self, runtime, effect.at);
          break;
        case 'announce':
          // One fan-out is the whole run here: its stop is everyone's already.
          break;
      }
    }
  };

  /** Completes the fan-out once nothing is left unfinished. */
  const maybeFinish = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime): FanOutSnapshot => {
    if (!fanOutDone(snapshot)) return snapshot;
    runtime.unbudget?.();
    if (runtime.deadlineTimer !== null) clock.clearTimeout(runtime.deadlineTimer);
    runtime.deadlineTimer = null;
    flush(self, snapshot, runtime, true);
    sinks?.delete(self);
    runtime.slots?.waiting.delete(self);
    return { ...snapshot, status: 'done', error: undefined, output: { outcomes: snapshot.outcomes as SpecialistOutcome[], stop: snapshot.stop } };
  };

  /** Steps the core, reports on the next tick, and completes when nothing is left. */
  const stepAndFinish = (self: AnyActorRef, snapshot: FanOutSnapshot, runtime: FanOutRuntime, event: FanOutStepEvent, stopChild: (child: AnyActorRef) => void): FanOutSnapshot => {
    step(self, snapshot, runtime, event, stopChild);
    scheduleFlush(self, snapshot, runtime);
    return maybeFinish(self, snapshot, runtime);
  };

  return {
    getInitialSnapshot: (_scope, input) => ({
      status: 'active',
      output: undefined,
      error: undefined,
      ...initialFanOut(input, { warmUp: input.context !== undefined && !input.cacheWarm && estimateTokens(input.context) >= MIN_CACHED_CONTEXT_TOKENS }),
      input,
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
      runtime.starting = true;
      // A sub-lead restarted on resume: what its specialists finished before the crash is kept.
      const kept: Array<{ index: number; outcome: SpecialistOutcome }> = [];
      if (runtime.path && nested) {
        snapshot.outcomes.forEach((outcome, index) => {
          const taken = outcome ? undefined : nested.take([...runtime.path!, index]);
          if (taken) kept.push({ index, outcome: taken });
        });
      }
      // Fresh or restored: start what the slots allow, or stop first when the run would have
      // stopped while it was down (deadline passed, an escalation or a lost quorum kept).
      step(self, snapshot, runtime, { type: 'restore', kept }, () => {});
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

        case 'fanOut.budget':
          return stepAndFinish(self, snapshot, runtime, { type: 'budget' }, stopChild);

        case 'specialist.cacheWritten':
          step(self, snapshot, runtime, { type: 'cacheWritten', id: event.id }, stopChild);
          scheduleFlush(self, snapshot, runtime);
          return snapshot;

        case 'fanOut.fill':
          // A call slot freed up elsewhere in the run (or, after a restore, nothing is left to run).
          return stepAndFinish(self, snapshot, runtime, { type: 'fill' }, stopChild);

        case 'fanOut.deadline':
          return stepAndFinish(self, snapshot, runtime, { type: 'stop', stop: deadlineStop(snapshot.input.deadlineMs) }, stopChild);

        case 'fanOut.cancel':
          return stepAndFinish(self, snapshot, runtime, { type: 'stop', stop: cancelStop(event.reason) }, stopChild);

        case 'fanOut.add': {
          if (!stillOpen(snapshot)) return snapshot;
          event.specs.forEach((spec, offset) => runtime.indexById.set(spec.id, snapshot.input.specialists.length + offset));
          step(self, snapshot, runtime, { type: 'add', specs: event.specs, deadlineAt: event.deadlineAt, ...(event.message !== undefined ? { message: event.message } : {}) }, stopChild);
          scheduleFlush(self, snapshot, runtime);
          return snapshot;
        }

        case 'fanOut.deadlines': {
          const indexes = event.ids.map((id) => runtime.indexById.get(id)).filter((index) => index !== undefined);
          step(self, snapshot, runtime, { type: 'deadlines', indexes, deadlineAt: event.deadlineAt, message: event.message }, stopChild);
          return snapshot;
        }

        case 'fanOut.agentDeadline':
          return stepAndFinish(self, snapshot, runtime, { type: 'agentDeadlines' }, stopChild);

        case 'fanOut.close':
          step(self, snapshot, runtime, { type: 'close', message: event.message }, stopChild);
          return maybeFinish(self, snapshot, runtime);

        case 'specialist.restart': {
          const index = runtime.indexById.get(event.id);
          if (index === undefined) return snapshot;
          step(self, snapshot, runtime, { type: 'restart', index }, stopChild);
          scheduleFlush(self, snapshot, runtime);
          return snapshot;
        }

        case 'xstate.stop':
          runtime.unbudget?.();
          sinks?.delete(self);
          runtime.slots?.waiting.delete(self);
          for (const [id, child] of [...runtime.children]) {
            endChild(child, stopChild);
            removeChild(runtime, id);
          }
          if (runtime.flushTimer !== null) clock.clearTimeout(runtime.flushTimer);
          runtime.flushTimer = null;
          if (runtime.settledTimer !== null) clock.clearTimeout(runtime.settledTimer);
          runtime.settledTimer = null;
          if (runtime.deadlineTimer !== null) clock.clearTimeout(runtime.deadlineTimer);
          runtime.deadlineTimer = null;
          return { ...snapshot, status: 'stopped' };

        default: {
          // `xstate.done.actor.<id>`: a specialist settled. `xstate.error.actor.<id>`: its actor
          // crashed (a bug, not an expected failure) — recorded as rejected, and the run stops
          // keeping what finished.
          const crashed = event.type.startsWith(ERROR_PREFIX);
          if (!crashed && !event.type.startsWith(DONE_PREFIX)) return snapshot;
          const id = event.type.slice(crashed ? ERROR_PREFIX.length : DONE_PREFIX.length);
          const index = runtime.indexById.get(id);
          const child = runtime.children.get(id);
          if (index === undefined || snapshot.outcomes[index] || !child) return snapshot;
          removeChild(runtime, id);
          const spec = snapshot.input.specialists[index] as SpecialistSpec;
          const outcome = crashed
            ? crashOutcome(spec, child, (event as unknown as { error: unknown }).error, clock.now())
            : spec.kind === 'fanOut'
              ? outcomeOfSubLead(spec, (event as { output: unknown }).output as RunResult)
              : (event as { output: SpecialistOutcome }).output;
          return stepAndFinish(self, snapshot, runtime, { type: 'settled', index, outcome, crashed }, stopChild);
        }
      }
    },

    getPersistedSnapshot: (snapshot) => structuredClone(snapshot),
    restoreSnapshot: (snapshot) => snapshot as FanOutSnapshot,
  };
}
