/**
 * The provider port: the one interface every model backend implements (the Anthropic SDK
 * adapter, the scripted provider). It mirrors the SDK's streaming helper: a request and an
 * AbortSignal in, text deltas (and server-tool progress) as they arrive, then the final message
 * with its content blocks, stop reason and usage.
 *
 * Content blocks keep the Messages API's own (snake_case) shape: they are what the model wrote,
 * and a tool-use loop sends them back unchanged, so no field is lost in a translation.
 */
import type { Usage } from '../usage.ts';

/** A text block; `citations` are set when the model cites web results or documents. */
export interface TextBlock {
  type: 'text';
  text: string;
  citations?: Array<{ type: string; url?: string; title?: string | null; cited_text?: string; [key: string]: unknown }> | null;
}

/** The model asks for a client tool (code or MCP) to be run: `stop_reason` is then `tool_use`. */
export interface ToolUseBlock {
  type: 'tool_use';
  /** `toolu_…`: the `tool_use_id` its result must carry. */
  id: string;
  name: string;
  input: unknown;
}

/** A piece of a tool result: text, or an image / document block as the API takes them. */
export type ToolResultContent = TextBlock | { type: 'image' | 'document'; [key: string]: unknown };

/** What a client tool returned, sent back in the next user message. */
export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string | ToolResultContent[];
  /** `true` when the tool failed: the model reads `content` as the error. */
  is_error?: boolean;
}

/** A server tool (web search, web fetch) the API itself ran inside the model call. */
export interface ServerToolUseBlock {
  type: 'server_tool_use';
  /** `srvtoolu_…` */
  id: string;
  name: string;
  input: unknown;
}

/** The result of a server tool, delivered whole in the assistant's content. */
export interface ServerToolResultBlock {
  type: 'web_search_tool_result' | 'web_fetch_tool_result';
  tool_use_id: string;
  /** Results (`web_search_result`, `web_fetch_result`) or an error object with `error_code`. */
  content: unknown;
}

/** Any other block the API sends (thinking, …): kept and sent back as it came. */
export interface OtherBlock {
  type: string;
  [key: string]: unknown;
}

/** One content block of a message, as the Messages API writes it. */
export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock | ServerToolUseBlock | ServerToolResultBlock | OtherBlock;

/** One turn of the conversation sent to the model. */
export interface ModelMessage {
  role: 'user' | 'assistant';
  content: string | ContentBlock[];
}

/** A client tool as the model sees it: a name, what it does, and the JSON Schema of its input. */
export interface ClientToolDefinition {
  kind: 'client';
  /** `^[a-zA-Z0-9_-]{1,64}$`, unique in the request. */
  name: string;
  description: string;
  /** JSON Schema of the input; `type` is `"object"`. */
  inputSchema: { type: 'object'; [key: string]: unknown };
}

/** An Anthropic server tool, run by the API inside the model call. */
export interface ServerToolDefinition {
  kind: 'server';
  name: 'web_search' | 'web_fetch';
  /** The API's dated tool type, e.g. `web_search_20250305`. */
  type: string;
  /** Most uses per request (`max_uses`); `null` for the API's default. */
  maxUses: number | null;
  allowedDomains: string[] | null;
  blockedDomains: string[] | null;
}

/** A tool offered to the model. */
export type ModelToolDefinition = ClientToolDefinition | ServerToolDefinition;

/** A Messages-API-shaped request. */
export interface ModelRequest {
  model: string;
  /**
   * The run's shared context (documents, a brief): sent first, before `system`, identical in
   * every request of the run, and marked for the prompt cache so the calls after the first read it.
   */
  context?: string;
  system?: string;
  messages: ModelMessage[];
  maxTokens: number;
  /** Tools the model may call. Default: none. */
  tools?: ModelToolDefinition[];
  /**
   * `'none'`: the tools stay defined (the conversation holds tool blocks) but the model must
   * answer in text: the last turn of a loop that reached a limit. Default `'auto'`.
   */
  toolChoice?: 'auto' | 'none';
}

/** The assembled reply, once the stream has finished. */
export interface ModelResponse {
  /** The text blocks joined. */
  text: string;
  /**
   * Every content block, in order, as the API sent them (text, tool_use, server tool blocks…).
   * Optional for providers that only write text: then one text block holding `text`.
   */
  content?: ContentBlock[];
  /** The model that actually answered (as reported by the backend). */
  model: string;
  /** `end_turn`, `tool_use`, `pause_turn`, `max_tokens`, `stop_sequence`, `refusal`, … */
  stopReason: string | null;
  usage: Usage;
}

/** Progress of a server tool inside a streaming model call. */
export type ServerToolEvent =
  /** The model issued the call (its input is complete); the API is running it. */
  | { phase: 'started'; id: string; name: string; input: unknown }
  /** The result arrived; `error` is the API's `error_code` when it failed. */
  | { phase: 'done'; id: string; name: string; isError: boolean; error: string | null; content: unknown };

/** Per-call options. */
export interface StreamOptions {
  /**
   * Aborted when the attempt's deadline passes, the run's deadline passes or the run is
   * cancelled. A provider must then stop its work (close the HTTP request) and reject.
   */
  signal: AbortSignal;
  /** Called with each text delta, in order, as it streams in. */
  onText?: (delta: string) => void;
  /**
   * Called with the usage billed so far, whenever the backend reports it mid-call (e.g. input
   * tokens when a stream starts), so an attempt that then fails or is cut off still counts
   * what it cost. The final response's `usage` supersedes it. Optional for providers.
   */
  onUsage?: (usage: Usage) => void;
  /** Called as server tools (web search, web fetch) start and finish inside the call. Optional for providers. */
  onServerTool?: (event: ServerToolEvent) => void;
  /**
   * Who is calling (for logs, scripted replies and fault injection); providers may ignore it.
   * `attempt` numbers the specialist's calls from 1 (retries and turns alike); `turn` is the
   * tool-use loop's turn, from 1.
   */
  caller?: { id: string; attempt: number; turn?: number };
}

/**
 * A model backend.
 *
 * Contract: resolve with the final message; reject with a `ProviderError` whose `kind` says
 * what went wrong (so policies can decide), carrying `retryAfterMs` when the backend asked for
 * a wait; reject promptly once `signal` aborts. Exactly one retry layer — fanfold's — owns
 * retries, so a provider must not retry on its own.
 */
export interface ModelProvider {
  /** A short name for logs and results, e.g. `anthropic` or `scripted`. */
  readonly name: string;
  stream(request: ModelRequest, options: StreamOptions): Promise<ModelResponse>;
  /**
   * The request's input tokens, as the backend counts them (e.g. the API's count_tokens), for a
   * budget's estimate before the run. Optional: without it, fanfold estimates from the text.
   */
  countTokens?(request: ModelRequest, options?: { signal?: AbortSignal }): Promise<number>;
}

/** The text of a message's content: a string as is, or its text blocks joined. */
export function textOf(content: string | readonly ContentBlock[]): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const block of content) if (block.type === 'text') text += (block as TextBlock).text;
  return text;
}

/** A server tool result's error code (`max_uses_exceeded`, `url_not_accessible`, …), or `null` when it succeeded. */
export function serverToolError(content: unknown): string | null {
  if (content && typeof content === 'object' && !Array.isArray(content)) {
    const { error_code: code, type } = content as { error_code?: unknown; type?: unknown };
    if (typeof code === 'string') return code;
    if (typeof type === 'string' && type.endsWith('_error')) return type;
  }
  return null;
}
