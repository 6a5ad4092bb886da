/**
 * The provider port: the one interface every model backend implements (the in-process
 * scripted provider here; the Anthropic SDK adapter next). It mirrors the SDK's streaming
 * helper: a request and an AbortSignal in, text deltas as they arrive, then the final message
 * with usage.
 */
import type { Usage } from '../usage.ts';

/** One turn of the conversation sent to the model. */
export interface ModelMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** A Messages-API-shaped request. */
export interface ModelRequest {
  model: string;
  system?: string;
  messages: ModelMessage[];
  maxTokens: number;
}

/** The assembled reply, once the stream has finished. */
export interface ModelResponse {
  text: string;
  /** The model that actually answered (as reported by the backend). */
  model: string;
  stopReason: string | null;
  usage: Usage;
}

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
  /** Who is calling (for logs, scripted replies and fault injection); providers may ignore it. */
  caller?: { id: string; attempt: number };
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
}
