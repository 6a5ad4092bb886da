/**
 * From a loaded checkpoint to a snapshot XState can restore: the journal's outcomes are folded
 * into the lead's context and into its fan-out's snapshot, so the restored fan-out sees those
 * specialists as finished (and never calls them again), restarts the ones that were in flight,
 * and starts the ones still queued (the fan-out skips any index that already has an outcome).
 */
import type { SpecialistOutcome } from '../outcome.ts';
import { addUsageInto, emptyUsage, type Usage } from '../usage.ts';
import type { LoadedCheckpoint, PersistedFanOut, PersistedLead } from './format.ts';
import { pathKey, type NestedOutcome } from './nestedOutcomes.ts';
import { addStep, type KeptSteps } from './loopSteps.ts';
import type { Digest } from '../fold/streamFold.ts';
import type { KeptBatch } from '../providers/batch/batchingProvider.ts';

/** A snapshot ready for `createActor(machine, { snapshot })`, and what resuming it will do. */
export interface RestorePlan {
  snapshot: PersistedLead;
  /** Indexes of specialists whose outcome is kept: they are not called again. */
  kept: number[];
  /** Indexes of specialists without an outcome: running at the crash (they start again from a first attempt) or not started yet. */
  pending: number[];
  /** True when the run had already reached a final state: nothing will run. */
  finished: boolean;
  /**
   * Outcomes inside sub-leads that were still running: each sub-lead starts again, but takes
   * these instead of calling those specialists again (see `nestedOutcomes.ts`).
   */
  nested: NestedOutcome[];
  /**
   * Finished loop steps of tool-using specialists that start again: each goes on from its last
   * finished turn and tool call instead of starting over (see `loopSteps.ts`).
   */
  steps: KeptSteps[];
  /** A streaming fold's finished digests, by specialist id: not written again. */
  digests: Array<[string, Digest]>;
  /** Batch mode: the batches the run created, oldest first: polled again, never submitted again. */
  batches: KeptBatch[];
}

/** Options of {@link planRestore}. */
export interface RestoreOptions {
  /** A new deadline (ms since epoch) instead of the stored one, e.g. when resuming long after a crash. */
  deadlineAt?: number;
}

/** Builds the snapshot to restore from a checkpoint and its journal. Does not touch the store. */
export function planRestore(loaded: LoadedCheckpoint, options: RestoreOptions = {}): RestorePlan {
  const snapshot = structuredClone(loaded.checkpoint.snapshot);
  const { context } = snapshot;
  const total = context.input.specialists.length;
  const fanOut: PersistedFanOut | undefined = snapshot.status === 'active' ? snapshot.children.fanOut?.snapshot : undefined;

  const setOutcome = (index: number, outcome: SpecialistOutcome) => {
    context.outcomes[index] = outcome;
    if (fanOut?.status !== 'active') return;
    fanOut.outcomes[index] = outcome;
    // The journaled outcome already counts the attempts a restart discarded.
    if (fanOut.discarded) delete fanOut.discarded[index];
  };

  // The fan-out may know of outcomes its batch had not yet reported to the lead.
  fanOut?.outcomes.forEach((outcome, index) => {
    if (outcome && !context.outcomes[index]) context.outcomes[index] = outcome;
  });
  const nestedByPath = new Map<string, NestedOutcome>();
  for (const entry of loaded.checkpoint.nested ?? []) nestedByPath.set(pathKey(entry.path), entry);
  const stepsByPath = new Map<string, KeptSteps>();
  for (const entry of loaded.checkpoint.steps ?? []) stepsByPath.set(pathKey(entry.path), { path: [...entry.path], steps: [...entry.steps] });
  const digests = new Map<number, Digest>();
  for (const kept of loaded.checkpoint.digests ?? []) digests.set(kept.index, kept.digest);
  const batches: KeptBatch[] = [...(loaded.checkpoint.batches ?? [])];
  for (const entry of loaded.journal) {
    if ('batch' in entry) {
      batches.push(entry.batch);
      continue;
    }
    const path = [entry.index, ...(entry.subPath ?? [])];
    if (entry.digest) digests.set(entry.index, entry.digest);
    else if (entry.step) addStep(stepsByPath, path, entry.step);
    else if (!entry.subPath) setOutcome(entry.index, entry.outcome!);
    else nestedByPath.set(pathKey(path), { path, outcome: entry.outcome! });
  }
  if (fanOut && fanOut.status === 'active') reopenStopped(context.outcomes, fanOut);

  const settledList = context.outcomes.filter((outcome): outcome is SpecialistOutcome => outcome !== null);
  if (snapshot.status === 'active' && (stateIs(snapshot.value, 'fanningOut') || stateIs(snapshot.value, 'leading'))) {
    context.settled = settledList.length;
    context.fulfilled = settledList.filter((outcome) => outcome.status === 'fulfilled').length;
  }
  if (fanOut && fanOut.status === 'active') {
    const mine = fanOut.outcomes.filter((outcome): outcome is SpecialistOutcome => outcome !== null);
    fanOut.fulfilled = mine.filter((outcome) => outcome.status === 'fulfilled').length;
    fanOut.unsuccessful = mine.length - fanOut.fulfilled;
  }

  if (options.deadlineAt !== undefined && snapshot.status === 'active') {
    context.deadlineAt = options.deadlineAt;
    if (fanOut) fanOut.input.deadlineAt = options.deadlineAt;
    const deadline = snapshot.children.deadline?.snapshot;
    if (deadline?.input) deadline.input.deadlineAt = options.deadlineAt;
  }

  const kept: number[] = [];
  const pending: number[] = [];
  for (let index = 0; index < total; index++) (context.outcomes[index] ? kept : pending).push(index);
  // Only inside sub-leads that start again; a cut-short cancel's `skipped` ones run again.
  const restarting = snapshot.status === 'active' && (stateIs(snapshot.value, 'fanningOut') || stateIs(snapshot.value, 'leading'));
  const nested = restarting ? [...nestedByPath.values()].filter(({ path, outcome }) => !context.outcomes[path[0]!] && !cutShort(outcome)) : [];
  // Steps of a specialist that is kept (or inside a kept sub-lead, or itself kept inside one) are done with.
  const keptBelow = new Set(nested.map(({ path }) => pathKey(path)));
  const steps = restarting ? [...stepsByPath.values()].filter(({ path }) => !context.outcomes[path[0]!] && !keptBelow.has(pathKey(path))) : [];
  // A streaming fold's digests, by the id of the specialist they digest (a resumed fold keeps them).
  const keptDigests = [...digests].filter(([index]) => context.input.specialists[index]).map(([index, digest]): [string, Digest] => [context.input.specialists[index]!.id, digest]);
  return { snapshot, kept, pending, finished: snapshot.status !== 'active', nested, steps, digests: keptDigests, batches: dedupeBatches(batches) };
}

/**
 * A stop the crash cut short (a cancel, or an escalation or lost quorum that the restored
 * fan-out will re-apply) had marked the unfinished specialists `skipped`: they did not finish,
 * so they are pending again. What their cut-off calls cost is kept in `discarded`, which the
 * fan-out folds into their next outcome (so `modelCalls` and usage still count those calls).
 */
function reopenStopped(outcomes: Array<SpecialistOutcome | null>, fanOut: PersistedFanOut): void {
  outcomes.forEach((outcome, index) => {
    if (!outcome || !cutShort(outcome)) return;
    outcomes[index] = null;
    fanOut.outcomes[index] = null;
    if (outcome.attempts === 0) return;
    const discarded = (fanOut.discarded ??= {}) as Record<number, { attempts: number; usage: Usage }>;
    const kept = (discarded[index] ??= { attempts: 0, usage: emptyUsage() });
    kept.attempts += outcome.attempts;
    addUsageInto(kept.usage, outcome.usage);
  });
}

/** Skipped by a cancel: it did not finish. */
function cutShort(outcome: SpecialistOutcome): boolean {
  return outcome.status === 'skipped' && outcome.error?.kind === 'cancelled';
}

/** True when a state value is `name` or inside it. */
function stateIs(value: PersistedLead['value'], name: string): boolean {
  return typeof value === 'string' ? value === name : Object.hasOwn(value, name);
}

/** Each batch once (a snapshot and the journal after it may both hold it), in the order first seen. */
function dedupeBatches(batches: readonly KeptBatch[]): KeptBatch[] {
  const byId = new Map<string, KeptBatch>();
  for (const batch of batches) if (!byId.has(batch.id)) byId.set(batch.id, batch);
  return [...byId.values()];
}
