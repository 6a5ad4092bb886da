/**
 * The deterministic text generator. A reply is derived only from the request (model, system,
 * messages): the seed is a hash of them, so the same request always gets the same text, and a
 * streamed and a non-streamed request get the same text too. The prompt's shape picks the kind
 * of reply, checked in this order: synthesis (or a streaming fold's digest or closing part),
 * summary (a document to summarise wins over the specialist shape, as a per-file fan-out sends
 * both), specialist, planner, generic. A request
 * that offers tools is answered by the tool-use script instead (see toolUse.ts), or, when one
 * of them is a model lead's `Agent` tool, by the simulated lead (see lead.ts).
 */
import { FanfoldError } from '../errors.ts';
import { finishBlocks, replyText, type ReplyBlock, type ServerToolUsage } from './content.ts';
import { Random, hashString } from './random.ts';
import { leadReply } from './lead.ts';
import { parseMessagesBody, type ParsedMessagesRequest } from './request.ts';
import { isPlannerPrompt, plannerReply } from './planner.ts';
import { SIMULATED_LABEL, parseSpecialistPrompt, specialistReply } from './specialist.ts';
import { parseSummaryPrompt, summaryReply } from './summary.ts';
import { closingReply, digestReply, parseSynthesisPrompt, synthesisReply } from './synthesis.ts';
import { estimateTokens, truncateToTokens } from './tokens.ts';
import { toolUseReply } from './toolUse.ts';
import { headWords, keywords } from './vocab.ts';
import { clampWords, parseWordLimit } from './words.ts';

/**
 * Which generator wrote a reply (`tools`: the tool-use script, for requests that offer tools;
 * `lead`: the simulated model lead, for requests that offer the `Agent` tool; `digest` and
 * `closing`: a streaming fold's parts of a synthesis, see synthesis.ts).
 */
export type ReplyKind = 'synthesis' | 'digest' | 'closing' | 'specialist' | 'planner' | 'summary' | 'generic' | 'tools' | 'lead';

/** Why the simulated model stopped, as in the API's `stop_reason`. */
export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn';

/** A simulated reply, after `stop_sequences` and `max_tokens` have been applied. */
export interface SimulatedReply {
  /** The text the model "says": its text blocks joined (the only block, for a text reply). */
  text: string;
  /** The content blocks as the API sends them (one text block unless the request offers tools). */
  content: ReplyBlock[];
  /** `usage.server_tool_use` for a request that offers tools; `null` otherwise (the field is not sent). */
  serverToolUse: ServerToolUsage | null;
  kind: ReplyKind;
  stopReason: StopReason;
  stopSequence: string | null;
  /** `estimateTokens(text)` (plus tool call inputs, for a tool-use reply). */
  outputTokens: number;
  /** The text before any cut; `text` is always a prefix of it. */
  fullText: string;
}

/** A finished reply as the Messages API sends it whole (a non-streamed answer, a batch result). */
export function replyMessage(id: string, model: string, reply: SimulatedReply, usage: object) {
  return { id, type: 'message', role: 'assistant', model, content: reply.content, stop_reason: reply.stopReason, stop_sequence: reply.stopSequence, usage };
}

const GENERIC_CLOSINGS = [
  'This reply was generated locally by the fanfold simulator; a real model would answer the request itself.',
  'No model was called: the fanfold simulator derives this text from a hash of the request.',
  'The fanfold simulator stands in for the model here, so the content is a placeholder.',
];

function genericReply(request: ParsedMessagesRequest, prompt: string, random: Random): string {
  const quote = headWords(request.lastUserText.replace(/\s+/g, ' '), 16);
  const terms = keywords(request.lastUserText, 3);
  const parts = [`${SIMULATED_LABEL} You wrote: "${quote}"`];
  if (terms.length >= 2) parts.push(`The request is mostly about ${terms.slice(0, -1).join(', ')} and ${terms[terms.length - 1]}.`);
  parts.push(random.pick(GENERIC_CLOSINGS));
  const limit = parseWordLimit(prompt);
  const text = parts.join(' ');
  return limit ? clampWords(text, limit.max) : text;
}

/** The untruncated reply text and its kind for a validated request. */
export function composeReply(request: ParsedMessagesRequest): { kind: ReplyKind; text: string } {
  const random = new Random(hashString(request.seedSource));
  const user = request.lastUserText;
  const prompt = request.system ? `${request.system}\n\n${user}` : user;

  const synthesis = parseSynthesisPrompt(user);
  if (synthesis?.part === 'digest') return { kind: 'digest', text: digestReply(synthesis, random) };
  if (synthesis?.part === 'closing') return { kind: 'closing', text: closingReply(synthesis, random) };
  if (synthesis) return { kind: 'synthesis', text: synthesisReply(synthesis, random) };
  const summary = parseSummaryPrompt(user);
  if (summary) return { kind: 'summary', text: summaryReply(summary) };
  const specialist = parseSpecialistPrompt(user);
  if (specialist) return { kind: 'specialist', text: specialistReply(specialist, prompt, random) };
  if (isPlannerPrompt(user)) return { kind: 'planner', text: plannerReply(user, random) };
  return { kind: 'generic', text: genericReply(request, prompt, random) };
}

/**
 * Applies `stop_sequences` (the earliest occurrence wins, and is not included) and then
 * `max_tokens` (the text is cut to fit the token estimate) to a full reply.
 */
export function finishReply(kind: ReplyKind, fullText: string, maxTokens: number | null, stopSequences: readonly string[]): SimulatedReply {
  let text = fullText;
  let stopReason: StopReason = 'end_turn';
  let stopSequence: string | null = null;
  for (const sequence of stopSequences) {
    const at = text.indexOf(sequence);
    if (at !== -1) {
      text = text.slice(0, at);
      stopReason = 'stop_sequence';
      stopSequence = sequence;
    }
  }
  if (maxTokens !== null && estimateTokens(text) > maxTokens) {
    text = truncateToTokens(text, maxTokens);
    stopReason = 'max_tokens';
    stopSequence = null;
  }
  return { text, content: [{ type: 'text', text }], serverToolUse: null, kind, stopReason, stopSequence, outputTokens: estimateTokens(text), fullText };
}

/** The reply for a validated request. */
export function replyFor(request: ParsedMessagesRequest): SimulatedReply {
  if (request.tools.length > 0) {
    const lead = leadReply(request);
    const draft = lead ?? toolUseReply(request);
    const finished = finishBlocks(draft.blocks, request.maxTokens, request.stopSequences);
    return {
      text: replyText(finished.blocks),
      content: finished.blocks,
      serverToolUse: draft.serverToolUse,
      kind: lead ? 'lead' : 'tools',
      stopReason: finished.cut ?? draft.stopReason,
      stopSequence: finished.stopSequence,
      outputTokens: finished.outputTokens,
      fullText: replyText(draft.blocks),
    };
  }
  const { kind, text } = composeReply(request);
  return finishReply(kind, text, request.maxTokens, request.stopSequences);
}

/**
 * The simulator's deterministic text generator, exported for tests: give it a Messages API
 * request body (as the SDK would send it; `max_tokens` optional here) and get the reply the
 * simulator would send. Throws a `FanfoldError` (code `usage`) with the API's validation message
 * for a body the API would reject.
 */
export function simulatedReply(body: unknown): SimulatedReply {
  const parsed = parseMessagesBody(body, 'count_tokens');
  if (!parsed.ok) throw new FanfoldError('usage', parsed.message);
  const maxTokens = (body as { max_tokens?: unknown }).max_tokens;
  return replyFor({ ...parsed.request, maxTokens: typeof maxTokens === 'number' ? maxTokens : null });
}
