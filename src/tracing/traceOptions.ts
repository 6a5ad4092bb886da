/**
 * How a run is traced: the `trace` run option.
 */
import type { Tracer } from '@opentelemetry/api';

/** The instrumentation scope of fanfold's spans, and the name of the global tracer it uses by default. */
export const TRACER_NAME = 'fanfold';

/**
 * Tracing of a run through `@opentelemetry/api` (GenAI semantic conventions). `false` turns it
 * off; the default traces to the global tracer provider, which records nothing until the app
 * registers one (then a run costs one no-op span).
 *
 * @example
 * const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
 * const run = runFanOut(config, { provider: anthropic, trace: { tracer: provider.getTracer('fanfold') } });
 */
export interface TraceOptions {
  /** Where the spans go. Default: `trace.getTracer('fanfold')`, the global tracer provider's. */
  tracer?: Tracer;
  /**
   * Also record prompts, completions, system instructions, tool inputs and results (as
   * `gen_ai.input.messages`, `gen_ai.output.messages`, … JSON text), redacted like everything
   * fanfold keeps. They can be large and hold user data. Default `false`.
   */
  content?: boolean;
}
