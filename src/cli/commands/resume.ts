/**
 * `fanfold resume <run-id>` — continue a checkpointed run after a crash or kill: finished
 * specialists keep their outcomes and are not called again. Without a run id, lists the runs
 * in the store.
 */
import { Option, type Command } from 'commander';
import { createFileCheckpointStore } from '../../checkpoint/fileStore.ts';
import type { CheckpointStore } from '../../checkpoint/store.ts';
import { FanfoldError } from '../../errors.ts';
import { openBackend } from '../../providers/backend.ts';
import { resumeFanOut, type ResumedRun } from '../../resume.ts';
import { driveRun, checkpointWarning, openMcp, type CliRunMeta, type OutputOptions } from '../executeRun.ts';
import { loadAppFile } from '../../appFile.ts';
import { toolListsOf } from '../../tools/runTools.ts';
import { credentialProviders, firstKey, keyVariables } from '../credentials.ts';
import type { ModelProvider } from '../../providers/provider.ts';
import { LEAD_ID, normalizeConfig, type FanOutConfig } from '../../config.ts';
import { withoutTools } from './run.ts';
import { EXIT } from '../exitCodes.ts';
import type { CliIO } from '../io.ts';
import { durationOption, runIdOption } from '../options.ts';
import { addOutputOptions, type InspectOptions } from './runOptions.ts';

interface ResumeCommandOptions extends OutputOptions, InspectOptions {
  store: string;
  deadline?: number;
}

/** Registers `resume` on the program. */
export function resumeCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  addOutputOptions(
    program
      .command('resume')
      .description('Continue a checkpointed run (after a crash, a kill or a reboot): finished specialists are kept and not called again. Without a run id, list the runs')
      .argument('[run-id]', 'the run to continue, as printed when it started', runIdOption)
      .addOption(new Option('--deadline <duration>', "give the rest of the fan-out this long from now, instead of the run's original deadline").argParser(durationOption)),
  ).action(async (runId: string | undefined, options: ResumeCommandOptions) => {
    const store = createFileCheckpointStore(options.store);
    if (runId === undefined) return done(listRuns(store, io));
    done(await resumeRun(store, runId, options, io));
  });
}

/** Prints the store's runs, newest first. */
function listRuns(store: CheckpointStore, io: CliIO): number {
  const runs = store.list();
  if (runs.length === 0) {
    io.stdout.write(`No runs in ${store.location}.\n`);
    return EXIT.done;
  }
  io.stdout.write(`Runs in ${store.location} (newest first):\n`);
  for (const run of runs) {
    if (run.problem) {
      io.stdout.write(`  ${run.runId}  unreadable: ${run.problem}\n`);
      continue;
    }
    const where = run.status ? `finished ${run.status}` : `resumable (${run.state})`;
    io.stdout.write(`  ${run.runId}  ${where}  ${run.settled}/${run.specialists} specialists settled  ${run.task ?? ''}\n`);
  }
  return EXIT.done;
}

/** The CLI's metadata of a checkpointed run, if the CLI started it. */
function cliMeta(meta: Record<string, unknown>): Partial<CliRunMeta> {
  const cli = meta['cli'];
  return cli && typeof cli === 'object' ? (cli as Partial<CliRunMeta>) : {};
}

async function resumeRun(store: CheckpointStore, runId: string, options: ResumeCommandOptions, io: CliIO): Promise<number> {
  // Read it before opening anything: a missing or damaged checkpoint is exit 2, with nothing called.
  const { checkpoint } = store.load(runId);
  const meta = cliMeta(checkpoint.meta);
  const { input } = checkpoint.snapshot.context;
  // A run from an app file: read it again for what the checkpoint does not store (module tools,
  // MCP servers, and which key each credential reads).
  const needsTools = toolListsOf(input).some(({ tools }) => tools.some((tool) => tool.source === 'code' || tool.source === 'mcp'));
  const fromFile = meta.command === 'run' && typeof meta.appFile === 'string';
  const readApp = () => loadAppFile(meta.appFile!, { task: meta.task ?? input.task });
  // Tools need the file; credentials only matter against the API, and default to ANTHROPIC_API_KEY without it.
  const app =
    fromFile && needsTools
      ? await readApp()
      : fromFile && meta.backend === 'anthropic'
        ? await readApp().catch((error: unknown) => {
            io.stderr.write(
              `note: could not read the app file ${meta.appFile} again (${error instanceof Error ? error.message.split('\n')[0] : String(error)}): its credentials are unknown, so every call uses ANTHROPIC_API_KEY\n`,
            );
            return undefined;
          })
        : undefined;
  const key = firstKey(app?.credentials, io.env);
  // Finish the run against what it started on: a simulated run is never finished by the real API.
  if (meta.backend === 'anthropic' && !key && !options.simulate) {
    throw new FanfoldError(
      'config',
      `Run ${runId} was calling the Anthropic API: set ${keyVariables(app?.credentials).join(' or ')} to resume it (or add --simulate to finish it against the simulator).`,
    );
  }
  const config: FanOutConfig | undefined = app && needsTools ? (meta.noTools ? withoutTools(app.config) : app.config) : undefined;
  const mcp = config ? await openMcp(config, meta.appFile!, normalizeConfig(config, meta.appFile).input) : null;
  let backend: Awaited<ReturnType<typeof openBackend>>;
  let providers: Record<string, ModelProvider> | undefined;
  try {
    backend = await openBackend({
      simulate: options.simulate === true || meta.backend === 'simulator',
      ...(options.simulate ? {} : { simulateReason: 'the run started on the simulator' }),
      env: io.env,
      key,
      keyVariables: keyVariables(app?.credentials),
    });
    if (backend.mode === 'anthropic' && key && app?.credentials && app.credentials.used.length > 0) {
      try {
        providers = credentialProviders(app.credentials, io.env, meta.appFile!, { key: key.value, provider: backend.provider });
      } catch (error) {
        await backend.close();
        throw error;
      }
    }
  } catch (error) {
    await mcp?.close();
    throw error;
  }
  const title = meta.title ?? checkpoint.snapshot.context.input.task;
  return driveRun(backend, options, io, {
    title,
    prices: meta.prices,
    onEnd: () => mcp?.close(),
    start: (inspect, trace) => {
      const run = resumeFanOut(runId, {
        store,
        provider: backend.provider,
        ...(trace ? { trace } : {}),
        ...(providers ? { providers } : {}),
        ...(config ? { config } : {}),
        ...(mcp ? { mcp } : {}),
        onCheckpointError: checkpointWarning(io),
        ...(inspect ? { inspect } : {}),
        ...(options.deadline !== undefined ? { deadlineMs: options.deadline } : {}),
      });
      for (const warning of run.warnings) io.stderr.write(`note: ${warning}\n`);
      // A model lead's specialists so far, and the lead itself.
      return { run, specialists: input.lead ? [{ id: LEAD_ID, angle: 'Lead' }, ...input.specialists] : input.specialists, kept: run.kept };
    },
    describe: ({ run }) => describeResume(run as ResumedRun),
  });
}

/** "Resuming run X: 3 of 8 specialists kept, and 2 inside sub-leads that start again (not called again); 5 to run." */
function describeResume(run: ResumedRun): string {
  const total = run.kept.length + run.pending.length;
  if (run.alreadyFinished) return `Run ${run.runId} had already finished: its stored result follows; nothing is called.`;
  const pending =
    run.pending.length === 0 ? 'every specialist is in; the synthesis runs' : `${run.pending.length} to run (${run.pending.slice(0, 8).join(', ')}${run.pending.length > 8 ? ', …' : ''})`;
  const inSubLeads = run.keptInSubLeads.length === 0 ? '' : `, and ${run.keptInSubLeads.length} inside sub-leads that start again`;
  return `Resuming run ${run.runId}: ${run.kept.length} of ${total} specialists kept${inSubLeads} (not called again); ${pending}.`;
}
