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
 * With a model lead (`input.lead`) the fan-out is the lead model's to decide:
 *
 * ```
 * leading ────────────────────────────────┐   invokes the lead agent (`specialist`), an open
 *   thinking ⇄ dispatching ⇄ waiting      │   `fanOut` and `deadlineTimer`; the lead's `Agent`
 *        │ (the lead ended its turn)      │   calls spawn (dispatching) and join (waiting)
 *      closing (unjoined stragglers stop) │
 *        ▼
 * concluding ──► done | partial (the lead's text is the synthesis) | synthesizing | failed
 * ```
 *
 * A pure statechart: no I/O and no clock. Actors are referenced by key (`fanOut`,
 * `specialist`, `deadlineTimer`) and swapped with `leadMachine.provide({ actors })`; the run API provides ones
 * bound to a model provider. Context stays plain JSON, with the deadline kept as a timestamp.
 */
import { and, assign, emit, enqueueActions, sendTo, setup, type DoneActorEvent, type ErrorActorEvent } from 'xstate';
import { createFanOutLogic, type FanOutInput, type FanOutOutput, type FanOutProgressEvent, type FanOutStop } from '../src/actors/fanOut.ts';
import { createDeadlineTimerLogic } from '../src/actors/deadlineTimer.ts';
import { createSpecialistLogic, outcomeOfStopped, type SpecialistActorInput, type SpecialistSnapshot } from '../src/actors/specialist.ts';
import { systemClock } from '../src/clock.ts';
import { LEAD_ID, type LeadInput } from '../src/config.ts';
import type { ErrorInfo } from '../src/errors.ts';
import type { RunEvent, SpecialistProgressEvent } from '../src/events.ts';
import { isComplete, unstartedOutcome, type SpecialistOutcome } from '../src/outcome.ts';
import { answerJoins, stepAgentCall, type LeadStep, type PendingJoin, type SpawnRecord } from '../src/lead/agentCalls.ts';
import type { AgentCallEvent, AgentResultEvent } from '../src/lead/agentTool.ts';
import { settledEventType } from '../src/events.ts';
import { judgeFanOut, type FanOutVerdict } from '../src/policy.ts';
import { cancelStop } from '../src/core/stops.ts';
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
  /** A model lead's specialists, in the order it spawned them (aligned with `outcomes`). */
  spawned: SpawnRecord[];
  /** A model lead's joins not yet answered. */
  joins: PendingJoin[];
  /** Rounds of spawning so far. */
  rounds: number;
  /** The lead turn of the latest spawn. */
  lastSpawnTurn: number | null;
  /** Spawned specialists not all started yet (waiting for slots). */
  starting: boolean;
  /** The model lead's own outcome, once it has ended. */
  lead: SpecialistOutcome | null;
  /** A model lead's fan-out has ended (its deadline passed): no more specialists start. */
  fanOutDone: boolean;
}

/** Events the lead accepts from outside. */
export type LeadCommand =
  /** Stop the run: stragglers are stopped, finished outcomes are kept, no synthesis. */
  | { type: 'run.cancel'; reason?: string }
  /** Restart one specialist with the same id and fresh attempts (stopping it first if running). */
  | { type: 'specialist.restart'; id: string }
  /** The run's deadline has passed (sent by the deadline timer; may be sent to end the wait now). */
  | { type: 'run.deadline' }
  /** A model lead still at work this long after the run's deadline is stopped (its timer sends this). */
  | { type: 'lead.deadline' };

/** Every event the lead handles. */
export type LeadEvent =
  | LeadCommand
  | FanOutProgressEvent
  | SpecialistProgressEvent
  | DoneActorEvent<FanOutOutput, 'fanOut'>
  | DoneActorEvent<SpecialistOutcome, 'synthesizer'>
  | DoneActorEvent<SpecialistOutcome, 'leadAgent'>
  | AgentCallEvent
  | ErrorActorEvent;

/** The quorum a fan-out's output is judged by: a model lead's counts what it spawned. */
function quorumOf(context: LeadContext, output: FanOutOutput): number {
  return context.input.lead ? Math.min(context.input.quorum, output.outcomes.length) : context.input.quorum;
}

/** Judges the fan-out's output: an early stop decides by itself, otherwise the quorum does. */
function verdictOf(output: FanOutOutput, quorum: number): FanOutVerdict & { cancelled?: true } {
  if (output.stop?.reason === 'cancelled') return { status: 'failed', message: output.stop.message, cancelled: true };
  // The deadline and the budget stop a fan-out without failing it: the quorum decides.
  if (output.stop && output.stop.reason !== 'deadline' && output.stop.reason !== 'budget') return { status: 'failed', message: output.stop.message };
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
    (outcome, index): SpecialistOutcome => outcome ?? unstartedOutcome(specialists[index]!, 'skipped', { kind: 'cancelled', message: 'the run ended before it finished' }, context.startedAt),
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
    // A model lead that wrote the synthesis is a model, whatever the configured synthesizer is.
    synthesizerIsModel: context.input.synthesizer.kind === 'model' || context.synthesis?.id === LEAD_ID,
    ...(context.input.lead ? { lead: { outcome: context.lead ?? null, spawned: context.spawned ?? [] } } : {}),
    ...(context.input.weights ? { weights: context.input.weights } : {}),
    ...(context.stop?.reason === 'budget' ? { stop: 'budget' as const } : {}),
  });
}

/**
 * How long a model lead may still take after the run's deadline (its last, tool-less turn):
 * one attempt's timeout (`attemptTimeoutMs`), or two minutes without one.
 */
function leadGraceMs(context: LeadContext): number {
  return context.input.lead?.agent.policy.attemptTimeoutMs ?? 120_000;
}

/** The fan-out's input; an open one gets its own copy of the list, which it grows as specialists are added. */
function fanOutInput(context: LeadContext, open = false): FanOutInput {
  return {
    task: context.input.task,
    specialists: open ? [...context.input.specialists] : context.input.specialists,
    quorum: context.input.quorum,
    maxConcurrency: context.input.maxConcurrency,
    deadlineMs: context.input.deadlineMs,
    deadlineAt: context.deadlineAt,
    ...(open ? { open } : {}),
    ...(context.input.weights ? { weights: context.input.weights } : {}),
    ...(context.input.context !== undefined ? { context: context.input.context } : {}),
    ...(context.input.cacheWarm ? { cacheWarm: true } : {}),
    ...(context.input.budget ? { budget: context.input.budget } : {}),
    // A streaming fold digests the run's own findings (a sub-lead folds in one batch).
    ...(context.input.fanIn === 'stream' && !context.input.nested ? { fold: { synthesizer: context.input.synthesizer } } : {}),
  };
}

/** The model lead's view of the context, for the rules in `agentCalls.ts`. */
function leadCallState(context: LeadContext) {
  const closedBecause =
    context.stop?.reason === 'deadline'
      ? `the run's ${context.input.deadlineMs} ms deadline passed`
      : context.stop?.reason === 'budget'
        ? "the run's budget is spent"
        : context.stop
          ? context.stop.message
          : context.fanOutDone
            ? 'the fan-out has ended'
            : null;
  return { input: context.input, outcomes: context.outcomes, spawned: context.spawned, joins: context.joins, rounds: context.rounds, lastSpawnTurn: context.lastSpawnTurn, closedBecause };
}

/** Carries out a lead step: its context changes, then its effects in order. */
function applyLeadStep(
  step: LeadStep,
  enqueue: { assign: (values: Partial<LeadContext>) => void; sendTo: (to: string, event: unknown) => void; emit: (event: RunEvent) => void },
  context: LeadContext,
): void {
  const adds = step.effects.filter((effect) => effect.kind === 'add');
  if (Object.keys(step.changes).length > 0 || adds.length > 0) {
    enqueue.assign({ ...(step.changes as Partial<LeadContext>), ...(adds.length > 0 ? { starting: true, settled: context.settled } : {}) });
  }
  for (const effect of step.effects) {
    switch (effect.kind) {
      case 'add':
        enqueue.sendTo('fanOut', { type: 'fanOut.add', specs: [effect.spec], deadlineAt: effect.deadlineAt, message: effect.message });
        break;
      case 'deadlines':
        if (!context.fanOutDone) enqueue.sendTo('fanOut', { type: 'fanOut.deadlines', ids: effect.ids, deadlineAt: effect.deadlineAt, message: effect.message });
        break;
      case 'reply':
        // Not to a lead that has ended, or is being cancelled.
        if (!context.lead && context.stop?.reason !== 'cancelled')
          enqueue.sendTo('leadAgent', { type: 'agent.result', callId: effect.callId, content: effect.content, isError: effect.isError } satisfies AgentResultEvent);
        break;
      case 'emit':
        enqueue.emit(effect.event);
        break;
    }
  }
}

/** Synthesizer events, renamed for the run's event stream. */
function asSynthesisEvent(event: SpecialistProgressEvent): RunEvent {
  switch (event.type) {
    case 'specialist.started':
      return { type: 'synthesis.started', model: event.model, at: event.at };
    case 'specialist.token':
      return { type: 'synthesis.token', text: event.text };
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
    fanOutCancelled: ({ context, event }) => event.type === 'xstate.done.actor.fanOut' && verdictOf(event.output, quorumOf(context, event.output)).cancelled === true,
    fanOutFailed: ({ context, event }) => event.type === 'xstate.done.actor.fanOut' && verdictOf(event.output, quorumOf(context, event.output)).status === 'failed',
    synthesisFulfilled: ({ event }) => event.type === 'xstate.done.actor.synthesizer' && event.output.status === 'fulfilled',
    fanOutComplete: ({ context }) => context.verdict?.status === 'complete',
    cancelRequested: ({ context }) => context.stop?.reason === 'cancelled',
    modelLed: ({ context }) => context.input.lead !== undefined,
    /** Ended for a reason other than the deadline or a close: escalated, quorum out of reach, crashed. */
    fanOutStoppedEarly: ({ event }) => event.type === 'xstate.done.actor.fanOut' && event.output.stop !== null && !['deadline', 'cancelled', 'budget'].includes(event.output.stop.reason),
    leadFinished: ({ context }) => context.lead !== null,
    fanOutEnded: ({ context }) => context.fanOutDone,
    dispatching: ({ context }) => context.starting,
    notDispatching: ({ context }) => !context.starting,
    joining: ({ context }) => context.joins.length > 0,
    notJoining: ({ context }) => context.joins.length === 0,
    leadFailed: ({ context }) => context.lead !== null && context.lead.status !== 'fulfilled',
    verdictFailed: ({ context }) => context.verdict?.status === 'failed',
    synthesizerFolds: ({ context }) => context.input.lead?.synthesize === 'synthesizer',
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
      const verdict = verdictOf(event.output, quorumOf(context, event.output));
      const outcomes = event.output.outcomes;
      // A cancel that arrived while stragglers were being stopped for the deadline still wins.
      const lateCancel = context.stop?.reason === 'cancelled' && event.output.stop?.reason !== 'cancelled' ? context.stop : null;
      return {
        outcomes,
        settled: outcomes.length,
        fulfilled: outcomes.filter((outcome) => outcome.status === 'fulfilled').length,
        stop: lateCancel ?? event.output.stop,
        verdict,
        error: lateCancel ? { kind: 'cancelled', message: lateCancel.message } : verdict.status === 'failed' ? { kind: verdict.cancelled ? 'cancelled' : 'unknown', message: verdict.message } : null,
      } satisfies Partial<LeadContext>;
    }),
    noteDeadline: assign({ stop: ({ context }) => ({ reason: 'deadline', message: `the run's ${context.input.deadlineMs} ms deadline passed` }) }),
    noteCancel: assign({
      stop: ({ event }) => cancelStop(event.type === 'run.cancel' ? event.reason : undefined),
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
      const error: ErrorInfo = { kind: 'cancelled', message: context.stop?.message ?? 'the run was cancelled' };
      // A synthesizer that could not be aborted (on Restate) may have finished anyway: a cancelled run keeps no synthesis, only what it cost.
      const outcome: SpecialistOutcome = event.output.status === 'fulfilled' ? { ...event.output, status: 'skipped', output: null, error } : event.output;
      enqueue.assign({ synthesis: outcome, error });
      enqueue.emit({ type: 'synthesis.failed', outcome });
    }),
    recordCrash: assign({
      error: ({ event }) => ({ kind: 'unknown', message: `internal error in ${event.type.slice('xstate.error.actor.'.length)}: ${String((event as ErrorActorEvent).error)}` }),
    }),
    announceFinish: emit(({ context }) => ({ type: 'run.finished', result: resultOf(context) })),

    /** A model lead's `Agent` call: spawn or join, as `agentCalls.ts` rules. */
    handleAgentCall: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'agent.call') return;
      applyLeadStep(stepAgentCall(leadCallState(context), event), enqueue as never, context);
    }),
    /** Answers the joins whose specialists have all settled. */
    answerJoins: enqueueActions(({ context, enqueue }) => {
      if (!context.input.lead || context.joins.length === 0) return;
      applyLeadStep(answerJoins(context), enqueue as never, context);
    }),
    noteStarted: assign(({ context, event }) => (event.type === 'fanOut.progress' && event.allStarted && context.starting ? { starting: false } : {})),
    relayLeadEvent: emit(({ event }) => event as RunEvent),
    recordLead: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'xstate.done.actor.leadAgent') return;
      const outcome = event.output;
      enqueue.assign({ lead: outcome });
      enqueue.emit({ type: settledEventType(outcome), id: outcome.id, outcome } as RunEvent);
    }),
    /** The lead ended its turn: specialists it never joined are no longer needed. */
    closeFanOut: sendTo('fanOut', { type: 'fanOut.close', message: 'the lead finished without waiting for it' }),
    /** The run's deadline: spawned specialists stop; the lead is told through its joins and writes with what arrived. */
    stopSpawned: enqueueActions(({ context, enqueue }) => {
      if (!context.fanOutDone) enqueue.sendTo('fanOut', { type: 'fanOut.deadline' });
    }),
    /** …and its next turn is its last, without tools. */
    wrapUpLead: enqueueActions(({ context, enqueue }) => {
      if (!context.lead) enqueue.sendTo('leadAgent', { type: 'loop.wrapUp', reason: context.stop?.reason === 'budget' ? 'budget' : 'deadline' });
    }),
    /** Still at work well past the deadline: stopped, keeping what it did (the run fails without its answer). */
    stopLead: enqueueActions(({ context, enqueue }) => {
      if (context.lead) return;
      enqueue.sendTo('leadAgent', {
        type: 'specialist.cancel',
        reason: `the run's ${context.input.deadlineMs} ms deadline passed and the lead had not written its answer ${leadGraceMs(context)} ms later`,
      });
    }),
    cancelLeading: enqueueActions(({ context, event, enqueue }) => {
      const reason = event.type === 'run.cancel' ? event.reason : undefined;
      if (!context.fanOutDone) enqueue.sendTo('fanOut', { type: 'fanOut.cancel', ...(reason ? { reason } : {}) });
      if (!context.lead) enqueue.sendTo('leadAgent', { type: 'specialist.cancel', reason: context.stop?.message ?? 'the run was cancelled' });
    }),
    recordLeadFailure: assign(({ context }) => ({
      error: { kind: context.lead?.error?.kind ?? 'unknown', message: `the lead failed: ${context.lead?.error?.message ?? 'unknown error'}` },
    })),
    /**
     * The run ends while the lead still runs (cancel, escalation): keep what it did — its
     * turns, calls and tokens — as a `skipped` outcome, timed when the fan-out stopped.
     */
    captureLead: enqueueActions(({ context, event, enqueue, self }) => {
      if (context.lead || !context.input.lead) return;
      const last = self.getSnapshot().children['leadAgent']?.getSnapshot() as SpecialistSnapshot | undefined;
      if (!last?.progress) return;
      const outcomes = event.type === 'xstate.done.actor.fanOut' ? event.output.outcomes : context.outcomes.filter((outcome): outcome is SpecialistOutcome => outcome !== null);
      const now = Math.max(last.progress.startedAt, ...outcomes.map((outcome) => outcome.endedAt));
      const why = (event.type === 'xstate.done.actor.fanOut' ? event.output.stop?.message : undefined) ?? context.error?.message ?? 'the run ended';
      enqueue.assign({ lead: last.status === 'done' && last.output ? last.output : outcomeOfStopped(last, 'skipped', { kind: 'cancelled', message: why }, now) });
    }),
    /** The lead's last text is the synthesis. */
    leadWrites: assign(({ context }) => ({ synthesis: context.lead })),
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
      spawned: [],
      joins: [],
      rounds: 0,
      lastSpawnTurn: null,
      starting: false,
      lead: null,
      fanOutDone: false,
    };
  },
  initial: 'starting',
  // A crashed child (a bug, not an expected failure) fails the run instead of the actor.
  on: { 'xstate.error.actor.*': { target: '.failed', actions: ['recordCrash', 'captureLead'] } },
  states: {
    /** Chooses how the run goes: a fixed fan-out, or a model lead that decides it. */
    starting: {
      always: [{ guard: 'modelLed', target: 'leading' }, { target: 'fanningOut' }],
    },
    /**
     * A model lead runs: its `Agent` calls spawn specialists into an open fan-out (dispatching)
     * and join them (waiting); the run's deadline stops the specialists, not the lead, which
     * then answers with what arrived.
     */
    leading: {
      invoke: [
        { id: 'deadline', src: 'deadlineTimer', input: ({ context }) => ({ deadlineAt: context.deadlineAt }) },
        // Past the deadline the lead gets one last turn to write; this bounds it (and its retries).
        { id: 'leadDeadline', src: 'deadlineTimer', input: ({ context }) => ({ deadlineAt: context.deadlineAt + leadGraceMs(context), event: 'lead.deadline' as const }) },
        {
          id: 'fanOut',
          src: 'fanOut',
          // Open: the lead adds specialists as it spawns them.
          input: ({ context }) => fanOutInput(context, true),
          onDone: [
            { guard: 'cancelRequested', target: 'cancelled', actions: ['recordFanOut', 'captureLead'] },
            { guard: 'fanOutCancelled', target: 'cancelled', actions: ['recordFanOut', 'captureLead'] },
            { guard: 'fanOutStoppedEarly', target: 'failed', actions: ['recordFanOut', 'captureLead'] },
            { guard: 'leadFinished', target: 'concluding', actions: 'recordFanOut' },
            // The deadline or the budget stopped the specialists: the lead goes on and answers
            // with what arrived, in one last turn.
            { actions: ['recordFanOut', assign({ fanOutDone: true }), 'answerJoins', 'wrapUpLead'] },
          ],
        },
        {
          id: 'leadAgent',
          src: 'specialist',
          input: ({ context }): SpecialistActorInput => ({
            task: context.input.task,
            spec: context.input.lead!.agent,
            announce: true,
            usesReserve: true,
            ...(context.input.context !== undefined ? { context: context.input.context } : {}),
          }),
          onDone: [
            { guard: 'fanOutEnded', target: 'concluding', actions: 'recordLead' },
            { target: '.closing', actions: ['recordLead', 'closeFanOut'] },
          ],
        },
      ],
      on: {
        'agent.call': { actions: 'handleAgentCall' },
        'fanOut.progress': { actions: ['recordProgress', 'relayEvents', 'noteStarted', 'answerJoins'] },
        // The lead agent's own progress, relayed as it is (tagged `lead`).
        'specialist.started': { actions: 'relayLeadEvent' },
        'specialist.token': { actions: 'relayLeadEvent' },
        'specialist.retrying': { actions: 'relayLeadEvent' },
        'specialist.turn': { actions: 'relayLeadEvent' },
        'specialist.tool.started': { actions: 'relayLeadEvent' },
        'specialist.tool.done': { actions: 'relayLeadEvent' },
        'run.deadline': { guard: 'notStopping', actions: ['noteDeadline', 'stopSpawned', 'wrapUpLead'] },
        'lead.deadline': { actions: 'stopLead' },
        'run.cancel': { guard: 'notCancelled', actions: ['noteCancel', 'cancelLeading'] },
      },
      initial: 'thinking',
      states: {
        /** The lead's model is at work (or running its own tools). */
        thinking: {
          always: [
            { guard: 'dispatching', target: 'dispatching' },
            { guard: 'joining', target: 'waiting' },
          ],
        },
        /** Specialists it spawned are being started (some may wait for a concurrency slot). */
        dispatching: {
          always: [
            { guard: 'joining', target: 'waiting' },
            { guard: 'notDispatching', target: 'thinking' },
          ],
        },
        /** A join waits for specialists to finish (or hit their deadline). */
        waiting: {
          always: [{ guard: 'notJoining', target: 'thinking' }],
        },
        /** The lead has ended its turn: specialists it never joined are being stopped. */
        closing: {},
      },
    },
    /** The lead and its fan-out have both ended: decide how the run ends. */
    concluding: {
      always: [
        { guard: 'cancelRequested', target: 'cancelled', actions: assign({ error: ({ context }) => ({ kind: 'cancelled', message: context.stop?.message ?? 'the run was cancelled' }) }) },
        { guard: 'leadFailed', target: 'failed', actions: 'recordLeadFailure' },
        { guard: 'verdictFailed', target: 'failed' },
        { guard: 'synthesizerFolds', target: 'synthesizing' },
        { guard: 'fanOutComplete', target: 'done', actions: 'leadWrites' },
        { target: 'partial', actions: 'leadWrites' },
      ],
    },
    fanningOut: {
      invoke: [
        // `run.deadline` at `deadlineAt`: a timer actor, not `after`, so a restored lead re-arms it.
        { id: 'deadline', src: 'deadlineTimer', input: ({ context }) => ({ deadlineAt: context.deadlineAt }) },
        {
          id: 'fanOut',
          src: 'fanOut',
          input: ({ context }) => fanOutInput(context),
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
          ...(context.input.weights ? { weights: context.input.weights } : {}),
          ...(context.input.context !== undefined ? { context: context.input.context } : {}),
          // The run's own synthesis may use the budget's share kept for it (a sub-lead's may not).
          ...(context.input.nested ? {} : { usesReserve: true as const }),
          ...(context.input.fanIn === 'stream' && !context.input.nested ? { fold: true as const } : {}),
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
