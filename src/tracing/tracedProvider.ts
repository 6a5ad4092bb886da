/**
 * A provider decorator that times each model call exactly — start, first streamed text, end —
 * and tells an observer how it went. The run's tracer turns that into `chat {model}` spans.
 * Run events could not do this: they are batched per timer tick and say nothing of a failed
 * attempt's start.
 */
import { context, type Context } from '@opentelemetry/api';
import type { Clock } from '../clock.ts';
import type { ModelProvider, ModelRequest, ModelResponse, StreamOptions } from '../providers/provider.ts';

/** The model call a traced provider just began. */
export interface ModelCallStart {
  /** The provider that makes the call (the wrapped one). */
  provider: ModelProvider;
  request: ModelRequest;
  caller: StreamOptions['caller'] | null;
  /** On the run's clock. */
  startedAt: number;
}

/** How the observer follows one call; every method is called at most once, `firstChunk` before the end. */
export interface ModelCallTrace {
  /**
   * Made active around the inner provider's `stream` (when not `null`), so spans that code
   * starts itself — the Anthropic SDK's own `anthropic.messages.create` span — nest under this call.
   */
  readonly context: Context | null;
  firstChunk(at: number): void;
  succeeded(response: ModelResponse, at: number): void;
  /** `aborted`: the call's signal had fired (deadline, cancel, attempt timeout). */
  failed(error: unknown, aborted: boolean, at: number): void;
}

/** Receives every call a traced provider makes. */
export interface ModelCallObserver {
  /** A call begins. `null`: leave it untraced (the run's trace has ended). Must not throw. */
  callStarted(start: ModelCallStart): ModelCallTrace | null;
}

/**
 * Wraps `inner` so every call is reported to `observer`, timed on `clock`. Everything else —
 * `name`, `baseURL`, a scripted provider's `calls` — reads through to `inner`.
 *
 * @example
 * const provider = traceModelCalls(createAnthropicProvider(), { callStarted: (call) => null }, systemClock);
 */
export function traceModelCalls(inner: ModelProvider, observer: ModelCallObserver, clock: Clock): ModelProvider {
  const stream = (request: ModelRequest, options: StreamOptions): Promise<ModelResponse> => {
    const call = observer.callStarted({ provider: inner, request, caller: options.caller ?? null, startedAt: clock.now() });
    if (!call) return inner.stream(request, options);
    const { onText } = options;
    let streaming = false;
    const traced: StreamOptions = onText
      ? {
          ...options,
          onText: (delta) => {
            if (!streaming) {
              streaming = true;
              call.firstChunk(clock.now());
            }
            onText(delta);
          },
        }
      : options;
    let pending: Promise<ModelResponse>;
    try {
      pending = Promise.resolve(call.context ? context.with(call.context, () => inner.stream(request, traced)) : inner.stream(request, traced));
    } catch (error) {
      call.failed(error, options.signal.aborted, clock.now());
      throw error;
    }
    return pending.then(
      (response) => {
        call.succeeded(response, clock.now());
        return response;
      },
      (error: unknown) => {
        call.failed(error, options.signal.aborted, clock.now());
        throw error;
      },
    );
  };
  // A prototype link, not a copy: a provider's getters and methods keep working on the wrapper.
  return Object.assign(Object.create(inner) as ModelProvider, { stream });
}
