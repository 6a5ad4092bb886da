/**
 * The Anthropic provider: model calls through `@anthropic-ai/sdk`'s streaming helper, with the
 * run's AbortSignal, errors mapped to fanfold's kinds, and usage (cache tokens included) per call.
 */
import Anthropic from '@anthropic-ai/sdk';
import { FanfoldError } from '../errors.ts';
import { toProviderError } from './anthropicErrors.ts';
import type { Usage } from '../usage.ts';
import type { ModelProvider, ModelRequest, ModelResponse, StreamOptions } from './provider.ts';

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

  const stream = async (request: ModelRequest, { signal, onText, onUsage, caller }: StreamOptions): Promise<ModelResponse> => {
    try {
      const messageStream = client.messages.stream(toParams(request, promptCaching), {
        signal,
        maxRetries: 0,
        // Lets a Messages-API server (the simulator, a proxy) attribute calls; the API ignores it.
        ...(caller ? { headers: { 'x-fanfold-caller': encodeURIComponent(caller.id), 'x-fanfold-attempt': String(caller.attempt) } } : {}),
      });
      if (onText) messageStream.on('text', (delta) => onText(delta));
      if (onUsage) {
        // What the API reports mid-stream: input (and cache) tokens at the start, output at the end.
        messageStream.on('streamEvent', (event) => {
          if (event.type === 'message_start') onUsage(toUsage(event.message.usage));
          else if (event.type === 'message_delta') onUsage(toUsage({ ...messageStream.currentMessage?.usage, ...event.usage }));
        });
      }
      const message = await messageStream.finalMessage();
      let text = '';
      for (const block of message.content) if (block.type === 'text') text += block.text;
      return {
        text,
        model: message.model,
        stopReason: message.stop_reason,
        usage: toUsage(message.usage),
      };
    } catch (error) {
      throw toProviderError(error, { model: request.model, baseURL, aborted: signal.aborted, secret: apiKey });
    }
  };
  return { name: 'anthropic', baseURL, stream };
}

/** The SDK's usage fields as fanfold's (missing counts are 0). */
function toUsage(usage: { input_tokens?: number | null; output_tokens?: number | null; cache_creation_input_tokens?: number | null; cache_read_input_tokens?: number | null }): Usage {
  return {
    inputTokens: usage.input_tokens ?? 0,
    outputTokens: usage.output_tokens ?? 0,
    cacheCreationInputTokens: usage.cache_creation_input_tokens ?? 0,
    cacheReadInputTokens: usage.cache_read_input_tokens ?? 0,
  };
}

/** The SDK's log lines, on standard error (the SDK itself redacts credentials in them). */
const STDERR_LOGGER = {
  error: (...args: unknown[]) => console.error(...args),
  warn: (...args: unknown[]) => console.error(...args),
  info: (...args: unknown[]) => console.error(...args),
  debug: (...args: unknown[]) => console.error(...args),
};

function toParams(request: ModelRequest, promptCaching: boolean): Anthropic.MessageCreateParamsNonStreaming {
  const params: Anthropic.MessageCreateParamsNonStreaming = {
    model: request.model,
    max_tokens: request.maxTokens,
    messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
  };
  if (request.system) {
    params.system = promptCaching ? [{ type: 'text', text: request.system, cache_control: { type: 'ephemeral' } }] : request.system;
  }
  return params;
}

function stripTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
