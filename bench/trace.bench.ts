/**
 * What tracing costs (`npm run bench:trace`; compiled with tsc first, as an app runs it).
 *
 * One 1,000-specialist fan-out (scripted provider, 200 ms calls, an instant fold) three ways in
 * the same process, alternating rounds: `trace: false`; the option absent with no tracer provider
 * registered (the default: the global, no-op tracer); and traced into the OpenTelemetry SDK
 * (`TracerProvider`, `BatchSpanProcessor`, an exporter that drops what it gets), flushed between
 * rounds, outside the timing. Three child processes; the table shows the one with the median
 * ratio. Targets: traced ≤ 1.15 × off. Without a provider the only extra work is one no-op span
 * per run — far below this machine's noise between identical sides (a few %) — so that cost is
 * also timed directly, over 100,000 runs' worth, against a target of 0.1% of the run.
 *
 *   npm run bench:trace            N = 1,000
 *   npm run bench:trace -- 10000   another N
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { normalizeConfig, runFanOut, systemClock, type TraceOptions } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { startRunTrace } from '../src/tracing/runTrace.ts';
import { benchConfig, instantFold, median } from './support.ts';

const LATENCY_MS = 200;
const TRACED_TARGET = 1.15;
/** The default's own cost, as a share of the fan-out's wall time. */
const DEFAULT_SHARE_TARGET = 0.001;

interface CaseResult {
  n: number;
  offMs: number;
  defaultMs: number;
  tracedMs: number;
  spans: number;
  rounds: number;
  /** What the default (no provider registered) adds to a run: its one no-op span, in µs. */
  defaultUs: number;
}

/** Takes every span and drops it: the SDK's cost without an exporter's I/O. */
function droppingExporter(count: { spans: number }): SpanExporter {
  return {
    export: (spans: ReadableSpan[], done) => {
      count.spans += spans.length;
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
  };
}

async function timedRun(n: number, trace: TraceOptions | false | undefined): Promise<number> {
  const provider = createScriptedProvider({ latencyMs: LATENCY_MS });
  const config = benchConfig(n, { synthesizer: instantFold });
  const started = performance.now();
  const result = await runFanOut(config, { provider, ...(trace === undefined ? {} : { trace }) }).result;
  const elapsed = performance.now() - started;
  if (result.status !== 'done' || result.outcomes.length !== n) throw new Error(`fanfold run ended ${result.status}`);
  return elapsed;
}

async function runCase(n: number): Promise<CaseResult> {
  const count = { spans: 0 };
  // A queue that holds a whole run: a dropped span would be a span not paid for.
  const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: droppingExporter(count), maxQueueSize: 4 * n + 100, maxExportBatchSize: 1_000 })] });
  const traced: TraceOptions = { tracer: tracerProvider.getTracer('fanfold') };
  const rounds = 15;
  const sides = {
    off: () => timedRun(n, false),
    default: () => timedRun(n, undefined),
    traced: async () => {
      const ms = await timedRun(n, traced);
      await tracerProvider.forceFlush();
      return ms;
    },
  };
  // Warm every path up (JIT) first.
  for (const side of Object.values(sides)) await side();
  const times: Record<keyof typeof sides, number[]> = { off: [], default: [], traced: [] };
  const orders: Array<Array<keyof typeof sides>> = [
    ['off', 'default', 'traced'],
    ['traced', 'off', 'default'],
    ['default', 'traced', 'off'],
  ];
  count.spans = 0;
  for (let round = 0; round < rounds; round++) {
    // Rotate which side goes first, so drift in the machine's load hits all alike.
    for (const side of orders[round % orders.length]!) times[side].push(await sides[side]());
  }
  await tracerProvider.shutdown();
  // The default's own work, timed where noise cannot hide it: starting a run's trace without a
  // provider (a no-op span, found not recording, so nothing else is set up).
  const setup = { input: normalizeConfig(benchConfig(n, { synthesizer: instantFold }), 'bench').input, clock: systemClock, provider: createScriptedProvider(), providers: undefined };
  const loops = 100_000;
  const startedAt = performance.now();
  for (let i = 0; i < loops; i++) if (startRunTrace(undefined, setup) !== null) throw new Error('a provider is registered');
  const defaultUs = ((performance.now() - startedAt) / loops) * 1000;
  return { n, offMs: median(times.off), defaultMs: median(times.default), tracedMs: median(times.traced), spans: count.spans / rounds, rounds, defaultUs };
}

async function main() {
  const caseArg = process.argv.indexOf('--case');
  if (caseArg !== -1) {
    process.stdout.write(`${JSON.stringify(await runCase(Number(process.argv[caseArg + 1])))}\n`);
    return;
  }
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  const n = sizes[0] ?? 1_000;
  const self = fileURLToPath(import.meta.url);
  console.log(`fanfold tracing bench — ${n.toLocaleString('en')} specialists, ${LATENCY_MS} ms scripted calls, Node ${process.version}, medians of alternating rounds\n`);
  const runs = [0, 1, 2]
    .map(() => {
      const run = spawnSync(process.execPath, [self, '--case', String(n)], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (run.status !== 0) {
        console.error(run.stderr);
        throw new Error('bench child failed');
      }
      return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as CaseResult;
    })
    .sort((a, b) => a.tracedMs / a.offMs - b.tracedMs / b.offMs);
  const result = runs[1]!;
  const tracedRatio = result.tracedMs / result.offMs;
  const defaultRatio = result.defaultMs / result.offMs;
  const tracedOk = tracedRatio <= TRACED_TARGET;
  const defaultShare = result.defaultUs / 1000 / result.offMs;
  const defaultOk = defaultShare <= DEFAULT_SHARE_TARGET;
  const row = (label: string, ms: number, ratio: string) => console.log(`${label.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms  ${ratio}`);
  row('trace: false', result.offMs, '1.000');
  row('option absent, no tracer provider (default)', result.defaultMs, `${defaultRatio.toFixed(3)} (wall clock: within noise)`);
  row('traced: SDK, batch processor, dropping exporter', result.tracedMs, `${tracedRatio.toFixed(3)}${tracedOk ? '' : ' (missed)'} (target <= ${TRACED_TARGET})`);
  const perSpanUs = ((result.tracedMs - result.offMs) / result.spans) * 1000;
  console.log(
    `\n${result.spans.toFixed(0)} spans per traced run; ${perSpanUs.toFixed(1)} µs of wall time per span; the three processes' ratios, traced: ${runs.map((run) => (run.tracedMs / run.offMs).toFixed(3)).join(', ')}; default: ${runs.map((run) => (run.defaultMs / run.offMs).toFixed(3)).join(', ')}.`,
  );
  console.log(
    `Without a provider, a run's trace is one no-op span: ${result.defaultUs.toFixed(2)} µs per run, ${(defaultShare * 100).toFixed(4)}% of it${defaultOk ? '' : ' (missed)'} (target <= ${(DEFAULT_SHARE_TARGET * 100).toFixed(1)}%).`,
  );
  console.log(tracedOk && defaultOk ? 'All targets met.' : 'A target was missed.');
}

await main();
