/**
 * The lead machine: fan a task out to specialists, wait for all of them (or the deadline),
 * fold their outcomes into one synthesis.
 *
 * ```
 * fanningOut ─────────────────────────────┐   invokes `fanOut` and `deadlineTimer`; its
 *   dispatching → waiting → stopping      │   `run.deadline` is the timeout transition
 *        │ (all started)   (deadline/cancel)
 *        ▼
 * synthesizing ──► done | partial         invokes `specialist` as the synthesizer
 *        └───────► failed | cancelled
 * ```
 *
 * A pure statechart: no I/O and no clock. Actors are referenced by key (`fanOut`,
 * `specialist`, `deadlineTimer`) and swapped with `leadMachine.provide({ actors })`; the run API provides ones
 * bound to a model provider. Context stays plain JSON, with the deadline kept as a timestamp.
 */
import { and, assign, emit, enqueueActions, sendTo, setup, type DoneActorEvent, type ErrorActorEvent } from 'xstate';
import { createFanOutLogic, type FanOutOutput, type FanOutProgressEvent, type FanOutStop } from '../src/actors/fanOut.ts';
import { createDeadlineTimerLogic } from '../src/actors/deadlineTimer.ts';
import { createSpecialistLogic, type SpecialistActorInput } from '../src/actors/specialist.ts';
import { systemClock } from '../src/clock.ts';
import type { LeadInput } from '../src/config.ts';
import type { ErrorInfo } from '../src/errors.ts';
import type { RunEvent, SpecialistProgressEvent } from '../src/events.ts';
import { isComplete, unstartedOutcome, type SpecialistOutcome } from '../src/outcome.ts';
import { judgeFanOut, type FanOutVerdict } from '../src/policy.ts';
import { buildRunResult, type RunResult, type RunStatus } from '../src/result.ts';

/**
 * The lead's input: a normalised config, and when the run started (ms since epoch, on the same
 * clock as the actors'; default `Date.now()` — pass it when you give the actors another clock).
 */
export type LeadMachineInput = LeadInput & { startedAt?: number };

/** The lead's context. Plain JSON. */
export interface LeadContext {
  input: LeadInput;
  startedAt: number;
  /** When the fan-out must stop waiting: `startedAt + deadlineMs`. */
  deadlineAt: number;
  /** Outcome per specialist, in config order, filled in as they settle. */
  outcomes: Array<SpecialistOutcome | null>;
  settled: number;
  fulfilled: number;
  /** Why the fan-out ended early, if it did. */
  stop: FanOutStop | null;
  verdict: FanOutVerdict | null;
  synthesis: SpecialistOutcome | null;
  status: RunStatus | null;
  error: ErrorInfo | null;
}

/** Events the lead accepts from outside. */
export type LeadCommand =
  /** Stop the run: stragglers are stopped, finished outcomes are kept, no synthesis. */
  | { type: 'run.cancel'; reason?: string }
  /** Restart one specialist with the same id and fresh attempts (stopping it first if running). */
  | { type: 'specialist.restart'; id: string }
  /** The run's deadline has passed (sent by the deadline timer; may be sent to end the wait now). */
  | { type: 'run.deadline' };

/** Every event the lead handles. */
export type LeadEvent =
  | LeadCommand
  | FanOutProgressEvent
  | SpecialistProgressEvent
  | DoneActorEvent<FanOutOutput, 'fanOut'>
  | DoneActorEvent<SpecialistOutcome, 'synthesizer'>
  | ErrorActorEvent;

/** Judges the fan-out's output: an early stop decides by itself, otherwise the quorum does. */
function verdictOf(output: FanOutOutput, quorum: number): FanOutVerdict & { cancelled?: true } {
  if (output.stop?.reason === 'cancelled') return { status: 'failed', message: output.stop.message, cancelled: true };
  if (output.stop && output.stop.reason !== 'deadline') return { status: 'failed', message: output.stop.message };
  let fulfilled = 0;
  let whole = 0;
  for (const outcome of output.outcomes) {
    if (outcome.status === 'fulfilled') fulfilled++;
    if (isComplete(outcome)) whole++;
  }
  const verdict = judgeFanOut({ total: output.outcomes.length, fulfilled, unsuccessful: output.outcomes.length - fulfilled }, quorum);
  // A sub-lead that synthesized on part of its angles counts toward quorum, but the run is partial.
  return verdict.status === 'complete' && whole < output.outcomes.length ? { status: 'partial' } : verdict;
}

/** The run's result from the lead's context. */
export function resultOf(context: LeadContext): RunResult {
  const specialists = context.input.specialists;
  const outcomes = context.outcomes.map(
    (outcome, index): SpecialistOutcome =>
      outcome ?? unstartedOutcome(specialists[index]!, 'skipped', { kind: 'cancelled', message: 'the run ended before it finished' }, context.startedAt),
  );
  return buildRunResult({
    status: context.status ?? 'failed',
    task: context.input.task,
    outcomes,
    synthesizer: context.synthesis,
    error: context.error,
    startedAt: context.startedAt,
    // A sub-lead's attempts are the model calls made below it.
    modelKinds: specialists.map((spec) => spec.kind !== 'task'),
    synthesizerIsModel: context.input.synthesizer.kind === 'model',
  });
}

/** Synthesizer events, renamed for the run's event stream. */
function asSynthesisEvent(event: SpecialistProgressEvent): RunEvent {
  switch (event.type) {
    case 'specialist.started': return { type: 'synthesis.started', model: event.model, at: event.at };
    case 'specialist.token': return { type: 'synthesis.token', text: event.text };
    case 'specialist.retrying': {
      const { type: _type, id: _id, ...rest } = event;
      return { type: 'synthesis.retrying', ...rest };
    }
    // The synthesizer takes no tools (config refuses them): a loop's events are relayed as they are.
    default:
      return event;
  }
}

// Default implementations fail clearly: the run API provides ones bound to a real provider.
const unprovidedSpecialist = createSpecialistLogic({ provider: undefined, tasks: new Map(), clock: systemClock, random: Math.random });

/**
 * The lead machine. Embed it with `createActor(leadMachine.provide({ actors }), { input })`, or
 * use `runFanOut`, which provides the actors and wires events and results.
 *
 * @example
 * const actors = createRunActors({ provider });
 * const actor = createActor(leadMachine.provide({ actors }), { input: normalizeConfig(config).input });
 * actor.on('specialist.done', (event) => console.log(event.id));
 * actor.start();
 */
export const leadMachine = setup({
  types: {
    input: {} as LeadMachineInput,
    context: {} as LeadContext,
    events: {} as LeadEvent,
    output: {} as RunResult,
    emitted: {} as RunEvent,
  },
  actors: {
    fanOut: createFanOutLogic({ specialist: unprovidedSpecialist, clock: systemClock }),
    specialist: unprovidedSpecialist,
    deadlineTimer: createDeadlineTimerLogic(systemClock),
  },

  guards: {
    allStarted: ({ event }) => event.type === 'fanOut.progress' && event.allStarted,
    notStopping: ({ context }) => context.stop === null,
    notCancelled: ({ context }) => context.stop?.reason !== 'cancelled',
    fanOutCancelled: ({ context, event }) =>
      event.type === 'xstate.done.actor.fanOut' && verdictOf(event.output, context.input.quorum).cancelled === true,
    fanOutFailed: ({ context, event }) =>
      event.type === 'xstate.done.actor.fanOut' && verdictOf(event.output, context.input.quorum).status === 'failed',
    synthesisFulfilled: ({ event }) => event.type === 'xstate.done.actor.synthesizer' && event.output.status === 'fulfilled',
    fanOutComplete: ({ context }) => context.verdict?.status === 'complete',
    cancelRequested: ({ context }) => context.stop?.reason === 'cancelled',
  },
  actions: {
    /** Folds a batch of settled outcomes into context: one array copy per batch, not per outcome. */
    recordProgress: assign(({ context, event }) => {
      if (event.type !== 'fanOut.progress' || event.settled.length === 0) return {};
      const outcomes = context.outcomes.slice();
      let { settled, fulfilled } = context;
      for (const { index, outcome } of event.settled) {
        // A restarted specialist settles twice: the second outcome replaces the first.
        const previous = outcomes[index];
        if (previous === null || previous === undefined) settled++;
        else if (previous.status === 'fulfilled') fulfilled--;
        if (outcome.status === 'fulfilled') fulfilled++;
        outcomes[index] = outcome;
      }
      return { outcomes, settled, fulfilled };
    }),
    /** Re-emits the batch's run events, in order, to the lead's listeners. */
    relayEvents: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'fanOut.progress') return;
      for (const runEvent of event.events) enqueue.emit(runEvent);
    }),
    recordFanOut: assign(({ context, event }) => {
      if (event.type !== 'xstate.done.actor.fanOut') return {};
      const verdict = verdictOf(event.output, context.input.quorum);
      const outcomes = event.output.outcomes;
      // A cancel that arrived while stragglers were being stopped for the deadline still wins.
      const lateCancel = context.stop?.reason === 'cancelled' && event.output.stop?.reason !== 'cancelled' ? context.stop : null;
      return {
        outcomes,
        settled: outcomes.length,
        fulfilled: outcomes.filter((outcome) => outcome.status === 'fulfilled').length,
        stop: lateCancel ?? event.output.stop,
        verdict,
        error: lateCancel
          ? { kind: 'cancelled', message: lateCancel.message }
          : verdict.status === 'failed' ? { kind: verdict.cancelled ? 'cancelled' : 'unknown', message: verdict.message } : null,
      } satisfies Partial<LeadContext>;
    }),
    noteDeadline: assign({ stop: ({ context }) => ({ reason: 'deadline', message: `the run's ${context.input.deadlineMs} ms deadline passed` }) }),
    noteCancel: assign({
      stop: ({ event }) => ({ reason: 'cancelled', message: `the run was cancelled${event.type === 'run.cancel' && event.reason ? `: ${event.reason}` : ''}` }),
    }),
    relaySynthesisEvent: emit(({ event }) => asSynthesisEvent(event as SpecialistProgressEvent)),
    recordSynthesis: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'xstate.done.actor.synthesizer') return;
      const outcome = event.output;
      enqueue.assign({
        synthesis: outcome,
        ...(outcome.status === 'fulfilled' ? {} : { error: { kind: outcome.error?.kind ?? 'unknown', message: `synthesis failed: ${outcome.error?.message ?? 'unknown error'}` } }),
      });
      enqueue.emit({ type: outcome.status === 'fulfilled' ? 'synthesis.done' : 'synthesis.failed', outcome });
    }),
    recordCancelledSynthesis: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'xstate.done.actor.synthesizer') return;
      enqueue.assign({ synthesis: event.output, error: { kind: 'cancelled', message: context.stop?.message ?? 'the run was cancelled' } });
      enqueue.emit({ type: 'synthesis.failed', outcome: event.output });
    }),
    recordCrash: assign({
      error: ({ event }) => ({ kind: 'unknown', message: `internal error in ${event.type.slice('xstate.error.actor.'.length)}: ${String((event as ErrorActorEvent).error)}` }),
    }),
    announceFinish: emit(({ context }) => ({ type: 'run.finished', result: resultOf(context) })),
  },
}).createMachine({
  id: 'lead',
  context: ({ input }) => {
    const startedAt = input.startedAt ?? Date.now();
    const { startedAt: _startedAt, ...rest } = input;
    return {
      input: rest,
      startedAt,
      deadlineAt: startedAt + input.deadlineMs,
      outcomes: new Array<SpecialistOutcome | null>(input.specialists.length).fill(null),
      settled: 0,
      fulfilled: 0,
      stop: null,
      verdict: null,
      synthesis: null,
      status: null,
      error: null,
    };
  },
  initial: 'fanningOut',
  // A crashed child (a bug, not an expected failure) fails the run instead of the actor.
  on: { 'xstate.error.actor.*': { target: '.failed', actions: 'recordCrash' } },
  states: {
    fanningOut: {
      invoke: [
        // `run.deadline` at `deadlineAt`: a timer actor, not `after`, so a restored lead re-arms it.
        { id: 'deadline', src: 'deadlineTimer', input: ({ context }) => ({ deadlineAt: context.deadlineAt }) },
        {
        id: 'fanOut',
        src: 'fanOut',
        input: ({ context }) => ({
          task: context.input.task,
          specialists: context.input.specialists,
          quorum: context.input.quorum,
          maxConcurrency: context.input.maxConcurrency,
          deadlineMs: context.input.deadlineMs,
          deadlineAt: context.deadlineAt,
        }),
        onDone: [
          { guard: 'cancelRequested', target: 'cancelled', actions: 'recordFanOut' },
          { guard: 'fanOutCancelled', target: 'cancelled', actions: 'recordFanOut' },
          { guard: 'fanOutFailed', target: 'failed', actions: 'recordFanOut' },
          { target: 'synthesizing', actions: 'recordFanOut' },
        ],
        },
      ],
      on: {
        // The timeout transition of the wait-for-all: stop stragglers, keep what finished.
        'run.deadline': { guard: 'notStopping', target: '.stopping', actions: ['noteDeadline', sendTo('fanOut', { type: 'fanOut.deadline' })] },
        'fanOut.progress': { actions: ['recordProgress', 'relayEvents'] },
        'run.cancel': [
          {
            guard: 'notStopping',
            target: '.stopping',
            actions: ['noteCancel', sendTo('fanOut', ({ event }) => ({ type: 'fanOut.cancel', ...(event.reason ? { reason: event.reason } : {}) }))],
          },
          // Already stopping for the deadline: stragglers are being stopped anyway; skip the synthesis.
          { guard: 'notCancelled', actions: 'noteCancel' },
        ],
        'specialist.restart': { actions: sendTo('fanOut', ({ event }) => event) },
      },
      initial: 'dispatching',
      states: {
        /** Some specialists still wait for a concurrency slot. */
        dispatching: {
          on: { 'fanOut.progress': { guard: 'allStarted', target: 'waiting', actions: ['recordProgress', 'relayEvents'] } },
        },
        /** Every specialist has started; waiting for all of them. */
        waiting: {},
        /** Deadline reached or cancel requested: stragglers are being stopped. */
        stopping: {},
      },
    },
    synthesizing: {
      invoke: {
        id: 'synthesizer',
        src: 'specialist',
        input: ({ context }): SpecialistActorInput => ({
          task: context.input.task,
          spec: context.input.synthesizer,
          outcomes: context.outcomes as SpecialistOutcome[],
          announce: true,
        }),
        onDone: [
          { guard: 'cancelRequested', target: 'cancelled', actions: 'recordCancelledSynthesis' },
          { guard: and(['synthesisFulfilled', 'fanOutComplete']), target: 'done', actions: 'recordSynthesis' },
          { guard: 'synthesisFulfilled', target: 'partial', actions: 'recordSynthesis' },
          { target: 'failed', actions: 'recordSynthesis' },
        ],
      },
      on: {
        'specialist.started': { actions: 'relaySynthesisEvent' },
        'specialist.token': { actions: 'relaySynthesisEvent' },
        'specialist.retrying': { actions: 'relaySynthesisEvent' },
        // The synthesizer settles `skipped` (its call aborted, its attempts and usage kept); onDone then goes to `cancelled`.
        'run.cancel': {
          guard: 'notCancelled',
          actions: ['noteCancel', sendTo('synthesizer', ({ context }) => ({ type: 'specialist.cancel', reason: context.stop?.message ?? 'the run was cancelled' }))],
        },
      },
    },
    /** Every specialist succeeded and the synthesis is written. */
    done: { type: 'final', entry: [assign({ status: 'done' }), 'announceFinish'] },
    /** The synthesis is written on what arrived; the result names the missing angles. */
    partial: { type: 'final', entry: [assign({ status: 'partial' }), 'announceFinish'] },
    failed: { type: 'final', entry: [assign({ status: 'failed' }), 'announceFinish'] },
    cancelled: { type: 'final', entry: [assign({ status: 'cancelled' }), 'announceFinish'] },
  },
  output: ({ context }) => resultOf(context),
});

/** The lead machine's type, for typing actors and providers. */
export type LeadMachine = typeof leadMachine;
