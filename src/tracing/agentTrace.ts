/**
 * One agent's spans: its `invoke_agent {id}` span, the `chat {model}` span of each model call
 * and the `execute_tool {name}` span of each tool call under it. Every span gets explicit start
 * and end times from the run's clock (event `at`s, the traced provider's timing), never "now" at
 * the moment fanfold gets round to recording it: with 10,000 specialists in flight, events
 * arrive in batches, and only explicit times and parents keep the tree right.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type HrTime, type Span, type Tracer } from '@opentelemetry/api';
import type { SpecialistSpec } from '../config.ts';
import { ProviderError } from '../errors.ts';
import type { LeadJoinedEvent, LeadJoiningEvent, LeadSpawnedEvent, SpecialistRetryingEvent, SpecialistToolDoneEvent, SpecialistToolStartedEvent } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import type { ModelResponse } from '../providers/provider.ts';
import { redactSecrets } from '../redact.ts';
import {
  ATTR_ERROR_TYPE,
  ATTR_FANFOLD_AGENT_KIND,
  ATTR_FANFOLD_ATTEMPT,
  ATTR_FANFOLD_ATTEMPTS,
  ATTR_FANFOLD_LOOP_LIMIT,
  ATTR_FANFOLD_STATUS,
  ATTR_FANFOLD_TURN,
  ATTR_FANFOLD_TURNS,
  ATTR_GEN_AI_AGENT_DESCRIPTION,
  ATTR_GEN_AI_AGENT_ID,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  EVENT_CANCELLED,
  EVENT_DEADLINE,
  EVENT_FALLBACK,
  EVENT_LEAD_JOINED,
  EVENT_LEAD_JOINING,
  EVENT_LEAD_SPAWNED,
  EVENT_RETRY,
  serverAttributes,
  usageAttributes,
} from './attributes.ts';
import { inputMessagesJson, outputMessagesJson, systemInstructionsJson, textMessageJson } from './content.ts';
import type { ModelCallStart, ModelCallTrace } from './tracedProvider.ts';

/** What kind of agent a span stands for (`fanfold.agent.kind`). */
export type AgentKind = 'run' | 'specialist' | 'synthesizer' | 'lead' | 'sub-lead';

/** What every span of one run shares. */
export interface TraceScope {
  tracer: Tracer;
  /** Record prompts, completions, tool inputs and results. */
  content: boolean;
}

/**
 * A time on the run's clock (ms since epoch) as an `HrTime`. Not a plain number: the SDK takes a
 * number no greater than `performance.now()` for a time since the process started, and a test's
 * simulated clock starts at 0.
 *
 * @example
 * toTime(1_500.25); // [1, 500250000]
 */
export function toTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** Ends `span` at `at`, never before it started (an SDK would warn and zero its duration). */
export function endSpan(span: Span, startedAt: number, at: number): void {
  span.end(toTime(Math.max(at, startedAt)));
}

/** Marks a span failed: `error.type` (low-cardinality) and an ERROR status with a redacted message. */
export function markFailed(span: Span, errorType: string, message: string | null | undefined): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  span.setStatus(message ? { code: SpanStatusCode.ERROR, message: redactSecrets(message) } : { code: SpanStatusCode.ERROR });
}

/**
 * A tool call's `error.type`: a server tool's own error code (`max_uses_exceeded`, …), else
 * which of fanfold's tool errors it was (see "Tool errors are results" in the README).
 *
 * @example
 * toolErrorType({ server: false, error: 'The tool "slow" did not finish within 1000 ms and was stopped.' }); // 'timeout'
 */
export function toolErrorType(event: Pick<SpecialistToolDoneEvent, 'server' | 'error'>): string {
  const error = event.error ?? '';
  if (event.server) return error || '_OTHER';
  if (error.startsWith('There is no tool named')) return 'unknown_tool';
  if (error.startsWith('Invalid input for the tool')) return 'invalid_input';
  if (error.startsWith('Not run:')) return 'limit';
  if (/ did not finish within \d+ ms/.test(error)) return 'timeout';
  return 'tool_error';
}

/**
 * A model call's `error.type`: fanfold's error kind (`rate_limited`, `overloaded`, …); `cancelled` when it was aborted.
 *
 * @example
 * modelErrorType(new ProviderError('rate_limited', 'slow down'), false); // 'rate_limited'
 */
export function modelErrorType(error: unknown, aborted: boolean): string {
  if (error instanceof ProviderError) return error.kind;
  if (aborted) return 'cancelled';
  return error instanceof Error && error.name && error.name !== 'Error' ? error.name : '_OTHER';
}

/** The span of one model call; created at once when its agent is known, else when it is bound. */
export class ModelCallSpan implements ModelCallTrace {
  private span: Span | null = null;
  private firstChunkAt: number | null = null;
  /** When an aborted call stopped: it ends there, once its agent says why (see `failed`). */
  private abortedAt: number | null = null;
  private ended = false;
  private agent: AgentTrace | null = null;

  /**
   * @param late binds a call that ends before it was bound (its actor never showed a matching
   *   snapshot): it still gets its span, under the best guess.
   */
  constructor(
    private readonly scope: TraceScope,
    readonly start: ModelCallStart,
    private readonly late: (call: ModelCallSpan) => void,
  ) {}

  get context(): Context | null {
    return this.span ? trace.setSpan(ROOT_CONTEXT, this.span) : null;
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Opens the span under `agent`, with the call's own start time. */
  bind(agent: AgentTrace): void {
    if (this.span || this.ended) return;
    const { request, caller, provider, startedAt } = this.start;
    const attributes: Attributes = {
      [ATTR_GEN_AI_OPERATION_NAME]: 'chat',
      [ATTR_GEN_AI_PROVIDER_NAME]: provider.name,
      [ATTR_GEN_AI_REQUEST_MODEL]: request.model,
      [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: request.maxTokens,
      [ATTR_GEN_AI_REQUEST_STREAM]: true,
      ...serverAttributes((provider as { baseURL?: string }).baseURL),
    };
    if (caller) {
      attributes[ATTR_FANFOLD_ATTEMPT] = caller.attempt;
      if (caller.turn !== undefined) attributes[ATTR_FANFOLD_TURN] = caller.turn;
    }
    if (this.scope.content) {
      if (request.system) attributes[ATTR_GEN_AI_SYSTEM_INSTRUCTIONS] = systemInstructionsJson(request.system);
      attributes[ATTR_GEN_AI_INPUT_MESSAGES] = inputMessagesJson(request.messages);
    }
    this.span = this.scope.tracer.startSpan(`chat ${request.model}`, { kind: SpanKind.CLIENT, startTime: toTime(startedAt), attributes }, agent.context);
    this.agent = agent;
    agent.callOpened(this, caller?.turn ?? 1);
  }

  firstChunk(at: number): void {
    this.firstChunkAt ??= at;
  }

  succeeded(response: ModelResponse, at: number): void {
    if (!this.span && !this.ended) this.late(this);
    const span = this.span;
    if (!span || this.ended) return;
    const attributes: Attributes = { [ATTR_GEN_AI_RESPONSE_MODEL]: response.model, ...usageAttributes(response.usage) };
    if (response.stopReason) attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [response.stopReason];
    if (this.firstChunkAt !== null) attributes[ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (this.firstChunkAt - this.start.startedAt) / 1000;
    if (this.scope.content) attributes[ATTR_GEN_AI_OUTPUT_MESSAGES] = outputMessagesJson(response);
    span.setAttributes(attributes);
    this.close(at);
  }

  failed(error: unknown, aborted: boolean, at: number): void {
    if (!this.span && !this.ended) this.late(this);
    const span = this.span;
    if (!span || this.ended || this.abortedAt !== null) return;
    if (aborted && this.agent) {
      // Aborted from outside: the attempt's timeout, the run's deadline or a cancel. Which one,
      // the agent's next retry or settle says; the span ends at the abort all the same.
      this.abortedAt = at;
      return;
    }
    if (error instanceof ProviderError && error.status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, error.status);
    markFailed(span, modelErrorType(error, aborted), error instanceof Error ? error.message : String(error));
    this.close(at);
  }

  /** Ends a call cut off when its agent retried, settled or the run ended (at its abort, if it saw one). */
  cutOff(errorType: string, message: string, at: number): void {
    const span = this.span;
    if (!span || this.ended) return;
    markFailed(span, errorType, message);
    this.close(this.abortedAt ?? at);
  }

  /** Aborted, waiting for its agent to say why. */
  get isAborted(): boolean {
    return this.abortedAt !== null && !this.ended;
  }

  private close(at: number): void {
    this.ended = true;
    endSpan(this.span!, this.start.startedAt, at);
    this.agent?.callClosed(this);
  }
}

/** How an agent span begins. */
export interface AgentTraceInit {
  /** The span's parent: the run, a sub-lead, or a model lead for the specialists it spawns. */
  parent: Context;
  /** `gen_ai.agent.name`: its id in the config. */
  name: string;
  /** `gen_ai.agent.id`: its path from the top (`technical/plasma`), unique in the run. */
  id: string;
  kind: AgentKind;
  startedAt: number;
  spec: SpecialistSpec | null;
  /** `gen_ai.provider.name` of its model calls; `null` for a task function (no GenAI provider). */
  providerName: string | null;
}

/** An agent's span and the spans of its calls still open. */
export class AgentTrace {
  readonly span: Span;
  readonly context: Context;
  readonly startedAt: number;
  readonly id: string;
  readonly name: string;
  readonly kind: AgentKind;
  private ended = false;
  private readonly calls = new Set<ModelCallSpan>();
  /** The latest model call of each turn: server tools run inside it, so their spans go under it. */
  private readonly callByTurn = new Map<number, ModelCallSpan>();
  private readonly tools = new Map<string, { span: Span; startedAt: number }>();

  constructor(
    private readonly scope: TraceScope,
    init: AgentTraceInit,
  ) {
    this.startedAt = init.startedAt;
    this.id = init.id;
    this.name = init.name;
    this.kind = init.kind;
    const attributes: Attributes = {
      [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent',
      [ATTR_GEN_AI_AGENT_NAME]: init.name,
      [ATTR_GEN_AI_AGENT_ID]: init.id,
      [ATTR_FANFOLD_AGENT_KIND]: init.kind,
    };
    if (init.providerName !== null) attributes[ATTR_GEN_AI_PROVIDER_NAME] = init.providerName;
    const spec = init.spec;
    if (spec) {
      attributes[ATTR_GEN_AI_AGENT_DESCRIPTION] = spec.angle;
      const model = spec.models[0];
      if (model !== undefined) attributes[ATTR_GEN_AI_REQUEST_MODEL] = model;
    }
    this.span = scope.tracer.startSpan(`invoke_agent ${init.name}`, { kind: SpanKind.INTERNAL, startTime: toTime(init.startedAt), attributes }, init.parent);
    this.context = trace.setSpan(ROOT_CONTEXT, this.span);
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Called by a model call that opened under this agent. */
  callOpened(call: ModelCallSpan, turn: number): void {
    this.calls.add(call);
    this.callByTurn.set(turn, call);
  }

  /** Called by a model call that ended. */
  callClosed(call: ModelCallSpan): void {
    this.calls.delete(call);
  }

  /** A retry after a failed attempt, or a fall back to the next model. */
  retrying(event: Pick<SpecialistRetryingEvent, 'attempt' | 'model' | 'delayMs' | 'reason' | 'error' | 'at'>): void {
    if (this.ended) return;
    // A call aborted by its attempt timeout: this retry says so.
    for (const call of [...this.calls]) if (call.isAborted) call.cutOff(event.error.kind, event.error.message, event.at);
    const attributes: Attributes = { [ATTR_FANFOLD_ATTEMPT]: event.attempt, 'fanfold.delay_ms': event.delayMs, [ATTR_ERROR_TYPE]: event.error.kind };
    if (event.model !== null) attributes[ATTR_GEN_AI_REQUEST_MODEL] = event.model;
    this.span.addEvent(event.reason === 'fallback' ? EVENT_FALLBACK : EVENT_RETRY, attributes, toTime(event.at));
  }

  toolStarted(event: SpecialistToolStartedEvent): void {
    if (this.ended || this.tools.has(event.callId)) return;
    this.tools.set(event.callId, { span: this.openTool(event, event.at), startedAt: event.at });
  }

  toolDone(event: SpecialistToolDoneEvent): void {
    if (this.ended) return;
    const open = this.tools.get(event.callId);
    this.tools.delete(event.callId);
    const startedAt = open?.startedAt ?? event.at - event.ms;
    const span = open?.span ?? this.openTool(event, startedAt);
    if (event.isError) markFailed(span, toolErrorType(event), event.error);
    if (this.scope.content) span.setAttribute(ATTR_GEN_AI_TOOL_CALL_RESULT, event.result);
    endSpan(span, startedAt, event.at);
  }

  /** A model lead's `lead.*` event, on the `Agent` call it belongs to (or on the lead while none is open). */
  leadEvent(event: LeadSpawnedEvent | LeadJoiningEvent | LeadJoinedEvent): void {
    if (this.ended) return;
    const span = this.tools.get(event.callId)?.span ?? this.span;
    if (event.type === 'lead.spawned') {
      const attributes: Attributes = { [ATTR_GEN_AI_AGENT_ID]: event.id, 'fanfold.template': event.template, 'fanfold.round': event.round };
      if (this.scope.content) {
        attributes[ATTR_GEN_AI_AGENT_DESCRIPTION] = redactSecrets(event.description);
        attributes['fanfold.prompt'] = redactSecrets(event.prompt);
      }
      span.addEvent(EVENT_LEAD_SPAWNED, attributes, toTime(event.at));
    } else if (event.type === 'lead.joining') {
      span.addEvent(EVENT_LEAD_JOINING, { 'fanfold.agent_ids': event.ids }, toTime(event.at));
    } else {
      span.addEvent(EVENT_LEAD_JOINED, { 'fanfold.agent_ids': event.ids, 'fanfold.statuses': event.statuses.map((entry) => entry.status) }, toTime(event.at));
    }
  }

  /**
   * Ends the agent with its outcome: status, attempts, usage, and why it did not finish. Calls
   * still in flight end with it (they were aborted then).
   */
  settle(outcome: SpecialistOutcome): void {
    if (this.ended) return;
    const at = outcome.endedAt;
    const attributes: Attributes = { [ATTR_FANFOLD_STATUS]: outcome.status, [ATTR_FANFOLD_ATTEMPTS]: outcome.attempts, ...usageAttributes(outcome.usage) };
    if (outcome.model !== null) attributes[ATTR_GEN_AI_RESPONSE_MODEL] = outcome.model;
    if (outcome.turns !== undefined) attributes[ATTR_FANFOLD_TURNS] = outcome.turns;
    if (outcome.stopReason) attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [outcome.stopReason];
    if (outcome.loopLimit) attributes[ATTR_FANFOLD_LOOP_LIMIT] = outcome.loopLimit;
    if (this.scope.content && outcome.output !== null) attributes[ATTR_GEN_AI_OUTPUT_MESSAGES] = textMessageJson('assistant', outcome.output);
    this.span.setAttributes(attributes);
    if (outcome.status !== 'fulfilled') {
      const errorType = outcome.error?.kind ?? (outcome.status === 'timedOut' ? 'deadline' : outcome.status === 'skipped' ? 'cancelled' : '_OTHER');
      const message = outcome.error?.message ?? null;
      if (outcome.status === 'timedOut') this.span.addEvent(EVENT_DEADLINE, message ? { message: redactSecrets(message) } : {}, toTime(at));
      if (outcome.status === 'skipped') this.span.addEvent(EVENT_CANCELLED, message ? { message: redactSecrets(message) } : {}, toTime(at));
      markFailed(this.span, errorType, message);
      this.cutOffChildren(errorType, message ?? outcome.status, at);
    } else {
      this.cutOffChildren('cancelled', 'the agent ended while it was in flight', at);
    }
    this.ended = true;
    endSpan(this.span, this.startedAt, at);
  }

  /** Ends an agent the run ended before it settled (an internal error, a stopped actor). */
  abandon(reason: string, at: number): void {
    if (this.ended) return;
    markFailed(this.span, 'cancelled', reason);
    this.cutOffChildren('cancelled', reason, at);
    this.ended = true;
    endSpan(this.span, this.startedAt, at);
  }

  /** Adds the run's task as the agent's input (content only). */
  setInput(text: string): void {
    if (this.scope.content) this.span.setAttribute(ATTR_GEN_AI_INPUT_MESSAGES, textMessageJson('user', text));
  }

  private openTool(event: SpecialistToolStartedEvent | SpecialistToolDoneEvent, startedAt: number): Span {
    // A server tool runs inside the model call of its turn; a client tool, in the agent's loop.
    const parent = event.server ? (this.callByTurn.get(event.turn)?.context ?? this.context) : this.context;
    const attributes: Attributes = {
      [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
      [ATTR_GEN_AI_TOOL_NAME]: event.tool,
      [ATTR_GEN_AI_TOOL_CALL_ID]: event.callId,
      [ATTR_GEN_AI_TOOL_TYPE]: event.server ? 'extension' : 'function',
      [ATTR_FANFOLD_TURN]: event.turn,
    };
    if (this.scope.content && 'input' in event) attributes[ATTR_GEN_AI_TOOL_CALL_ARGUMENTS] = event.input;
    return this.scope.tracer.startSpan(`execute_tool ${event.tool}`, { kind: SpanKind.INTERNAL, startTime: toTime(startedAt), attributes }, parent);
  }

  /** Ends the calls and tool calls still open under this agent, cut off at `at`. */
  cutOffChildren(errorType: string, message: string, at: number): void {
    for (const call of [...this.calls]) call.cutOff(errorType, message, at);
    for (const { span, startedAt } of this.tools.values()) {
      markFailed(span, errorType, message);
      endSpan(span, startedAt, at);
    }
    this.tools.clear();
  }
}
