/**
 * The Anthropic provider: model calls through `@anthropic-ai/sdk`'s streaming helper, with the
 * run's AbortSignal, errors mapped to fanfold's kinds, and usage (cache tokens included) per call.
 */
import Anthropic from '@anthropic-ai/sdk';
import { FanfoldError } from '../errors.ts';
import { toProviderError } from './anthropicErrors.ts';
import { toModelResponse, toParams, toUsage } from './anthropicParams.ts';
import { createAnthropicBatchApi } from './batch/anthropicBatchApi.ts';
import type { MessageBatchApi } from './batch/batchApi.ts';
import { type ModelProvider, type ModelRequest, type ModelResponse, type StreamOptions, serverToolError } from './provider.ts';

/** The public API's address, used when neither `baseURL` nor `ANTHROPIC_BASE_URL` is set. */
export const ANTHROPIC_API_URL = 'https://api.anthropic.com';

/** Options of {@link createAnthropicProvider}. */
export interface AnthropicProviderOptions {
  /** API key. Default: `ANTHROPIC_API_KEY`. Kept inside the SDK client, never in results, events or logs. */
  apiKey?: string;
  /** Endpoint speaking the Messages API. Default: `ANTHROPIC_BASE_URL`, else the public API. */
  baseURL?: string;
  /**
   * How long the SDK waits for response headers, in ms. Default `600_000` (the SDK's own).
   * Streaming bodies are bounded by the policy's `attemptTimeoutMs`, not by this.
   */
  timeoutMs?: number;
  /**
   * Marks the system prompt as a cache breakpoint (`cache_control: ephemeral`), so specialists
   * sharing a long system prompt share its cached prefix. Prompts below the model's minimum
   * are simply not cached. Default `true`.
   */
  promptCaching?: boolean;
  /** `fetch` to use (tests, proxies). Default: the global one. */
  fetch?: typeof fetch;
  /** Environment to read defaults from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The Anthropic provider; `baseURL` says where its calls go. */
export interface AnthropicProvider extends ModelProvider {
  readonly name: 'anthropic';
  readonly baseURL: string;
  /** The Message Batches endpoints of the same client, for batch mode (`batch: true`). */
  readonly batches: MessageBatchApi;
}

/**
 * A provider that calls the Anthropic Messages API (or any server speaking it, e.g. fanfold's
 * simulator) with streaming. The SDK's own retries are off (`maxRetries: 0`): fanfold's
 * supervision policy is the one retry layer, honouring `retry-after` from 429s.
 *
 * @example
 * const provider = createAnthropicProvider(); // ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
 * const run = runFanOut(config, { provider });
 */
export function createAnthropicProvider(options: AnthropicProviderOptions = {}): AnthropicProvider {
  const env = options.env ?? process.env;
  const apiKey = options.apiKey ?? env['ANTHROPIC_API_KEY'];
  if (!apiKey) {
    throw new FanfoldError('config', 'No Anthropic API key: set ANTHROPIC_API_KEY (or pass `apiKey`), or use the built-in simulator.');
  }
  // Checked here, once: an invalid header value would otherwise fail every call with a message
  // that quotes the key.
  if (!/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new FanfoldError('config', 'ANTHROPIC_API_KEY contains spaces, line breaks or other characters a key cannot have; check how it was set (e.g. a trailing newline from a file).');
  }
  const baseURL = stripTrailingSlash(options.baseURL ?? (env['ANTHROPIC_BASE_URL'] || ANTHROPIC_API_URL));
  if (!/^https?:\/\/[^/]/i.test(baseURL) || !URL.canParse(baseURL)) {
    throw new FanfoldError('config', `ANTHROPIC_BASE_URL must be an http(s) URL such as ${ANTHROPIC_API_URL}, got "${baseURL}"`);
  }
  const client = new Anthropic({
    apiKey,
    baseURL,
    maxRetries: 0,
    timeout: options.timeoutMs ?? 600_000,
    // The SDK logs to console.info/debug (stdout) when ANTHROPIC_LOG asks; keep stdout for results.
    logger: STDERR_LOGGER,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const promptCaching = options.promptCaching ?? true;

  const stream = async (request: ModelRequest, { signal, onText, onUsage, onServerTool, caller }: StreamOptions): Promise<ModelResponse> => {
    try {
      const headers: Record<string, string> = {};
      // Lets a Messages-API server (the simulator, a proxy) attribute calls; the API ignores them.
      if (caller) {
        headers['x-fanfold-caller'] = encodeURIComponent(caller.id);
        headers['x-fanfold-attempt'] = String(caller.attempt);
        if (caller.turn !== undefined) headers['x-fanfold-turn'] = String(caller.turn);
      }
      const messageStream = client.messages.stream(toParams(request, promptCaching), { signal, maxRetries: 0, ...(caller ? { headers } : {}) });
      if (onText) messageStream.on('text', (delta) => onText(delta));
      if (onUsage || onServerTool) {
        // Server tool blocks by index: their input is complete at `content_block_stop`.
        const serverCalls = new Map<number, { id: string; name: string }>();
        messageStream.on('streamEvent', (event, snapshot) => {
          // What the API reports mid-stream: input (and cache) tokens at the start, output at the end.
          if (event.type === 'message_start') onUsage?.(toUsage(event.message.usage));
          else if (event.type === 'message_delta') onUsage?.(toUsage({ ...snapshot.usage, ...event.usage }));
          else if (!onServerTool) return;
          else if (event.type === 'content_block_start' && event.content_block.type === 'server_tool_use') {
            serverCalls.set(event.index, { id: event.content_block.id, name: event.content_block.name });
          } else if (event.type === 'content_block_stop' && serverCalls.has(event.index)) {
            const call = serverCalls.get(event.index)!;
            const block = snapshot.content[event.index] as { input?: unknown } | undefined;
            onServerTool({ phase: 'started', id: call.id, name: call.name, input: block?.input ?? {} });
          } else if (event.type === 'content_block_start' && event.content_block.type.endsWith('_tool_result') && 'tool_use_id' in event.content_block) {
            const result = event.content_block as { tool_use_id: string; content: unknown };
            const name = [...serverCalls.values()].find((call) => call.id === result.tool_use_id)?.name ?? event.content_block.type.replace(/_tool_result$/, '');
            const errorCode = serverToolError(result.content);
            onServerTool({ phase: 'done', id: result.tool_use_id, name, isError: errorCode !== null, error: errorCode, content: result.content });
          }
        });
      }
      return toModelResponse(await messageStream.finalMessage());
    } catch (error) {
      throw toProviderError(error, { model: request.model, baseURL, aborted: signal.aborted, secret: apiKey });
    }
  };
  const countTokens = async (request: ModelRequest, options: { signal?: AbortSignal } = {}): Promise<number> => {
    const { max_tokens: _max, ...params } = toParams(request, promptCaching);
    try {
      const counted = await client.messages.countTokens(params as Anthropic.MessageCountTokensParams, { ...(options.signal ? { signal: options.signal } : {}), maxRetries: 0 });
      return counted.input_tokens;
    } catch (error) {
      throw toProviderError(error, { model: request.model, baseURL, aborted: options.signal?.aborted ?? false, secret: apiKey });
    }
  };
  const batches = createAnthropicBatchApi(client, { promptCaching, baseURL, secret: apiKey });
  return { name: 'anthropic', baseURL, stream, countTokens, batches };
}

/** The SDK's log lines, on standard error (the SDK itself redacts credentials in them). */
const STDERR_LOGGER = {
  error: (...args: unknown[]) => console.error(...args),
  warn: (...args: unknown[]) => console.error(...args),
  info: (...args: unknown[]) => console.error(...args),
  debug: (...args: unknown[]) => console.error(...args),
};

function stripTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
