/**
 * A run's trace: one `invoke_agent` span for the run, one per specialist, sub-lead, synthesizer
 * and model lead, one `chat {model}` span per model call and one `execute_tool {name}` span per
 * tool call, built from the outside of the runtime:
 *
 * - XState's inspection stream says when each actor is created and by whom (`_parent`), so every
 *   agent span starts on time under the right parent — sub-leads' specialists under their
 *   sub-lead, a model lead's spawns under the lead — and sub-leads' own event streams, which do
 *   not reach the run's `events$`, are subscribed to as their actors appear.
 * - The run's events (and the sub-leads') carry `at` for tool calls, retries and settles.
 * - A provider decorator times each model call and reports it here; it is matched to its actor
 *   by caller id (and, when two live actors share an id across sub-leads, by the actor's next
 *   snapshot, which carries the attempt number).
 *
 * Nothing here runs when tracing is off, or when the run's span does not record (no tracer
 * provider registered, or sampled out): then a run costs one no-op span.
 */
import { context as otelContext, diag, trace, type Attributes, type Context } from '@opentelemetry/api';
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import { leadMachine } from '../../machines/lead.ts';
import type { SpecialistActorInput, SpecialistSnapshot } from '../actors/specialist.ts';
import type { Clock } from '../clock.ts';
import { LEAD_ID, SYNTHESIZER_ID, type LeadInput, type SpecialistSpec } from '../config.ts';
import type { RunEvent } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import type { ModelProvider } from '../providers/provider.ts';
import type { RunResult } from '../result.ts';
import type { FanOutRun } from '../run.ts';
import {
  ATTR_FANFOLD_ATTEMPTS,
  ATTR_FANFOLD_DEADLINE_MS,
  ATTR_FANFOLD_MISSING,
  ATTR_FANFOLD_RESUMED,
  ATTR_FANFOLD_RUN_ID,
  ATTR_FANFOLD_SPECIALISTS,
  ATTR_FANFOLD_STATUS,
  ATTR_GEN_AI_AGENT_ID,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  EVENT_CANCELLED,
  EVENT_DEADLINE,
  usageAttributes,
} from './attributes.ts';
import { AgentTrace, ModelCallSpan, endSpan, markFailed, toTime, type AgentKind, type TraceScope } from './agentTrace.ts';
import { textMessageJson } from './content.ts';
import { traceModelCalls, type ModelCallObserver } from './tracedProvider.ts';
import { TRACER_NAME, type TraceOptions } from './traceOptions.ts';

/** What a run's trace needs to know about the run. */
export interface RunTraceSetup {
  input: LeadInput;
  clock: Clock;
  provider: ModelProvider | undefined;
  providers: Readonly<Record<string, ModelProvider>> | undefined;
  /** Resumed from a checkpoint (`fanfold.resumed`). */
  resumed?: boolean;
}

/** A traced run's hooks into the runtime. */
export interface RunTrace {
  /** The run's providers, wrapped to time their calls: give these to the actors. */
  readonly provider: ModelProvider | undefined;
  readonly providers: Record<string, ModelProvider> | undefined;
  /** The inspection observer for `createActor`; the app's own (if any) still gets every event. */
  inspect(app: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined): (event: InspectionEvent) => void;
  /** Follows a started run's events and end; returns the run as it is. */
  follow<T extends FanOutRun>(run: T): T;
  /** The run could not start (its id was taken, its checkpoint would not restore): ends its span. */
  fail(error: unknown): void;
}

/** One lead (the run's, or a sub-lead's) and the agents under it. */
interface Level {
  /** Parent context of its agents. */
  context: Context;
  /** Prefix of its agents' `gen_ai.agent.id` (`technical/` under the sub-lead `technical`). */
  path: string;
  /** Its specialists and synthesizer by id, as configured (a model lead's spawns are not here). */
  specs: Map<string, SpecialistSpec>;
  agents: Map<string, AgentTrace>;
  /** A model lead leads it: the specialists are its spawns, under its span. */
  modelLead: SpecialistSpec | null;
}

/**
 * Starts a run's trace, or returns `null` when there is nothing to record.
 *
 * @example
 * const tracing = startRunTrace(options.trace, { input, clock, provider, providers: undefined });
 * const run = tracing ? tracing.follow(startLead(actor, …)) : startLead(actor, …);
 */
export function startRunTrace(options: TraceOptions | false | undefined, setup: RunTraceSetup): RunTrace | null {
  if (options === false) return null;
  const scope: TraceScope = { tracer: options?.tracer ?? trace.getTracer(TRACER_NAME), content: options?.content === true };
  const { input, clock } = setup;
  const startedAt = clock.now();
  const attributes: Attributes = {
    [ATTR_FANFOLD_SPECIALISTS]: input.lead ? input.lead.templates.length : input.specialists.length,
    [ATTR_FANFOLD_DEADLINE_MS]: input.deadlineMs,
  };
  if (setup.resumed) attributes[ATTR_FANFOLD_RESUMED] = true;
  // The run's span continues the app's trace (an HTTP request's span, say) when there is one.
  const root = new AgentTrace(scope, { parent: otelContext.active(), name: TRACER_NAME, id: TRACER_NAME, kind: 'run', startedAt, spec: null, providerName: setup.provider?.name ?? null });
  if (!root.span.isRecording()) {
    root.span.end();
    return null;
  }
  root.span.setAttributes(attributes);
  root.setInput(input.task);
  return new RunTracer(scope, setup, root);
}

/** Reports a failure of tracing itself; tracing never fails a run. */
function safely(step: () => void): void {
  try {
    step();
  } catch (error) {
    diag.error('fanfold: tracing failed', error);
  }
}

/** Whether an actor is a lead machine (the run's, or a sub-lead's): `provide()` keeps the config object. */
function isLead(ref: AnyActorRef): boolean {
  return (ref as unknown as { logic?: { config?: unknown } }).logic?.config === leadMachine.config;
}

function specsOf(specialists: readonly SpecialistSpec[], synthesizer: SpecialistSpec | undefined): Map<string, SpecialistSpec> {
  const specs = new Map<string, SpecialistSpec>();
  for (const spec of specialists) specs.set(spec.id, spec);
  if (synthesizer) specs.set(SYNTHESIZER_ID, synthesizer);
  return specs;
}

class RunTracer implements RunTrace, ModelCallObserver {
  readonly provider: ModelProvider | undefined;
  readonly providers: Record<string, ModelProvider> | undefined;
  private closed = false;
  private readonly rootLevel: Level;
  private readonly levels = new Map<AnyActorRef, Level>();
  /** The level a sub-lead's agent leads. */
  private readonly subLevels = new Map<AgentTrace, Level>();
  /** Agents of live specialist actors, by caller id: where a model call goes. */
  private readonly callers = new Map<string, Set<AgentTrace>>();
  private readonly agentsByRef = new WeakMap<AnyActorRef, AgentTrace>();
  /** Calls whose caller id two live actors share: bound at the next snapshot of the one that made it. */
  private pending: ModelCallSpan[] = [];

  constructor(
    private readonly scope: TraceScope,
    private readonly setup: RunTraceSetup,
    private readonly root: AgentTrace,
  ) {
    const { input, clock } = setup;
    this.provider = setup.provider ? traceModelCalls(setup.provider, this, clock) : undefined;
    this.providers = setup.providers ? Object.fromEntries(Object.entries(setup.providers).map(([name, provider]) => [name, traceModelCalls(provider, this, clock)])) : undefined;
    const specs = specsOf(input.specialists, input.synthesizer);
    if (input.lead) specs.set(LEAD_ID, input.lead.agent);
    this.rootLevel = { context: root.context, path: '', specs, agents: new Map(), modelLead: input.lead?.agent ?? null };
  }

  inspect(app: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined): (event: InspectionEvent) => void {
    return (event) => {
      if (event.type === '@xstate.actor') safely(() => this.actorCreated(event.actorRef as AnyActorRef));
      else if (event.type === '@xstate.snapshot' && this.pending.length > 0) safely(() => this.snapshotTaken(event.actorRef as AnyActorRef, event.snapshot as SpecialistSnapshot));
      if (typeof app === 'function') app(event);
      else app?.next?.(event);
    };
  }

  follow<T extends FanOutRun>(run: T): T {
    if (run.runId) this.root.span.setAttributes({ [ATTR_GEN_AI_CONVERSATION_ID]: run.runId, [ATTR_FANFOLD_RUN_ID]: run.runId, [ATTR_GEN_AI_AGENT_ID]: run.runId });
    run.events$.subscribe({
      next: (event) => safely(() => this.onEvent(this.rootLevel, event)),
      error: (error: unknown) => safely(() => this.abort(error)),
    });
    run.result.then(
      (result) => safely(() => this.finish(result)),
      (error: unknown) => safely(() => this.abort(error)),
    );
    return run;
  }

  callStarted(start: Parameters<ModelCallObserver['callStarted']>[0]): ModelCallSpan | null {
    if (this.closed) return null;
    try {
      const call = new ModelCallSpan(this.scope, start, (late) => safely(() => this.bindLate(late)));
      const candidates = start.caller ? this.callers.get(start.caller.id) : undefined;
      // One live actor with that id: this call is its (bound at once, so the call's own context
      // is active around the provider). Two or more (sub-leads' ids only need be unique among
      // siblings): the snapshot after the actor's transition says which.
      if (candidates?.size === 1) call.bind(candidates.values().next().value!);
      else this.pending.push(call);
      return call;
    } catch (error) {
      diag.error('fanfold: tracing failed', error);
      return null;
    }
  }

  /** A call that ended unmatched: under a live actor of its caller id, else under the run. */
  private bindLate(call: ModelCallSpan): void {
    const index = this.pending.indexOf(call);
    if (index !== -1) this.pending.splice(index, 1);
    const id = call.start.caller?.id;
    const candidate = id === undefined ? undefined : [...(this.callers.get(id) ?? [])].find((agent) => agent.isOpen);
    call.bind(candidate ?? this.root);
  }

  /** An actor was created: a sub-lead (a level of its own) or a specialist, synthesizer or model lead. */
  private actorCreated(ref: AnyActorRef): void {
    const parent = ref._parent;
    if (!parent) {
      if (isLead(ref) && !this.levels.has(ref)) this.levels.set(ref, this.rootLevel);
      return;
    }
    const level = this.levelOf(parent);
    if (!level || this.closed) return;
    const now = this.setup.clock.now();
    if (isLead(ref)) {
      const spec = level.specs.get(ref.id) ?? null;
      const agent = this.ensureAgent(level, ref.id, spec, 'sub-lead', now);
      const sub: Level = { context: agent.context, path: `${agent.id}/`, specs: specsOf(spec?.fanOut?.specialists ?? [], spec?.fanOut?.synthesizer), agents: new Map(), modelLead: null };
      this.levels.set(ref, sub);
      this.subLevels.set(agent, sub);
      // A sub-lead's events go to its own listeners, not to the run's `events$`.
      ref.on('*', (event: RunEvent) => safely(() => this.onEvent(sub, event)));
      return;
    }
    const input = (ref as unknown as { options?: { input?: Partial<SpecialistActorInput> } }).options?.input;
    const spec = input?.spec;
    if (!spec) return; // the fan-out, a deadline timer
    const direct = this.levels.has(parent);
    const kind: AgentKind = direct && spec.id === SYNTHESIZER_ID ? 'synthesizer' : direct && spec.id === LEAD_ID ? 'lead' : 'specialist';
    const agent = this.ensureAgent(level, spec.id, spec, kind, now);
    this.agentsByRef.set(ref, agent);
    let live = this.callers.get(spec.id);
    if (!live) this.callers.set(spec.id, (live = new Set()));
    live.add(agent);
  }

  /** The snapshot after an actor's transition: binds the call it just made, if its caller id was ambiguous. */
  private snapshotTaken(ref: AnyActorRef, snapshot: SpecialistSnapshot): void {
    const agent = this.agentsByRef.get(ref);
    const attempt = snapshot.progress?.attempt;
    if (!agent || attempt === undefined) return;
    const index = this.pending.findIndex((call) => call.start.caller?.id === agent.name && call.start.caller.attempt === attempt);
    if (index === -1) return;
    const [call] = this.pending.splice(index, 1);
    call!.bind(agent);
  }

  /** The nearest lead at or above `ref`. */
  private levelOf(ref: AnyActorRef): Level | undefined {
    for (let at: AnyActorRef | undefined = ref; at; at = at._parent) {
      const level = this.levels.get(at);
      if (level) return level;
    }
    return undefined;
  }

  /** The agent of `id` at `level`, started now if it has no open span yet. */
  private ensureAgent(level: Level, id: string, spec: SpecialistSpec | null, kind: AgentKind, startedAt: number): AgentTrace {
    const existing = level.agents.get(id);
    if (existing?.isOpen) return existing;
    // A model lead's spawns are its sub-agents.
    const parent = kind === 'specialist' && level.modelLead ? this.ensureAgent(level, LEAD_ID, level.modelLead, 'lead', startedAt).context : level.context;
    const agent = new AgentTrace(this.scope, { parent, name: id, id: `${level.path}${id}`, kind, startedAt, spec, providerName: this.providerNameOf(spec) });
    level.agents.set(id, agent);
    return agent;
  }

  private providerNameOf(spec: SpecialistSpec | null): string | null {
    if (spec?.kind === 'task') return null;
    const routed = spec?.credential !== undefined ? this.setup.providers?.[spec.credential] : undefined;
    return (routed ?? this.setup.provider)?.name ?? null;
  }

  private onEvent(level: Level, event: RunEvent): void {
    if (this.closed) return;
    switch (event.type) {
      case 'specialist.token':
      case 'synthesis.token':
      case 'specialist.turn':
        return;
      case 'specialist.started':
        this.ensureAgent(level, event.id, level.specs.get(event.id) ?? null, event.id === LEAD_ID && level.modelLead ? 'lead' : 'specialist', event.at);
        return;
      case 'specialist.retrying':
        level.agents.get(event.id)?.retrying(event);
        return;
      case 'specialist.tool.started':
        level.agents.get(event.id)?.toolStarted(event);
        return;
      case 'specialist.tool.done':
        level.agents.get(event.id)?.toolDone(event);
        return;
      case 'specialist.done':
      case 'specialist.failed':
      case 'specialist.timedOut':
      case 'specialist.skipped':
        this.settle(level, event.outcome, event.outcome.id === LEAD_ID && level.modelLead ? 'lead' : 'specialist');
        return;
      case 'synthesis.started':
        this.ensureAgent(level, SYNTHESIZER_ID, level.specs.get(SYNTHESIZER_ID) ?? null, 'synthesizer', event.at);
        return;
      case 'synthesis.retrying':
        level.agents.get(SYNTHESIZER_ID)?.retrying(event);
        return;
      case 'synthesis.done':
      case 'synthesis.failed':
        this.settle(level, event.outcome, 'synthesizer');
        return;
      case 'lead.spawned':
      case 'lead.joining':
      case 'lead.joined':
        level.agents.get(LEAD_ID)?.leadEvent(event);
        return;
      case 'run.finished':
        if (level === this.rootLevel) this.finish(event.result);
        else this.settleAll(level, event.result);
        return;
    }
  }

  /** Ends an agent with its outcome; a sub-lead's agents below it first, with theirs. */
  private settle(level: Level, outcome: SpecialistOutcome, kind: AgentKind): void {
    let agent = level.agents.get(outcome.id);
    if (agent && !agent.isOpen) return;
    if (!agent) {
      // Ran before a resume (another process traced it, if anyone): not this trace's.
      if (outcome.startedAt !== null) return;
      // Never started (still queued when the run stopped): its span, a moment long, says why.
      agent = this.ensureAgent(level, outcome.id, level.specs.get(outcome.id) ?? null, kind, outcome.endedAt);
    }
    const below = this.subLevels.get(agent);
    if (below) {
      for (const sub of outcome.subOutcomes ?? []) this.settle(below, sub, 'specialist');
      this.close(below, `the sub-lead ended ${outcome.status}`, outcome.endedAt);
    }
    this.callers.get(agent.name)?.delete(agent);
    agent.settle(outcome);
  }

  /** Settles what a lead's result says about its agents. */
  private settleAll(level: Level, result: RunResult): void {
    for (const outcome of result.outcomes) if (outcome) this.settle(level, outcome, 'specialist');
    if (result.lead?.outcome) this.settle(level, result.lead.outcome, 'lead');
    if (result.synthesizer) this.settle(level, result.synthesizer, 'synthesizer');
  }

  /** Ends every span still open at `level` and below (the run or a sub-lead ended first). */
  private close(level: Level, reason: string, at: number): void {
    for (const agent of level.agents.values()) {
      const below = this.subLevels.get(agent);
      if (below) this.close(below, reason, at);
      if (agent.isOpen) {
        this.callers.get(agent.name)?.delete(agent);
        agent.abandon(reason, at);
      }
    }
  }

  /** The run ended with a result: every span ends, the run's last. */
  private finish(result: RunResult): void {
    if (this.closed) return;
    this.settleAll(this.rootLevel, result);
    const at = Math.max(result.endedAt, this.root.startedAt);
    this.closeAll(`the run ended ${result.status}`, at);
    const span = this.root.span;
    span.setAttributes({ [ATTR_FANFOLD_STATUS]: result.status, [ATTR_FANFOLD_ATTEMPTS]: result.modelCalls, ...usageAttributes(result.usage) });
    if (result.missing.length > 0)
      span.setAttribute(
        ATTR_FANFOLD_MISSING,
        result.missing.map((missing) => missing.id),
      );
    if (this.scope.content && result.synthesis !== null) span.setAttribute(ATTR_GEN_AI_OUTPUT_MESSAGES, textMessageJson('assistant', result.synthesis));
    const cutAt = result.outcomes.filter((outcome) => outcome.status === 'timedOut').map((outcome) => outcome.endedAt);
    if (cutAt.length > 0)
      span.addEvent(EVENT_DEADLINE, { [ATTR_FANFOLD_MISSING]: result.outcomes.filter((outcome) => outcome.status === 'timedOut').map((outcome) => outcome.id) }, toTime(Math.min(...cutAt)));
    if (result.status === 'cancelled') span.addEvent(EVENT_CANCELLED, result.error ? { message: result.error.message } : {}, toTime(at));
    if (result.status === 'failed' || result.status === 'cancelled') markFailed(span, result.error?.kind ?? (result.status === 'cancelled' ? 'cancelled' : '_OTHER'), result.error?.message);
    endSpan(span, this.root.startedAt, at);
  }

  fail(error: unknown): void {
    safely(() => this.abort(error));
  }

  /** The run ended without a result (an internal error): every span ends now. */
  private abort(error: unknown): void {
    if (this.closed) return;
    const at = this.setup.clock.now();
    const message = error instanceof Error ? error.message : String(error);
    this.closeAll(`the run failed: ${message}`, at);
    markFailed(this.root.span, error instanceof Error && error.name !== 'Error' ? error.name : '_OTHER', message);
    endSpan(this.root.span, this.root.startedAt, at);
  }

  private closeAll(reason: string, at: number): void {
    this.closed = true;
    this.close(this.rootLevel, reason, at);
    // Calls never matched to an actor: under the run, cut off now (with any bound there late).
    for (const call of this.pending.splice(0)) call.bind(this.root);
    this.root.cutOffChildren('cancelled', reason, at);
  }
}
