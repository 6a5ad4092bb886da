/**
 * Helpers for the tracing tests: an OpenTelemetry SDK tracer whose spans land in memory, a
 * processor that counts spans started but not ended, and queries over the span tree.
 */
import type { Context } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { expect } from 'vitest';

/** Spans started and not (yet) ended. */
class OpenSpans implements SpanProcessor {
  readonly open = new Set<Span>();
  onStart(span: Span, _context: Context): void {
    this.open.add(span);
  }
  onEnd(span: ReadableSpan): void {
    this.open.delete(span as Span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A tracer provider for one test: every ended span in `spans()`, and the names of spans still open. */
export function memoryTracing() {
  const exporter = new InMemorySpanExporter();
  const open = new OpenSpans();
  const provider = new TracerProvider({ spanProcessors: [open, new SimpleSpanProcessor({ exporter })] });
  return {
    tracer: provider.getTracer('fanfold'),
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    openNames: (): string[] => [...open.open].map((span) => (span as unknown as ReadableSpan).name),
  };
}

/** ms since epoch of an `HrTime`. */
export const ms = (time: readonly [number, number]): number => time[0] * 1000 + time[1] / 1e6;

/** The tree of a run's spans, with the checks every trace must pass. */
export function spanTree(spans: readonly ReadableSpan[]) {
  const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
  const parentOf = (span: ReadableSpan): ReadableSpan | undefined => (span.parentSpanContext ? byId.get(span.parentSpanContext.spanId) : undefined);
  const childrenOf = (span: ReadableSpan): ReadableSpan[] => spans.filter((other) => other.parentSpanContext?.spanId === span.spanContext().spanId);
  const roots = spans.filter((span) => !span.parentSpanContext);
  /** The agent span with this `gen_ai.agent.id` (its path from the top). */
  const agent = (id: string): ReadableSpan => {
    const found = spans.filter((span) => span.attributes['gen_ai.operation.name'] === 'invoke_agent' && span.attributes['gen_ai.agent.id'] === id && span.attributes['fanfold.agent.kind'] !== 'run');
    expect(found, `one agent span ${id}`).toHaveLength(1);
    return found[0]!;
  };
  const withOperation = (operation: string) => spans.filter((span) => span.attributes['gen_ai.operation.name'] === operation);
  /** One root; every other span's parent is in the trace, in one trace id, inside its parent's time. */
  const expectWellFormed = () => {
    expect(roots.map((span) => span.name)).toEqual(['invoke_agent fanfold']);
    const traceId = roots[0]!.spanContext().traceId;
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(traceId);
      if (span === roots[0]) continue;
      const parent = parentOf(span);
      expect(parent, `parent of ${span.name}`).toBeDefined();
      expect(ms(span.startTime), `${span.name} starts inside ${parent!.name}`).toBeGreaterThanOrEqual(ms(parent!.startTime));
      expect(ms(span.endTime), `${span.name} ends inside ${parent!.name}`).toBeLessThanOrEqual(ms(parent!.endTime));
    }
  };
  return { byId, parentOf, childrenOf, roots, root: roots[0]!, agent, withOperation, expectWellFormed };
}
