/**
 * The specialist actor: one per specialist (and one for the synthesizer). It makes attempts
 * through the provider (or a task function), streams text deltas to its parent, enforces its
 * per-attempt deadline, and retries or falls back as its policy decides. It always ends in
 * `done` with a {@link SpecialistOutcome}: an expected failure is an outcome, not an exception.
 *
 * It is custom XState actor logic rather than a state machine on purpose: a machine actor per
 * specialist (plus an invoked promise per attempt) measured ~80 µs each here, this ~10 µs, and
 * fan-outs of 10,000 specialists must stay near `Promise.all`. Its transition function is still
 * a small explicit state machine — phases `calling` and `backingOff` — and its snapshot is
 * plain JSON, so it persists and shows up in inspectors like any actor.
 */
import type { ActorLogic, ActorRef, AnyActorRef, Snapshot } from 'xstate';
import type { Clock } from '../clock.ts';
import { SYNTHESIZER_ID, type SpecialistSpec, type TaskFunction, type TaskResult } from '../config.ts';
import { toErrorInfo, type ErrorInfo } from '../errors.ts';
import type { SpecialistProgressEvent } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { decideAfterFailure } from '../policy.ts';
import { buildSpecialistRequest, buildSynthesisRequest } from '../prompts.ts';
import type { ModelProvider } from '../providers/provider.ts';
import { addUsageInto, ZERO_USAGE, type Usage } from '../usage.ts';

/** What a specialist actor is started with. Plain JSON. */
export interface SpecialistActorInput {
  task: string;
  spec: SpecialistSpec;
  /** For the synthesizer: the outcomes to fold. */
  outcomes?: SpecialistOutcome[];
  /** Report `specialist.started` to the parent (the fan-out announces its own specialists). */
  announce?: boolean;
  /**
   * When the run's deadline stops this specialist anyway (ms since epoch). An attempt deadline
   * that would fire later is not armed: one timer fewer per specialist.
   */
  deadlineAt?: number;
}

/** Where a specialist stands between events. */
export interface SpecialistProgress {
  phase: 'calling' | 'backingOff';
  /** Number of the current attempt, 1-based, across all models. */
  attempt: number;
  /** Attempts made on the current model, the current one included. */
  attemptsOnModel: number;
  /** Index into `spec.models`. */
  modelIndex: number;
  startedAt: number;
  /** Tokens of finished attempts. */
  usage: Usage;
  /**
   * Tokens the backend reported for the attempt in flight (e.g. input tokens when its stream
   * started), so an attempt that fails, times out or is stopped still counts what it cost.
   */
  inFlightUsage?: Usage | null;
  lastError: ErrorInfo | null;
}

/** The specialist actor's snapshot: XState's status fields plus its input and progress. */
export type SpecialistSnapshot = Snapshot<SpecialistOutcome> & {
  input: SpecialistActorInput;
  progress: SpecialistProgress;
};

/** Events a specialist actor handles; all but `xstate.stop` are sent by the actor to itself. */
export type SpecialistActorEvent =
  | { type: 'attempt.succeeded'; attempt: number; text: string; model: string | null; usage: Partial<Usage> | undefined }
  | { type: 'attempt.failed'; attempt: number; error: ErrorInfo }
  | { type: 'attempt.usage'; attempt: number; usage: Usage }
  | { type: 'attempt.timedOut'; attempt: number }
  | { type: 'backoff.elapsed'; attempt: number }
  /** Give up now: abort the call and settle `skipped` with this reason (keeps attempts and usage). */
  | { type: 'specialist.cancel'; reason: string }
  | { type: 'xstate.stop' };

/** What the specialist logic needs from the outside world. */
export interface SpecialistDependencies {
  /** Backend for model specialists. */
  provider: ModelProvider | undefined;
  /** Task functions by specialist id (`synthesizer` for a custom fold). */
  tasks: ReadonlyMap<string, TaskFunction>;
  clock: Clock;
  /** Source of jitter, in [0, 1). */
  random: () => number;
  /**
   * Direct progress sinks of parents that accept them (the fan-out registers one): tokens are
   * the high-volume event, so they skip a mailbox round per delta and are batched by the parent.
   * Parents without a sink get ordinary events.
   */
  sinks?: ProgressSinks;
}

/** A parent's direct intake of progress events, by parent actor. */
export type ProgressSinks = WeakMap<AnyActorRef, (event: SpecialistProgressEvent) => void>;

export type SpecialistActorLogic = ActorLogic<SpecialistSnapshot, SpecialistActorEvent, SpecialistActorInput>;
type SpecialistRef = ActorRef<SpecialistSnapshot, SpecialistActorEvent>;

/** What a successful attempt yields (a provider's response fits it). */
interface AttemptResult {
  text: string;
  model: string | null;
  usage: Partial<Usage> | undefined;
}

/** Resources of a running attempt; kept out of the snapshot because they are not JSON. */
interface AttemptResources {
  controller: AbortController | null;
  timer: unknown;
}

/** Calls made so far: while backing off, `attempt` already numbers the next call, not yet made. */
export function callsMade(progress: SpecialistProgress): number {
  return progress.phase === 'backingOff' ? progress.attempt - 1 : progress.attempt;
}

/** The model an attempt uses, or `null` for task functions. */
export function currentModel(spec: SpecialistSpec, modelIndex: number): string | null {
  return spec.models[modelIndex] ?? null;
}

/**
 * Builds the outcome of a specialist that is being stopped from outside (deadline, cancel),
 * from its latest snapshot, so attempts, model and usage so far are not lost.
 */
export function outcomeOfStopped(
  snapshot: SpecialistSnapshot,
  status: 'timedOut' | 'skipped',
  error: ErrorInfo,
  endedAt: number,
): SpecialistOutcome {
  const { spec } = snapshot.input;
  const progress = snapshot.progress;
  return {
    id: spec.id,
    angle: spec.angle,
    status,
    output: null,
    error,
    attempts: callsMade(progress),
    model: currentModel(spec, progress.modelIndex),
    usage: usageSoFar(progress),
    startedAt: progress.startedAt,
    endedAt,
  };
}

/** Finished attempts' tokens plus what the attempt in flight has reported. */
function usageSoFar(progress: SpecialistProgress): Usage {
  return addUsageInto({ ...progress.usage }, progress.inFlightUsage ?? undefined);
}

/**
 * Creates the specialist actor logic, bound to a provider, task registry and clock.
 *
 * @example
 * const specialist = createSpecialistLogic({ provider, tasks: new Map(), clock: systemClock, random: Math.random });
 */
export function createSpecialistLogic(deps: SpecialistDependencies): SpecialistActorLogic {
  // A Map with explicit deletes rather than a WeakMap: with thousands of live specialists,
  // ephemeron tables make every garbage collection slower.
  const resources = new Map<AnyActorRef, AttemptResources>();
  const { clock } = deps;

  const release = (self: AnyActorRef, abort: boolean) => {
    const held = resources.get(self);
    if (!held) return;
    resources.delete(self);
    if (held.timer !== null) clock.clearTimeout(held.timer);
    if (abort) held.controller?.abort();
  };

  const tellParent = (self: AnyActorRef, event: SpecialistProgressEvent) => {
    const parent = self._parent;
    if (!parent || self.getSnapshot().status !== 'active') return;
    const sink = deps.sinks?.get(parent);
    if (sink) sink(event);
    else parent.send(event);
  };

  const startAttempt = (self: SpecialistRef, snapshot: SpecialistSnapshot) => {
    const { input, progress } = snapshot;
    const { spec } = input;
    const attempt = progress.attempt;
    const model = currentModel(spec, progress.modelIndex);
    const controller = new AbortController();
    const held: AttemptResources = { controller, timer: null };
    resources.set(self, held);
    const timeoutMs = spec.policy.attemptTimeoutMs;
    if (timeoutMs !== null && (input.deadlineAt === undefined || clock.now() + timeoutMs < input.deadlineAt)) held.timer = clock.setTimeout(() => self.send({ type: 'attempt.timedOut', attempt }), timeoutMs);

    let call: Promise<AttemptResult>;
    try {
      // `Promise.resolve` so a provider that returns a plain value (or throws) is an attempt failure, not a crash.
      call = Promise.resolve(runAttempt(input, model, attempt, controller.signal, self));
    } catch (error) {
      call = Promise.reject(error);
    }
    // A call that ends after the actor stopped (deadline, cancel) has nobody to tell.
    call.then(
      (result) => {
        if (self.getSnapshot().status === 'active') self.send({ type: 'attempt.succeeded', attempt, text: result.text, model: result.model, usage: result.usage });
      },
      (error: unknown) => {
        if (self.getSnapshot().status === 'active') self.send({ type: 'attempt.failed', attempt, error: toErrorInfo(error) });
      },
    );
  };

  /** One attempt: the task function, or a streamed model call. Plain promise chains, no async frames: this runs once per specialist. */
  const runAttempt = (
    input: SpecialistActorInput,
    model: string | null,
    attempt: number,
    signal: AbortSignal,
    self: SpecialistRef,
  ): Promise<AttemptResult> => {
    const { spec, task } = input;
    if (spec.kind === 'task') {
      const fn = spec.taskKey === null ? undefined : deps.tasks.get(spec.taskKey);
      if (!fn) throw new Error(`No task function is registered for specialist "${spec.taskKey}"`);
      const context = { task, id: spec.id, angle: spec.angle, attempt, signal, ...(input.outcomes ? { outcomes: input.outcomes } : {}) };
      return fn(context).then(fromTaskResult);
    }
    if (!deps.provider) throw new Error('No model provider was given: pass `provider` to the run, or give the specialist a `run` function');
    if (model === null) throw new Error(`Specialist "${spec.id}" has no model`);
    const request =
      spec.id === SYNTHESIZER_ID && input.outcomes
        ? buildSynthesisRequest(task, spec, input.outcomes, model)
        : buildSpecialistRequest(task, spec, model);
    return deps.provider.stream(request, {
      signal,
      onText: (text) => tellParent(self, { type: 'specialist.token', id: spec.id, text }),
      onUsage: (usage) => {
        if (self.getSnapshot().status === 'active') self.send({ type: 'attempt.usage', attempt, usage });
      },
      caller: { id: spec.id, attempt },
    });
  };

  const settle = (snapshot: SpecialistSnapshot, outcome: Omit<SpecialistOutcome, 'id' | 'angle' | 'startedAt' | 'endedAt'>): SpecialistSnapshot => {
    const { spec } = snapshot.input;
    const output: SpecialistOutcome = {
      id: spec.id,
      angle: spec.angle,
      ...outcome,
      usage: { ...outcome.usage },
      startedAt: snapshot.progress.startedAt,
      endedAt: clock.now(),
    };
    return { ...snapshot, status: 'done', error: undefined, output };
  };

  const afterFailure = (snapshot: SpecialistSnapshot, error: ErrorInfo, self: SpecialistRef): SpecialistSnapshot => {
    const { spec } = snapshot.input;
    const progress = snapshot.progress;
    const decision = decideAfterFailure(
      spec.policy,
      { attemptsOnModel: progress.attemptsOnModel, modelIndex: progress.modelIndex, modelCount: Math.max(1, spec.models.length) },
      error,
      deps.random,
    );
    if (decision.action === 'giveUp') {
      return settle(snapshot, {
        status: 'rejected',
        output: null,
        error,
        attempts: progress.attempt,
        model: currentModel(spec, progress.modelIndex),
        usage: progress.usage,
      });
    }
    const sameModel = decision.modelIndex === progress.modelIndex;
    const next: SpecialistSnapshot = {
      ...snapshot,
      progress: {
        ...progress,
        phase: decision.delayMs > 0 ? 'backingOff' : 'calling',
        attempt: progress.attempt + 1,
        attemptsOnModel: sameModel ? progress.attemptsOnModel + 1 : 1,
        modelIndex: decision.modelIndex,
        lastError: error,
        inFlightUsage: null,
      },
    };
    tellParent(self, {
      type: 'specialist.retrying',
      id: spec.id,
      attempt: next.progress.attempt,
      model: currentModel(spec, decision.modelIndex),
      delayMs: decision.delayMs,
      reason: decision.reason,
      error,
      at: clock.now(),
    });
    const attempt = next.progress.attempt;
    if (decision.delayMs > 0) {
      resources.set(self, { controller: null, timer: clock.setTimeout(() => self.send({ type: 'backoff.elapsed', attempt }), decision.delayMs) });
    } else {
      startAttempt(self, next);
    }
    return next;
  };

  return {
    getInitialSnapshot: (_scope, input) => ({
      status: 'active',
      output: undefined,
      error: undefined,
      input,
      progress: {
        phase: 'calling',
        attempt: 1,
        attemptsOnModel: 1,
        modelIndex: 0,
        startedAt: clock.now(),
        usage: ZERO_USAGE,
        inFlightUsage: null,
        lastError: null,
      },
    }),

    start: (snapshot, { self }) => {
      if (snapshot.status !== 'active') return;
      if (snapshot.input.announce) {
        tellParent(self, {
          type: 'specialist.started',
          id: snapshot.input.spec.id,
          model: currentModel(snapshot.input.spec, snapshot.progress.modelIndex),
          at: snapshot.progress.startedAt,
        } satisfies SpecialistProgressEvent);
      }
      // A restored snapshot resumes where it was: a backoff is cut short, an attempt is re-made.
      startAttempt(self, snapshot.progress.phase === 'calling' ? snapshot : { ...snapshot, progress: { ...snapshot.progress, phase: 'calling' } });
    },

    transition: (snapshot, event, { self }) => {
      if (snapshot.status !== 'active') return snapshot;
      const progress = snapshot.progress;
      switch (event.type) {
        case 'attempt.succeeded': {
          if (event.attempt !== progress.attempt || progress.phase !== 'calling') return snapshot;
          release(self, false);
          const usage = addUsageInto({ ...progress.usage }, event.usage);
          return settle(snapshot, { status: 'fulfilled', output: event.text, error: null, attempts: progress.attempt, model: event.model ?? currentModel(snapshot.input.spec, progress.modelIndex), usage });
        }
        case 'attempt.failed':
        case 'attempt.timedOut': {
          if (event.attempt !== progress.attempt || progress.phase !== 'calling') return snapshot;
          const timedOut = event.type === 'attempt.timedOut';
          release(self, timedOut);
          const error: ErrorInfo = timedOut
            ? { kind: 'timeout', message: `attempt ${progress.attempt} exceeded its ${snapshot.input.spec.policy.attemptTimeoutMs} ms deadline` }
            : event.error;
          // The failed attempt still cost what the backend reported for it.
          const counted = progress.inFlightUsage ? { ...snapshot, progress: { ...progress, usage: usageSoFar(progress), inFlightUsage: null } } : snapshot;
          return afterFailure(counted, error, self);
        }
        case 'attempt.usage': {
          if (event.attempt !== progress.attempt || progress.phase !== 'calling') return snapshot;
          return { ...snapshot, progress: { ...progress, inFlightUsage: { ...event.usage } } };
        }
        case 'backoff.elapsed': {
          if (event.attempt !== progress.attempt || progress.phase !== 'backingOff') return snapshot;
          const next: SpecialistSnapshot = { ...snapshot, progress: { ...progress, phase: 'calling' } };
          startAttempt(self, next);
          return next;
        }
        case 'specialist.cancel': {
          release(self, true);
          return { ...snapshot, status: 'done', error: undefined, output: outcomeOfStopped(snapshot, 'skipped', { kind: 'cancelled', message: event.reason }, clock.now()) };
        }
        case 'xstate.stop': {
          // Stopped from outside (deadline, cancel, the run ended): abort the in-flight call.
          release(self, true);
          return { ...snapshot, status: 'stopped' };
        }
      }
    },

    getPersistedSnapshot: (snapshot) => snapshot,
    restoreSnapshot: (snapshot) => snapshot as SpecialistSnapshot,
  };
}

function fromTaskResult(result: TaskResult): AttemptResult {
  if (typeof result === 'string') return { text: result, model: null, usage: undefined };
  if (result && typeof result.text === 'string') return { text: result.text, model: null, usage: result.usage };
  throw new Error('A task function must return a string or { text, usage? }');
}
