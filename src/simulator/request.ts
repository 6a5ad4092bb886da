/**
 * Reading a Messages API request body: validation in the API's own terms (so a bad request
 * gets the 400 the real API would give) and extraction of the text the simulator works from.
 */
import { checkToolBlock, checkToolPairing, parseToolChoice, parseTools, type ConversationMessage, type ToolChoice, type ToolDefinition } from './tools.ts';
import { isRecord } from './isRecord.ts';

/** Prompt-cache breakpoint on a block, as in `cache_control: { type: 'ephemeral', ttl }`. */
export interface CacheControl {
  ttlMs: number;
}

/** One piece of prompt text, in prompt order, with its cache breakpoint if it carries one. */
export interface TextPiece {
  text: string;
  cacheControl: CacheControl | null;
}

/** A validated `/v1/messages` or `/v1/messages/count_tokens` body. */
export interface ParsedMessagesRequest {
  model: string;
  /** `null` for count_tokens, which takes no `max_tokens`. */
  maxTokens: number | null;
  stream: boolean;
  /** The system prompt's text (blocks joined with newlines). */
  system: string;
  /** The text of the last user message: the prompt the reply answers. */
  lastUserText: string;
  /** Every text piece (system blocks, then message blocks), for token and cache accounting. */
  pieces: TextPiece[];
  stopSequences: string[];
  /** System and all message text joined with blank lines: what fault patterns are tested against. */
  text: string;
  /**
   * A canonical rendering of model, system and messages (and tools and tool_choice when tools
   * are sent): the seed of the deterministic reply.
   */
  seedSource: string;
  /** The text of the first user message: where a specialist's task and angle are, in every turn of a tool loop. */
  firstUserText: string;
  /** Every message as content blocks (a string content is one text block). */
  messages: ConversationMessage[];
  /** The tools offered, in request order (empty when none). */
  tools: ToolDefinition[];
  /** `tool_choice`, or `null` when not sent (auto). */
  toolChoice: ToolChoice | null;
}

export type ParseResult = { ok: true; request: ParsedMessagesRequest } | { ok: false; message: string };

const FIVE_MINUTES = 5 * 60_000;
const ONE_HOUR = 60 * 60_000;

/** The request's model if it names one, even when the rest is invalid (for the request log). */
export function peekModel(body: unknown): string | null {
  return isRecord(body) && typeof body['model'] === 'string' ? body['model'] : null;
}

/** Whether the body asks for a stream (for the request log, before validation). */
export function peekStream(body: unknown): boolean {
  return isRecord(body) && body['stream'] === true;
}

function cacheControlOf(block: Record<string, unknown>): CacheControl | null {
  const control = block['cache_control'];
  if (!isRecord(control)) return null;
  return { ttlMs: control['ttl'] === '1h' ? ONE_HOUR : FIVE_MINUTES };
}

/** Text of one content block; blocks without text (images, …) contribute nothing. */
function blockText(block: Record<string, unknown>): string {
  switch (block['type']) {
    case 'text':
      return typeof block['text'] === 'string' ? block['text'] : '';
    case 'thinking':
      return typeof block['thinking'] === 'string' ? block['thinking'] : '';
    case 'tool_use':
    case 'server_tool_use':
      return JSON.stringify(block['input'] ?? {});
    case 'tool_result': {
      const content = block['content'];
      if (typeof content === 'string') return content;
      if (Array.isArray(content)) return content.filter(isRecord).map(blockText).join('\n');
      return '';
    }
    case 'document': {
      const source = block['source'];
      return isRecord(source) && source['type'] === 'text' && typeof source['data'] === 'string' ? source['data'] : '';
    }
    case 'web_search_tool_result': {
      // The real API counts the encrypted page content; titles and URLs stand in for it.
      const content = block['content'];
      if (!Array.isArray(content)) return '';
      return content
        .filter(isRecord)
        .map((result) => [result['title'], result['url']].filter((part) => typeof part === 'string').join('\n'))
        .join('\n');
    }
    case 'web_fetch_tool_result': {
      const content = block['content'];
      if (!isRecord(content)) return '';
      const document = content['content'];
      return [typeof content['url'] === 'string' ? content['url'] : '', isRecord(document) ? blockText(document) : ''].filter(Boolean).join('\n');
    }
    default:
      return '';
  }
}

/** Pieces of a `system` or message `content` value (a string or an array of blocks). */
function piecesOf(value: unknown, where: string): TextPiece[] | string {
  if (typeof value === 'string') return [{ text: value, cacheControl: null }];
  if (!Array.isArray(value)) return `${where}: Input should be a valid string or list of content blocks`;
  const pieces: TextPiece[] = [];
  for (const [index, block] of value.entries()) {
    if (!isRecord(block) || typeof block['type'] !== 'string') return `${where}.${index}: Input should be a valid content block`;
    if (block['type'] === 'text' && typeof block['text'] !== 'string') return `${where}.${index}.text: Field required`;
    const invalid = checkToolBlock(block, `${where}.${index}`);
    if (invalid) return invalid;
    pieces.push({ text: blockText(block), cacheControl: cacheControlOf(block) });
  }
  return pieces;
}

/** A message's content as blocks. */
function blocksOf(content: unknown): Array<Record<string, unknown>> {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

/** The text blocks of a message's content (not tool results): what a user "said". */
function spokenText(content: unknown): string {
  return blocksOf(content)
    .filter((block) => block['type'] === 'text' && typeof block['text'] === 'string')
    .map((block) => block['text'] as string)
    .join('\n');
}

const joinText = (pieces: readonly TextPiece[]): string => pieces.map((piece) => piece.text).join('\n');

/**
 * Validates a body the way the API does (`model`, `messages`, and for `create` a positive integer
 * `max_tokens`) and extracts its text. Messages and system may be strings or block arrays.
 */
export function parseMessagesBody(body: unknown, kind: 'create' | 'count_tokens'): ParseResult {
  const fail = (message: string): ParseResult => ({ ok: false, message });
  if (!isRecord(body)) return fail('Request body must be a JSON object');

  const model = body['model'];
  if (model === undefined) return fail('model: Field required');
  if (typeof model !== 'string' || model.length === 0) return fail('model: Input should be a non-empty string');

  let maxTokens: number | null = null;
  if (kind === 'create') {
    const value = body['max_tokens'];
    if (value === undefined) return fail('max_tokens: Field required');
    if (typeof value !== 'number' || !Number.isInteger(value)) return fail('max_tokens: Input should be a valid integer');
    if (value < 1) return fail('max_tokens: Input should be greater than or equal to 1');
    maxTokens = value;
  }

  const stream = body['stream'];
  if (stream !== undefined && typeof stream !== 'boolean') return fail('stream: Input should be a valid boolean');

  const messages = body['messages'];
  if (messages === undefined) return fail('messages: Field required');
  if (!Array.isArray(messages)) return fail('messages: Input should be a valid list');
  if (messages.length === 0) return fail('messages: at least one message is required');

  const tools = parseTools(body['tools']);
  if (typeof tools === 'string') return fail(tools);
  const toolChoice = parseToolChoice(body['tool_choice'], tools);
  if (typeof toolChoice === 'string') return fail(toolChoice);

  // Tool definitions come first in the prompt (and in the cache prefix), as with the real API.
  const pieces: TextPiece[] = (Array.isArray(body['tools']) ? body['tools'].filter(isRecord) : []).map((tool) => ({
    text: JSON.stringify(tool),
    cacheControl: cacheControlOf(tool),
  }));
  let system = '';
  if (body['system'] !== undefined) {
    const systemPieces = piecesOf(body['system'], 'system');
    if (typeof systemPieces === 'string') return fail(systemPieces);
    system = joinText(systemPieces);
    pieces.push(...systemPieces);
  }

  const messageTexts: string[] = [];
  const conversation: ConversationMessage[] = [];
  let lastUserText = '';
  let firstUserText: string | null = null;
  for (const [index, message] of messages.entries()) {
    if (!isRecord(message)) return fail(`messages.${index}: Input should be a valid dictionary`);
    const role = message['role'];
    if (role !== 'user' && role !== 'assistant') return fail(`messages.${index}.role: Input should be 'user' or 'assistant'`);
    if (message['content'] === undefined) return fail(`messages.${index}.content: Field required`);
    const contentPieces = piecesOf(message['content'], `messages.${index}.content`);
    if (typeof contentPieces === 'string') return fail(contentPieces);
    const text = joinText(contentPieces);
    messageTexts.push(text);
    if (role === 'user') {
      lastUserText = text;
      firstUserText ??= spokenText(message['content']) || text;
    }
    conversation.push({ role, blocks: blocksOf(message['content']) });
    pieces.push(...contentPieces);
  }
  const unpaired = checkToolPairing(conversation, tools.length > 0);
  if (unpaired) return fail(unpaired);

  const stopSequences = Array.isArray(body['stop_sequences']) ? body['stop_sequences'].filter((value): value is string => typeof value === 'string' && value.length > 0) : [];

  return {
    ok: true,
    request: {
      model,
      maxTokens,
      stream: stream === true,
      system,
      lastUserText,
      pieces,
      stopSequences,
      text: [system, ...messageTexts].filter((part) => part.length > 0).join('\n\n'),
      // Without tools the seed is what it always was, so text-only replies never change.
      seedSource: JSON.stringify(tools.length > 0 ? [model, body['system'] ?? null, messages, body['tools'], body['tool_choice'] ?? null] : [model, body['system'] ?? null, messages]),
      firstUserText: firstUserText ?? '',
      messages: conversation,
      tools,
      toolChoice,
    },
  };
}
