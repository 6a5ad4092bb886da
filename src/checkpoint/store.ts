/**
 * Where checkpoints live. The interface is synchronous on purpose: an outcome is journaled
 * before anyone is told it settled, so a process that dies right after printing "done" has
 * already kept it. The default is {@link createFileCheckpointStore}: files under `.fanfold/`.
 */
import type { Checkpoint, JournalEntry, LoadedCheckpoint } from './format.ts';

/** A run's checkpoint, summarised for listings. */
export interface CheckpointSummary {
  runId: string;
  /** The lead's top-level state (`fanningOut`, `synthesizing`, `done`, …), or `null` when unreadable. */
  state: string | null;
  /** The run's result status once it finished; `null` while resumable. */
  status: string | null;
  task: string | null;
  specialists: number;
  /** Specialists whose outcome is kept (snapshot and journal). */
  settled: number;
  savedAt: string | null;
  /** Why the checkpoint could not be read, if it could not. */
  problem?: string;
}

/** Storage for checkpoints, one per run id. */
export interface CheckpointStore {
  /** Where runs are kept, for messages (a directory, a database name). */
  readonly location: string;
  /** Starts a new run's checkpoint and takes the run for this process; throws if `runId` is taken. */
  create(checkpoint: Checkpoint): void;
  /**
   * Takes an existing run for this process before resuming it; throws `CheckpointError` if a
   * live process has it (two processes resuming one run would pay for its pending calls twice).
   */
  acquire(runId: string): void;
  /** Replaces the run's checkpoint atomically; the journal entries it includes are dropped. */
  save(checkpoint: Checkpoint): void;
  /** Appends one settled outcome to the run's journal. */
  append(runId: string, entry: JournalEntry): void;
  /** Loads a run's checkpoint and journal; throws `CheckpointError` when missing or damaged. */
  load(runId: string): LoadedCheckpoint;
  /** Every run in the store, newest first. */
  list(): CheckpointSummary[];
  /** Releases what the store holds for the run (its journal file, and the run itself). */
  close(runId: string): void;
}

/**
 * Checks a run id with the one run-id rule (see `src/runId.ts`); stores call it before a run id
 * becomes a key or a path. Kept under this name for the stores that import it from here.
 */
export { checkRunId as assertRunId } from '../runId.ts';
