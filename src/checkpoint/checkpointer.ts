/**
 * Keeps a running lead's checkpoint up to date: every settled specialist is journaled the
 * moment the lead hears of it (one appended line, before the event reaches anyone else), and
 * the whole snapshot is saved on every change of state (dispatching → waiting → stopping →
 * synthesizing → a final state) and whenever the journal has grown by a quarter of the run.
 * So checkpointing costs O(1) per outcome plus a few full snapshots per run, not a full
 * snapshot per outcome (O(N²) bytes at N specialists).
 */
import type { Actor } from 'xstate';
import type { LeadMachine } from '../../machines/lead.ts';
import type { RunEvent } from '../events.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type Checkpoint, type CheckpointMeta, type PersistedLead } from './format.ts';
import type { CheckpointStore } from './store.ts';

/** What the checkpointer needs about the run it follows. */
export interface CheckpointerOptions {
  store: CheckpointStore;
  runId: string;
  meta: CheckpointMeta;
  /** When the run was first checkpointed (kept across resumes). */
  createdAt: string;
  /** The journal's last sequence number so far (a resumed run goes on from it). */
  journalSeq: number;
  /** Called once if writing fails; checkpointing then stops and the run goes on. */
  onError: (error: Error) => void;
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
  // Enough journal lines that the full snapshot is rewritten only a few times per run.
  const compactAfter = Math.max(64, Math.ceil(specialists.length / 4));
  let seq = options.journalSeq;
  let sinceSave = 0;
  let lastState = JSON.stringify(actor.getSnapshot().value);
  let failed = false;

  const guard = (write: () => void) => {
    if (failed) return;
    try {
      write();
    } catch (error) {
      failed = true;
      detach();
      options.onError(error instanceof Error ? error : new Error(String(error)));
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
      store.save(checkpoint);
      sinceSave = 0;
    });

  const events = actor.on('*', (event: RunEvent) => {
    if (!SETTLED.has(event.type)) return;
    const { id, outcome } = event as Extract<RunEvent, { type: 'specialist.done' }>;
    const index = indexById.get(id);
    if (index === undefined) return;
    guard(() => {
      store.append(runId, { seq: seq + 1, index, outcome });
      seq++;
      sinceSave++;
    });
  });

  // Snapshot observers run once the lead's state is committed, so a full save sees the batch whole.
  const snapshots = actor.subscribe({
    next: (snapshot) => {
      const state = JSON.stringify(snapshot.value);
      const final = snapshot.status !== 'active';
      if (state !== lastState || final || sinceSave >= compactAfter) {
        lastState = state;
        saveNow();
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
    try {
      store.close(runId);
    } catch {
      // Closing a journal that failed to open: nothing to release.
    }
  }

  return { saveNow, detach };
}
