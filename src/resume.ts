/**
 * Resuming a checkpointed run in a new process: its finished specialists keep their outcomes
 * and are not called again, the ones in flight at the crash start again, the deadline is
 * re-armed from the stored timestamp, and the run goes on to its synthesis as if it had not
 * been interrupted.
 */
import { Observable } from 'rxjs';
import { createActor, type Actor } from 'xstate';
import { leadMachine, type LeadMachine } from '../machines/lead.ts';
import { createFileCheckpointStore } from './checkpoint/fileStore.ts';
import { CheckpointError, type CheckpointMeta } from './checkpoint/format.ts';
import { createNestedOutcomes, type NestedOutcome } from './checkpoint/nestedOutcomes.ts';
import { planRestore } from './checkpoint/restore.ts';
import type { CheckpointStore } from './checkpoint/store.ts';
import { systemClock } from './clock.ts';
import { normalizeConfig, type FanOutConfig, type SpecialistSpec } from './config.ts';
import { ConfigError, FanfoldError } from './errors.ts';
import type { RunEvent } from './events.ts';
import type { SpecialistOutcome } from './outcome.ts';
import { createRunActorsOf, startLead, unknownCredentials, warnCheckpointFailed, type FanOutRun, type RunOptions } from './run.ts';
import { createLoopSteps } from './checkpoint/loopSteps.ts';
import { prepareRunTools, toolListsOf, type RunTools } from './tools/runTools.ts';
import { startRunTrace } from './tracing/runTrace.ts';
import type { McpServers } from './tools/mcp.ts';
import type { LeadInput } from './config.ts';
import { BudgetLedger, spendOf } from './budget/ledger.ts';
import { reserveFor } from './budget/estimate.ts';
import type { Digest, StreamFold } from './fold/streamFold.ts';
import { DEFAULT_PRICES, type PriceTable } from './pricing/prices.ts';
import { prepareRunBatches } from './providers/batch/runBatches.ts';

/** Options of {@link resumeFanOut}: those of a run, plus where the checkpoint is. */
export interface ResumeOptions extends Omit<RunOptions, 'checkpoint' | 'source'> {
  /** Where the run was checkpointed. Default: files under `.fanfold/`. */
  store?: CheckpointStore;
  /**
   * The run's original config: needed when some specialists are task functions (`run`) or have
   * code tools or MCP servers, none of which a checkpoint stores. Its specialist ids must match the checkpoint's.
   */
  config?: FanOutConfig;
  /** Give the rest of the fan-out this long from now, instead of the stored deadline. */
  deadlineMs?: number;
  /** Called once if a checkpoint write fails; default: a warning on stderr. */
  onCheckpointError?: (error: Error) => void;
  /** The config's MCP servers, already started (`startMcpServers(config)`). Default: started from `config.mcp` when the run needs them. */
  mcp?: McpServers;
}

/** A resumed run: a run like any other, plus what was kept. */
export interface ResumedRun extends FanOutRun {
  runId: string;
  /** Outcomes kept from before the interruption, in config order: not called again. */
  kept: SpecialistOutcome[];
  /**
   * Outcomes inside sub-leads that were running at the interruption, by config-index path:
   * those sub-leads start again but do not call these specialists again.
   */
  keptInSubLeads: NestedOutcome[];
  /** Ids of specialists that run (again) now. */
  pending: string[];
  /** True when the run had already finished: `result` is its stored result and nothing runs. */
  alreadyFinished: boolean;
  /** What the run was checkpointed with (`CheckpointOptions.meta`). */
  meta: CheckpointMeta;
  /** Damage in the checkpoint that was safely ignored (a torn last journal line). */
  warnings: string[];
}

/**
 * Resumes a checkpointed run. Throws `CheckpointError` when the checkpoint is missing or
 * damaged (naming the file and what is wrong), before any call is made.
 *
 * @example
 * const run = resumeFanOut('20261121-101500-3fa2c1', { provider });
 * console.log(`${run.kept.length} kept, ${run.pending.length} to run`);
 * const result = await run.result;
 */
export function resumeFanOut(runId: string, options: ResumeOptions = {}): ResumedRun {
  const store = options.store ?? createFileCheckpointStore();
  const loaded = store.load(runId);
  const clock = options.clock ?? systemClock;
  const plan = planRestore(loaded, options.deadlineMs === undefined ? {} : { deadlineAt: clock.now() + options.deadlineMs });
  const { input } = plan.snapshot.context;
  if (!options.config) {
    // Everything a checkpoint cannot store, listed at once.
    const issues = [...taskIssues(input.specialists, input.synthesizer), ...toolIssues(input)];
    if (issues.length > 0) throw new ConfigError('resume options', issues);
  }
  if (options.providers) {
    const unknown = unknownCredentials(input, options.providers);
    if (unknown.length > 0) throw new ConfigError('resume options', unknown);
  }
  const tasks = tasksFor(input.specialists, input.synthesizer, options.config, input.lead?.templates);
  const tools = plan.finished ? null : toolsFor(input, options.config, options.mcp);
  const nested = createNestedOutcomes(plan.nested);
  const steps = createLoopSteps(plan.steps);
  // Batch mode: the batches it created are polled again, never submitted again.
  const batches = plan.finished
    ? null
    : prepareRunBatches(input, {
        provider: options.provider,
        providers: options.providers,
        clock,
        deadline: { at: plan.snapshot.context.deadlineAt, ms: options.deadlineMs ?? input.deadlineMs },
        kept: plan.batches,
        source: 'resume options',
      });
  const runProvider = batches ? batches.provider : options.provider;
  const runProviders = batches ? batches.providers : options.providers;
  // Traced like a new run, from now on (its earlier part ran in another process).
  const tracing = plan.finished ? null : startRunTrace(options.trace, { input, clock, provider: runProvider, providers: runProviders, resumed: true });
  const providers = tracing ? tracing.providers : runProviders;
  const inspect = tracing ? tracing.inspect(options.inspect) : options.inspect;
  // A streaming fold keeps the digests it had made; a budget counts what the kept outcomes cost.
  const fold: { current: StreamFold | null; kept: Array<[string, Digest]> } | undefined = input.fanIn === 'stream' ? { current: null, kept: plan.digests } : undefined;
  const ledger = input.budget
    ? resumedLedger(
        input,
        options.prices ?? DEFAULT_PRICES,
        plan.kept.map((index) => plan.snapshot.context.outcomes[index]!),
        plan.digests,
      )
    : undefined;
  const machine = leadMachine.provide({
    actors: createRunActorsOf({
      provider: tracing ? tracing.provider : runProvider,
      providers,
      tasks,
      clock,
      nested,
      steps,
      toolbox: tools?.toolbox,
      random: options.random,
      fold,
      budget: ledger,
      prices: options.prices,
      lightHostingAbove: options.lightHostingAbove,
    }),
  });
  // `input` is ignored when a snapshot is given; XState's types still ask for one.
  const restore = () => createActor(machine, { snapshot: plan.snapshot as never, input, clock, ...(inspect ? { inspect } : {}) });
  let actor: Actor<LeadMachine>;
  try {
    actor = restore();
  } catch (error) {
    tracing?.fail(error);
    throw new CheckpointError(`run "${runId}" in ${store.location}`, `its snapshot could not be restored (${error instanceof Error ? error.message : String(error)})`);
  }
  const { checkpoint } = loaded;
  const seq = Math.max(checkpoint.journalSeq, ...loaded.journal.map((entry) => entry.seq));
  // Only one process may continue a run: two would pay for its pending calls twice.
  try {
    if (!plan.finished) store.acquire(runId);
  } catch (error) {
    tracing?.fail(error);
    throw error;
  }
  let run: FanOutRun;
  try {
    run = plan.finished
      ? finishedRun(actor)
      : startLead(
          actor,
          options.signal,
          {
            store,
            runId,
            meta: checkpoint.meta,
            createdAt: checkpoint.createdAt,
            journalSeq: seq,
            nested,
            keptNested: plan.nested,
            steps,
            keptSteps: plan.steps,
            onError: options.onCheckpointError ?? warnCheckpointFailed(runId),
            ...(fold?.current ? { fold: fold.current } : {}),
            ...(batches ? { batches: batches.journal, batchesSettled: batches.idle } : {}),
          },
          { ready: tools?.ready ?? null, ...(tools ? { onEnd: tools.close } : {}), batches },
        );
  } catch (error) {
    // A snapshot that passed validation but that XState cannot restore: still a damaged checkpoint, not a crash.
    if (!plan.finished) store.close(runId);
    void tools?.close();
    tracing?.fail(error);
    throw new CheckpointError(`run "${runId}" in ${store.location}`, `its snapshot could not be restored (${error instanceof Error ? error.message : String(error)})`);
  }
  if (tracing) run = tracing.follow(run);
  return {
    ...run,
    runId,
    kept: plan.kept.map((index) => plan.snapshot.context.outcomes[index]!),
    keptInSubLeads: plan.nested,
    pending: plan.pending.map((index) => input.specialists[index]!.id),
    alreadyFinished: plan.finished,
    meta: checkpoint.meta,
    warnings: loaded.warnings,
  };
}

/** A run restored in a final state: its stored result, no events but `run.finished`. */
function finishedRun(actor: Actor<LeadMachine>): FanOutRun {
  actor.start();
  const snapshot = actor.getSnapshot();
  const result =
    snapshot.status === 'done' ? Promise.resolve(snapshot.output) : Promise.reject(new FanfoldError('internal', `the run had ended with an internal error: ${JSON.stringify(snapshot.error)}`));
  const events$ = new Observable<RunEvent>((subscriber) => {
    if (snapshot.status === 'done') subscriber.next({ type: 'run.finished', result: snapshot.output });
    subscriber.complete();
  });
  return { result, events$, actor, cancel: () => {}, suspend: () => {}, runId: null };
}

/**
 * The tools a resumed run needs. Server tools live in the checkpoint; code tools (functions)
 * and MCP servers (whose `env` is never stored) come from the run's original config.
 */
function toolsFor(input: LeadInput, config: FanOutConfig | undefined, mcp: McpServers | undefined): RunTools | null {
  if (toolListsOf(input).length === 0) return null;
  const normalized = config ? normalizeConfig(config, 'resume options.config') : { codeTools: new Map(), mcp: {}, mcpToolReferences: [], tasks: new Map() };
  // The checkpoint's specs, with the config's code tools and servers: tool keys are config paths, the same in both.
  return prepareRunTools({ ...normalized, input }, 'resume options.config', mcp);
}

/** Specialists whose tools (code, MCP) a checkpoint does not store. */
function toolIssues(input: LeadInput) {
  return toolListsOf(input)
    .filter(({ tools }) => tools.some((tool) => tool.source === 'code' || tool.source === 'mcp'))
    .map(({ path }) => ({ path, message: "has tools defined in code or MCP servers, which a checkpoint does not store: pass the run's original `config` to resumeFanOut" }));
}

/** Task functions, which a checkpoint cannot store. */
function taskIssues(specialists: SpecialistSpec[], synthesizer: SpecialistSpec) {
  const needing: string[] = [];
  const visit = (spec: SpecialistSpec, path: string) => {
    if (spec.kind === 'task') needing.push(path);
    spec.fanOut?.specialists.forEach((inner, index) => visit(inner, `${path}.specialists[${index}]`));
    if (spec.fanOut) visit(spec.fanOut.synthesizer, `${path}.synthesizer`);
  };
  specialists.forEach((spec, index) => visit(spec, `specialists[${index}]`));
  visit(synthesizer, 'synthesizer');
  return needing.map((path) => ({ path, message: "is a task function, which a checkpoint cannot store: pass the run's original `config` to resumeFanOut" }));
}

/**
 * The task functions a resumed run needs, from its original config. A model-only run needs
 * none; a run with `run` functions must be given the config they came from.
 */
function tasksFor(specialists: SpecialistSpec[], synthesizer: SpecialistSpec, config: FanOutConfig | undefined, templates?: SpecialistSpec[]) {
  const needing: string[] = [];
  const visit = (spec: SpecialistSpec, path: string) => {
    if (spec.kind === 'task') needing.push(path);
    spec.fanOut?.specialists.forEach((inner, index) => visit(inner, `${path}.specialists[${index}]`));
    if (spec.fanOut) visit(spec.fanOut.synthesizer, `${path}.synthesizer`);
  };
  specialists.forEach((spec, index) => visit(spec, `specialists[${index}]`));
  visit(synthesizer, 'synthesizer');
  if (!config) {
    if (needing.length === 0) return new Map();
    throw new ConfigError(
      'resume options',
      needing.map((path) => ({ path, message: "is a task function, which a checkpoint cannot store: pass the run's original `config` to resumeFanOut" })),
    );
  }
  const { input, tasks } = normalizeConfig(config, 'resume options.config');
  const ids = (list: SpecialistSpec[]) => list.map((spec) => spec.id).join(',');
  // A model lead's config lists templates; the specialists it spawned are in the checkpoint.
  const expected = templates ?? specialists;
  const given = templates ? (input.lead?.templates ?? input.specialists) : input.specialists;
  if (ids(given) !== ids(expected)) {
    throw new ConfigError('resume options.config', [
      { path: 'specialists', message: `must be the checkpointed run's ${templates ? 'templates' : 'specialists'} (${expected.map((spec) => spec.id).join(', ')}), in the same order` },
    ]);
  }
  return tasks;
}

/**
 * A resumed run's budget: what its kept outcomes (and kept digests) cost is spent already, and the synthesis's
 * share is kept again (its worst case, at most the configured share of the cap).
 */
function resumedLedger(input: LeadInput, prices: PriceTable, kept: readonly SpecialistOutcome[], digests: ReadonlyArray<[string, Digest]>): BudgetLedger {
  const budget = input.budget!;
  const ledger = new BudgetLedger(budget.caps, prices);
  for (const outcome of kept) ledger.book(spendOf(outcome.usage, outcome.model ?? '', prices));
  for (const [, digest] of digests) ledger.book(spendOf(digest.usage, digest.model ?? '', prices));
  const writer = input.lead && input.lead.synthesize === 'lead' ? input.lead.agent : input.synthesizer;
  if (writer.kind === 'model') {
    const findings = input.specialists.reduce((sum, spec) => sum + spec.maxTokens, 0);
    ledger.reserved = reserveFor({
      caps: budget.caps,
      reserveShare: budget.reserve,
      synthesis: { inputTokens: Math.ceil(input.task.length / 3) + findings + 400, model: writer.models[0]!, maxTokens: writer.maxTokens },
      prices,
    });
  }
  return ledger;
}
