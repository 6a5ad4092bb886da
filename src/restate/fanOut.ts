/**
 * The fan-out on Restate: an XState machine in place of the in-process fan-out actor, because
 * the adapter can only persist and revive machines and its own promise actors. It takes the
 * same input, sends the lead the same `fanOut.progress` batches and ends with the same output,
 * so the lead machine runs unchanged.
 *
 * Two shapes, chosen by size:
 * - flat (≤ `chunkSize` specialists): one promise-actor child per specialist, spawned as
 *   concurrency allows;
 * - chunked (more): one child per chunk of ≤ `chunkSize` specialists, each a separate virtual
 *   object instance running a flat fan-out. Every transition of one object loads and saves its
 *   whole snapshot, one at a time, so a single object gathering thousands of outcomes would
 *   spend its time on bookkeeping; chunks gather in parallel and the top only folds their
 *   results.
 *
 * What differs from in-process: a specialist stopped by the deadline or a cancel is not
 * aborted (its promise runs on and its late result is dropped), so its outcome here counts one
 * attempt in flight and no tokens; no token events; `specialist.restart` is ignored.
 */
import { enqueueActions, setup, type AnyActorLogic, type AnyEventObject } from 'xstate';
import type { FanOutInput, FanOutOutput, FanOutProgressEvent, FanOutStop } from '../actors/fanOut.ts';
import type { SpecialistSpec } from '../config.ts';
import type { ErrorInfo } from '../errors.ts';
import { settledEventType, type RunEvent } from '../events.ts';
import { unstartedOutcome, type SpecialistOutcome } from '../outcome.ts';
import { quorumUnreachable } from '../policy.ts';
import { emptyUsage } from '../usage.ts';
import { invocationNow } from './invocationClock.ts';
import type { RestateSpecialistOutput } from './specialist.ts';

/** When a specialist (or a chunk's specialists) started, for `specialist.started` events. */
export interface StartMark {
  model: string | null;
  at: number;
}

/**
 * The Restate fan-out's output: the in-process one's, plus start marks for the event stream.
 * Outcomes keep the `retries` their specialist made (see {@link RestateSpecialistOutput}); the
 * client turns them into events and strips them.
 */
export interface RestateFanOutOutput extends FanOutOutput {
  started: Array<StartMark | null>;
}

/** The fan-out machine's context. Plain JSON, persisted by the adapter on every transition. */
export interface RestateFanOutContext {
  input: FanOutInput;
  outcomes: Array<SpecialistOutcome | null>;
  started: Array<StartMark | null>;
  /** Next specialist (flat) or chunk (chunked) to start. */
  nextIndex: number;
  running: number;
  fulfilled: number;
  unsuccessful: number;
  stop: FanOutStop | null;
  /** Number of chunks, or `null` when flat. */
  chunks: number | null;
}

/** What a chunk child is started with. */
export interface ChunkInput {
  index: number;
  fanOut: FanOutInput;
}

/** Child ids: prefixed so no specialist id can collide with the lead's own children. */
const SPECIALIST_PREFIX = 'specialist:';
const CHUNK_PREFIX = 'chunk:';
const DONE_PREFIX = 'xstate.done.actor.';
const ERROR_PREFIX = 'xstate.error.actor.';

/** What the fan-out machine is built from. */
export interface RestateFanOutDependencies {
  /** The specialist promise actor. */
  specialist: AnyActorLogic;
  /** The chunk promise actor (runs a chunk as its own object); needed when `chunkSize` can be exceeded. */
  chunk?: AnyActorLogic;
  /** Most specialists one object gathers. Default: no limit (always flat). */
  chunkSize?: number;
  /**
   * Forwards a stop (`fanOut.deadline`, `fanOut.cancel`) to a running chunk's object. Called from
   * inside the transition, with the actor system (which carries the Restate context).
   */
  forwardToChunk?: (system: unknown, chunkIndex: number, event: AnyEventObject) => void;
}

/** A minimal view of XState's `enqueue` helper, as this machine uses it. */
interface Enqueue {
  assign(context: RestateFanOutContext): void;
  spawnChild(src: string, options: { id: string; input: unknown }): void;
  stopChild(id: string): void;
  sendParent(event: AnyEventObject): void;
}

/** The outcome of a specialist stopped while its promise was in flight: one attempt, tokens unknown. */
function stoppedOutcome(spec: SpecialistSpec, mark: StartMark | null, status: 'timedOut' | 'skipped', error: ErrorInfo, now: number): SpecialistOutcome {
  if (!mark) return unstartedOutcome(spec, status, { kind: error.kind, message: `${error.message} (it was still waiting for a concurrency slot)` }, now);
  return { id: spec.id, angle: spec.angle, status, output: null, error, attempts: 1, model: mark.model, usage: emptyUsage(), startedAt: mark.at, endedAt: now, ...(spec.kind === 'model' ? { turns: 0, stopReason: null, loopLimit: null, toolCalls: [] } : {}) };
}

/** The index range `[from, to)` of chunk `chunk`. */
function chunkRange(context: RestateFanOutContext, chunk: number, size: number): [number, number] {
  return [chunk * size, Math.min(context.input.specialists.length, (chunk + 1) * size)];
}

/**
 * Creates the Restate fan-out machine.
 *
 * @example
 * const fanOut = createRestateFanOut({ specialist: createRestateSpecialist({ provider }) });
 */
export function createRestateFanOut({ specialist, chunk, chunkSize = Infinity, forwardToChunk }: RestateFanOutDependencies) {
  return setup({
    types: {
      input: {} as FanOutInput,
      context: {} as RestateFanOutContext,
      output: {} as RestateFanOutOutput,
    },
    // Without a chunk actor the fan-out is always flat, so `chunk` is never spawned then.
    actors: { specialist, chunk: chunk ?? specialist },
    guards: {
      allSettled: ({ context }) => context.fulfilled + context.unsuccessful >= context.input.specialists.length,
    },
  }).createMachine({
    id: 'fanfoldFanOut',
    context: ({ input }) => {
      const total = input.specialists.length;
      const chunked = total > chunkSize && chunk !== undefined;
      return {
        input,
        outcomes: new Array<SpecialistOutcome | null>(total).fill(null),
        started: new Array<StartMark | null>(total).fill(null),
        nextIndex: 0,
        running: 0,
        fulfilled: 0,
        unsuccessful: 0,
        stop: null,
        chunks: chunked ? Math.ceil(total / chunkSize) : null,
      };
    },
    // Everything happens in one action per event: copy the context once, decide, spawn/stop,
    // report one batch to the parent.
    entry: enqueueActions(({ context, enqueue, self }) => step(context, { type: 'fanOut.start' }, enqueue as unknown as Enqueue, self.system)),
    on: {
      '*': { actions: enqueueActions(({ context, event, enqueue, self }) => step(context, event, enqueue as unknown as Enqueue, self.system)) },
    },
    initial: 'gathering',
    states: {
      gathering: { always: { guard: 'allSettled', target: 'finished' } },
      finished: { type: 'final' },
    },
    output: ({ context }) => ({ outcomes: context.outcomes as SpecialistOutcome[], stop: context.stop, started: context.started }),
  });

  /** Applies one event: returns nothing, enqueues the context update, spawns, stops and the progress report. */
  function step(current: RestateFanOutContext, event: AnyEventObject, enqueue: Enqueue, system: unknown): void {
    if (current.fulfilled + current.unsuccessful >= current.input.specialists.length && event.type !== 'fanOut.start') return;
    const context: RestateFanOutContext = { ...current, outcomes: current.outcomes.slice(), started: current.started.slice() };
    const events: RunEvent[] = [];
    const settled: FanOutProgressEvent['settled'] = [];
    const specs = context.input.specialists;
    const now = invocationNow();

    const record = (index: number, outcome: SpecialistOutcome) => {
      if (context.outcomes[index]) return;
      context.outcomes[index] = outcome;
      if (outcome.status === 'fulfilled') context.fulfilled++;
      else context.unsuccessful++;
      settled.push({ index, outcome });
      events.push({ type: settledEventType(outcome), id: outcome.id, outcome });
    };
    /** A specialist's retries, as events, just before it settles (a promise actor reports nothing before). */
    const addRetries = (outcome: SpecialistOutcome) => {
      const { retries } = outcome as RestateSpecialistOutput;
      if (retries) events.push(...retries);
    };

    /** Starts what concurrency allows: specialists one by one, or every chunk at once. */
    const fill = () => {
      if (context.stop) return;
      if (context.chunks !== null) {
        for (; context.nextIndex < context.chunks; context.nextIndex++) {
          const [from, to] = chunkRange(context, context.nextIndex, chunkSize);
          // Every chunk gets a share of the run's concurrency limit; quorum is judged here, over all chunks.
          const share = context.input.maxConcurrency === null ? null : Math.max(1, Math.floor(context.input.maxConcurrency / context.chunks));
          const fanOut: FanOutInput = { ...context.input, specialists: specs.slice(from, to), quorum: 0, maxConcurrency: share };
          enqueue.spawnChild('chunk', { id: `${CHUNK_PREFIX}${context.nextIndex}`, input: { index: context.nextIndex, fanOut } satisfies ChunkInput });
          context.running++;
        }
        return;
      }
      const limit = context.input.maxConcurrency ?? Infinity;
      while (context.running < limit && context.nextIndex < specs.length) {
        const index = context.nextIndex++;
        const spec = specs[index]!;
        enqueue.spawnChild('specialist', { id: `${SPECIALIST_PREFIX}${index}`, input: { task: context.input.task, spec, deadlineAt: context.input.deadlineAt } });
        context.running++;
        const mark = { model: spec.models[0] ?? null, at: now };
        context.started[index] = mark;
        events.push({ type: 'specialist.started', id: spec.id, ...mark });
      }
    };

    /** Ends every unfinished specialist (flat), or tells every running chunk to (chunked). */
    const stopAll = (stop: FanOutStop) => {
      context.stop = stop;
      const status = stop.reason === 'deadline' ? 'timedOut' : 'skipped';
      const error: ErrorInfo = { kind: stop.reason === 'deadline' ? 'deadline' : 'cancelled', message: stop.message };
      if (context.chunks !== null) {
        // Each chunk stops its stragglers and answers with every outcome, so nothing is recorded here.
        const forwarded = stop.reason === 'deadline' ? { type: 'fanOut.deadline' } : { type: 'fanOut.cancel', reason: stop.message };
        for (let chunkIndex = 0; chunkIndex < context.nextIndex; chunkIndex++) {
          const [from] = chunkRange(context, chunkIndex, chunkSize);
          if (!context.outcomes[from]) forwardToChunk?.(system, chunkIndex, forwarded);
        }
        return;
      }
      specs.forEach((spec, index) => {
        if (context.outcomes[index]) return;
        if (index < context.nextIndex) enqueue.stopChild(`${SPECIALIST_PREFIX}${index}`);
        record(index, stoppedOutcome(spec, index < context.nextIndex ? context.started[index] ?? null : null, status, error, now));
      });
      context.running = 0;
      context.nextIndex = specs.length;
    };

    /** Run-level policies that act at once: escalation, and a quorum out of reach. */
    const judge = (escalatedBy: SpecialistOutcome | undefined) => {
      if (context.stop) return;
      if (escalatedBy) {
        stopAll({ reason: 'escalated', by: escalatedBy.id, message: `specialist "${escalatedBy.id}" failed and its policy escalates: ${escalatedBy.error?.message ?? 'unknown error'}` });
      } else if (quorumUnreachable({ total: specs.length, fulfilled: context.fulfilled, unsuccessful: context.unsuccessful }, context.input.quorum)) {
        stopAll({ reason: 'quorumUnreachable', message: `quorum of ${context.input.quorum} can no longer be met (${context.unsuccessful} of ${specs.length} specialists failed)` });
      }
    };

    const type = event.type;
    if (type === 'fanOut.start') {
      fill();
    } else if (type === 'fanOut.deadline') {
      if (!context.stop) stopAll({ reason: 'deadline', message: `the run's ${context.input.deadlineMs} ms deadline passed before it finished` });
    } else if (type === 'fanOut.cancel') {
      if (!context.stop || context.stop.reason === 'deadline') {
        const reason = (event as { reason?: string }).reason;
        stopAll({ reason: 'cancelled', message: `the run was cancelled${reason ? `: ${reason}` : ''}` });
      }
    } else if (type.startsWith(DONE_PREFIX) || type.startsWith(ERROR_PREFIX)) {
      const crashed = type.startsWith(ERROR_PREFIX);
      const childId = type.slice(crashed ? ERROR_PREFIX.length : DONE_PREFIX.length);
      if (childId.startsWith(SPECIALIST_PREFIX)) {
        const index = Number(childId.slice(SPECIALIST_PREFIX.length));
        const spec = specs[index];
        if (!spec || context.outcomes[index]) return;
        context.running--;
        enqueue.stopChild(childId);
        if (crashed) {
          // The adapter loses a thrown error's details; the specialist returns outcomes, so this is a bug.
          const error: ErrorInfo = { kind: 'unknown', message: `internal error in specialist "${spec.id}" on Restate` };
          record(index, { ...stoppedOutcome(spec, context.started[index] ?? null, 'skipped', error, now), status: 'rejected' });
          stopAll({ reason: 'crashed', by: spec.id, message: error.message });
        } else {
          const outcome: SpecialistOutcome = (event as unknown as { output: RestateSpecialistOutput }).output;
          addRetries(outcome);
          record(index, outcome);
          judge(outcome.status === 'rejected' && spec.policy.onFailure === 'escalate' ? outcome : undefined);
          fill();
        }
      } else if (childId.startsWith(CHUNK_PREFIX)) {
        const chunkIndex = Number(childId.slice(CHUNK_PREFIX.length));
        const [from, to] = chunkRange(context, chunkIndex, chunkSize);
        if (context.outcomes[from]) return;
        context.running--;
        enqueue.stopChild(childId);
        const output = crashed ? null : (event as unknown as { output: RestateFanOutOutput }).output;
        for (let index = from; index < to; index++) {
          const spec = specs[index]!;
          const mark = output?.started[index - from] ?? null;
          context.started[index] = mark;
          if (mark) events.push({ type: 'specialist.started', id: spec.id, ...mark });
        }
        let escalatedBy: SpecialistOutcome | undefined;
        for (let index = from; index < to; index++) {
          const spec = specs[index]!;
          const outcome = output?.outcomes[index - from] ?? unstartedOutcome(spec, 'rejected', { kind: 'unknown', message: `internal error in chunk ${chunkIndex} on Restate` }, now);
          addRetries(outcome);
          record(index, outcome);
          if (outcome.status === 'rejected' && spec.policy.onFailure === 'escalate') escalatedBy ??= outcome;
        }
        // A chunk that stopped for its own reason (escalation, a crash) stops the whole fan-out.
        const chunkStop = output?.stop;
        if (!context.stop && chunkStop && (chunkStop.reason === 'escalated' || chunkStop.reason === 'crashed')) stopAll(chunkStop);
        else if (!output && !context.stop) stopAll({ reason: 'crashed', by: childId, message: `internal error in chunk ${chunkIndex} on Restate` });
        else judge(escalatedBy);
      }
    } else {
      // Progress and restarts have nothing to act on here (no token streaming, no restarts on Restate).
      return;
    }
    enqueue.assign(context);
    enqueue.sendParent({ type: 'fanOut.progress', events, settled, allStarted: context.chunks !== null || context.nextIndex >= specs.length } satisfies FanOutProgressEvent);
  }
}

/** The Restate fan-out machine's type. */
export type RestateFanOutMachine = ReturnType<typeof createRestateFanOut>;
