/**
 * A checkpoint store in this process's memory: for tests, and for apps that embed fanfold and
 * keep runs somewhere of their own (read them with `load` and `list`). It behaves as the file
 * store does — same validation on load, same errors, same locking within a process — and the
 * contract suite in `test/contracts/checkpointStore.contract.ts` holds both to it.
 *
 * Values are kept as JSON text, as the file store keeps them: a caller that changes an object
 * after saving or loading it does not change the store, and what cannot be written as JSON is
 * refused when it is saved, not when it is loaded.
 */
import { CheckpointError, parseCheckpoint, parseJournalEntry, type Checkpoint, type JournalEntry, type LoadedCheckpoint } from './format.ts';
import { assertRunId, type CheckpointStore, type CheckpointSummary } from './store.ts';
import { newestFirst, summarizeCheckpoint, unreadableSummary } from './summary.ts';

/** What the store names itself in messages (`CheckpointStore.location`). */
const LOCATION = 'memory';

/** One run: its snapshot and the journal lines written since, as JSON text. */
interface StoredRun {
  checkpoint: string;
  journal: string[];
}

/**
 * Creates an empty checkpoint store held in memory. Runs last as long as the store object:
 * resume from the same store in the same process. A run is taken by `create` or `acquire`
 * and released by `close`, as with the file store's lock file.
 *
 * @example
 * const store = createMemoryCheckpointStore();
 * const run = runFanOut(config, { provider, checkpoint: { store, runId: 'r1' } });
 * run.actor.stop(); // … abandoned mid-run
 * const resumed = resumeFanOut('r1', { store, provider });
 */
export function createMemoryCheckpointStore(): CheckpointStore {
  const runs = new Map<string, StoredRun>();
  const taken = new Set<string>();
  const where = (runId: string) => `${LOCATION}/${runId}`;

  /** The run, after checking its id; a clear error when there is none. */
  const runOf = (runId: string): StoredRun => {
    assertRunId(runId);
    const run = runs.get(runId);
    if (!run) throw new CheckpointError(where(runId), `no run "${runId}" in ${LOCATION}`);
    return run;
  };

  const load = (runId: string): LoadedCheckpoint => {
    const run = runOf(runId);
    const file = `${where(runId)}/checkpoint`;
    const checkpoint = parseCheckpoint(file, JSON.parse(run.checkpoint));
    const total = checkpoint.snapshot.context.input.specialists.length;
    const journal: JournalEntry[] = [];
    run.journal.forEach((line, at) => {
      const entry = parseJournalEntry(`${where(runId)}/journal:${at + 1}`, JSON.parse(line), total);
      // Entries the snapshot already holds are skipped, as the file store skips them.
      if (entry.seq > checkpoint.journalSeq) journal.push(entry);
    });
    // Lines are stored whole or not at all: nothing is ever torn, so there is nothing to warn of.
    return { checkpoint, journal, warnings: [] };
  };

  return {
    location: LOCATION,
    create: (checkpoint: Checkpoint) => {
      const { runId } = checkpoint;
      assertRunId(runId);
      if (runs.has(runId)) throw new CheckpointError(where(runId), `run "${runId}" already exists: resume it, or choose another run id`);
      // Serialised before anything is kept, so a checkpoint that cannot be written leaves no run behind.
      const text = JSON.stringify(checkpoint);
      runs.set(runId, { checkpoint: text, journal: [] });
      taken.add(runId);
    },
    acquire: (runId) => {
      runOf(runId);
      if (taken.has(runId)) throw new CheckpointError(where(runId), `run "${runId}" is already running in this process`);
      taken.add(runId);
    },
    save: (checkpoint) => {
      const run = runOf(checkpoint.runId);
      const text = JSON.stringify(checkpoint);
      run.checkpoint = text;
      // The snapshot now holds every journaled outcome: start the journal afresh.
      run.journal = [];
    },
    append: (runId, entry) => {
      const run = runOf(runId);
      run.journal.push(JSON.stringify(entry));
    },
    load,
    list: () => {
      const summaries: CheckpointSummary[] = [];
      for (const runId of runs.keys()) {
        try {
          summaries.push(summarizeCheckpoint(runId, load(runId)));
        } catch (error) {
          summaries.push(unreadableSummary(runId, error));
        }
      }
      return summaries.sort(newestFirst);
    },
    close: (runId) => {
      assertRunId(runId);
      taken.delete(runId);
    },
  };
}
