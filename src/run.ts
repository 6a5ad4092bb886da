/**
 * The run API: one call runs a fan-out and hands back its result, its events and its actor.
 */
import { Subject, type Observable } from 'rxjs';
import { createActor, type Actor, type AnyActorLogic, type InspectionEvent, type Observer } from 'xstate';
import { leadMachine, resultOf, type LeadMachine } from '../machines/lead.ts';
import { createDeadlineTimerLogic, type DeadlineTimerLogic } from './actors/deadlineTimer.ts';
import { createFanOutLogic, type FanOutLogic } from './actors/fanOut.ts';
import { createSpecialistLogic, type ProgressSinks, type SpecialistActorLogic } from './actors/specialist.ts';
import { systemClock, type Clock } from './clock.ts';
import { normalizeConfig, type FanOutConfig, type LeadInput, type SpecialistSpec, type TaskFunction } from './config.ts';
import { ConfigError, toFanfoldError } from './errors.ts';
import type { RunEvent } from './events.ts';
import type { ModelProvider } from './providers/provider.ts';
import type { RunResult } from './result.ts';
import { attachCheckpointer, type CheckpointerOptions } from './checkpoint/checkpointer.ts';
import { createFileCheckpointStore } from './checkpoint/fileStore.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type CheckpointMeta, type PersistedLead } from './checkpoint/format.ts';
import type { CheckpointStore } from './checkpoint/store.ts';
import { checkRunId, newRunId } from './runId.ts';
import { createNestedOutcomes, type NestedOutcomes } from './checkpoint/nestedOutcomes.ts';
import { createLoopSteps, type LoopSteps } from './checkpoint/loopSteps.ts';
import type { McpServers } from './tools/mcp.ts';
import { prepareRunTools, toolListsOf } from './tools/runTools.ts';
import type { Toolbox } from './tools/toolbox.ts';
import { BudgetLedger } from './budget/ledger.ts';
import { createStreamFold, type Digest, type StreamFold } from './fold/streamFold.ts';
import { checkEstimate, type BudgetEstimate } from './budget/estimate.ts';
import { estimateRunBudget } from './budget/runEstimate.ts';
import { DEFAULT_PRICES, type PriceTable } from './pricing/prices.ts';
import { startRunTrace } from './tracing/runTrace.ts';
import type { TraceOptions } from './tracing/traceOptions.ts';
import { prepareRunBatches, type RunBatches } from './providers/batch/runBatches.ts';

/** What the run's actors are bound to. */
export interface RunActorDependencies {
  /** Backend for model specialists and the synthesizer. Required unless every one has a `run` function. */
  provider?: ModelProvider | undefined;
  /**
   * Backends by credential name: a specialist (or lead, or synthesizer) with `credential: name`
   * calls through `providers[name]`; one whose name is not here uses `provider`. Default: none.
   */
  providers?: Readonly<Record<string, ModelProvider>>;
  /** Task functions by `taskKey` (the JSON of a specialist's id path), as `normalizeConfig` returns them. Default: none. */
  tasks?: ReadonlyMap<string, TaskFunction>;
  /** Time source for backoff, attempt deadlines and timestamps. Default: the real clock. */
  clock?: Clock;
  /** Jitter source in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Outcomes inside sub-leads: reported for checkpoints, and kept ones taken on resume. Default: none. */
  nested?: NestedOutcomes;
  /** Resolves specialists' tools (`createToolbox`). Required when some specialist has tools. */
  toolbox?: Toolbox;
  /** Loop steps of tool-using specialists: reported for checkpoints, and kept ones taken on resume. Default: none. */
  steps?: LoopSteps;
  /** The run's budget ledger (a config with `budget`): every model call is admitted against it. Default: none. */
  budget?: BudgetLedger;
  /** Prices USD caps are kept with: the run's `budget` and each specialist's own. Default: `DEFAULT_PRICES`. */
  prices?: PriceTable;
  /** Where the run's streaming fold goes (`fanIn: 'stream'`): created here, with the digests a checkpoint kept. Default: none. */
  fold?: { current: StreamFold | null; kept?: Iterable<[string, Digest]> };
  /**
   * Runs of more specialists than this (every level of a tree counted) host them lightly: no
   * actor per specialist, no `specialist.started`/`specialist.token` events, counts instead (see
   * the README's "Very large runs"). Default `LIGHT_HOSTING_ABOVE` (1,000); `Infinity` never.
   */
  lightHostingAbove?: number;
}

/**
 * The actor implementations the lead machine refers to by key, bound to a provider, task
 * functions and a clock. Pass them to `leadMachine.provide({ actors })` to embed the machine.
 *
 * @example
 * const machine = leadMachine.provide({ actors: createRunActors({ provider }) });
 */
export function createRunActors(deps: RunActorDependencies = {}): { fanOut: FanOutLogic; specialist: SpecialistActorLogic; deadlineTimer: DeadlineTimerLogic } {
  const clock = deps.clock ?? systemClock;
  const sinks: ProgressSinks = new WeakMap();
  const specialist = createSpecialistLogic({
    provider: deps.provider,
    ...(deps.providers ? { providers: new Map(Object.entries(deps.providers)) } : {}),
    tasks: deps.tasks ?? new Map(),
    clock,
    random: deps.random ?? Math.random,
    sinks,
    ...(deps.toolbox ? { toolbox: deps.toolbox } : {}),
    ...(deps.steps ? { steps: deps.steps } : {}),
    ...(deps.budget ? { budget: deps.budget } : {}),
    ...(deps.prices ? { prices: deps.prices } : {}),
    ...(deps.fold ? { fold: deps.fold } : {}),
  });
  // Digests run on this same logic: retries, fallbacks and the budget hold for them too.
  if (deps.fold) deps.fold.current = createStreamFold(specialist, deps.fold.kept ?? []);
  // A sub-lead (N-level fan-out) is the lead machine again, with these same implementations.
  let subLead: AnyActorLogic | undefined;
  const deadlineTimer = createDeadlineTimerLogic(clock);
  const fanOut = createFanOutLogic({
    specialist,
    clock,
    sinks,
    ...(deps.nested ? { nested: deps.nested } : {}),
    ...(deps.steps ? { steps: deps.steps } : {}),
    ...(deps.budget ? { budget: deps.budget } : {}),
    ...(deps.fold ? { fold: deps.fold } : {}),
    ...(deps.lightHostingAbove !== undefined ? { lightHostingAbove: deps.lightHostingAbove } : {}),
    subLead: () => (subLead ??= leadMachine.provide({ actors: { specialist, fanOut, deadlineTimer } })),
  });
  return { specialist, fanOut, deadlineTimer };
}

/**
 * {@link createRunActors} from what a run (or a resumed run) set up, each part possibly absent:
 * the one place that turns "not set" into "left out".
 */
export function createRunActorsOf(parts: { [K in keyof RunActorDependencies]?: RunActorDependencies[K] | undefined }): ReturnType<typeof createRunActors> {
  const deps: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parts)) if (value !== undefined) deps[key] = value;
  return createRunActors(deps as RunActorDependencies);
}

/** Options of {@link runFanOut}. */
export interface RunOptions extends Omit<RunActorDependencies, 'tasks' | 'toolbox' | 'steps'> {
  /** Aborting it cancels the run (stragglers stopped, finished outcomes kept). */
  signal?: AbortSignal;
  /** XState inspection observer, e.g. from `@statelyai/inspect`. Default: none. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Names the config in validation errors (a file path, say). Default `'run config'`. */
  source?: string;
  /**
   * Checkpoint the run so it can be resumed after a crash (`resumeFanOut`, `fanfold resume`).
   * Default: none.
   */
  checkpoint?: CheckpointOptions;
  /**
   * The config's MCP servers, already started with `startMcpServers(config)` (so a bad server
   * fails before the run). Default: the run starts them itself before its first model call. Either
   * way the run stops them when it ends.
   */
  mcp?: McpServers;
  /**
   * OpenTelemetry spans of the run (GenAI semantic conventions): `{ tracer?, content? }`, or
   * `false` for none. Default: the global tracer provider's `fanfold` tracer, which records
   * nothing (and costs one no-op span) until the app registers a provider.
   */
  trace?: TraceOptions | false;
  /**
   * The budget's estimate, made already with `estimateRunBudget` (so the CLI can show it and
   * refuse first). Default: the run makes it before its first call.
   */
  budgetEstimate?: BudgetEstimate;
}

/** Where and how a run is checkpointed. */
export interface CheckpointOptions {
  /** Default: files under `.fanfold/` in the working directory. */
  store?: CheckpointStore;
  /** Default: a new id from the date and time. Letters, digits, `.`, `_`, `-`. */
  runId?: string;
  /** JSON kept with the checkpoint for whoever resumes the run. */
  meta?: CheckpointMeta;
  /** Called once if a checkpoint write fails (disk full, say): checkpointing stops, the run goes on. Default: a warning on stderr. */
  onError?: (error: Error) => void;
}

/** A running fan-out. */
export interface FanOutRun {
  /**
   * Resolves when the run reaches a final state — `done`, `partial`, `failed` or `cancelled`:
   * expected failures are results, not rejections. Rejects only on an internal error.
   */
  result: Promise<RunResult>;
  /**
   * Every run event, in order, ending with `run.finished`; completes with the run. Hot: events
   * start on the next tick, so subscribe right after `runFanOut` returns.
   */
  events$: Observable<RunEvent>;
  /** The lead actor: subscribe to snapshots, `send({ type: 'run.cancel' })`, inspect. */
  actor: Actor<LeadMachine>;
  /** Cancels the run. A checkpointed run records the cancel: resuming it later returns the cancelled result. */
  cancel(reason?: string): void;
  /**
   * Stops the run like `cancel` (stragglers stopped, finished outcomes reported in `result`),
   * but leaves its checkpoint as it was before the stop, so `resumeFanOut` continues it later —
   * what the CLI does on Ctrl-C. Without a checkpoint, the same as `cancel`.
   */
  suspend(reason?: string): void;
  /** The run id, when the run is checkpointed. */
  runId: string | null;
}

/**
 * Runs a fan-out: validates the config (throwing a `ConfigError` naming each bad path), starts
 * the lead machine, and returns its result, events and actor.
 *
 * @example
 * const run = runFanOut(
 *   { task: 'nuclear fusion', specialists: [{ id: 'historical' }, { id: 'technical' }], deadlineMs: 60_000 },
 *   { provider },
 * );
 * run.events$.subscribe((event) => console.log(event.type));
 * const result = await run.result;
 */
export function runFanOut(config: FanOutConfig, options: RunOptions = {}): FanOutRun {
  const source = options.source ?? 'run config';
  const normalized = normalizeConfig(config, source);
  const { input, tasks } = normalized;
  if (!options.provider) {
    // A specialist whose credential names one of `providers` has its backend.
    const needing = modelSpecialistPaths(input, '', (spec) => spec.credential !== undefined && options.providers?.[spec.credential] !== undefined);
    if (needing.length > 0) {
      throw new ConfigError(
        source,
        needing.map((path) => ({ path, message: 'calls a model, but no `provider` was given: pass one in the run options, or give it a `run` function' })),
      );
    }
  }
  if (options.providers) {
    const unknown = unknownCredentials(input, options.providers);
    if (unknown.length > 0) throw new ConfigError(source, unknown);
  }
  // Checks every tool reference it can now; MCP servers still to start are checked once up.
  const tools = prepareRunTools(normalized, source, options.mcp);
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  // Batch mode: specialists' calls go through Message Batches (the lead machine's deadline is startedAt + deadlineMs).
  const batches = prepareRunBatches(input, { provider: options.provider, providers: options.providers, clock, deadline: { at: startedAt + input.deadlineMs, ms: input.deadlineMs }, source });
  const runProvider = batches ? batches.provider : options.provider;
  const runProviders = batches ? batches.providers : options.providers;
  // Sub-leads' outcomes and loop steps are only followed when there is a checkpoint to keep them in.
  const nested = options.checkpoint ? createNestedOutcomes() : undefined;
  const steps = options.checkpoint && toolListsOf(input).length > 0 ? createLoopSteps() : undefined;
  // Checked before the run's span starts, so a bad id leaves no span open.
  const checkpointRunId = options.checkpoint ? (options.checkpoint.runId ?? newRunId()) : null;
  if (checkpointRunId !== null) checkRunId(checkpointRunId);
  // Traced: the actors get providers that time each call, and the run's actors are watched as they appear.
  const tracing = startRunTrace(options.trace, { input, clock, provider: runProvider, providers: runProviders });
  const providers = tracing ? tracing.providers : runProviders;
  const inspect = tracing ? tracing.inspect(options.inspect) : options.inspect;
  // A budget: one ledger for the whole run, its reserve set by the estimate before the first call.
  const prices = options.prices ?? DEFAULT_PRICES;
  const ledger = input.budget ? new BudgetLedger(input.budget.caps, prices) : undefined;
  const fold: { current: StreamFold | null } | undefined = input.fanIn === 'stream' ? { current: null } : undefined;
  const machine = leadMachine.provide({
    actors: createRunActorsOf({
      provider: tracing ? tracing.provider : runProvider,
      providers,
      tasks,
      clock,
      toolbox: tools.toolbox,
      random: options.random,
      nested,
      steps,
      budget: ledger,
      prices,
      fold,
      lightHostingAbove: options.lightHostingAbove,
    }),
  });
  const actor = createActor(machine, {
    input: { ...input, startedAt },
    clock,
    ...(inspect ? { inspect } : {}),
  });
  let checkpoint: CheckpointerOptions | null = null;
  let claim = () => {};
  if (options.checkpoint) {
    const store = options.checkpoint.store ?? createFileCheckpointStore();
    const runId = checkpointRunId!;
    const options1: CheckpointerOptions = {
      store,
      runId,
      meta: options.checkpoint.meta ?? {},
      createdAt: new Date().toISOString(),
      journalSeq: 0,
      nested: nested!,
      onError: options.checkpoint.onError ?? warnCheckpointFailed(runId),
      ...(steps ? { steps } : {}),
      ...(fold?.current ? { fold: fold.current } : {}),
      ...(batches ? { batches: batches.journal, batchesSettled: batches.idle } : {}),
    };
    checkpoint = options1;
    // Claims the run id before any call is made; throws if it is taken.
    claim = () =>
      store.create({
        format: CHECKPOINT_FORMAT,
        version: CHECKPOINT_VERSION,
        runId,
        createdAt: options1.createdAt,
        savedAt: options1.createdAt,
        journalSeq: 0,
        meta: options1.meta,
        snapshot: actor.getPersistedSnapshot() as unknown as PersistedLead,
      });
  }
  const traced = (run: FanOutRun) => (tracing ? tracing.follow(run) : run);
  let estimate: BudgetEstimate | null = options.budgetEstimate ?? null;
  // The budget's report goes with the result: the caps, the estimate, what was spent.
  const follow = (run: FanOutRun): FanOutRun => {
    const folded = traced(run);
    // Digests still running when the run ends without a synthesis are stopped.
    const followed = fold ? { ...folded, result: folded.result.finally(() => fold.current?.stop()) } : folded;
    if (!ledger || !input.budget) return followed;
    const caps = input.budget.caps;
    return {
      ...followed,
      result: followed.result.then((result) => ({
        ...result,
        budget: {
          caps,
          estimate: estimate?.total ?? { usd: 0, inputTokens: 0, outputTokens: 0 },
          reserve: estimate?.reserve ?? { usd: 0, inputTokens: 0, outputTokens: 0 },
          spent: { ...ledger.spent },
          atExhaustion: ledger.atExhaustion,
        },
      })),
    };
  };
  // Before the first call: refuse a run whose unavoidable cost passes its budget.
  const checkBudget = async () => {
    if (!ledger || !input.budget) return;
    estimate ??= await estimateRunBudget(normalized, { provider: options.provider, prices, toolbox: tools.toolbox, ...(options.signal ? { signal: options.signal } : {}) });
    checkEstimate(estimate, input.budget.caps, source);
    ledger.reserved = { ...estimate.reserve };
  };
  if (ledger && !tools.ready) {
    return follow(startLead(actor, options.signal, checkpoint, { ready: checkBudget().then(claim), onEnd: tools.close, batches }));
  }
  if (!tools.ready) {
    try {
      claim();
    } catch (error) {
      void tools.close();
      tracing?.fail(error);
      throw error;
    }
    return follow(startLead(actor, options.signal, checkpoint, { onEnd: tools.close, batches }));
  }
  // MCP servers to start first: the lead starts (and the run id is claimed) once they are up.
  return follow(startLead(actor, options.signal, checkpoint, { ready: tools.ready.then(checkBudget).then(claim), onEnd: tools.close, batches }));
}

/** The default checkpoint error report: one warning on stderr. */
export function warnCheckpointFailed(runId: string): (error: Error) => void {
  return (error) => process.stderr.write(`fanfold: checkpointing run ${runId} failed, the run goes on without it: ${error.message}\n`);
}

/** When a lead starts and what ends with it. */
export interface LeadLifecycle {
  /** Start only once this resolves (MCP servers starting); if it rejects, the run's result rejects with its error and nothing runs. */
  ready?: Promise<void> | null;
  /** Called once when the run ends, however it ends (stops its MCP servers). */
  onEnd?: () => Promise<void>;
  /**
   * Batch mode: its events join the run's, a cancel cancels its batches, a suspend leaves them
   * running (for the resume), and the run's end stops polling before `result` resolves.
   */
  batches?: RunBatches | null;
}

/**
 * Starts a created (or restored) lead actor and wires its result, events and cancel; with
 * `checkpoint`, keeps its checkpoint from the first moment. Shared by `runFanOut` and `resumeFanOut`.
 */
export function startLead(actor: Actor<LeadMachine>, signal: AbortSignal | undefined, checkpoint: CheckpointerOptions | null, lifecycle: LeadLifecycle = {}): FanOutRun {
  let checkpointer: ReturnType<typeof attachCheckpointer> | null = null;
  const events = new Subject<RunEvent>();
  // Events the start itself emits (a model lead announces itself at once) wait for the
  // subscriber who attaches right after `runFanOut` returns: they go out on the next microtask.
  let early: RunEvent[] | null = [];
  const flushEarly = () => {
    const held = early ?? [];
    early = null;
    for (const event of held) events.next(event);
  };
  const batches = lifecycle.batches ?? null;
  const result = new Promise<RunResult>((resolve, reject) => {
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status !== 'done') return;
        flushEarly();
        events.complete();
        resolve(snapshot.output);
      },
      error: (caught) => {
        // The lead actor failed: a bug, or a FanfoldError thrown inside it, handed on as one.
        const error = toFanfoldError(caught);
        events.error(error);
        reject(error);
      },
      complete: () => {
        // Stopped from outside (`actor.stop()`) before a final state: still hand back what finished.
        const snapshot = actor.getSnapshot();
        if (snapshot.status === 'done') return;
        // Its checkpoint stays resumable, so its batches are left running for the resume.
        batches?.hold();
        checkpointer?.detach();
        flushEarly();
        events.complete();
        resolve({ ...resultOf(snapshot.context), status: 'cancelled', error: { kind: 'cancelled', message: 'the run actor was stopped before the run finished' } });
      },
    });
  });
  const ended =
    batches || lifecycle.onEnd
      ? async () => {
          await batches?.close();
          await lifecycle.onEnd?.();
        }
      : undefined;
  const settled = ended
    ? result.then(
        (value) => ended().then(() => value),
        (error: unknown) => ended().then(() => Promise.reject(error)),
      )
    : result;

  const cancel = (reason?: string) => {
    if (actor.getSnapshot().status !== 'active') return;
    // Batches first: a call stopped by the cancel must not see its batch polled again.
    batches?.cancel();
    actor.send({ type: 'run.cancel', ...(reason ? { reason } : {}) });
  };
  const suspend = (reason?: string) => {
    // Its batches go on without it: the resume polls them.
    batches?.hold();
    checkpointer?.detach();
    cancel(reason);
  };
  let begun = false;
  // Before the lead starts (MCP servers starting), a cancel means nothing runs at all.
  let cancelledEarly: string | null = null;
  const stopRun = (reason?: string) => {
    if (begun) cancel(reason);
    else cancelledEarly ??= reason ?? 'cancelled';
  };
  if (signal) {
    const onAbort = () => stopRun(signal.reason instanceof Error ? signal.reason.message : signal.reason ? String(signal.reason) : 'aborted');
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
    void settled.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
  }
  const begin = () => {
    begun = true;
    // First listener: an outcome is journaled before anyone else hears of it.
    checkpointer = checkpoint ? attachCheckpointer(actor, checkpoint) : null;
    actor.on('*', (event) => (early ? early.push(event) : events.next(event)));
    batches?.setEvents((event) => (early ? early.push(event) : events.next(event)));
    actor.start();
    queueMicrotask(flushEarly);
    // Resumable from its first moment: the specialists just started are in the snapshot.
    checkpointer?.saveNow();
  };
  const runId = checkpoint?.runId ?? null;
  if (!lifecycle.ready) {
    begin();
    return { result: settled, events$: events.asObservable(), actor, cancel, suspend, runId };
  }
  const whole = lifecycle.ready.then(
    (): Promise<RunResult> => {
      if (cancelledEarly === null) {
        begin();
        return settled;
      }
      const stopped: RunResult = { ...resultOf(actor.getSnapshot().context), status: 'cancelled', error: { kind: 'cancelled', message: `the run was cancelled before it started: ${cancelledEarly}` } };
      events.next({ type: 'run.finished', result: stopped });
      events.complete();
      return (ended ? ended() : Promise.resolve()).then(() => stopped);
    },
    (caught: unknown) => {
      const error = toFanfoldError(caught);
      events.error(error);
      return (ended ? ended() : Promise.resolve()).then(() => Promise.reject(error));
    },
  );
  return {
    result: whole,
    events$: events.asObservable(),
    actor,
    cancel: stopRun,
    suspend: (reason) => {
      batches?.hold();
      checkpointer?.detach();
      stopRun(reason);
    },
    runId,
  };
}

/** Credentials that name no entry of `providers` (a typo would otherwise quietly use `provider`). */
export function unknownCredentials(input: LeadInput, providers: Readonly<Record<string, ModelProvider>>): Array<{ path: string; message: string }> {
  const names =
    Object.keys(providers)
      .map((name) => `"${name}"`)
      .join(', ') || 'none';
  const issues: Array<{ path: string; message: string }> = [];
  const check = (spec: SpecialistSpec, path: string) => {
    if (spec.credential !== undefined && !Object.hasOwn(providers, spec.credential))
      issues.push({ path: `${path}.credential`, message: `expected one of the run's providers (${names}), got "${spec.credential}"` });
    spec.fanOut?.specialists.forEach((inner, index) => check(inner, `${path}.specialists[${index}]`));
    if (spec.fanOut) check(spec.fanOut.synthesizer, `${path}.synthesizer`);
  };
  if (input.lead) check(input.lead.agent, 'lead');
  (input.lead?.templates ?? input.specialists).forEach((spec, index) => check(spec, `specialists[${index}]`));
  check(input.synthesizer, 'synthesizer');
  return issues;
}

/** Config paths of every model specialist and synthesizer, nested sub-leads included. */
function modelSpecialistPaths(level: Pick<LeadInput, 'specialists' | 'synthesizer'> & { lead?: LeadInput['lead'] }, prefix = '', covered: (spec: SpecialistSpec) => boolean = () => false): string[] {
  const paths: string[] = [];
  const visit = (spec: SpecialistSpec, path: string) => {
    if (spec.kind === 'model' && !covered(spec)) paths.push(path);
    if (spec.fanOut) paths.push(...modelSpecialistPaths(spec.fanOut, `${path}.`, covered));
  };
  if (level.lead && !covered(level.lead.agent)) paths.push(`${prefix}lead`);
  // A model lead's templates are the config's specialists.
  (level.lead?.templates ?? level.specialists).forEach((spec, index) => visit(spec, `${prefix}specialists[${index}]`));
  // The lead writes the synthesis itself unless a synthesizer folds.
  if (!level.lead || level.lead.synthesize === 'synthesizer') visit(level.synthesizer, `${prefix}synthesizer`);
  return paths;
}
