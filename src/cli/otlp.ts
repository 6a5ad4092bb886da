/**
 * `--otlp <url>` and the standard `OTEL_EXPORTER_OTLP_*` variables: the CLI sends a run's spans
 * to an OpenTelemetry collector (Jaeger, Tempo, Honeycomb, Langfuse…) over OTLP/HTTP, and flushes
 * them before it exits — when the run is done, failed or interrupted. The tracing SDK and the
 * exporter are imported here, lazily, and only when an endpoint is set: `import 'fanfold'` and
 * runs that export nothing never load them.
 */
import { InvalidArgumentError } from 'commander';
import { FanfoldError } from '../errors.ts';
import { redactSecrets } from '../redact.ts';
import { TRACER_NAME, type TraceOptions } from '../tracing/traceOptions.ts';

/** An open export: the run's trace option, and the flush at the end. */
export interface OtlpExport {
  /** Where spans go, fit to print: no credentials, no query. */
  readonly endpoint: string;
  /** Give this to the run (`runFanOut(config, { trace })`). */
  readonly trace: TraceOptions;
  /**
   * Exports every ended span and closes the exporter (once; later calls wait for the first),
   * waiting at most `waitMs` (default: the export timeout and a second). Resolves with what
   * went wrong, to warn about, or `null`; never rejects.
   */
  shutdown(waitMs?: number): Promise<string | null>;
}

/** How long one export may take, retries included, unless `OTEL_EXPORTER_OTLP_TIMEOUT` says otherwise (the spec's default). */
export const OTLP_TIMEOUT_MS = 10_000;

/**
 * `--otlp` values: an http(s) URL.
 *
 * @example
 * new Option('--otlp <url>').argParser(otlpUrlOption);
 */
export function otlpUrlOption(value: string): string {
  if (!isHttpUrl(value)) throw new InvalidArgumentError(`expected an http(s) URL such as http://localhost:4318, got "${printable(value)}"`);
  return value;
}

/**
 * The traces URL to export to: `--otlp` (a collector's base URL, or its full `…/v1/traces` URL),
 * else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else `OTEL_EXPORTER_OTLP_ENDPOINT` with
 * `/v1/traces` appended; `null` when none is set (or `OTEL_SDK_DISABLED=true` without `--otlp`).
 * Throws a config error naming the variable when its value is not an http(s) URL.
 *
 * @example
 * otlpTracesUrl(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }); // 'http://localhost:4318/v1/traces'
 */
export function otlpTracesUrl(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string | null {
  if (flag) return withTracesPath(flag);
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return null;
  const traces = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  if (traces) return checked(traces, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (base) return withTracesPath(checked(base, 'OTEL_EXPORTER_OTLP_ENDPOINT'));
  return null;
}

/**
 * Opens the export when an endpoint is set (see {@link otlpTracesUrl}); `null` otherwise.
 * Headers come from `OTEL_EXPORTER_OTLP_TRACES_HEADERS` or `OTEL_EXPORTER_OTLP_HEADERS`
 * (`key=value,…`, URL-encoded), the export timeout from `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or
 * `OTEL_EXPORTER_OTLP_TIMEOUT` (ms, default 10000), the service name from `OTEL_SERVICE_NAME`
 * (default `fanfold`).
 *
 * @example
 * const otlp = await openOtlpExport(options.otlp, io.env);
 * const run = runFanOut(config, { provider, ...(otlp ? { trace: otlp.trace } : {}) });
 * await run.result;
 * const problem = await otlp?.shutdown();
 */
export async function openOtlpExport(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<OtlpExport | null> {
  const url = otlpTracesUrl(flag, env);
  if (url === null) return null;
  const [{ TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { defaultResource, resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const headers = parseHeaders(env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'] ?? env['OTEL_EXPORTER_OTLP_HEADERS'] ?? '');
  // The exporter retries a collector that is down until this passes: it bounds the wait at exit.
  const timeoutMs = positiveMs(env['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT']) ?? positiveMs(env['OTEL_EXPORTER_OTLP_TIMEOUT']) ?? OTLP_TIMEOUT_MS;
  const exporter = new OTLPTraceExporter({ url, headers, timeoutMillis: timeoutMs });
  const problems: string[] = [];
  const processor = new BatchSpanProcessor({
    // Counts what failed, to say so at the end (the SDK only tells its diagnostic logger).
    exporter: {
      export: (spans, done) =>
        exporter.export(spans, (result) => {
          if (result.code !== 0) problems.push(result.error?.message || 'the collector did not accept them');
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush(),
    },
    // A 1,000-specialist run ends ~3,000 spans within a few hundred ms: a queue that holds a
    // whole run, so none is dropped before the flush.
    maxQueueSize: 100_000,
    maxExportBatchSize: 1_000,
    scheduledDelayMillis: 1_000,
  });
  const serviceName = env['OTEL_SERVICE_NAME']?.trim() || TRACER_NAME;
  const provider = new TracerProvider({ resource: defaultResource().merge(resourceFromAttributes({ 'service.name': serviceName })), spanProcessors: [processor] });
  let closing: Promise<string | null> | null = null;
  const endpoint = printable(url);
  return {
    endpoint,
    trace: { tracer: provider.getTracer(TRACER_NAME) },
    shutdown(waitMs = timeoutMs + 1_000) {
      closing ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), waitMs);
          timer.unref();
        });
        try {
          const outcome = await Promise.race([provider.shutdown().then(() => 'done' as const), timedOut]);
          if (outcome === 'timeout') return `the collector at ${endpoint} did not take the run's spans within ${waitMs} ms`;
        } catch (error) {
          problems.push(error instanceof Error ? error.message : String(error));
        } finally {
          clearTimeout(timer);
        }
        // Messages may quote a header or a URL with a token: never print one.
        return problems.length === 0 ? null : `could not export the run's spans to ${endpoint}: ${redactSecrets(problems[0]!)}`;
      })();
      return closing;
    },
  };
}

/**
 * `key=value,key2=value2` (values URL-encoded), as the OTLP exporter variables write headers.
 *
 * @example
 * parseHeaders('x-honeycomb-team=abc,x-scope=a%20b'); // { 'x-honeycomb-team': 'abc', 'x-scope': 'a b' }
 */
export function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    try {
      headers[decodeURIComponent(key)] = decodeURIComponent(value);
    } catch {
      headers[key] = value;
    }
  }
  return headers;
}

/** A timeout variable's value in ms, when it is a positive integer. */
function positiveMs(value: string | undefined): number | undefined {
  const ms = Number(value?.trim());
  return value !== undefined && Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

function isHttpUrl(value: string): boolean {
  return /^https?:\/\/[^/]/i.test(value) && URL.canParse(value);
}

function checked(value: string, variable: string): string {
  if (!isHttpUrl(value)) throw new FanfoldError('config', `${variable} must be an http(s) URL such as http://localhost:4318, got "${printable(value)}"`);
  return value;
}

/** A collector's base URL with the traces path, or its traces URL as given. */
function withTracesPath(value: string): string {
  const url = new URL(value);
  if (!/\/v1\/traces\/?$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

/** A URL without what may be secret in it (user and password, query), for messages. */
function printable(value: string): string {
  if (!isHttpUrl(value)) return redactSecrets(value).slice(0, 200);
  const url = new URL(value);
  return `${url.protocol}//${url.host}${url.pathname}`;
}
