/**
 * An in-process, deterministic provider for tests, benchmarks and offline demos: replies,
 * latency, failures and token counts are scripted per caller and attempt, time comes from an
 * injectable clock, and every call is recorded (with whether it was aborted).
 */
import { systemClock, type Clock } from '../clock.ts';
import { ProviderError, type ErrorInfo } from '../errors.ts';
import type { Usage } from '../usage.ts';
import { textOf, type ContentBlock, type ModelProvider, type ModelRequest, type ModelResponse, type StreamOptions } from './provider.ts';

/** What one call does. Every field is optional; unset ones come from the provider's options. */
export interface ScriptedReply {
  /** Text to stream. Default: a deterministic text derived from the request. */
  text?: string;
  /** Time from the call to the end of the reply (or to the failure), in ms. */
  latencyMs?: number;
  /** Number of text deltas the text is split into, spread evenly over the latency. */
  chunks?: number;
  /** Fail after `latencyMs` with this error instead of replying. */
  error?: ProviderError | ErrorInfo;
  /** Never answer; only an abort ends the call. */
  hang?: boolean;
  /** Token usage to report. Default: input ≈ prompt characters / 4, output = words of text. */
  usage?: Partial<Usage>;
  /**
   * Ask for client tools: one `tool_use` block per entry after the text (ids
   * `toolu_scripted_<call>_<n>`), and `stop_reason: 'tool_use'`.
   */
  toolUse?: Array<{ name: string; input?: unknown }>;
  /** The whole content instead of `text` and `toolUse` (text blocks still stream through `onText`). */
  content?: ContentBlock[];
  /** Stop reason. Default: `tool_use` when the reply asks for tools, else `end_turn`. */
  stopReason?: string;
}

/** One recorded call. */
export interface ScriptedCall {
  index: number;
  request: ModelRequest;
  caller: { id: string; attempt: number; turn?: number } | null;
  startedAt: number;
  endedAt: number | null;
  result: 'pending' | 'replied' | 'failed' | 'aborted';
}

/** Options of {@link createScriptedProvider}. */
export interface ScriptedProviderOptions {
  /** Time source for latency. Default: the real clock. Pass a `SimulatedClock` to drive it in tests. */
  clock?: Clock;
  /** Latency of calls that do not script their own. Default `0`. */
  latencyMs?: number;
  /** Deltas per reply for calls that do not script their own. Default `1`. */
  chunks?: number;
  /**
   * Replies by caller id: one reply for every attempt, or a list indexed by attempt (the last
   * entry repeats).
   */
  byCaller?: Record<string, ScriptedReply | ScriptedReply[]>;
  /** Full control: the reply for a call; wins over `byCaller` when it returns one. */
  reply?: (request: ModelRequest, call: ScriptedCall) => ScriptedReply | undefined;
}

/** The scripted provider, with its call record. */
export interface ScriptedProvider extends ModelProvider {
  /** Every call so far, in order. */
  readonly calls: ScriptedCall[];
  /** Calls started and not yet ended. */
  readonly inFlight: number;
  /** The most calls that were in flight at once. */
  readonly maxInFlight: number;
}

/**
 * Creates a deterministic in-process provider.
 *
 * @example
 * const provider = createScriptedProvider({
 *   latencyMs: 200,
 *   byCaller: { technical: [{ error: { kind: 'rate_limited', message: '429', retryAfterMs: 1000 } }, {}] },
 * });
 */
export function createScriptedProvider(options: ScriptedProviderOptions = {}): ScriptedProvider {
  const clock = options.clock ?? systemClock;
  const calls: ScriptedCall[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const pick = (request: ModelRequest, call: ScriptedCall): ScriptedReply => {
    const custom = options.reply?.(request, call);
    if (custom) return custom;
    const scripted = call.caller ? options.byCaller?.[call.caller.id] : undefined;
    if (Array.isArray(scripted)) return scripted[Math.min(call.caller!.attempt, scripted.length) - 1] ?? {};
    return scripted ?? {};
  };

  const stream = (request: ModelRequest, { signal, onText, caller }: StreamOptions): Promise<ModelResponse> => {
    const call: ScriptedCall = { index: calls.length, request, caller: caller ?? null, startedAt: clock.now(), endedAt: null, result: 'pending' };
    calls.push(call);
    const reply = pick(request, call);
    const latencyMs = reply.latencyMs ?? options.latencyMs ?? 0;
    const content: ContentBlock[] = reply.content ?? [
      { type: 'text', text: reply.text ?? defaultText(request) },
      ...(reply.toolUse ?? []).map((use, n): ContentBlock => ({ type: 'tool_use', id: `toolu_scripted_${call.index}_${n + 1}`, name: use.name, input: use.input ?? {} })),
    ];
    const text = textOf(content);
    const stopReason = reply.stopReason ?? (content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn');
    const chunks = Math.max(1, reply.chunks ?? options.chunks ?? 1);
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;

    return new Promise<ModelResponse>((resolve, reject) => {
      const timers: unknown[] = [];
      const end = (result: ScriptedCall['result']) => {
        call.endedAt = clock.now();
        call.result = result;
        inFlight--;
        signal.removeEventListener('abort', onAbort);
        for (const timer of timers) clock.clearTimeout(timer);
      };
      const onAbort = () => {
        end('aborted');
        reject(signal.reason ?? new ProviderError('cancelled', 'The call was aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      if (reply.hang) return;
      if (reply.error) {
        const error = reply.error;
        timers.push(
          clock.setTimeout(() => {
            end('failed');
            reject(error instanceof ProviderError ? error : new ProviderError(error.kind, error.message, withoutKind(error)));
          }, latencyMs),
        );
        return;
      }
      const pieces = splitText(text, chunks);
      pieces.forEach((piece, i) => {
        const isLast = i === pieces.length - 1;
        timers.push(
          clock.setTimeout(
            () => {
              onText?.(piece);
              if (!isLast) return;
              end('replied');
              resolve({ text, content, model: request.model, stopReason, usage: usageFor(request, text, reply.usage) });
            },
            Math.round((latencyMs * (i + 1)) / pieces.length),
          ),
        );
      });
    });
  };

  return {
    name: 'scripted',
    stream,
    calls,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

function withoutKind(error: ErrorInfo): { status?: number; retryAfterMs?: number } {
  const rest: { status?: number; retryAfterMs?: number } = {};
  if (error.status !== undefined) rest.status = error.status;
  if (error.retryAfterMs !== undefined) rest.retryAfterMs = error.retryAfterMs;
  return rest;
}

/** A deterministic reply that says what was asked: the model and the first line of the prompt. */
function defaultText(request: ModelRequest): string {
  const prompt = textOf(request.messages[0]?.content ?? '');
  const firstLine = prompt.split('\n', 1)[0] ?? '';
  return `[scripted ${request.model}] Reply to: ${firstLine}`;
}

function splitText(text: string, chunks: number): string[] {
  if (chunks <= 1 || text.length <= 1) return [text];
  const size = Math.ceil(text.length / chunks);
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
  return pieces;
}

function usageFor(request: ModelRequest, text: string, scripted: Partial<Usage> | undefined): Usage {
  let promptChars = (request.context?.length ?? 0) + (request.system?.length ?? 0);
  for (const message of request.messages) promptChars += typeof message.content === 'string' ? message.content.length : JSON.stringify(message.content).length;
  return {
    inputTokens: scripted?.inputTokens ?? Math.ceil(promptChars / 4),
    outputTokens: scripted?.outputTokens ?? text.split(/\s+/).filter(Boolean).length,
    cacheCreationInputTokens: scripted?.cacheCreationInputTokens ?? 0,
    cacheReadInputTokens: scripted?.cacheReadInputTokens ?? 0,
  };
}
