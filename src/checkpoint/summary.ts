/**
 * A run's listing line, from its loaded checkpoint: what `CheckpointStore.list()` returns for
 * each run, whatever the store keeps it in.
 */
import type { LoadedCheckpoint } from './format.ts';
import { topState } from './format.ts';
import type { CheckpointSummary } from './store.ts';

/** Summarises a readable run: its state, result status and how many specialists settled. */
export function summarizeCheckpoint(runId: string, { checkpoint, journal }: LoadedCheckpoint): CheckpointSummary {
  const { snapshot } = checkpoint;
  // An outcome may be in the lead's context, only in its fan-out's snapshot, or only in the journal.
  const settled = new Set<number>();
  snapshot.context.outcomes.forEach((outcome, index) => outcome && settled.add(index));
  snapshot.children.fanOut?.snapshot.outcomes.forEach((outcome, index) => outcome && settled.add(index));
  for (const entry of journal) if (entry.outcome && !entry.subPath) settled.add(entry.index);
  const output = snapshot.status === 'done' ? (snapshot as { output?: { status?: string } }).output : undefined;
  return {
    runId,
    state: topState(snapshot.value),
    status: output?.status ?? (snapshot.status === 'error' ? 'failed' : null),
    task: snapshot.context.input.task,
    specialists: snapshot.context.input.specialists.length,
    settled: settled.size,
    savedAt: checkpoint.savedAt,
  };
}

/** The listing line of a run whose checkpoint could not be read. */
export function unreadableSummary(runId: string, error: unknown): CheckpointSummary {
  return { runId, state: null, status: null, task: null, specialists: 0, settled: 0, savedAt: null, problem: error instanceof Error ? error.message : String(error) };
}

/** Newest first by `savedAt` (unreadable runs last), then by run id, descending. */
export function newestFirst(a: CheckpointSummary, b: CheckpointSummary): number {
  return (b.savedAt ?? '').localeCompare(a.savedAt ?? '') || b.runId.localeCompare(a.runId);
}
