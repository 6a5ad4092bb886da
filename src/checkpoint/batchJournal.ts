/**
 * Batch mode in a checkpointed run: the batches it created, so that a resumed run polls them
 * instead of submitting their requests again. The batch provider reports each batch the moment
 * its create returns; the checkpointer journals it at once (one line) and saves every batch
 * with each full snapshot (a save starts the journal afresh). A batch is kept for the run's
 * whole life: a request of one may be asked for again by a specialist restarted after a crash.
 */
import type { KeptBatch } from '../providers/batch/batchingProvider.ts';

/** The batches of a checkpointed run. */
export interface BatchJournal {
  /** Kept ones (from before a resume), then every one created since, oldest first. */
  readonly batches: readonly KeptBatch[];
  /** A batch was created: keep it and tell the listeners (the checkpointer journals it). */
  submitted(batch: KeptBatch): void;
  /** Listens to created batches; returns the unsubscribe. */
  onSubmitted(listener: (batch: KeptBatch) => void): () => void;
}

/**
 * A run's batch journal, starting from the batches a checkpoint kept.
 *
 * @example
 * const journal = createBatchJournal(plan.batches);
 * createBatchingProvider({ …, kept: journal.batches, onSubmitted: (batch) => journal.submitted(batch) });
 */
export function createBatchJournal(kept: readonly KeptBatch[] = []): BatchJournal {
  const batches: KeptBatch[] = [...kept];
  const known = new Set(kept.map((batch) => batch.id));
  const listeners = new Set<(batch: KeptBatch) => void>();
  return {
    batches,
    submitted(batch) {
      if (known.has(batch.id)) return;
      known.add(batch.id);
      batches.push(batch);
      for (const listener of listeners) listener(batch);
    },
    onSubmitted(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
