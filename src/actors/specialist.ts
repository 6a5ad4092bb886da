/**
 * The specialist actor: one per specialist (and one for the synthesizer). It makes attempts
 * through the provider (or a task function), streams text deltas to its parent, enforces its
 * per-attempt deadline, and retries or falls back as its policy decides. A specialist with
 * tools is an agent: it loops — model turn, the turn's tool calls in parallel, results back —
 * until the model ends its turn or a limit gives it one last turn without tools (the rules are
 * in `agentLoop.ts`). Retries and fallbacks apply to one model turn; finished tool calls are
 * never run again. It always ends in `done` with a {@link SpecialistOutcome}: an expected
 * failure is an outcome, not an exception.
 *
 * It is custom XState actor logic rather than a state machine on purpose: a machine actor per
 * specialist (plus an invoked promise per attempt) measured ~80 µs each here, this ~10 µs, and
 * fan-outs of 10,000 specialists must stay near `Promise.all`. Its transition function is still
 * a small explicit state machine — phases `calling`, `backingOff` and `tooling` — and its
 * snapshot is plain JSON, so it persists and shows up in inspectors like any actor.
 */
import type { ActorLogic, ActorRef, AnyActorRef, Snapshot } from 'xstate';
import type { Clock } from '../clock.ts';
import { SYNTHESIZER_ID, type SpecialistSpec, type TaskFunction, type TaskResult } from '../config.ts';
import { FanfoldError, ProviderError, toErrorInfo, type ErrorInfo } from '../errors.ts';
import type { SpecialistProgressEvent } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { nextAttemptAfter } from '../core/attemptStep.ts';
import { buildClosingRequest, buildDigestRequest, buildSpecialistRequest, buildSynthesisRequest } from '../prompts.ts';
import type { ContentBlock, ModelProvider, ModelRequest, ModelResponse, ModelToolDefinition, ServerToolEvent } from '../providers/provider.ts';
import { describeSpend, fitOutputTo, fits, spendOf, worstCaseOf, type BudgetLedger } from '../budget/ledger.ts';
import { DEFAULT_PRICES, type PriceTable } from '../pricing/prices.ts';
import { preview, redactDeep } from '../redact.ts';
import type { LoopSteps } from '../checkpoint/loopSteps.ts';
import { weighFindings, type WeightRule } from '../findings/weights.ts';
import type { StreamFold } from '../fold/streamFold.ts';
import { runToolCall, type RunningToolCall, type ToolCallOutcome } from '../tools/runToolCall.ts';
import { AGENT_TOOL_NAME, type AgentCallEvent, type AgentResultEvent } from '../lead/agentTool.ts';
import type { Toolbox } from '../tools/toolbox.ts';
import type { LoopStep, ModelStep, ToolCallSummary, ToolStep } from '../tools/types.ts';
import { addUsageInto, ZERO_USAGE, type Usage } from '../usage.ts';
import { advance, applyModelStep, applyToolStep, errorResult, replaySteps, sourcesOf, startLoop, wrapUp, type LoopState, type ToolCallRequest, type WrapUpReason } from './agentLoop.ts';

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
  /** Config indexes from the top down to it: where its loop steps are journaled (checkpointed runs). */
  path?: number[];
  /** Loop steps a checkpoint kept: the loop goes on after them instead of starting over. */
  resume?: LoopStep[];
  /** For the synthesizer: how findings are weighed (absent: they are not). */
  weights?: Required<WeightRule>;
  /** The run's shared context, sent first in every call (see `FanOutConfig.context`). */
  context?: string;
  /** It warms the context's cache: tell the parent once its first response has begun. */
  warmsCache?: true;
  /**
   * Its text deltas are not sent on as `specialist.token` events (a specialist of a very large
   * fan-out, see `LIGHT_HOSTING_ABOVE`): its finding arrives whole with its outcome.
   */
  quiet?: true;
  /** Its calls may use the budget's share kept for the synthesis (the run's synthesizer, a model lead). */
  usesReserve?: true;
  /** A streaming fold's digest: it writes this finding's section of the report (see `streamFold.ts`). */
  digestOf?: { outcome: SpecialistOutcome; weight?: number };
  /** The synthesizer of a streaming fold: it writes the closing part beside the last digests and assembles the report. */
  fold?: true;
}

/** Where a specialist stands between events. */
export interface SpecialistProgress {
  /** `calling`: a model call (or task function) in flight; `backingOff`: waiting to retry; `tooling`: running a turn's tool calls. */
  phase: 'calling' | 'backingOff' | 'tooling';
  /** Number of the current attempt, 1-based, across all models and turns: calls made (or in flight) so far. */
  attempt: number;
  /** Attempts made on the current model for the current turn, the current one included. */
  attemptsOnModel: number;
  /** Index into `spec.models`; a fallback holds for the rest of the loop. */
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
  /** The model turn in progress (or last finished), from 1. */
  turn: number;
  /** Calls made for the current turn (1 plus its retries so far). */
  turnCalls: number;
  /** The tool-use loop; `null` for a specialist without tools (one call). */
  loop: LoopState | null;
  /** Set when a restored loop had already finished: the actor settles at once. */
  finishedOnRestore?: true;
  /** The cache warmer has told its parent that its first response began. */
  cacheWritten?: true;
}

/** The specialist actor's snapshot: XState's status fields plus its input and progress. */
export type SpecialistSnapshot = Snapshot<SpecialistOutcome> & {
  input: SpecialistActorInput;
  progress: SpecialistProgress;
};

/** A successful model call (or task function), as the actor receives it. */
interface AttemptResult {
  text: string;
  model: string | null;
  usage: Partial<Usage> | undefined;
  /** Model calls only. */
  content?: ContentBlock[];
  stopReason?: string | null;
  /** Server tools that ran inside the call. */
  serverToolCalls?: ToolCallSummary[];
  /** Calls made besides this one that its outcome owns (a streaming fold's digests); their usage is in `usage`. */
  extraCalls?: number;
}

/** Events a specialist actor handles; all but `specialist.cancel` and `xstate.stop` are sent by the actor to itself. */
export type SpecialistActorEvent =
  | ({ type: 'attempt.succeeded'; attempt: number } & AttemptResult)
  | { type: 'attempt.failed'; attempt: number; error: ErrorInfo }
  | { type: 'attempt.usage'; attempt: number; usage: Usage }
  | { type: 'attempt.timedOut'; attempt: number }
  | { type: 'backoff.elapsed'; attempt: number }
  /** A tool call of turn `turn` finished (its result may be an error result). */
  | { type: 'tool.finished'; turn: number; step: ToolStep; error: string | null }
  /** A loop restored from a checkpoint had already ended: settle with its finding. */
  | { type: 'loop.settle' }
  /** A model lead's `Agent` call answered by its parent (the lead machine). */
  | AgentResultEvent
  /** The run's deadline passed: a loop's next turn is its last, without tools. */
  | { type: 'loop.wrapUp'; reason?: WrapUpReason }
  /** Give up now: abort the call and settle `skipped` with this reason (keeps attempts and usage). */
  | { type: 'specialist.cancel'; reason: string }
  | { type: 'xstate.stop' };

/** What the specialist logic needs from the outside world. */
export interface SpecialistDependencies {
  /** Backend for model specialists. */
  provider: ModelProvider | undefined;
  /** Backends by credential name, for specialists that name one (`spec.credential`); the others use `provider`. */
  providers?: ReadonlyMap<string, ModelProvider>;
  /** Task functions by specialist id (`synthesizer` for a custom fold). */
  tasks: ReadonlyMap<string, TaskFunction>;
  clock: Clock;
  /** Source of jitter, in [0, 1). */
  random: () => number;
  /** Resolves specialists' tools (code, MCP, server tools). Required for specialists with tools. */
  toolbox?: Toolbox;
  /** Where finished loop steps are reported, for checkpoints. Default: not reported. */
  steps?: LoopSteps;
  /** The run's budget, when it has one: every model call is admitted against it and booked. */
  budget?: BudgetLedger;
  /** Prices a specialist's own `budget` is kept with when the run has no ledger. Default: `DEFAULT_PRICES`. */
  prices?: PriceTable;
  /** The run's streaming fold (`fanIn: 'stream'`), set once the logic exists (the fold runs digests with it). */
  fold?: { current: StreamFold | null };
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

/** Resources of a running attempt or tool turn; kept out of the snapshot because they are not JSON. */
interface AttemptResources {
  controller: AbortController | null;
  timer: unknown;
  /** While tooling: calls waiting for a slot, and calls running. */
  queue?: ToolCallRequest[];
  running?: Map<string, RunningToolCall>;
  /** `Agent` calls waiting for the lead machine's answer, by call id. */
  agentCalls?: Map<string, (outcome: ToolCallOutcome) => void>;
}

/** A shared, frozen empty list: the tool calls of a specialist without tools. */
const NO_TOOL_CALLS: ToolCallSummary[] = Object.freeze([]) as unknown as ToolCallSummary[];

/** Calls made so far: while backing off, `attempt` already numbers the next call, not yet made. */
export function callsMade(progress: SpecialistProgress): number {
  return progress.phase === 'backingOff' ? progress.attempt - 1 : progress.attempt;
}

/** The model an attempt uses, or `null` for task functions. */
export function currentModel(spec: SpecialistSpec, modelIndex: number): string | null {
  return spec.models[modelIndex] ?? null;
}

/** The loop fields of an outcome: turns, last stop reason, limit and tool calls (model specialists only). */
function loopFields(
  spec: SpecialistSpec,
  progress: SpecialistProgress,
  fulfilledPlain: { stopReason: string | null } | null,
): Pick<SpecialistOutcome, 'turns' | 'stopReason' | 'loopLimit' | 'toolCalls'> {
  if (spec.kind !== 'model') return {};
  const loop = progress.loop;
  if (!loop) return { turns: fulfilledPlain ? 1 : 0, stopReason: fulfilledPlain?.stopReason ?? null, loopLimit: null, toolCalls: NO_TOOL_CALLS };
  return { turns: loop.turns, stopReason: loop.lastStopReason, loopLimit: loop.limit, toolCalls: loop.toolCalls };
}

/**
 * Builds the outcome of a specialist that is being stopped from outside (deadline, cancel),
 * from its latest snapshot, so attempts, model, usage, turns and tool calls so far are not lost.
 */
export function outcomeOfStopped(snapshot: SpecialistSnapshot, status: 'timedOut' | 'skipped', error: ErrorInfo, endedAt: number): SpecialistOutcome {
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
    ...loopFields(spec, progress, null),
  };
}

/** Finished attempts' tokens plus what the attempt in flight has reported. */
function usageSoFar(progress: SpecialistProgress): Usage {
  return addUsageInto({ ...progress.usage }, progress.inFlightUsage ?? undefined);
}

/** The progress a specialist starts with: fresh, or its loop rebuilt from a checkpoint's steps. */
function initialProgress(input: SpecialistActorInput, now: number): SpecialistProgress {
  const { spec } = input;
  const base: SpecialistProgress = {
    phase: 'calling',
    attempt: 1,
    attemptsOnModel: 1,
    modelIndex: 0,
    startedAt: now,
    usage: ZERO_USAGE,
    inFlightUsage: null,
    lastError: null,
    turn: 1,
    turnCalls: 1,
    loop: null,
  };
  if (spec.kind !== 'model' || spec.tools.length === 0) return base;
  const steps = input.resume ?? [];
  const reports = spec.tools.some((tool) => tool.source === 'report');
  if (steps.length === 0) return { ...base, loop: startLoop(spec.policy, reports) };
  const loop = replaySteps(steps, spec.policy, reports);
  const usage = { ...ZERO_USAGE };
  let calls = 0;
  let model: string | null = null;
  for (const step of steps) {
    if (step.kind !== 'model') continue;
    addUsageInto(usage, step.usage);
    calls += step.calls;
    model = step.model;
  }
  // The model it had fallen back to, if any: a fallback holds for the rest of the loop.
  const modelIndex = Math.max(0, model === null ? 0 : spec.models.indexOf(model));
  const { loop: next, action } = advance(loop, spec.policy);
  const progress: SpecialistProgress = { ...base, usage, modelIndex, attempt: calls, turn: loop.turns, loop: next };
  if (action.kind === 'finish') return { ...progress, finishedOnRestore: true };
  if (action.kind === 'runTools') return { ...progress, phase: 'tooling' };
  return { ...progress, attempt: calls + 1, turn: action.turn };
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
    if (abort) {
      held.controller?.abort();
      for (const call of held.running?.values() ?? []) call.abort(new FanfoldError('tool', 'the specialist was stopped'));
    }
  };

  const tellParent = (self: AnyActorRef, event: SpecialistProgressEvent) => {
    const parent = self._parent;
    if (!parent || self.getSnapshot().status !== 'active') return;
    const sink = deps.sinks?.get(parent);
    if (sink) sink(event);
    else parent.send(event);
  };

  /** Journals a finished step (checkpointed runs only), redacted like everything fanfold keeps. */
  const record = (input: SpecialistActorInput, step: LoopStep) => {
    if (deps.steps && input.path) deps.steps.recorded(input.path, redactDeep(step));
  };

  /** The tools offered on this turn: server tools' `max_uses` bounded by what is left of `maxToolCalls`. */
  const offeredTools = (spec: SpecialistSpec, loop: LoopState): ModelToolDefinition[] => {
    if (!deps.toolbox) throw new FanfoldError('usage', `Specialist "${spec.id}" has tools, but the run was given no toolbox: create its actors with createRunActors()`);
    const { definitions } = deps.toolbox.resolve(spec.tools);
    const room = Math.max(1, spec.policy.maxToolCalls - loop.toolCallsUsed);
    return definitions.map((tool) => (tool.kind === 'server' && (tool.maxUses === null || tool.maxUses > room) ? { ...tool, maxUses: room } : tool));
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
    if (timeoutMs !== null && (input.deadlineAt === undefined || clock.now() + timeoutMs < input.deadlineAt))
      held.timer = clock.setTimeout(() => self.send({ type: 'attempt.timedOut', attempt }), timeoutMs);

    let call: Promise<AttemptResult>;
    try {
      // `Promise.resolve` so a provider that returns a plain value (or throws) is an attempt failure, not a crash.
      call = Promise.resolve(runAttempt(input, progress, model, attempt, controller.signal, self));
    } catch (error) {
      call = Promise.reject(error);
    }
    // A call that ends after the actor stopped (deadline, cancel) has nobody to tell.
    call.then(
      (result) => {
        if (self.getSnapshot().status === 'active') self.send({ type: 'attempt.succeeded', attempt, ...result });
      },
      (error: unknown) => {
        if (self.getSnapshot().status === 'active') self.send({ type: 'attempt.failed', attempt, error: toErrorInfo(error) });
      },
    );
  };

  /** One attempt: the task function, or a streamed model call. Plain promise chains, no async frames: this runs once per specialist. */
  const runAttempt = (input: SpecialistActorInput, progress: SpecialistProgress, model: string | null, attempt: number, signal: AbortSignal, self: SpecialistRef): Promise<AttemptResult> => {
    const { spec, task } = input;
    if (spec.kind === 'task') {
      const fn = spec.taskKey === null ? undefined : deps.tasks.get(spec.taskKey);
      if (!fn) throw new FanfoldError('usage', `No task function is registered for specialist "${spec.taskKey}"`);
      const context = { task, id: spec.id, angle: spec.angle, attempt, signal, ...(input.outcomes ? { outcomes: input.outcomes } : {}) };
      return fn(context).then(fromTaskResult);
    }
    // A named credential picks its provider; the rest use the run's.
    const provider = (spec.credential !== undefined ? deps.providers?.get(spec.credential) : undefined) ?? deps.provider;
    if (!provider) throw new FanfoldError('config', 'No model provider was given: pass `provider` to the run, or give the specialist a `run` function');
    if (model === null) throw new FanfoldError('config', `Specialist "${spec.id}" has no model`);
    const loop = progress.loop;
    if (input.fold && input.outcomes) return foldAttempt(self, input, progress, model, attempt, signal, provider);
    const request = input.digestOf
      ? buildDigestRequest(task, spec, input.digestOf.outcome, model, input.digestOf.weight)
      : spec.id === SYNTHESIZER_ID && input.outcomes
        ? buildSynthesisRequest(task, spec, input.outcomes, model, input.weights)
        : loop
          ? buildSpecialistRequest(task, spec, model, { messages: loop.messages, tools: offeredTools(spec, loop), final: loop.final })
          : buildSpecialistRequest(task, spec, model);
    if (input.context !== undefined) request.context = input.context;
    const serverToolCalls: ToolCallSummary[] = [];
    const serverStarts = new Map<string, number>();
    const onServerTool = (event: ServerToolEvent) => {
      const now = clock.now();
      if (event.phase === 'started') {
        serverStarts.set(event.id, now);
        tellParent(self, { type: 'specialist.tool.started', id: spec.id, tool: event.name, callId: event.id, turn: progress.turn, server: true, input: preview(event.input), at: now });
        return;
      }
      const ms = now - (serverStarts.get(event.id) ?? now);
      serverToolCalls.push(event.isError ? { name: event.name, ms, isError: true, server: true } : { name: event.name, ms, isError: false, server: true });
      tellParent(self, {
        type: 'specialist.tool.done',
        id: spec.id,
        tool: event.name,
        callId: event.id,
        turn: progress.turn,
        server: true,
        ms,
        isError: event.isError,
        error: event.error,
        result: preview(event.content),
        at: now,
      });
    };
    return callModel(self, input, progress, provider, request, { signal, attempt, ...(loop ? { onServerTool, turn: progress.turn } : {}) }).then(
      (response): AttemptResult => ({
        text: response.text,
        model: response.model,
        usage: response.usage,
        content: response.content ?? [{ type: 'text', text: response.text }],
        stopReason: response.stopReason,
        serverToolCalls,
      }),
    );
  };

  /**
   * One model call, as every call is made: admitted against the budgets first (it starts only
   * if its worst case fits), its text streamed to the parent, its usage reported as it comes,
   * and its real cost booked when it ends — a failed or stopped call too, for what the backend
   * reported of it.
   */
  const callModel = (
    self: SpecialistRef,
    input: SpecialistActorInput,
    progress: SpecialistProgress,
    provider: ModelProvider,
    request: ModelRequest,
    options: { signal: AbortSignal; attempt: number; turn?: number; onServerTool?: (event: ServerToolEvent) => void },
  ): Promise<ModelResponse> => {
    const { spec } = input;
    const { attempt } = options;
    const booking = admitCall(self, input, progress, request);
    let reported: Usage | undefined;
    let call: Promise<ModelResponse>;
    try {
      call = provider.stream(request, {
        signal: options.signal,
        ...(input.quiet ? {} : { onText: (text: string) => tellParent(self, { type: 'specialist.token', id: spec.id, text }) }),
        onUsage: (usage) => {
          reported = usage;
          if (self.getSnapshot().status === 'active') self.send({ type: 'attempt.usage', attempt, usage });
        },
        ...(options.onServerTool ? { onServerTool: options.onServerTool } : {}),
        caller: options.turn !== undefined ? { id: spec.id, attempt, turn: options.turn } : { id: spec.id, attempt },
      });
    } catch (error) {
      // A provider that throws instead of rejecting: the call is over, and cost nothing.
      booking?.(ZERO_USAGE, request.model);
      return Promise.reject(error);
    }
    // Without a budget, no extra promise hop: this runs once per call, 10,000 times at once.
    if (!booking) return call;
    return Promise.resolve(call).then(
      (response) => {
        booking?.(response.usage, response.model);
        return response;
      },
      (error: unknown) => {
        booking?.(reported ?? ZERO_USAGE, request.model);
        throw error;
      },
    );
  };

  /**
   * The synthesizer's call in a streaming fold: the closing part (cross-cutting synthesis and
   * sources), written beside the digests still running; then the report is assembled — each
   * finding's section in config order, then the closing part. Findings without a digest yet
   * get one now; one whose digest failed appears as its finding under its heading. The
   * digests' calls and tokens are this outcome's too.
   */
  const foldAttempt = (
    self: SpecialistRef,
    input: SpecialistActorInput,
    progress: SpecialistProgress,
    model: string,
    attempt: number,
    signal: AbortSignal,
    provider: ModelProvider,
  ): Promise<AttemptResult> => {
    const fold = deps.fold?.current;
    if (!fold) throw new FanfoldError('usage', "A streaming fold needs the run's fold: create its actors with createRunActors()");
    const { task, spec } = input;
    const outcomes = input.outcomes!;
    const found = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const weights = input.weights ? weighFindings(outcomes, input.weights) : undefined;
    const setup = { task, synthesizer: spec, ...(input.context !== undefined ? { context: input.context } : {}) };
    for (const outcome of found) fold.add(setup, outcome, weights?.get(outcome.id));
    const sections = found.filter((outcome) => fold.digests.has(outcome.id)).map((outcome) => ({ outcome, text: fold.digests.get(outcome.id)!.text }));
    const pending = found.filter((outcome) => !fold.digests.has(outcome.id));
    const request = buildClosingRequest(task, spec, { sections, pending, missing: outcomes.filter((outcome) => outcome.status !== 'fulfilled') }, model, weights);
    if (input.context !== undefined) request.context = input.context;
    const closing = callModel(self, input, progress, provider, request, { signal, attempt });
    return Promise.all([closing, fold.settled()]).then(([response]): AttemptResult => {
      const body = found.map((outcome) => fold.digests.get(outcome.id)?.text ?? `## ${outcome.angle}\n\n${outcome.output ?? ''}`.trim());
      const text = [...body, response.text.trim()].join('\n\n');
      // The digests' calls, made for this fold, are counted once, here.
      const usage = addUsageInto({ ...ZERO_USAGE, ...response.usage } as Usage, fold.spent.usage);
      return { text, model: response.model, usage, content: [{ type: 'text', text }], stopReason: response.stopReason, extraCalls: fold.spent.attempts };
    });
  };

  /**
   * Checks a model call against the budgets before it starts: the specialist's own caps (over
   * all its calls so far) and the run's ledger. Throws a `budget` ProviderError when it would not
   * fit; otherwise returns how to book what it really cost. A call that may use the share kept
   * for the synthesis (the run's synthesizer, a model lead) has its `maxTokens` lowered to what
   * is left, rather than being refused.
   */
  const admitCall = (self: SpecialistRef, input: SpecialistActorInput, progress: SpecialistProgress, request: ModelRequest): ((usage: Usage, model: string) => void) | null => {
    const ledger = deps.budget;
    const own = input.spec.budget;
    if (!ledger && !own) return null;
    const prices = ledger?.prices ?? deps.prices ?? DEFAULT_PRICES;
    if (ledger && input.usesReserve) fitOutputTo(ledger, request);
    const worst = worstCaseOf(request, prices);
    if (own) {
      const spentSoFar = spendOf(usageSoFar(progress), request.model, prices);
      if (!fits({ usd: spentSoFar.usd + worst.usd, inputTokens: spentSoFar.inputTokens + worst.inputTokens, outputTokens: spentSoFar.outputTokens + worst.outputTokens }, own)) {
        throw new ProviderError('budget', `budget: its own would be passed by its next call (spent ${describeSpend(spentSoFar)}, the call up to ${describeSpend(worst)})`);
      }
    }
    if (!ledger) return null;
    const key = `${self.sessionId}#${progress.attempt}`;
    const refusal = ledger.admit(key, worst, input.usesReserve ? { synthesis: true } : {});
    if (refusal) throw new ProviderError('budget', refusal.message);
    return (usage, model) => ledger.settle(key, spendOf(usage, model, prices));
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

  /** Settles a finished loop with its finding, what it reported, and the sources behind it. */
  const settleLoop = (snapshot: SpecialistSnapshot, output: string): SpecialistSnapshot => {
    const { spec } = snapshot.input;
    const progress = snapshot.progress;
    const loop = progress.loop!;
    return settle(snapshot, {
      status: 'fulfilled',
      output,
      error: null,
      attempts: callsMade(progress),
      model: currentModel(spec, progress.modelIndex),
      usage: progress.usage,
      ...loopFields(spec, progress, null),
      ...(loop.report ? { report: loop.report } : {}),
      sources: sourcesOf(loop),
    });
  };

  /** Starts the next calls of a tool turn while the specialist has free tool slots. */
  const fillToolSlots = (self: SpecialistRef, snapshot: SpecialistSnapshot, held: AttemptResources) => {
    const { spec, task } = snapshot.input;
    const { turn } = snapshot.progress;
    const queue = held.queue!;
    const running = held.running!;
    const resolved = deps.toolbox?.resolve(spec.tools);
    // A lead's `Agent` calls are messages to its machine, not work: they take no tool slot
    // (a join may wait a long time, and must not hold back the spawns and tools beside it).
    if (spec.tools.some((tool) => tool.source === 'agent')) {
      for (const call of queue.filter((entry) => entry.name === AGENT_TOOL_NAME)) {
        const at = clock.now();
        tellParent(self, { type: 'specialist.tool.started', id: spec.id, tool: call.name, callId: call.id, turn, server: false, input: preview(call.input), at });
        settleWhenDone(self, running, call, turn, at, askLead(self, held, call, turn, at));
      }
      held.queue = queue.filter((entry) => entry.name !== AGENT_TOOL_NAME);
    }
    const pending = held.queue!;
    const busy = () => [...running.keys()].filter((id) => !held.agentCalls?.has(id)).length;
    while (pending.length > 0 && busy() < spec.policy.maxToolConcurrency) {
      const call = pending.shift()!;
      const startedAt = clock.now();
      tellParent(self, { type: 'specialist.tool.started', id: spec.id, tool: call.name, callId: call.id, turn, server: false, input: preview(call.input), at: startedAt });
      const started = runToolCall(call, resolved?.byName.get(call.name), {
        clock,
        timeoutMs: spec.policy.toolTimeoutMs,
        specialist: { id: spec.id, angle: spec.angle },
        task,
        turn,
        available: resolved ? [...resolved.byName.keys()] : [],
      });
      settleWhenDone(self, running, call, turn, startedAt, started);
    }
  };

  /** Keeps a started tool call among the running ones until it finishes, then reports its step. */
  const settleWhenDone = (self: SpecialistRef, running: Map<string, RunningToolCall>, call: ToolCallRequest, turn: number, startedAt: number, started: RunningToolCall) => {
    running.set(call.id, started);
    started.outcome.then(({ result, error }) => {
      running.delete(call.id);
      if (self.getSnapshot().status !== 'active') return;
      const step: ToolStep = { kind: 'tool', turn, name: call.name, result, ms: clock.now() - startedAt };
      self.send({ type: 'tool.finished', turn, step, error });
    });
  };

  /**
   * A model lead's `Agent` call: its parent, the lead machine, spawns or joins specialists and
   * answers with `agent.result`. A plain message, not a tool function: the machine is the one
   * that owns the spawned specialists, and it sees (and checkpoints) every call.
   */
  const askLead = (self: SpecialistRef, held: AttemptResources, call: ToolCallRequest, turn: number, at: number): RunningToolCall => {
    let answer!: (outcome: ToolCallOutcome) => void;
    const outcome = new Promise<ToolCallOutcome>((resolve) => (answer = resolve));
    (held.agentCalls ??= new Map()).set(call.id, answer);
    // After this transition is committed: a checkpoint the machine saves for the call then holds
    // the lead's finished turn, so a resumed lead re-sends this call instead of redoing the turn.
    queueMicrotask(() => {
      if (self.getSnapshot().status === 'active') self._parent?.send({ type: 'agent.call', callId: call.id, input: call.input, turn, at } satisfies AgentCallEvent);
    });
    // Stopped: the answer no longer matters (the machine stops what it started on its own).
    return { outcome, abort: () => held.agentCalls?.delete(call.id) };
  };

  /** Runs a turn's tool calls (the ones without a result yet). */
  const startTools = (self: SpecialistRef, snapshot: SpecialistSnapshot, calls: ToolCallRequest[]) => {
    const held: AttemptResources = { controller: null, timer: null, queue: [...calls], running: new Map() };
    resources.set(self, held);
    fillToolSlots(self, snapshot, held);
  };

  /** Does what the loop says comes next: settle, run tools, or call the model for the next turn. */
  const proceed = (self: SpecialistRef, snapshot: SpecialistSnapshot, loop: LoopState): SpecialistSnapshot => {
    const { spec } = snapshot.input;
    const { loop: next, action } = advance(loop, spec.policy);
    const progress = { ...snapshot.progress, loop: next, inFlightUsage: null };
    if (action.kind === 'finish') return settleLoop({ ...snapshot, progress }, action.output);
    if (action.kind === 'runTools') {
      const tooling: SpecialistSnapshot = { ...snapshot, progress: { ...progress, phase: 'tooling', turn: action.turn } };
      startTools(self, tooling, action.calls);
      return tooling;
    }
    const calling: SpecialistSnapshot = {
      ...snapshot,
      progress: { ...progress, phase: 'calling', attempt: progress.attempt + 1, attemptsOnModel: 1, turn: action.turn, turnCalls: 1, lastError: null },
    };
    startAttempt(self, calling);
    return calling;
  };

  /** A model call of a loop succeeded: journal the turn, tell the parent, and go on. */
  const afterModelTurn = (self: SpecialistRef, snapshot: SpecialistSnapshot, event: Extract<SpecialistActorEvent, { type: 'attempt.succeeded' }>): SpecialistSnapshot => {
    const { input, progress } = snapshot;
    const { spec } = input;
    const usage = { ...ZERO_USAGE, ...event.usage } as Usage;
    const step: ModelStep = {
      kind: 'model',
      turn: progress.turn,
      content: event.content ?? [{ type: 'text', text: event.text }],
      stopReason: event.stopReason ?? null,
      model: event.model ?? currentModel(spec, progress.modelIndex) ?? '',
      calls: progress.turnCalls,
      usage,
      serverToolCalls: event.serverToolCalls ?? [],
    };
    record(input, step);
    const loop = applyModelStep(progress.loop!, step, spec.policy);
    tellParent(self, {
      type: 'specialist.turn',
      id: spec.id,
      turn: step.turn,
      model: step.model,
      stopReason: step.stopReason,
      toolUses: loop.awaiting.length,
      final: progress.loop!.final,
      text: preview(event.text),
      usage,
      at: clock.now(),
    });
    return proceed(self, { ...snapshot, progress: { ...progress, usage: addUsageInto({ ...progress.usage }, event.usage) } }, loop);
  };

  /**
   * The cache warmer tells its fan-out the others may start: once its first response has begun
   * (the shared context is cached), or once its first call ended without one (a failure, a
   * timeout) — the others then go ahead rather than wait out its retries.
   */
  const openWarmGate = (self: SpecialistRef, snapshot: SpecialistSnapshot): SpecialistSnapshot => {
    if (!snapshot.input.warmsCache || snapshot.progress.cacheWritten) return snapshot;
    self._parent?.send({ type: 'specialist.cacheWritten', id: snapshot.input.spec.id });
    return { ...snapshot, progress: { ...snapshot.progress, cacheWritten: true } };
  };

  const afterFailure = (snapshot: SpecialistSnapshot, error: ErrorInfo, self: SpecialistRef): SpecialistSnapshot => {
    const { spec } = snapshot.input;
    const progress = snapshot.progress;
    // Not started for the budget: no retry; it stops with what it had done.
    if (error.kind === 'budget') {
      return settle(snapshot, {
        status: 'skipped',
        output: null,
        error,
        attempts: callsMade(progress) - 1,
        model: currentModel(spec, progress.modelIndex),
        usage: progress.usage,
        ...loopFields(spec, progress, null),
      });
    }
    const decision = nextAttemptAfter(spec.policy, progress, Math.max(1, spec.models.length), error, deps.random);
    if (decision.action === 'giveUp') {
      return settle(snapshot, {
        status: 'rejected',
        output: null,
        error,
        attempts: progress.attempt,
        model: currentModel(spec, progress.modelIndex),
        usage: progress.usage,
        ...loopFields(spec, progress, null),
      });
    }
    const next: SpecialistSnapshot = {
      ...snapshot,
      progress: {
        ...progress,
        phase: decision.delayMs > 0 ? 'backingOff' : 'calling',
        ...decision.next,
        turnCalls: progress.turnCalls + 1,
        lastError: error,
        inFlightUsage: null,
      },
    };
    tellParent(self, {
      type: 'specialist.retrying',
      id: spec.id,
      attempt: next.progress.attempt,
      model: currentModel(spec, decision.next.modelIndex),
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
      progress: initialProgress(input, clock.now()),
    }),

    start: (snapshot, { self }) => {
      if (snapshot.status !== 'active') return;
      const { input, progress } = snapshot;
      if (input.announce) {
        tellParent(self, {
          type: 'specialist.started',
          id: input.spec.id,
          model: currentModel(input.spec, progress.modelIndex),
          at: progress.startedAt,
        } satisfies SpecialistProgressEvent);
      }
      if (progress.finishedOnRestore) return self.send({ type: 'loop.settle' });
      if (progress.phase === 'tooling' && progress.loop) return startTools(self, snapshot, advanceCalls(snapshot));
      // A restored snapshot resumes where it was: a backoff is cut short, an attempt is re-made.
      startAttempt(self, progress.phase === 'calling' ? snapshot : { ...snapshot, progress: { ...progress, phase: 'calling' } });
    },

    transition: (snapshot, event, { self }) => {
      if (snapshot.status !== 'active') return snapshot;
      const progress = snapshot.progress;
      switch (event.type) {
        case 'attempt.succeeded': {
          if (event.attempt !== progress.attempt || progress.phase !== 'calling') return snapshot;
          release(self, false);
          if (progress.loop) return afterModelTurn(self, openWarmGate(self, snapshot), event);
          const usage = addUsageInto({ ...progress.usage }, event.usage);
          const { spec } = snapshot.input;
          return settle(snapshot, {
            status: 'fulfilled',
            output: event.text,
            error: null,
            attempts: progress.attempt + (event.extraCalls ?? 0),
            model: event.model ?? currentModel(spec, progress.modelIndex),
            usage,
            ...loopFields(spec, progress, { stopReason: event.stopReason ?? null }),
          });
        }
        case 'attempt.failed':
        case 'attempt.timedOut': {
          if (event.attempt !== progress.attempt || progress.phase !== 'calling') return snapshot;
          const timedOut = event.type === 'attempt.timedOut';
          release(self, timedOut);
          const error: ErrorInfo = timedOut ? { kind: 'timeout', message: `attempt ${progress.attempt} exceeded its ${snapshot.input.spec.policy.attemptTimeoutMs} ms deadline` } : event.error;
          // The failed attempt still cost what the backend reported for it.
          const counted = progress.inFlightUsage ? { ...snapshot, progress: { ...progress, usage: usageSoFar(progress), inFlightUsage: null } } : snapshot;
          return afterFailure(openWarmGate(self, counted), error, self);
        }
        case 'attempt.usage': {
          if (event.attempt !== progress.attempt || progress.phase !== 'calling') return snapshot;
          // Its first response has begun: the shared context is in the cache for the others.
          const warmed = openWarmGate(self, snapshot);
          return { ...warmed, progress: { ...warmed.progress, inFlightUsage: { ...event.usage } } };
        }
        case 'backoff.elapsed': {
          if (event.attempt !== progress.attempt || progress.phase !== 'backingOff') return snapshot;
          const next: SpecialistSnapshot = { ...snapshot, progress: { ...progress, phase: 'calling' } };
          startAttempt(self, next);
          return next;
        }
        case 'tool.finished': {
          if (progress.phase !== 'tooling' || event.turn !== progress.turn || !progress.loop) return snapshot;
          const { input } = snapshot;
          const { step } = event;
          record(input, step);
          tellParent(self, {
            type: 'specialist.tool.done',
            id: input.spec.id,
            tool: step.name,
            callId: step.result.tool_use_id,
            turn: step.turn,
            server: false,
            ms: step.ms,
            isError: step.result.is_error === true,
            error: event.error === null ? null : preview(event.error),
            result: preview(step.result.content),
            at: clock.now(),
          });
          const loop = applyToolStep(progress.loop, step);
          const held = resources.get(self);
          const next: SpecialistSnapshot = { ...snapshot, progress: { ...progress, loop } };
          if (held?.queue && held.queue.length > 0) {
            fillToolSlots(self, next, held);
            return next;
          }
          if (held?.running && held.running.size > 0) return next;
          release(self, false);
          return proceed(self, next, loop);
        }
        case 'agent.result': {
          const answer = resources.get(self)?.agentCalls;
          const settleCall = answer?.get(event.callId);
          if (!settleCall) return snapshot;
          answer!.delete(event.callId);
          settleCall({
            result: event.isError ? errorResult(event.callId, event.content) : { type: 'tool_result', tool_use_id: event.callId, content: event.content },
            error: event.isError ? event.content : null,
          });
          return snapshot;
        }
        case 'loop.wrapUp': {
          if (!progress.loop) return snapshot;
          return { ...snapshot, progress: { ...progress, loop: wrapUp(progress.loop, event.reason) } };
        }
        case 'loop.settle': {
          if (!progress.loop) return snapshot;
          return proceed(self, snapshot, progress.loop);
        }
        case 'specialist.cancel': {
          release(self, true);
          return { ...snapshot, status: 'done', error: undefined, output: outcomeOfStopped(snapshot, 'skipped', { kind: 'cancelled', message: event.reason }, clock.now()) };
        }
        case 'xstate.stop': {
          // Stopped from outside (deadline, cancel, the run ended): abort the in-flight call and tools.
          release(self, true);
          return { ...snapshot, status: 'stopped' };
        }
      }
    },

    // Kept like every loop step fanfold journals: redacted (a lead's conversation lives in its snapshot).
    getPersistedSnapshot: (snapshot) => (snapshot.progress.loop ? { ...snapshot, progress: { ...snapshot.progress, loop: redactDeep(snapshot.progress.loop) } } : snapshot),
    restoreSnapshot: (snapshot) => snapshot as SpecialistSnapshot,
  };
}

/** The calls of the current tool turn that have no result yet (a restored loop runs only those). */
function advanceCalls(snapshot: SpecialistSnapshot): ToolCallRequest[] {
  const loop = snapshot.progress.loop!;
  return loop.awaiting.filter((call) => !loop.results[call.id]);
}

function fromTaskResult(result: TaskResult): AttemptResult {
  if (typeof result === 'string') return { text: result, model: null, usage: undefined };
  if (result && typeof result.text === 'string') return { text: result.text, model: null, usage: result.usage };
  throw new FanfoldError('usage', 'A task function must return a string or { text, usage? }');
}
