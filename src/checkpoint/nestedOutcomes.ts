/**
 * Outcomes of the specialists inside sub-leads (N-level fan-out), by path, for checkpointing.
 *
 * The lead's snapshot holds only its own specialists' outcomes: a sub-lead still running is a
 * live actor, not part of it. So the fan-outs inside sub-leads report each outcome here (the
 * checkpointer journals it and keeps it in the checkpoint), and after a crash a restarted
 * sub-lead takes the kept ones instead of calling those specialists again.
 *
 * A path is the chain of config indexes from the top: `[2, 0]` is the first specialist of the
 * sub-lead that is the top fan-out's third specialist; `[2, 1, 4]` goes one level deeper.
 */
import type { SpecialistOutcome } from '../outcome.ts';

/** Indexes from the top fan-out down to one specialist; at least two long (a nested one). */
export type OutcomePath = readonly number[];

/** A nested outcome and where it is. */
export interface NestedOutcome {
  path: number[];
  outcome: SpecialistOutcome;
}

/** The run-wide registry of nested outcomes: what a checkpoint kept, and news of new ones. */
export interface NestedOutcomes {
  /**
   * The outcome a checkpoint kept for this path, handed out once (a sub-lead restarted later
   * in the same run wants fresh attempts); `undefined` if none.
   */
  take(path: OutcomePath): SpecialistOutcome | undefined;
  /** A fan-out inside a sub-lead settled one of its specialists. */
  settled(path: OutcomePath, outcome: SpecialistOutcome): void;
  /** Listens to {@link NestedOutcomes.settled}; returns the unsubscribe. */
  onSettled(listener: (entry: NestedOutcome) => void): () => void;
}

/** `[2, 0]` → `"2.0"`. */
export const pathKey = (path: OutcomePath): string => path.join('.');

/**
 * Creates the registry, with the outcomes a checkpoint kept (none for a fresh run).
 *
 * @example
 * const nested = createNestedOutcomes(plan.nested);
 * const actors = createRunActors({ provider, nested });
 */
export function createNestedOutcomes(kept: Iterable<NestedOutcome> = []): NestedOutcomes {
  const keptByPath = new Map<string, SpecialistOutcome>();
  for (const { path, outcome } of kept) keptByPath.set(pathKey(path), outcome);
  const listeners = new Set<(entry: NestedOutcome) => void>();
  return {
    take(path) {
      if (keptByPath.size === 0) return undefined;
      const key = pathKey(path);
      const outcome = keptByPath.get(key);
      keptByPath.delete(key);
      return outcome;
    },
    settled(path, outcome) {
      for (const listener of listeners) listener({ path: [...path], outcome });
    },
    onSettled(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
