/**
 * Anthropic's server tools, which the API runs inside a model call: web search and web fetch.
 * fanfold passes them through (with `max_uses` and domain filters), keeps their result blocks
 * in the conversation, and counts and prices `usage.server_tool_use`.
 */
import type { ServerToolDefinition } from '../providers/provider.ts';
import type { ServerToolName, ToolSpec } from './types.ts';

/** The dated tool type fanfold sends for each server tool. */
export const SERVER_TOOL_TYPES: Readonly<Record<ServerToolName, string>> = Object.freeze({
  web_search: 'web_search_20250305',
  web_fetch: 'web_fetch_20250910',
});

/** The server tools by name, for config validation. */
export const SERVER_TOOL_NAMES: ReadonlySet<string> = new Set(Object.keys(SERVER_TOOL_TYPES));

/** USD per web search request, billed on top of tokens ($10 per 1,000). Web fetch costs tokens only. */
export const WEB_SEARCH_USD_PER_REQUEST = 0.01;

/** The request definition of a server tool spec. */
export function serverToolDefinition(spec: Extract<ToolSpec, { source: 'server' }>): ServerToolDefinition {
  return {
    kind: 'server',
    name: spec.name,
    type: SERVER_TOOL_TYPES[spec.name],
    maxUses: spec.maxUses,
    allowedDomains: spec.allowedDomains,
    blockedDomains: spec.blockedDomains,
  };
}
