/**
 * The finished steps of specialists' tool-use loops (each model turn, each tool call), by
 * path, for checkpointing — the loop's counterpart of `nestedOutcomes.ts`.
 *
 * A running specialist is a live actor, not part of any saved snapshot, so its loop reports
 * every finished step here; the checkpointer journals it. After a crash the fan-out hands the
 * kept steps to the specialist it starts again, which rebuilds its conversation from them and
 * goes on from its last finished turn and tool call: none is paid for twice.
 *
 * Paths are config indexes from the top, as in `nestedOutcomes.ts` (`[1]`: the second
 * specialist; `[2, 0]`: the first below the third, a sub-lead). A model step of turn 1 starts a
 * specialist's list afresh: it only comes from a fresh start (a restart), never from a resume.
 */
import type { LoopStep } from '../tools/types.ts';
import { pathKey, type OutcomePath } from './nestedOutcomes.ts';

/** The steps kept for one specialist. */
export interface KeptSteps {
  path: number[];
  steps: LoopStep[];
}

/** The run-wide registry of loop steps: what a checkpoint kept, and news of new ones. */
export interface LoopSteps {
  /** The steps kept for a path, handed out once (a later restart wants a fresh loop); `undefined` if none. */
  take(path: OutcomePath): LoopStep[] | undefined;
  /** A specialist's loop finished a step. */
  recorded(path: OutcomePath, step: LoopStep): void;
  /** Listens to {@link LoopSteps.recorded}; returns the unsubscribe. */
  onRecorded(listener: (path: number[], step: LoopStep) => void): () => void;
}

/** True for the first step of a fresh loop: what came before for that path no longer counts. */
export function startsAfresh(step: LoopStep): boolean {
  return step.kind === 'model' && step.turn === 1;
}

/** Appends a step to per-path lists, starting a path's list afresh at a turn-1 model step. */
export function addStep(lists: Map<string, KeptSteps>, path: readonly number[], step: LoopStep): void {
  const key = pathKey(path);
  const kept = lists.get(key);
  if (!kept || startsAfresh(step)) lists.set(key, { path: [...path], steps: [step] });
  else kept.steps.push(step);
}

/**
 * Creates the registry, with the steps a checkpoint kept (none for a fresh run).
 *
 * @example
 * const steps = createLoopSteps(plan.steps);
 * const actors = createRunActors({ provider, steps });
 */
export function createLoopSteps(kept: Iterable<KeptSteps> = []): LoopSteps {
  const keptByPath = new Map<string, LoopStep[]>();
  for (const entry of kept) keptByPath.set(pathKey(entry.path), entry.steps);
  const listeners = new Set<(path: number[], step: LoopStep) => void>();
  return {
    take(path) {
      if (keptByPath.size === 0) return undefined;
      const key = pathKey(path);
      const steps = keptByPath.get(key);
      keptByPath.delete(key);
      return steps;
    },
    recorded(path, step) {
      for (const listener of listeners) listener([...path], step);
    },
    onRecorded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
