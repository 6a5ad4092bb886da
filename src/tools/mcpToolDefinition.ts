/**
 * One MCP tool as a fanfold {@link ToolDefinition}: the server's name (sanitized when the API
 * would refuse it), description and input schema; `parse` takes any JSON object (the server
 * validates the rest); `run` calls the tool over the server's connection and turns its result
 * into what the loop sends back — content blocks via the SDK's `mcpContent`, or an `Error`
 * carrying the tool's own error text when it reports `isError`.
 */
import { mcpContent } from '@anthropic-ai/sdk/helpers/beta/mcp';
import type { CallToolResult, ContentBlock, Tool } from '@modelcontextprotocol/sdk/types.js';
import { FanfoldError } from '../errors.ts';
import type { ToolResultContent } from '../providers/provider.ts';
import type { ToolDefinition, ToolOutput } from './tool.ts';

/** A tool of an MCP server: a {@link ToolDefinition} that also says where it comes from. */
export type McpToolDefinition = ToolDefinition<Record<string, unknown>> & {
  readonly mcp: {
    /** The server's name in the run's `mcp`. */
    readonly server: string;
    /** The tool's own name on the server (`name` may be a sanitized form of it). */
    readonly tool: string;
  };
};

/** Calls a tool by its MCP name; rejects with a message the model may read. */
export type McpCall = (tool: string, input: Record<string, unknown>, signal: AbortSignal) => Promise<CallToolResult>;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * The definition of `tool` of `server`, called `name` by the model.
 *
 * @example
 * const definition = mcpToolDefinition('github', listed, 'search_issues', call, redact);
 */
export function mcpToolDefinition(server: string, tool: Tool, name: string, call: McpCall, redact: (text: string) => string): McpToolDefinition {
  const { $schema: _dialect, ...schema } = tool.inputSchema as { $schema?: unknown; [key: string]: unknown };
  const description =
    [tool.description, tool.title, tool.annotations?.title].find((text): text is string => typeof text === 'string' && text.trim() !== '') ?? `MCP tool ${tool.name} of server ${server}`;
  return {
    kind: 'fanfold.tool',
    name,
    description,
    inputSchema: { ...schema, type: 'object' },
    parse(input) {
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        throw new FanfoldError('tool', `expected a JSON object of arguments for the MCP tool "${tool.name}", got ${kindOf(input)}`);
      }
      return input as Record<string, unknown>;
    },
    async run(input, context) {
      const result = await call(tool.name, input, context.signal);
      if (result.isError) throw new FanfoldError('tool', redact(mcpErrorText(result)));
      return mcpToolOutput(result);
    },
    mcp: { server, tool: tool.name },
  };
}

/** The text of an `isError` result. */
export function mcpErrorText(result: CallToolResult): string {
  const text = result.content
    .filter((item): item is Extract<ContentBlock, { type: 'text' }> => item.type === 'text')
    .map((item) => item.text)
    .join('\n')
    .trim();
  if (text !== '') return text;
  if (result.structuredContent) return JSON.stringify(result.structuredContent);
  return 'the MCP tool reported an error without a message';
}

/** Copies a block's own string keys (the SDK helper tags its blocks with a symbol). */
function plain(block: object): ToolResultContent {
  return Object.fromEntries(Object.entries(block)) as ToolResultContent;
}

/** A text stand-in for content the API cannot take (audio, resource links, other MIME types). */
function unsupported(item: ContentBlock): ToolResultContent {
  switch (item.type) {
    case 'audio':
      return { type: 'text', text: `[audio (${item.mimeType}) left out: not supported]` };
    case 'image':
      return { type: 'text', text: `[image (${item.mimeType}) left out: not a supported image type]` };
    case 'resource_link':
      return { type: 'text', text: `[resource: ${item.name} ${item.uri}${item.mimeType ? ` (${item.mimeType})` : ''}]` };
    case 'resource': {
      const resource = item.resource;
      if ('text' in resource && typeof resource.text === 'string') return { type: 'text', text: resource.text };
      return { type: 'text', text: `[resource ${resource.uri}${resource.mimeType ? ` (${resource.mimeType})` : ''} left out: not a supported type]` };
    }
    default:
      return { type: 'text', text: `[${(item as { type: string }).type} content left out: not supported]` };
  }
}

/**
 * A successful result as tool output: its content as API blocks (text, image, resources as
 * documents), or — when it has no content but `structuredContent` — that as JSON text.
 */
export function mcpToolOutput(result: CallToolResult): ToolOutput {
  const blocks: ToolResultContent[] = [];
  for (const item of result.content) {
    // The API refuses empty text blocks.
    if (item.type === 'text' && item.text === '') continue;
    try {
      blocks.push(plain(mcpContent(item as Parameters<typeof mcpContent>[0])));
    } catch {
      blocks.push(unsupported(item));
    }
  }
  if (blocks.length > 0) return blocks;
  if (result.structuredContent && typeof result.structuredContent === 'object') return JSON.stringify(result.structuredContent);
  return '';
}
