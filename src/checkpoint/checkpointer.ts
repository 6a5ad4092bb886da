/**
 * Keeps a running lead's checkpoint up to date: every settled specialist is journaled the
 * moment the lead hears of it (one appended line, before the event reaches anyone else), and
 * the whole snapshot is saved when the run starts and on every change of its top-level state
 * (fanningOut → synthesizing → a final state; a model lead adds a few per lead turn, see
 * `stateKey`). So checkpointing costs O(1) per outcome plus a few full snapshots per run, not
 * a full snapshot per outcome (O(N²) bytes at N
 * specialists); the journal holds at most one line per outcome, so it needs no compaction.
 * Substate changes (dispatching → waiting → stopping) are not saved: a restored fan-out
 * recomputes them, and a passed deadline fires again at once.
 */
import type { Actor } from 'xstate';
import type { LeadMachine } from '../../machines/lead.ts';
import { FanfoldError } from '../errors.ts';
import type { RunEvent } from '../events.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, topState, type Checkpoint, type CheckpointMeta, type KeptDigest, type PersistedLead } from './format.ts';
import type { StreamFold } from '../fold/streamFold.ts';
import { pathKey, type NestedOutcome, type NestedOutcomes } from './nestedOutcomes.ts';
import { addStep, type KeptSteps, type LoopSteps } from './loopSteps.ts';
import type { CheckpointStore } from './store.ts';
import type { BatchJournal } from './batchJournal.ts';

/** What the checkpointer needs about the run it follows. */
export interface CheckpointerOptions {
  store: CheckpointStore;
  runId: string;
  meta: CheckpointMeta;
  /** When the run was first checkpointed (kept across resumes). */
  createdAt: string;
  /** The journal's last sequence number so far (a resumed run goes on from it). */
  journalSeq: number;
  /** Outcomes inside sub-leads, to journal as they settle (N-level fan-outs). */
  nested?: NestedOutcomes;
  /** Nested outcomes a resume kept: saved again with every snapshot until their sub-lead settles. */
  keptNested?: readonly NestedOutcome[];
  /** Loop steps of tool-using specialists, to journal as they finish. */
  steps?: LoopSteps;
  /** Loop steps a resume kept: saved again with every snapshot until their specialist settles. */
  keptSteps?: readonly KeptSteps[];
  /** A streaming fold: each digest is journaled as it is made, and all of them go with every snapshot. */
  fold?: StreamFold;
  /** Batch mode: each batch is journaled as soon as it is created, and all of them go with every snapshot. */
  batches?: BatchJournal;
  /**
   * Batch mode: resolves once no batch create is in flight. A detach (a suspend, the run's end)
   * keeps journaling batches until then, so a batch created while the run stops is still found
   * by a resume. Default: batches stop being journaled at the detach.
   */
  batchesSettled?: () => Promise<void>;
  /** Called once if writing fails; checkpointing then stops and the run goes on. */
  onError: (error: Error) => void;
}

/**
 * What a change of triggers a full save. A fixed fan-out: its top-level state. A model lead
 * also saves on each join, finished lead turn, the end of its fan-out and its own end (a
 * handful per run), and once per batch of spawns (see `saveSpawns`): its spawned specialists
 * and its conversation live only in the snapshot, and a resumed lead must neither spawn them
 * again nor lose the turns it has had.
 */
function stateKey(snapshot: ReturnType<Actor<LeadMachine>['getSnapshot']>): string {
  const top = topState(snapshot.value);
  const { context } = snapshot;
  if (!context.input.lead || top !== 'leading') return top;
  const lead = snapshot.children['leadAgent']?.getSnapshot() as { progress?: { loop?: { turns?: number } | null } } | undefined;
  // Its fan-out ending (at the deadline) and the lead's own end change what a restore must do.
  // Not its substate (thinking, dispatching…): that follows from the context on restore.
  return `${top}/${context.joins.length}/${lead?.progress?.loop?.turns ?? 0}/${context.fanOutDone}/${context.stop?.reason ?? ''}/${context.lead !== null}`;
}

/** A checkpointer attached to a lead actor. */
export interface Checkpointer {
  /** Saves the full snapshot now (after `actor.start()`, so the run is resumable from its first moment). */
  saveNow(): void;
  /** Stops following the actor and releases the journal. */
  detach(): void;
}

const SETTLED = new Set<RunEvent['type']>(['specialist.done', 'specialist.failed', 'specialist.timedOut', 'specialist.skipped']);

/**
 * Follows `actor` and writes its checkpoint to `store`. Attach it before anything else
 * listens to the actor, so an outcome is kept before it is shown.
 */
export function attachCheckpointer(actor: Actor<LeadMachine>, options: CheckpointerOptions): Checkpointer {
  const { store, runId } = options;
  const specialists = actor.getSnapshot().context.input.specialists;
  const indexById = new Map(specialists.map((spec, index) => [spec.id, index]));
  // A model lead's specialists are spawned as it runs: look them up in the current context.
  const indexOf = (id: string): number | undefined => {
    const known = indexById.get(id);
    if (known !== undefined) return known;
    const index = actor.getSnapshot().context.input.specialists.findIndex((spec) => spec.id === id);
    if (index !== -1) indexById.set(id, index);
    return index === -1 ? undefined : index;
  };
  let seq = options.journalSeq;
  let lastState = stateKey(actor.getSnapshot());
  let failed = false;
  let savedFinal = false;
  // The snapshot holds no running sub-lead, so the outcomes inside one go with every save
  // (the journal starts afresh at each) until the sub-lead itself settles.
  const nestedByPath = new Map<string, NestedOutcome>();
  for (const entry of options.keptNested ?? []) nestedByPath.set(pathKey(entry.path), entry);
  const nestedStillOpen = () => {
    const { outcomes } = actor.getSnapshot().context;
    for (const [key, entry] of nestedByPath) if (outcomes[entry.path[0]!]) nestedByPath.delete(key);
    return [...nestedByPath.values()];
  };
  // Likewise the loop steps of running specialists, until each settles.
  const stepsByPath = new Map<string, KeptSteps>();
  for (const entry of options.keptSteps ?? []) stepsByPath.set(pathKey(entry.path), { path: [...entry.path], steps: [...entry.steps] });
  const stepsStillOpen = () => {
    const { outcomes } = actor.getSnapshot().context;
    for (const [key, entry] of stepsByPath) if (outcomes[entry.path[0]!] || nestedByPath.has(key)) stepsByPath.delete(key);
    return [...stepsByPath.values()];
  };

  const guard = (write: () => void) => {
    if (failed) return;
    try {
      write();
    } catch (error) {
      failed = true;
      detach();
      options.onError(error instanceof Error ? error : new FanfoldError('checkpoint', String(error)));
    }
  };

  const saveNow = () =>
    guard(() => {
      const checkpoint: Checkpoint = {
        format: CHECKPOINT_FORMAT,
        version: CHECKPOINT_VERSION,
        runId,
        createdAt: options.createdAt,
        savedAt: new Date().toISOString(),
        journalSeq: seq,
        meta: options.meta,
        snapshot: actor.getPersistedSnapshot() as unknown as PersistedLead,
      };
      const nested = nestedStillOpen();
      if (nested.length > 0) checkpoint.nested = nested;
      const steps = stepsStillOpen();
      if (steps.length > 0) checkpoint.steps = steps;
      const digests = keptDigests();
      if (digests.length > 0) checkpoint.digests = digests;
      if (options.batches && options.batches.batches.length > 0) checkpoint.batches = [...options.batches.batches];
      store.save(checkpoint);
    });

  const events = actor.on('*', (event: RunEvent) => {
    // The final snapshot is on disk before anyone hears the run finished.
    if (event.type === 'run.finished') {
      savedFinal = true;
      return saveNow();
    }
    if (!SETTLED.has(event.type)) return;
    const { id, outcome } = event as Extract<RunEvent, { type: 'specialist.done' }>;
    const index = indexOf(id);
    if (index === undefined) return;
    guard(() => {
      store.append(runId, { seq: seq + 1, index, outcome });
      seq++;
    });
  });

  const stopNested = options.nested?.onSettled((entry) => {
    nestedByPath.set(pathKey(entry.path), entry);
    const [index, ...subPath] = entry.path;
    guard(() => {
      store.append(runId, { seq: seq + 1, index: index!, subPath, outcome: entry.outcome });
      seq++;
    });
  });

  // The fold's digests, by specialist index (the snapshot holds no fold).
  const keptDigests = (): KeptDigest[] => {
    const digests: KeptDigest[] = [];
    for (const [id, digest] of options.fold?.digests ?? []) {
      const index = indexOf(id);
      if (index !== undefined) digests.push({ index, digest });
    }
    return digests;
  };
  const stopDigests = options.fold?.onDigested((id, digest) => {
    const index = indexOf(id);
    if (index === undefined) return;
    guard(() => {
      store.append(runId, { seq: seq + 1, index, digest });
      seq++;
    });
  });

  // A batch is on disk before its requests can finish: a crash from then on polls it again.
  const stopBatches = options.batches?.onSubmitted((batch) => {
    guard(() => {
      store.append(runId, { seq: seq + 1, batch });
      seq++;
    });
  });

  const stopSteps = options.steps?.onRecorded((path, step) => {
    addStep(stepsByPath, path, step);
    const [index, ...subPath] = path;
    guard(() => {
      store.append(runId, subPath.length > 0 ? { seq: seq + 1, index: index!, subPath, step } : { seq: seq + 1, index: index!, step });
      seq++;
    });
  });

  // A model lead's spawns live only in the snapshot: save once they are made. The spawn calls of
  // one lead turn arrive together, so one save (at the end of this microtask run) covers them
  // all — before any of them can settle, which takes at least a timer tick.
  let spawned = actor.getSnapshot().context.spawned?.length ?? 0;
  let spawnSave = false;
  const saveSpawns = () => {
    if (spawnSave) return;
    spawnSave = true;
    queueMicrotask(() => {
      spawnSave = false;
      if (!detached) saveNow();
    });
  };

  // Snapshot observers run once the lead's state is committed, so a full save sees the batch whole.
  const snapshots = actor.subscribe({
    next: (snapshot) => {
      const state = stateKey(snapshot);
      const final = snapshot.status !== 'active';
      if (final ? !savedFinal : state !== lastState) saveNow();
      lastState = state;
      if ((snapshot.context.spawned?.length ?? 0) !== spawned) {
        spawned = snapshot.context.spawned.length;
        if (!final) saveSpawns();
      }
      if (final) detach();
    },
    error: () => {
      saveNow();
      detach();
    },
  });

  let detached = false;
  function detach() {
    if (detached) return;
    detached = true;
    events.unsubscribe();
    snapshots.unsubscribe();
    stopNested?.();
    stopSteps?.();
    stopDigests?.();
    const release = () => {
      stopBatches?.();
      try {
        store.close(runId);
      } catch {
        // Closing a journal that failed to open: nothing to release.
      }
    };
    if (options.batchesSettled) void options.batchesSettled().then(release, release);
    else release();
  }

  return { saveNow, detach };
}
