/**
 * A tool-using specialist on Restate: one invocation of the agent service (`fanfoldAgent`)
 * runs one specialist's whole tool-use loop to its outcome. The loop's rules are the
 * in-process ones (`agentLoop.ts`: turns, tool results, `maxTurns`, `maxToolCalls`, the last
 * turn without tools, sources) and each turn's retries and fallbacks are the attempt steps of
 * `core/attemptStep.ts`; what differs is only how effects run: every model call and every tool
 * call is a journaled step (`ctx.run`), every backoff a durable timer, jitter the journaled
 * random source. A replay after a crash therefore repeats no finished turn and no finished
 * tool call: their results come back from the journal.
 *
 * The turns run one after another; the client tool calls of a turn run side by side, at most
 * `maxToolConcurrency` at once, and are awaited with `RestatePromise.race` — a free slot takes
 * the next call, and a replay sees the calls finish in the same order. Tools live on the
 * service: code tools registered with it by name, MCP tools of the servers it started, server
 * tools (`web_search`, `web_fetch`) run by the API inside a model call.
 */
import * as restate from '@restatedev/restate-sdk';
import { advance, applyModelStep, applyToolStep, errorResult, sourcesOf, startLoop, type LoopState, type ToolCallRequest } from '../actors/agentLoop.ts';
import { systemClock } from '../clock.ts';
import type { SpecialistSpec } from '../config.ts';
import { afterAttempt, afterWait, firstAttempt, type AttemptEffect, type AttemptsState, type SteppedOutcome } from '../core/attemptStep.ts';
import { ConfigError, FanfoldError, toErrorInfo, type ErrorInfo } from '../errors.ts';
import { unstartedOutcome } from '../outcome.ts';
import { buildSpecialistRequest } from '../prompts.ts';
import type { ContentBlock, ModelProvider, ModelToolDefinition, ServerToolEvent, ToolResultBlock } from '../providers/provider.ts';
import { runToolCall } from '../tools/runToolCall.ts';
import type { ToolDefinition } from '../tools/tool.ts';
import { createToolbox, type McpToolSource, type ResolvedTools, type Toolbox } from '../tools/toolbox.ts';
import type { ModelStep, ToolCallSummary } from '../tools/types.ts';
import { emptyUsage, type Usage } from '../usage.ts';
import { armCallAborts } from './modelCall.ts';

/** The agent service's name. */
export const AGENT_SERVICE = 'fanfoldAgent';

/** What one agent invocation runs: a specialist with tools, its task and the run's deadline. Plain JSON. */
export interface AgentRequest {
  task: string;
  spec: SpecialistSpec;
  /** The run's deadline (ms since epoch): model and tool calls in flight are cut off there. */
  deadlineAt: number;
}

/** What the agent service runs tools with. */
export interface AgentServiceOptions {
  /** Backend for every model turn. */
  provider: ModelProvider;
  /** Code tools (`defineTool`) by the name specs refer to them with. Default: none. */
  tools?: readonly ToolDefinition[];
  /** MCP servers the service started (`openMcpServers`). Default: none. */
  mcp?: McpToolSource | null;
}

/** One model call of a turn, as journaled: an attempt record plus the turn's content. */
type TurnRecord = { startedAt: number; endedAt: number; usage: Usage } & (
  | { ok: true; text: string; model: string; stopReason: string | null; content: ContentBlock[]; serverToolCalls: ToolCallSummary[] }
  | { ok: false; error: ErrorInfo }
);

/** One client tool call, as journaled. */
interface ToolRecord {
  result: ToolResultBlock;
  startedAt: number;
  endedAt: number;
}

/**
 * The toolbox of the service: a spec's code tool is found by its name among the service's
 * tools (its `key` is a config path that means nothing here), MCP tools among its servers'.
 * A tool the service lacks throws a `FanfoldError` (code `config`) naming it.
 */
export function serviceToolbox(tools: readonly ToolDefinition[], mcp: McpToolSource | null): Toolbox {
  const byName = new Map<string, ToolDefinition>();
  for (const tool of tools) {
    if (byName.has(tool.name)) throw new FanfoldError('config', `Two tools given to the Restate service are both named "${tool.name}"`);
    byName.set(tool.name, tool);
  }
  const codeTools = new Map<string, ToolDefinition>();
  const inner = createToolbox({ codeTools, mcp });
  return {
    resolve(specs) {
      for (const spec of specs) {
        if (spec.source !== 'code') continue;
        const tool = byName.get(spec.name);
        if (!tool) throw new FanfoldError('config', `the Restate service has no tool "${spec.name}": give it to the service (serveRestate({ tools }))`);
        codeTools.set(spec.key, tool);
      }
      return inner.resolve(specs);
    },
  };
}

/** The tools offered on a turn: server tools' `max_uses` bounded by what is left of `maxToolCalls` (as in-process). */
function offeredTools(spec: SpecialistSpec, resolved: ResolvedTools, loop: LoopState): ModelToolDefinition[] {
  const room = Math.max(1, spec.policy.maxToolCalls - loop.toolCallsUsed);
  return resolved.definitions.map((tool) => (tool.kind === 'server' && (tool.maxUses === null || tool.maxUses > room) ? { ...tool, maxUses: room } : tool));
}

/**
 * Makes one model call of a turn; never throws (a failure is a record too). Its attempt
 * timeout and the run's deadline abort it from here: nothing else reaches a journaled step.
 */
async function callTurnOnce(provider: ModelProvider, request: AgentRequest, loop: LoopState, tools: ModelToolDefinition[], model: string, attempt: number, turn: number): Promise<TurnRecord> {
  const { spec, task } = request;
  // Past the run's deadline (a turn after tools cut off there): no call that would only be aborted.
  if (Date.now() >= request.deadlineAt)
    return { ok: false, error: { kind: 'deadline', message: "the run's deadline passed before it finished" }, usage: emptyUsage(), startedAt: Date.now(), endedAt: Date.now() };
  const modelRequest = buildSpecialistRequest(task, spec, model, { messages: loop.messages, tools, final: loop.final });
  const aborts = armCallAborts(spec.policy.attemptTimeoutMs, attempt, request.deadlineAt);
  const serverToolCalls: ToolCallSummary[] = [];
  const serverStarts = new Map<string, number>();
  const onServerTool = (event: ServerToolEvent) => {
    if (event.phase === 'started') return void serverStarts.set(event.id, Date.now());
    const ms = Date.now() - (serverStarts.get(event.id) ?? Date.now());
    serverToolCalls.push(event.isError ? { name: event.name, ms, isError: true, server: true } : { name: event.name, ms, isError: false, server: true });
  };
  let inFlight: Usage = emptyUsage();
  const startedAt = Date.now();
  try {
    const response = await provider.stream(modelRequest, { signal: aborts.signal, onUsage: (usage) => (inFlight = { ...usage }), onServerTool, caller: { id: spec.id, attempt, turn } });
    const content = response.content ?? [{ type: 'text', text: response.text }];
    return { ok: true, text: response.text, model: response.model, stopReason: response.stopReason ?? null, content, serverToolCalls, usage: { ...response.usage }, startedAt, endedAt: Date.now() };
  } catch (error) {
    return { ok: false, error: aborts.cutOff() ?? toErrorInfo(error), usage: inFlight, startedAt, endedAt: Date.now() };
  } finally {
    aborts.clear();
  }
}

/**
 * Runs one client tool call; never throws: an unknown tool, bad input, a failure, its timeout
 * or the run's deadline is an error result the model reads.
 */
async function callToolOnce(tool: ToolDefinition | undefined, call: ToolCallRequest, request: AgentRequest, resolved: ResolvedTools, turn: number): Promise<ToolRecord> {
  const { spec, task } = request;
  const startedAt = Date.now();
  const running = runToolCall(call, tool, {
    clock: systemClock,
    timeoutMs: spec.policy.toolTimeoutMs,
    specialist: { id: spec.id, angle: spec.angle },
    task,
    turn,
    available: [...resolved.byName.keys()],
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ToolResultBlock>((resolve) => {
    timer = setTimeout(
      () => {
        const message = `The tool "${call.name}" was stopped: the run's deadline passed.`;
        running.abort(new FanfoldError('tool', message));
        resolve(errorResult(call.id, message));
      },
      Math.max(0, request.deadlineAt - Date.now()),
    );
  });
  try {
    const result = await Promise.race([running.outcome.then((outcome) => outcome.result), deadline]);
    return { result, startedAt, endedAt: Date.now() };
  } finally {
    clearTimeout(timer);
  }
}

/** The loop fields of an outcome. */
function loopFields(loop: LoopState): Pick<SteppedOutcome, 'turns' | 'stopReason' | 'loopLimit' | 'toolCalls'> {
  return { turns: loop.turns, stopReason: loop.lastStopReason, loopLimit: loop.limit, toolCalls: loop.toolCalls };
}

/** Runs one tool-using specialist to its outcome: the body of the agent service's `run`. */
export async function runAgent(ctx: restate.Context, provider: ModelProvider, toolbox: Toolbox, request: AgentRequest): Promise<SteppedOutcome> {
  const { spec } = request;
  const { policy } = spec;
  let resolved: ResolvedTools;
  try {
    resolved = toolbox.resolve(spec.tools);
  } catch (error) {
    // Settled, not thrown: a missing tool is this specialist's failure, not the run's.
    const message = error instanceof ConfigError ? (error.issues[0]?.message ?? error.message) : (error as Error).message;
    const outcome = unstartedOutcome(spec, 'rejected', { kind: 'unknown', message: `specialist "${spec.id}": ${message}` }, await ctx.date.now());
    return { ...outcome, turns: 0, stopReason: null, loopLimit: null, toolCalls: [] };
  }
  let loop = startLoop(
    policy,
    spec.tools.some((tool) => tool.source === 'report'),
  );
  let attempts: AttemptsState = firstAttempt(spec, request.deadlineAt).state;
  let turnsStarted = 0;
  const withRetries = (outcome: SteppedOutcome): SteppedOutcome => (attempts.retries.length > 0 ? { ...outcome, retries: attempts.retries } : outcome);

  for (;;) {
    const next = advance(loop, policy);
    loop = next.loop;
    const { action } = next;
    if (action.kind === 'finish') {
      return withRetries({
        id: spec.id,
        angle: spec.angle,
        status: 'fulfilled',
        output: action.output,
        error: null,
        attempts: attempts.attempt,
        model: spec.models[attempts.modelIndex] ?? null,
        usage: attempts.usage,
        startedAt: attempts.startedAt,
        endedAt: attempts.endedAt,
        ...loopFields(loop),
        ...(loop.report ? { report: loop.report } : {}),
        sources: sourcesOf(loop),
      });
    }

    if (action.kind === 'runTools') {
      const { turn } = action;
      const queue = action.calls.slice();
      const pending = new Map<string, restate.RestatePromise<{ call: ToolCallRequest; record: ToolRecord }>>();
      const fill = () => {
        while (queue.length > 0 && pending.size < policy.maxToolConcurrency) {
          const call = queue.shift()!;
          const tool = resolved.byName.get(call.name);
          const step = ctx.run(`${spec.id}: turn ${turn}, tool ${call.name} (${call.id})`, () => callToolOnce(tool, call, request, resolved, turn));
          pending.set(
            call.id,
            step.map((record) => ({ call, record: record! })),
          );
        }
      };
      fill();
      while (pending.size > 0) {
        const { call, record } = await restate.RestatePromise.race([...pending.values()]);
        pending.delete(call.id);
        loop = applyToolStep(loop, { kind: 'tool', turn, name: call.name, result: record.result, ms: record.endedAt - record.startedAt });
        attempts = { ...attempts, endedAt: Math.max(attempts.endedAt, record.endedAt) };
        fill();
      }
      continue;
    }

    // A model turn: a fresh count on the model it is on (a fallback holds for the rest of the loop).
    const turn = action.turn;
    if (turnsStarted++ > 0) attempts = { ...attempts, attempt: attempts.attempt + 1, attemptsOnModel: 1 };
    const calls = attempts.attempt;
    let effect: AttemptEffect = { type: 'call', model: spec.models[attempts.modelIndex]!, attempt: attempts.attempt };
    let answered: Extract<TurnRecord, { ok: true }> | null = null;
    while (answered === null) {
      if (effect.type === 'settle') return withRetries({ ...effect.outcome, ...loopFields(loop) });
      if (effect.type === 'wait') {
        await ctx.sleep(effect.ms);
        ({ state: attempts, effect } = afterWait(attempts));
        continue;
      }
      const { model, attempt } = effect;
      const conversation = loop;
      const tools = offeredTools(spec, resolved, conversation);
      const record = await ctx.run(`${spec.id}: turn ${turn}, attempt ${attempt} on ${model}`, () => callTurnOnce(provider, request, conversation, tools, model, attempt, turn));
      ({ state: attempts, effect } = afterAttempt(attempts, record, () => ctx.rand.random()));
      if (record.ok) answered = record;
    }
    const step: ModelStep = {
      kind: 'model',
      turn,
      content: answered.content,
      stopReason: answered.stopReason,
      model: answered.model,
      calls: attempts.attempt - calls + 1,
      usage: answered.usage,
      serverToolCalls: answered.serverToolCalls,
    };
    loop = applyModelStep(loop, step, policy);
  }
}

/**
 * The agent service, bound to a provider and the service's tools.
 *
 * @example
 * const agent = createAgentService({ provider, tools: [lookup] });
 * restate.endpoint().bind(agent);
 */
export function createAgentService(options: AgentServiceOptions) {
  const toolbox = serviceToolbox(options.tools ?? [], options.mcp ?? null);
  return restate.service({
    name: AGENT_SERVICE,
    handlers: {
      run: async (ctx: restate.Context, request: AgentRequest): Promise<SteppedOutcome> => runAgent(ctx, options.provider, toolbox, request),
    },
  });
}

/** The agent service's type, for clients. */
export type AgentService = ReturnType<typeof createAgentService>;
