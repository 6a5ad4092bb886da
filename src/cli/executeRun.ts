/**
 * Runs one fan-out for the CLI: validates it, opens the backend (real API or simulator), shows
 * progress, handles Ctrl-C (cancel: finished work is still reported), prints the report or the
 * JSON result, and returns the exit code.
 */
import { createFileCheckpointStore } from '../checkpoint/fileStore.ts';
import { LEAD_ID, normalizeConfig, type FanOutConfig } from '../config.ts';
import { settledEventType } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { DEFAULT_PRICES, type PriceTable } from '../pricing/prices.ts';
import { runFanOut, type FanOutRun, type RunOptions } from '../run.ts';
import { openBackend, type Backend } from '../providers/backend.ts';
import type { InspectOptions } from './commands/runOptions.ts';
import { exitCodeOf } from './exitCodes.ts';
import { openInspection } from './inspection.ts';
import type { CliIO } from './io.ts';
import { toJsonResult } from './jsonResult.ts';
import { createLiveTableView } from './progress/liveTable.ts';
import { createLogLinesView } from './progress/logLines.ts';
import { createSummaryView } from './progress/summaryView.ts';
import { LIGHT_HOSTING_ABOVE } from '../actors/fanOut.ts';
import { openOtlpExport } from './otlp.ts';
import type { TraceOptions } from '../tracing/traceOptions.ts';
import { ProgressTracker } from './progress/tracker.ts';
import { silentView, type ProgressView } from './progress/view.ts';
import { BatchSummary, isBatchEvent } from './progress/batchLines.ts';
import { formatReport } from './report.ts';
import { mcpServersUsed, startMcpServers } from '../tools/runTools.ts';
import { credentialProviders, firstKey, keyVariables, type CredentialsDeclared } from './credentials.ts';
import type { ModelProvider } from '../providers/provider.ts';
import type { McpServers } from '../tools/mcp.ts';

/** The output options every run command shares. */
export interface OutputOptions {
  json?: boolean | undefined;
  quiet?: boolean | undefined;
  simulate?: boolean | undefined;
  /** `--otlp`: where to send the run's spans (else `OTEL_EXPORTER_OTLP_ENDPOINT`). */
  otlp?: string | undefined;
}

/** Where the CLI checkpoints runs (`--run-id`, `--store`, `--no-checkpoint`). */
export interface CheckpointCliOptions {
  /** `false` with `--no-checkpoint`. Default: checkpointed. */
  checkpoint?: boolean | undefined;
  runId?: string | undefined;
  /** The store's directory; default `.fanfold`. */
  store?: string | undefined;
}

/** What the CLI keeps with a run's checkpoint, to resume it the same way. */
export interface CliRunMeta {
  command: 'research' | 'run';
  title: string;
  backend: Backend['mode'];
  prices?: PriceTable;
  /**
   * For `run`: the app file, read again on resume for what a checkpoint does not store (tools in
   * code modules, MCP servers and their env). Kept as an absolute path.
   */
  appFile?: string;
  /** For `run`: the task given on the command line, if any (the app file's otherwise). */
  task?: string;
  /** `--no-tools` was given. */
  noTools?: true;
}

/** What to run and how to show it. */
export interface ExecuteRunOptions extends OutputOptions, InspectOptions, CheckpointCliOptions {
  config: FanOutConfig;
  /** Names the config in errors (the app file's path, or `research`). */
  source: string;
  title: string;
  /** Prices to add to or override the default table. */
  prices?: PriceTable | undefined;
  /** What to keep with the checkpoint so `resume` can rebuild the run's tools. */
  resumeHints?: Pick<CliRunMeta, 'appFile' | 'task' | 'noTools'>;
  /** The app file's credentials: which key each agent's calls use. */
  credentials?: CredentialsDeclared | undefined;
}

/** Runs the fan-out and prints its outcome; resolves with the exit code. Throws `ConfigError` before any call when the config is invalid. */
export async function executeRun(options: ExecuteRunOptions, io: CliIO): Promise<number> {
  const normalized = normalizeConfig(options.config, options.source);
  // MCP servers first: one that fails to start, or a tool it lacks, is exit 2 before any call.
  const mcp = await openMcp(options.config, options.source, normalized.input);
  let backend: Backend;
  let providers: Record<string, ModelProvider> | undefined;
  try {
    backend = await openBackend({ simulate: options.simulate ?? false, env: io.env, key: firstKey(options.credentials, io.env), keyVariables: keyVariables(options.credentials) });
    // With a key set, every credential an agent names must resolve to one (exit 2 otherwise).
    if (backend.mode === 'anthropic' && options.credentials && options.credentials.used.length > 0) {
      const fallback = firstKey(options.credentials, io.env)!;
      try {
        providers = credentialProviders(options.credentials, io.env, options.source, { key: fallback.value, provider: backend.provider });
      } catch (error) {
        await backend.close();
        throw error;
      }
    }
  } catch (error) {
    await mcp?.close();
    throw error;
  }
  const meta: CliRunMeta = {
    command: options.source === 'research' ? 'research' : 'run',
    title: options.title,
    backend: backend.mode,
    ...(options.prices ? { prices: options.prices } : {}),
    ...options.resumeHints,
  };
  return driveRun(backend, options, io, {
    title: options.title,
    prices: options.prices,
    onEnd: () => mcp?.close(),
    ...(mcp ? { notices: [`MCP servers started: ${mcp.names.map((name) => `${name} (${mcp.tools(name)?.length ?? 0} tools)`).join(', ')}.`] } : {}),
    start: (inspect, trace) => {
      const run = runFanOut(options.config, {
        provider: backend.provider,
        // A budget's USD cap is kept with the same prices the report uses.
        prices: { ...DEFAULT_PRICES, ...options.prices },
        ...(trace ? { trace } : {}),
        ...(providers ? { providers } : {}),
        source: options.source,
        ...(mcp ? { mcp } : {}),
        ...(inspect ? { inspect } : {}),
        ...(options.checkpoint === false
          ? {}
          : { checkpoint: { store: createFileCheckpointStore(options.store), meta: { cli: meta }, onError: checkpointWarning(io), ...(options.runId ? { runId: options.runId } : {}) } }),
      });
      // A model lead's specialists appear as it spawns them.
      return { run, specialists: options.config.lead ? [{ id: LEAD_ID, angle: 'Lead' }] : options.config.specialists, kept: [] };
    },
  });
}

/** Starts the MCP servers the config's specialists use; `null` when they use none. */
export async function openMcp(config: FanOutConfig, source: string, input: Parameters<typeof mcpServersUsed>[0]): Promise<McpServers | null> {
  if (mcpServersUsed(input).size === 0) return null;
  return startMcpServers(config, { source });
}

/** What a started (or resumed) run gives the shared driver. */
export interface StartedRun {
  run: FanOutRun;
  /** The rows of the progress view, in config order. */
  specialists: ReadonlyArray<{ id: string; angle?: string | undefined }>;
  /** Outcomes kept from before a resume: shown as settled from the start. */
  kept: SpecialistOutcome[];
}

/** The parts of a run command that differ between a new run and a resumed one. */
export interface RunDriver {
  title: string;
  prices: PriceTable | undefined;
  /** Starts the run (called once the backend, inspector and trace export are open). */
  start(inspect: InspectionObserver | undefined, trace: TraceOptions | undefined): StartedRun;
  /** Printed after the run id line, e.g. what a resume keeps. */
  describe?(started: StartedRun): string | undefined;
  /** Lines printed after the banner (which MCP servers started). */
  notices?: string[];
  /** Called once at the end, however the command ends (stops MCP servers the run did not start). */
  onEnd?(): Promise<void> | undefined;
}

type InspectionObserver = NonNullable<RunOptions['inspect']>;

/**
 * Shows a started run's progress, handles Ctrl-C (cancel: finished work is still reported),
 * prints the report or the JSON result, and returns the exit code. Shared by `research`,
 * `run` and `resume`.
 */
export async function driveRun(backend: Backend, options: OutputOptions & InspectOptions, io: CliIO, driver: RunDriver): Promise<number> {
  const chatty = !options.json && !options.quiet;
  const notice = (line: string) => (chatty ? io.stdout : io.stderr).write(`${line}\n`);
  // First line: where the calls go (the simulator, plainly, when offline).
  notice(backend.banner);
  for (const line of driver.notices ?? []) notice(line);
  const otlp = await openOtlpExport(options.otlp, io.env).catch(async (error: unknown) => {
    await driver.onEnd?.();
    await backend.close();
    throw error;
  });
  if (otlp) notice(`Tracing: the run's spans go to ${otlp.endpoint} (OTLP/HTTP).`);
  // Once, when the run is over (or the command failed): every span the run ended reaches the collector.
  let flushed = false;
  const flushTraces = async () => {
    if (!otlp || flushed) return;
    flushed = true;
    const problem = await otlp.shutdown();
    if (problem) io.stderr.write(`warning: ${problem}\n`);
  };
  const inspection = await openInspection(options, notice).catch(async (error: unknown) => {
    await flushTraces();
    await driver.onEnd?.();
    await backend.close();
    throw error;
  });
  try {
    const started = driver.start(inspection.inspect, otlp?.trace);
    const { run } = started;
    const description = driver.describe ? driver.describe(started) : run.runId ? `Run ${run.runId}: checkpointed; if it is interrupted, continue it with \`fanfold resume ${run.runId}\`.` : undefined;
    if (description) notice(description);
    const progressStream = options.json ? io.stderr : io.stdout;
    const live = !options.quiet && progressStream.isTTY === true;
    // A very large run draws counts, not a row per specialist.
    const large = started.specialists.length > LIGHT_HOSTING_ABOVE;
    const tracker = large ? null : new ProgressTracker(started.specialists);
    const write = (line: string) => progressStream.write(`${line}\n`);
    const view: ProgressView = options.quiet
      ? silentView
      : tracker === null
        ? createSummaryView({ title: driver.title, total: started.specialists.length, write, ...(live ? { tty: progressStream } : {}) })
        : live
          ? createLiveTableView(tracker, progressStream, { title: driver.title })
          : createLogLinesView(tracker, write);
    for (const outcome of started.kept) view.onEvent({ type: settledEventType(outcome), id: outcome.id, outcome });
    run.events$.subscribe({ next: (event) => view.onEvent(event), error: () => view.finish() });
    // Batch mode: the report says what the batches did.
    const batches = new BatchSummary();
    run.events$.subscribe({ next: (event) => isBatchEvent(event) && batches.add(event), error: () => {} });

    let interrupted: 'SIGINT' | 'SIGTERM' | null = null;
    const removeInterrupt = io.onInterrupt((signal) => {
      // Second Ctrl-C: the user means it (spans that ended get one last, bounded flush).
      if (interrupted) {
        const code = signal === 'SIGTERM' ? 143 : 130;
        if (otlp) void otlp.shutdown(1_000).finally(() => process.exit(code));
        else process.exit(code);
        return;
      }
      interrupted = signal;
      if (run.runId) {
        // Checkpointed: stop now, but leave the checkpoint resumable.
        io.stderr.write(`\nInterrupted (${signal}): stopping the run (finished work is kept; continue it with \`fanfold resume ${run.runId}\`; send it again to quit at once)…\n`);
        run.suspend('interrupted (Ctrl-C)');
      } else {
        io.stderr.write(`\nInterrupted (${signal}): cancelling the run (finished work is kept; send it again to quit at once)…\n`);
        run.cancel('interrupted (Ctrl-C)');
      }
    });
    const result = await run.result.finally(() => {
      removeInterrupt();
      view.finish();
    });
    // A recording that failed must not cost the run's result: say so, then report as usual.
    const recordingProblem = await inspection.finishRecording();
    if (recordingProblem) io.stderr.write(`warning: ${recordingProblem}\n`);
    await flushTraces();

    const json = toJsonResult(result, backend.mode, { ...DEFAULT_PRICES, ...driver.prices }, run.runId);
    if (options.json) io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    else if (options.quiet) {
      if (result.synthesis !== null) io.stdout.write(`${result.synthesis}\n`);
      // Quiet, not silent about failure: why the run failed or what is missing goes to stderr.
      if (result.error) io.stderr.write(`Run ${result.status}: ${result.error.message}\n`);
      for (const missing of result.missing) io.stderr.write(`Missing ${missing.id} (${missing.angle}): ${missing.reason}\n`);
    } else {
      // A synthesis that streamed live but was retried left a broken first attempt on screen: print it clean.
      // A streaming fold streams only its closing part (the sections were written earlier): print it whole.
      const streamedClean = live && tracker !== null && tracker.synthesis.startedAt !== null && tracker.synthesis.retries === 0 && run.actor.getSnapshot().context.input.fanIn !== 'stream';
      io.stdout.write(`${formatReport(json, { includeSynthesis: !streamedClean, color: io.stdout.isTTY === true })}\n`);
      const batchLine = batches.line();
      if (batchLine) io.stdout.write(`${batchLine}\n`);
    }
    if (inspection.server && !interrupted) {
      // The page keeps the whole run; leave it up for whoever is looking at it.
      io.stderr.write(`\nThe inspector is still serving this run at ${inspection.server.url} — press Ctrl-C to stop.\n`);
      await new Promise<void>((resolve) => {
        const remove = io.onInterrupt(() => {
          remove();
          resolve();
        });
      });
    }
    return exitCodeOf(result.status, interrupted);
  } finally {
    await flushTraces();
    await inspection.finishRecording();
    await inspection.server?.close();
    await driver.onEnd?.();
    await backend.close();
  }
}

/** Checkpoint write failures: one warning, the run goes on. */
export function checkpointWarning(io: CliIO): (error: Error) => void {
  return (error) => io.stderr.write(`warning: checkpointing failed, the run goes on without it (it cannot be resumed): ${error.message}\n`);
}
