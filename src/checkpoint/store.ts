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

/** Run ids become directory names: letters, digits, `.`, `_`, `-`; no leading dot. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws a clear error for a run id that cannot be a file name. */
export function assertRunId(runId: string): void {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new TypeError(`Invalid run id "${runId}": expected 1–128 letters, digits, ".", "_" or "-", not starting with "." or "-"`);
  }
}

/** A new run id: sortable by start time, unique enough to never collide on one machine. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').replace('T', '-');
  return `${stamp}-${Math.random().toString(16).slice(2, 8).padEnd(6, '0')}`;
}
