/**
 * Tools on the request side: the `tools` and `tool_choice` fields, the tool-related content
 * blocks a conversation may carry, and the pairing rules the API enforces between them (every
 * `tool_use` answered by a `tool_result` in the next message, every `tool_result` answering one).
 * Messages are the API's own, so a client bug gets the 400 it would get in production.
 */
import type { DomainFilter } from './web.ts';
import { isRecord } from './isRecord.ts';

/** A tool the client runs (`{ name, description, input_schema }`). */
export interface ClientTool {
  kind: 'client';
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** A server tool the simulator runs itself: web search or web fetch, over the simulated web. */
export interface ServerTool extends DomainFilter {
  kind: 'server';
  name: 'web_search' | 'web_fetch';
  /** The dated type as sent, e.g. `web_search_20250305`. */
  type: string;
  /** Uses allowed in the conversation; `null`: unlimited. */
  maxUses: number | null;
  /** web_fetch only: whether fetched documents have citations enabled. */
  citations: boolean;
  /** web_fetch only: the page text is cut to about this many tokens. */
  maxContentTokens: number | null;
}

export type ToolDefinition = ClientTool | ServerTool;

/** `tool_choice`, normalised. */
export interface ToolChoice {
  type: 'auto' | 'any' | 'none' | 'tool';
  /** The forced tool for `type: 'tool'`; `null` otherwise. */
  name: string | null;
  disableParallelToolUse: boolean;
}

/** A message with its content as blocks (a string content is one text block). */
export interface ConversationMessage {
  role: 'user' | 'assistant';
  blocks: Array<Record<string, unknown>>;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const SERVER_TYPES: ReadonlyArray<[RegExp, ServerTool['name']]> = [
  [/^web_search_\d{8}$/, 'web_search'],
  [/^web_fetch_\d{8}$/, 'web_fetch'],
];
const CHOICE_TYPES = new Set(['auto', 'any', 'none', 'tool']);

function domainList(value: unknown, where: string): readonly string[] | null | string {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) return `${where}: Input should be a valid list of strings`;
  if (value.length === 0) return `${where}: Empty list of domains is ambiguous. Provide at least one domain or null.`;
  return value as string[];
}

function positiveInteger(value: unknown, where: string): number | null | string {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value)) return `${where}: Input should be a valid integer`;
  if (value < 1) return `${where}: Input should be greater than or equal to 1`;
  return value;
}

function parseServerTool(tool: Record<string, unknown>, type: string, name: ServerTool['name'], where: string): ServerTool | string {
  const at = `${where}.${type}`;
  if (tool['name'] !== name) return `${at}.name: Input should be '${name}'`;
  const allowed = domainList(tool['allowed_domains'], `${at}.allowed_domains`);
  if (typeof allowed === 'string') return allowed;
  const blocked = domainList(tool['blocked_domains'], `${at}.blocked_domains`);
  if (typeof blocked === 'string') return blocked;
  if (allowed && blocked) return `${at}: Cannot specify both allowed_domains and blocked_domains in the same request`;
  const maxUses = positiveInteger(tool['max_uses'], `${at}.max_uses`);
  if (typeof maxUses === 'string') return maxUses;
  const maxContentTokens = positiveInteger(tool['max_content_tokens'], `${at}.max_content_tokens`);
  if (typeof maxContentTokens === 'string') return maxContentTokens;
  const citations = tool['citations'];
  if (citations !== undefined && citations !== null && !isRecord(citations)) return `${at}.citations: Input should be a valid dictionary`;
  return {
    kind: 'server',
    name,
    type,
    maxUses,
    allowedDomains: allowed,
    blockedDomains: blocked,
    citations: isRecord(citations) && citations['enabled'] === true,
    maxContentTokens,
  };
}

function parseClientTool(tool: Record<string, unknown>, where: string): ClientTool | string {
  const at = `${where}.custom`;
  const name = tool['name'];
  if (name === undefined) return `${at}.name: Field required`;
  if (typeof name !== 'string' || !TOOL_NAME.test(name)) return `${at}.name: String should match pattern '${TOOL_NAME.source}'`;
  const description = tool['description'];
  if (description !== undefined && typeof description !== 'string') return `${at}.description: Input should be a valid string`;
  const schema = tool['input_schema'];
  if (schema === undefined) return `${at}.input_schema: Field required`;
  if (!isRecord(schema)) return `${at}.input_schema: Input should be a valid dictionary`;
  if (schema['type'] !== 'object') return `${at}.input_schema.type: Input should be 'object'`;
  return { kind: 'client', name, description: description ?? '', inputSchema: schema };
}

/** Parses `tools` (absent: none); a string is the 400 message. */
export function parseTools(value: unknown): ToolDefinition[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return 'tools: Input should be a valid list';
  const tools: ToolDefinition[] = [];
  for (const [index, tool] of value.entries()) {
    const where = `tools.${index}`;
    if (!isRecord(tool)) return `${where}: Input should be a valid dictionary`;
    const type = tool['type'];
    let parsed: ToolDefinition | string;
    if (type === undefined || type === null || type === 'custom') {
      parsed = parseClientTool(tool, where);
    } else {
      const server = SERVER_TYPES.find(([pattern]) => typeof type === 'string' && pattern.test(type));
      parsed = server
        ? parseServerTool(tool, type as string, server[1], where)
        : `${where}: Input tag '${String(type)}' found using 'type' does not match any of the tags the fanfold simulator supports: 'custom', 'web_search_<date>', 'web_fetch_<date>'`;
    }
    if (typeof parsed === 'string') return parsed;
    tools.push(parsed);
  }
  const names = tools.map((tool) => tool.name);
  if (new Set(names).size !== names.length) return 'tools: Tool names must be unique.';
  return tools;
}

/** Parses `tool_choice` against the parsed tools (absent: `null`, meaning auto). */
export function parseToolChoice(value: unknown, tools: readonly ToolDefinition[]): ToolChoice | null | string {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) return 'tool_choice: Input should be a valid dictionary';
  const type = value['type'];
  if (typeof type !== 'string' || !CHOICE_TYPES.has(type)) {
    return `tool_choice: Input tag '${String(type)}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`;
  }
  const disable = value['disable_parallel_tool_use'];
  if (disable !== undefined && typeof disable !== 'boolean') return `tool_choice.${type}.disable_parallel_tool_use: Input should be a valid boolean`;
  let name: string | null = null;
  if (type === 'tool') {
    if (value['name'] === undefined) return 'tool_choice.tool.name: Field required';
    if (typeof value['name'] !== 'string') return 'tool_choice.tool.name: Input should be a valid string';
    name = value['name'];
    if (!tools.some((tool) => tool.name === name)) return `tool_choice.tool.name: Tool '${name}' not found in \`tools\``;
  }
  if ((type === 'any' || type === 'tool') && tools.length === 0) return `tool_choice: \`${type}\` requires at least one tool in \`tools\``;
  return { type: type as ToolChoice['type'], name, disableParallelToolUse: disable === true };
}

const needsId = (block: Record<string, unknown>, field: string): boolean => typeof block[field] !== 'string' || block[field] === '';

/** Shape checks for the tool-related content blocks; `null` when the block is fine. */
export function checkToolBlock(block: Record<string, unknown>, where: string): string | null {
  const type = block['type'] as string;
  switch (type) {
    case 'tool_use':
    case 'server_tool_use':
      if (needsId(block, 'id')) return `${where}.${type}.id: Field required`;
      if (typeof block['name'] !== 'string') return `${where}.${type}.name: Field required`;
      if (!isRecord(block['input'])) return `${where}.${type}.input: Input should be a valid dictionary`;
      return null;
    case 'tool_result': {
      if (needsId(block, 'tool_use_id')) return `${where}.tool_result.tool_use_id: Field required`;
      const content = block['content'];
      if (content !== undefined && typeof content !== 'string' && !(Array.isArray(content) && content.every((item) => isRecord(item) && typeof item['type'] === 'string'))) {
        return `${where}.tool_result.content: Input should be a valid string or list of content blocks`;
      }
      if (block['is_error'] !== undefined && typeof block['is_error'] !== 'boolean') return `${where}.tool_result.is_error: Input should be a valid boolean`;
      return null;
    }
    case 'web_search_tool_result':
    case 'web_fetch_tool_result':
      if (needsId(block, 'tool_use_id')) return `${where}.${type}.tool_use_id: Field required`;
      if (block['content'] === undefined) return `${where}.${type}.content: Field required`;
      return null;
    case 'text': {
      const citations = block['citations'];
      if (citations !== undefined && citations !== null && !Array.isArray(citations)) return `${where}.text.citations: Input should be a valid list`;
      return null;
    }
    default:
      return null;
  }
}

const idsOf = (blocks: ReadonlyArray<Record<string, unknown>>, type: string, field: string): string[] => blocks.filter((block) => block['type'] === type).map((block) => String(block[field]));

/**
 * The API's pairing rules: each assistant `tool_use` must be answered by a `tool_result` with
 * its id in the immediately following user message, and each `tool_result` must answer a
 * `tool_use` of the message just before. Returns the 400 message of the first violation.
 */
export function checkToolPairing(messages: readonly ConversationMessage[], toolsDefined: boolean): string | null {
  const usesTools = messages.some((message) => message.blocks.some((block) => block['type'] === 'tool_use' || block['type'] === 'tool_result'));
  if (usesTools && !toolsDefined) return 'Requests which include `tool_use` or `tool_result` blocks must define tools.';
  for (const [index, message] of messages.entries()) {
    if (message.role === 'assistant') {
      const uses = idsOf(message.blocks, 'tool_use', 'id');
      if (uses.length === 0) continue;
      const next = messages[index + 1];
      const answered = new Set(next?.role === 'user' ? idsOf(next.blocks, 'tool_result', 'tool_use_id') : []);
      const missing = uses.filter((id) => !answered.has(id));
      if (missing.length > 0) {
        return `messages.${index}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
      }
    } else {
      const previous = messages[index - 1];
      const asked = new Set(previous?.role === 'assistant' ? idsOf(previous.blocks, 'tool_use', 'id') : []);
      for (const [position, block] of message.blocks.entries()) {
        if (block['type'] !== 'tool_result' || asked.has(String(block['tool_use_id']))) continue;
        return `messages.${index}.content.${position}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block['tool_use_id'])}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
    }
  }
  return null;
}
