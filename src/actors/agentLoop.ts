/**
 * The rules of a specialist's tool-use loop, as pure steps: a loop state plus a finished model
 * turn or tool call gives the next loop state, and `advance` says what to do next — call the
 * model (the last turn without tools once a limit is reached), run tool calls, or finish.
 *
 * Nothing here does I/O or reads a clock; the specialist actor performs the actions. The same
 * steps rebuild a loop from a checkpoint's journal, so a resumed specialist continues from its
 * last finished turn and tool call instead of paying for them again.
 */
import type { SupervisionPolicy } from '../policy.ts';
import { parseReport, REPORT_TOOL_NAME, type FindingReport } from '../findings/reportTool.ts';
import type { ContentBlock, ModelMessage, TextBlock, ToolResultBlock, ToolUseBlock } from '../providers/provider.ts';
import type { LoopLimit, LoopStep, ModelStep, ToolCallSummary, ToolStep } from '../tools/types.ts';

/** A client tool call the model asked for. */
export interface ToolCallRequest {
  id: string;
  name: string;
  input: unknown;
}

/** Where a specialist's loop stands. Plain JSON. */
export interface LoopState {
  /** The conversation after the first user message (the task and angle, rebuilt from the spec). */
  messages: ModelMessage[];
  /** Model turns finished. */
  turns: number;
  /** Client calls of the last turn, in the model's order, until their results go back. */
  awaiting: ToolCallRequest[];
  /** Results of `awaiting` so far, by call id. */
  results: Record<string, ToolResultBlock>;
  /** Every finished tool call (server tools included), in the order they finished. */
  toolCalls: ToolCallSummary[];
  /** Calls counted against `maxToolCalls`. */
  toolCallsUsed: number;
  lastStopReason: string | null;
  /** Set once a limit made a turn the last, tool-less one. */
  limit: LoopLimit | null;
  /** The next model turn is offered no tools (`tool_choice: none`). */
  final: boolean;
  /** The model ended the loop: its last message is the finding. */
  done: boolean;
  /** Asked to wrap up (the run's deadline passed, or its budget was spent; `true`: the deadline): its next turn is the last, without tools. */
  wrapUp?: true | WrapUpReason;
  /** What it reported with its finding (`report` tool), if it did. */
  report?: FindingReport;
  /** It was given the `report` tool: its `report` calls are read by the loop, not run. */
  reports?: true;
}

/** Why a loop is asked to wrap up. */
export type WrapUpReason = 'deadline' | 'budget';

/** What the specialist does next. */
export type LoopAction = { kind: 'callModel'; turn: number; final: boolean } | { kind: 'runTools'; turn: number; calls: ToolCallRequest[] } | { kind: 'finish'; output: string };

/** The limits of {@link SupervisionPolicy} the loop applies. */
export type LoopPolicy = Pick<SupervisionPolicy, 'maxTurns' | 'maxToolCalls'>;

/** A fresh loop. The first turn is already the last when the limits allow no tool call at all. */
export function startLoop(policy: LoopPolicy, reports = false): LoopState {
  const limit = finalTurnLimit(1, 0, policy);
  return {
    messages: [],
    turns: 0,
    awaiting: [],
    results: {},
    toolCalls: [],
    toolCallsUsed: 0,
    lastStopReason: null,
    limit,
    final: limit !== null,
    done: false,
    ...(reports ? { reports: true as const } : {}),
  };
}

/** Told to the model with the results, when a limit makes its next turn the last. */
const LIMIT_NOTE: Record<LoopLimit, string> = {
  maxTurns: 'You have reached your limit of turns (maxTurns): no more tool calls. Write your finding now with what you have, citing your sources.',
  maxToolCalls: 'You have used all your tool calls (maxToolCalls): no more tool calls. Write your finding now with what you have, citing your sources.',
  deadline: "The run's deadline has passed: no more tool calls. Write your answer now with what you have, citing your sources.",
  budget: "The run's budget is spent: no more tool calls. Write your answer now with what you have, citing your sources.",
};

/** Which limit makes turn `turn` the last one, if any. */
function finalTurnLimit(turn: number, used: number, policy: LoopPolicy, wrapUp?: LoopState['wrapUp']): LoopLimit | null {
  if (wrapUp) return wrapUp === 'budget' ? 'budget' : 'deadline';
  if (turn >= policy.maxTurns) return 'maxTurns';
  if (used >= policy.maxToolCalls) return 'maxToolCalls';
  return null;
}

/**
 * A model turn finished. Its content joins the conversation (a `pause_turn` continuation joins
 * the paused assistant message, as the API reads them); the client calls it asked for await
 * results; calls past `maxToolCalls` are answered at once with an error result.
 */
export function applyModelStep(loop: LoopState, step: ModelStep, policy: LoopPolicy): LoopState {
  const messages = loop.messages.slice();
  const previous = messages[messages.length - 1];
  if (previous?.role === 'assistant') messages[messages.length - 1] = { role: 'assistant', content: [...(previous.content as ContentBlock[]), ...step.content] };
  else messages.push({ role: 'assistant', content: step.content });
  let used = loop.toolCallsUsed + step.serverToolCalls.length;
  const toolCalls = step.serverToolCalls.length > 0 ? [...loop.toolCalls, ...step.serverToolCalls] : loop.toolCalls;
  const next: LoopState = { ...loop, messages, turns: step.turn, lastStopReason: step.stopReason, toolCalls, toolCallsUsed: used, awaiting: [], results: {} };
  const all = step.content.filter((block): block is ToolUseBlock => block.type === 'tool_use');
  // Given the `report` tool, its calls are read here, not run: alone with the finding's text
  // they end the loop (a user's own tool named `report`, without weights, runs as any other).
  const reports = loop.reports ? all.filter((use) => use.name === REPORT_TOOL_NAME) : [];
  if (reports.length > 0) next.report = parseReport(reports[reports.length - 1]!.input);
  const uses = reports.length > 0 ? all.filter((use) => use.name !== REPORT_TOOL_NAME) : all;
  if (step.stopReason === 'pause_turn') return next;
  // A report with no finding written: it is asked for the text (below), the loop goes on.
  const silent = reports.length > 0 && uses.length === 0 && !hasText(step.content);
  if (!silent && (step.stopReason !== 'tool_use' || uses.length === 0 || loop.final)) return { ...next, done: true };
  const awaiting = all.map((use) => ({ id: use.id, name: use.name, input: use.input }));
  const results: Record<string, ToolResultBlock> = {};
  // Reported beside other calls (or with no text): answered at once, so the API sees every tool_use answered.
  for (const report of reports)
    results[report.id] = {
      type: 'tool_result',
      tool_use_id: report.id,
      content: silent ? 'Recorded. Now write your finding as text: it is what the team reads.' : 'Recorded. Finish your work; your last response is your finding.',
    };
  const room = Math.max(0, policy.maxToolCalls - used);
  uses.slice(room).forEach((call) => {
    results[call.id] = errorResult(call.id, `Not run: this specialist has used all ${policy.maxToolCalls} of its tool calls (maxToolCalls). Write your finding with what you have.`);
  });
  used += Math.min(room, uses.length);
  return { ...next, awaiting, results, toolCallsUsed: used };
}

/** A tool call finished (an error is a result too). */
export function applyToolStep(loop: LoopState, step: ToolStep): LoopState {
  if (!loop.awaiting.some((call) => call.id === step.result.tool_use_id)) return loop;
  const summary: ToolCallSummary = { name: step.name, ms: step.ms, isError: step.result.is_error === true };
  return { ...loop, results: { ...loop.results, [step.result.tool_use_id]: step.result }, toolCalls: [...loop.toolCalls, summary] };
}

/**
 * What comes next. Once every awaited call has its result, the results go back in one user
 * message (in the order the model asked, as the API requires) and the next turn starts — the
 * last one, without tools, if a limit is reached.
 */
export function advance(loop: LoopState, policy: LoopPolicy): { loop: LoopState; action: LoopAction } {
  if (loop.done) return { loop, action: { kind: 'finish', output: findingOf(loop) } };
  if (loop.awaiting.length > 0) {
    const missing = loop.awaiting.filter((call) => !loop.results[call.id]);
    if (missing.length > 0) return { loop, action: { kind: 'runTools', turn: loop.turns, calls: missing } };
    const content: ContentBlock[] = loop.awaiting.map((call) => loop.results[call.id]!);
    const turn = loop.turns + 1;
    const limit = finalTurnLimit(turn, loop.toolCallsUsed, policy, loop.wrapUp);
    // Results first, as the API requires; then why no tools are offered any more.
    if (limit) content.push({ type: 'text', text: LIMIT_NOTE[limit] });
    const next: LoopState = { ...loop, messages: [...loop.messages, { role: 'user', content }], awaiting: [], results: {}, final: limit !== null, limit: loop.limit ?? limit };
    return { loop: next, action: { kind: 'callModel', turn, final: next.final } };
  }
  // The first turn, or a `pause_turn` continuation.
  const turn = loop.turns + 1;
  const limit = loop.final ? null : finalTurnLimit(turn, loop.toolCallsUsed, policy, loop.wrapUp);
  const next = limit ? { ...loop, final: true, limit: loop.limit ?? limit } : loop;
  return { loop: next, action: { kind: 'callModel', turn, final: next.final } };
}

/**
 * Rebuilds a loop from journaled steps, in the order they were written: each model step after
 * the bookkeeping `advance` did before its call, each tool step as it finished.
 */
export function replaySteps(steps: readonly LoopStep[], policy: LoopPolicy, reports = false): LoopState {
  let loop = startLoop(policy, reports);
  for (const step of steps) {
    if (step.kind === 'tool') {
      loop = applyToolStep(loop, step);
      continue;
    }
    const prepared = advance(loop, policy);
    if (prepared.action.kind === 'callModel') loop = prepared.loop;
    loop = applyModelStep(loop, step, policy);
  }
  return loop;
}

/** Asks the loop to wrap up: the next turn it starts is its last, without tools (`limit` is the reason). */
export function wrapUp(loop: LoopState, reason: WrapUpReason = 'deadline'): LoopState {
  return loop.done || loop.final || loop.wrapUp ? loop : { ...loop, wrapUp: reason };
}

/** Whether content has any non-blank text. */
function hasText(content: readonly ContentBlock[]): boolean {
  return content.some((block) => block.type === 'text' && (block as TextBlock).text.trim() !== '');
}

/** An error result the model can act on. */
export function errorResult(callId: string, message: string): ToolResultBlock {
  return { type: 'tool_result', tool_use_id: callId, content: message, is_error: true };
}

/**
 * The finding: the text of the model's last message, followed by the sources it cited (web
 * results carry their URL in `citations`), so the synthesizer can cite them in turn.
 */
export function findingOf(loop: LoopState): string {
  const last = loop.messages[loop.messages.length - 1];
  if (last?.role !== 'assistant' || typeof last.content === 'string') return typeof last?.content === 'string' ? last.content : '';
  let text = '';
  const sources = new Map<string, string>();
  for (const block of last.content) {
    if (block.type !== 'text') continue;
    const textBlock = block as TextBlock;
    text += textBlock.text;
    for (const citation of textBlock.citations ?? []) {
      if (typeof citation.url === 'string' && !sources.has(citation.url)) sources.set(citation.url, typeof citation.title === 'string' ? citation.title : citation.url);
    }
  }
  const missing = [...sources].filter(([url]) => !text.includes(url));
  if (missing.length === 0) return text;
  return `${text.trimEnd()}\n\nSources:\n${missing.map(([url, title]) => `- ${title} — ${url}`).join('\n')}`;
}

/** URLs in text: up to whitespace, quotes, brackets; trailing punctuation left out. */
const URL_PATTERN = /https?:\/\/[^\s"'<>()[\]]+[^\s"'<>()[\].,;:!?]/g;

/** Most sources an outcome keeps (a count beyond it says nothing more to the weight). */
const MAX_SOURCES = 50;

/**
 * The distinct sources behind a loop's finding: what its tools returned (web search results,
 * fetched pages, URLs in tool results), what it cited, and what it reported — in that order.
 */
export function sourcesOf(loop: LoopState): string[] {
  const found = new Set<string>();
  const add = (url: unknown) => {
    if (typeof url === 'string' && /^https?:\/\//.test(url) && found.size < MAX_SOURCES) found.add(url);
  };
  const scan = (text: string) => {
    for (const match of text.matchAll(URL_PATTERN)) add(match[0]);
  };
  for (const message of loop.messages) {
    if (typeof message.content === 'string') {
      scan(message.content);
      continue;
    }
    for (const block of message.content as unknown as Array<Record<string, unknown>>) {
      const content = block['content'];
      if (block['type'] === 'web_search_tool_result' && Array.isArray(content)) for (const result of content) add((result as { url?: unknown }).url);
      else if (block['type'] === 'web_fetch_tool_result' && content && typeof content === 'object') add((content as { url?: unknown }).url);
      else if (block['type'] === 'tool_result') scan(typeof content === 'string' ? content : JSON.stringify(content ?? ''));
      else if (block['type'] === 'text') {
        scan(String(block['text'] ?? ''));
        for (const citation of (block['citations'] as Array<{ url?: unknown }> | undefined) ?? []) add(citation.url);
      }
    }
  }
  for (const source of loop.report?.sources ?? []) add(source);
  return [...found];
}
