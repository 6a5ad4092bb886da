/**
 * Between fanfold's provider types and the Messages API's: a {@link ModelRequest} as the API's
 * params (prompt-cache breakpoints, tools, tool choice), and the API's message as a
 * {@link ModelResponse}. Shared by the streaming provider and the Message Batches adapter, so a
 * batched call sends what a streamed one would and gives back the same response.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { ServerToolUsage, Usage } from '../usage.ts';
import type { ContentBlock, ModelRequest, ModelResponse, ModelToolDefinition } from './provider.ts';

/** The request as the Messages API's params (non-streaming shape; the streaming helper adds `stream`). */
export function toParams(request: ModelRequest, promptCaching: boolean): Anthropic.MessageCreateParamsNonStreaming {
  const messages = request.messages.map((message) => ({ role: message.role, content: message.content })) as Anthropic.MessageParam[];
  // A loop re-sends the whole conversation every turn: a breakpoint on its last block lets the
  // next turn read the prefix from the cache (system + this breakpoint: 2 of the API's 4).
  // (Not on a `pause_turn` continuation, which ends with the model's own blocks.)
  if (promptCaching && messages.length > 1 && messages[messages.length - 1]!.role === 'user') messages[messages.length - 1] = withCacheBreakpoint(messages[messages.length - 1]!);
  const params: Anthropic.MessageCreateParamsNonStreaming = { model: request.model, max_tokens: request.maxTokens, messages };
  // The run's shared context first, with its own breakpoint, so every call of the run shares
  // that prefix (with the same tools) whatever its own system prompt.
  const blocks: Anthropic.TextBlockParam[] = [];
  if (request.context) blocks.push({ type: 'text', text: request.context, ...(promptCaching ? { cache_control: { type: 'ephemeral' as const } } : {}) });
  if (request.system) blocks.push({ type: 'text', text: request.system, ...(promptCaching ? { cache_control: { type: 'ephemeral' as const } } : {}) });
  if (blocks.length > 0) params.system = !promptCaching && !request.context ? request.system! : blocks;
  if (request.tools && request.tools.length > 0) {
    params.tools = request.tools.map(toToolParam);
    if (request.toolChoice === 'none') params.tool_choice = { type: 'none' };
  }
  return params;
}

/** A tool definition in the API's shape. */
function toToolParam(tool: ModelToolDefinition): Anthropic.ToolUnion {
  if (tool.kind === 'client') return { name: tool.name, description: tool.description, input_schema: tool.inputSchema };
  const param: Record<string, unknown> = { type: tool.type, name: tool.name };
  if (tool.maxUses !== null) param['max_uses'] = tool.maxUses;
  if (tool.allowedDomains !== null) param['allowed_domains'] = tool.allowedDomains;
  if (tool.blockedDomains !== null) param['blocked_domains'] = tool.blockedDomains;
  return param as unknown as Anthropic.ToolUnion;
}

/** The message with `cache_control` on its last content block (a string becomes one text block). */
function withCacheBreakpoint(message: Anthropic.MessageParam): Anthropic.MessageParam {
  const blocks = typeof message.content === 'string' ? [{ type: 'text' as const, text: message.content }] : [...message.content];
  const last = blocks[blocks.length - 1];
  // Thinking blocks take no cache_control; an empty message has nowhere to put it.
  if (!last || last.type === 'thinking' || last.type === 'redacted_thinking') return message;
  blocks[blocks.length - 1] = { ...last, cache_control: { type: 'ephemeral' } } as typeof last;
  return { ...message, content: blocks } as Anthropic.MessageParam;
}

/** The SDK's usage fields as fanfold's (missing counts are 0; server tool counts only when some ran). */
export function toUsage(usage: {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  server_tool_use?: { web_search_requests?: number | null; web_fetch_requests?: number | null } | null;
}): Usage {
  const out: Usage = {
    inputTokens: usage.input_tokens ?? 0,
    outputTokens: usage.output_tokens ?? 0,
    cacheCreationInputTokens: usage.cache_creation_input_tokens ?? 0,
    cacheReadInputTokens: usage.cache_read_input_tokens ?? 0,
  };
  const server: ServerToolUsage = { webSearchRequests: usage.server_tool_use?.web_search_requests ?? 0, webFetchRequests: usage.server_tool_use?.web_fetch_requests ?? 0 };
  if (server.webSearchRequests + server.webFetchRequests > 0) out.serverToolUse = server;
  return out;
}

/** A response block as plain JSON: text stays small (no `citations: null`), the rest is copied as sent. */
export function toContentBlock(block: Anthropic.ContentBlock): ContentBlock {
  if (block.type === 'text')
    return block.citations && block.citations.length > 0 ? { type: 'text', text: block.text, citations: structuredClone(block.citations) as never } : { type: 'text', text: block.text };
  return structuredClone(block) as unknown as ContentBlock;
}

/** A finished message of the API as the provider port's response. */
export function toModelResponse(message: Anthropic.Message): ModelResponse {
  let text = '';
  for (const block of message.content) if (block.type === 'text') text += block.text;
  return { text, content: message.content.map(toContentBlock), model: message.model, stopReason: message.stop_reason, usage: toUsage(message.usage) };
}
