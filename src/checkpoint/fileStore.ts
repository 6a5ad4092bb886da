/**
 * The default checkpoint store: plain files, no server.
 *
 * ```
 * .fanfold/runs/<run-id>/checkpoint.json   the lead's snapshot, replaced atomically
 * .fanfold/runs/<run-id>/journal.jsonl     outcomes settled since, one JSON line each
 * .fanfold/runs/<run-id>/lock              the pid of the process running it, while it runs
 * ```
 *
 * Crash safety: the snapshot is written to a temporary file, flushed to disk, and renamed over
 * the old one (a rename is atomic), so a crash mid-write leaves the previous snapshot whole.
 * Journal lines are appended with one `write` each: a process that dies keeps every line it
 * wrote; a line torn by a crash mid-write is the last one and is ignored on load. Entries carry
 * sequence numbers, so a crash between a snapshot and the journal's truncation loses nothing
 * and applies nothing twice.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CheckpointError, parseCheckpoint, parseJournalEntry, type Checkpoint, type JournalEntry, type LoadedCheckpoint } from './format.ts';
import { assertRunId, type CheckpointStore, type CheckpointSummary } from './store.ts';
import { newestFirst, summarizeCheckpoint, unreadableSummary } from './summary.ts';

/** The directory fanfold keeps its runs in by default, relative to the working directory. */
export const DEFAULT_STORE_DIR = '.fanfold';

const CHECKPOINT_FILE = 'checkpoint.json';
const JOURNAL_FILE = 'journal.jsonl';
const LOCK_FILE = 'lock';

/** Lock files this process holds, by absolute path: shared by every store instance. */
const heldLocks = new Set<string>();

/** True when a process with this pid exists (it may belong to someone else: EPERM). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Options of {@link createFileCheckpointStore}. */
export interface FileCheckpointStoreOptions {
  /** Flush each journal line to disk (survives power loss, slower). Default `false`: lines survive the process dying, which is what a crash is. */
  syncJournal?: boolean;
}

/** Writes `text` to `path` so that the file is either the old one or the new one, never half. */
function writeFileAtomic(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Flushes a directory entry (the rename) to disk; not every platform allows it. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Directories cannot be opened for fsync on some platforms; the rename is still atomic.
  }
}

/**
 * Creates a checkpoint store under `dir` (default `.fanfold` in the working directory).
 *
 * @example
 * const store = createFileCheckpointStore('.fanfold');
 * const run = runFanOut(config, { provider, checkpoint: { store, runId: 'fusion-1' } });
 */
export function createFileCheckpointStore(dir: string = DEFAULT_STORE_DIR, options: FileCheckpointStoreOptions = {}): CheckpointStore {
  const runsDir = join(dir, 'runs');
  const journals = new Map<string, number>();
  const shown = (path: string) => {
    const rel = relative(process.cwd(), path);
    return rel && !rel.startsWith('..') ? rel : path;
  };
  const runDir = (runId: string) => {
    assertRunId(runId);
    return join(runsDir, runId);
  };

  const journalFd = (runId: string): number => {
    let fd = journals.get(runId);
    if (fd === undefined) {
      fd = openSync(join(runDir(runId), JOURNAL_FILE), 'a');
      journals.set(runId, fd);
    }
    return fd;
  };

  /** Takes the run's lock file for this process; a lock left by a dead process is taken over. */
  const lock = (runId: string) => {
    const path = resolve(runDir(runId), LOCK_FILE);
    if (heldLocks.has(path)) throw new CheckpointError(shown(path), `run "${runId}" is already running in this process`);
    for (let tries = 0; tries < 2; tries++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        heldLocks.add(path);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number(readFileSync(path, 'utf8').trim());
        if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
          throw new CheckpointError(shown(path), `run "${runId}" is being run by process ${owner}; wait for it, or stop it (if that process is not fanfold, delete this file)`);
        }
        // Left by a process that died (the crash being recovered from): take it over.
        rmSync(path, { force: true });
      }
    }
    throw new CheckpointError(shown(path), `could not take run "${runId}": another process took it at the same moment`);
  };

  const save = (checkpoint: Checkpoint) => {
    const folder = runDir(checkpoint.runId);
    writeFileAtomic(join(folder, CHECKPOINT_FILE), JSON.stringify(checkpoint));
    syncDirectory(folder);
    // The snapshot now holds every journaled outcome: start the journal afresh.
    ftruncateSync(journalFd(checkpoint.runId), 0);
  };

  const release = (runId: string) => {
    const path = resolve(runDir(runId), LOCK_FILE);
    if (heldLocks.delete(path)) rmSync(path, { force: true });
  };

  const closeRun = (runId: string) => {
    const fd = journals.get(runId);
    if (fd !== undefined) {
      journals.delete(runId);
      closeSync(fd);
    }
    release(runId);
  };

  const load = (runId: string): LoadedCheckpoint => {
    const folder = runDir(runId);
    const file = join(folder, CHECKPOINT_FILE);
    if (!existsSync(file)) {
      throw new CheckpointError(
        shown(file),
        existsSync(folder) ? 'the run has no checkpoint file (it never got past its start)' : `no run "${runId}" in ${shown(runsDir)} (list them with \`fanfold resume\`)`,
      );
    }
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new CheckpointError(shown(file), `not valid JSON (${error instanceof Error ? error.message : String(error)}); the file is damaged`);
    }
    const checkpoint = parseCheckpoint(shown(file), data);
    if (checkpoint.runId !== runId) throw new CheckpointError(shown(file), `it belongs to run "${checkpoint.runId}", not "${runId}"`);
    const total = checkpoint.snapshot.context.input.specialists.length;
    const journalPath = join(folder, JOURNAL_FILE);
    const journal: JournalEntry[] = [];
    const warnings: string[] = [];
    if (existsSync(journalPath)) {
      const text = readFileSync(journalPath, 'utf8');
      const lines = text.split('\n');
      // Text after the last newline is a line the writer did not finish.
      const torn = lines.pop() ?? '';
      if (torn !== '') warnings.push(`${shown(journalPath)}:${lines.length + 1}: ignored a journal line cut short by a crash mid-write`);
      lines.forEach((line, at) => {
        if (line.trim() === '') return;
        const where = `${shown(journalPath)}:${at + 1}`;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          throw new CheckpointError(where, 'not valid JSON; the journal is damaged');
        }
        const entry = parseJournalEntry(where, parsed, total);
        if (entry.seq > checkpoint.journalSeq) journal.push(entry);
      });
    }
    return { checkpoint, journal, warnings };
  };

  return {
    location: shown(dir),
    create: (checkpoint) => {
      const folder = runDir(checkpoint.runId);
      const taken = () => new CheckpointError(shown(folder), `run "${checkpoint.runId}" already exists: resume it with \`fanfold resume ${checkpoint.runId}\`, or choose another run id`);
      if (existsSync(join(folder, CHECKPOINT_FILE))) throw taken();
      mkdirSync(folder, { recursive: true });
      // The lock makes the check above safe against another process creating the same run id.
      lock(checkpoint.runId);
      if (existsSync(join(folder, CHECKPOINT_FILE))) {
        release(checkpoint.runId);
        throw taken();
      }
      try {
        save(checkpoint);
      } catch (error) {
        // Not started after all: free the run id, and leave no half-made run to list or to lock.
        closeRun(checkpoint.runId);
        rmSync(folder, { recursive: true, force: true });
        throw error;
      }
    },
    acquire: (runId) => {
      if (!existsSync(runDir(runId))) throw new CheckpointError(shown(runDir(runId)), `no run "${runId}" in ${shown(runsDir)}`);
      lock(runId);
    },
    save,
    append: (runId, entry) => {
      const fd = journalFd(runId);
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      if (options.syncJournal) fsyncSync(fd);
    },
    load,
    list: () => {
      if (!existsSync(runsDir)) return [];
      const summaries: CheckpointSummary[] = [];
      for (const runId of readdirSync(runsDir)) {
        const folder = join(runsDir, runId);
        if (!statSync(folder).isDirectory()) continue;
        try {
          summaries.push(summarizeCheckpoint(runId, load(runId)));
        } catch (error) {
          summaries.push(unreadableSummary(runId, error));
        }
      }
      return summaries.sort(newestFirst);
    },
    close: closeRun,
  };
}
