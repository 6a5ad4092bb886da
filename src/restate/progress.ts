/**
 * A run's progress on Restate, for followers: one small virtual object per run
 * (`fanfoldProgress/<runId>`) to which each chunk reports the outcomes it settled while it runs,
 * at most every {@link progressInterval} (and, once it has reported, the rest when it ends): a
 * chunk that ends sooner sends nothing, its outcomes arrive with the fan-out's answer. Each chunk's reports live under their own key, so a
 * report costs the size of one chunk, never the run's; the lead's snapshot is not touched until
 * the fan-out ends. `getRestateSnapshot` shows these outcomes while the fan-out runs.
 */
import * as restate from '@restatedev/restate-sdk';
import type { SteppedOutcome } from '../core/attemptStep.ts';

/** The progress objects' service name. */
export const PROGRESS_SERVICE = 'fanfoldProgress';

/** Shortest time between two reports of one chunk, in ms. */
export const PROGRESS_EVERY_MS = 1_000;

/**
 * Time between two reports of one chunk when a run has `chunks` of them: at least
 * {@link PROGRESS_EVERY_MS}, and longer for many chunks so the whole run sends at most about 40
 * reports a second (each is a write to one object; at 10,000 specialists, reports every second
 * cost more than a second of the run).
 */
export function progressInterval(chunks: number): number {
  return Math.max(PROGRESS_EVERY_MS, chunks * 25);
}

/** One chunk's report: where its specialists start in the run, and what settled since the last. */
export interface ProgressReport {
  chunk: number;
  from: number;
  settled: Array<{ offset: number; outcome: SteppedOutcome }>;
}

/** What a chunk's key holds: its outcomes so far (`null` while unfinished), from run index `from`. */
interface ChunkProgress {
  from: number;
  outcomes: Array<SteppedOutcome | null>;
}

const chunkKey = (chunk: number) => `chunk:${chunk}`;

/** The progress object. */
export const progressObject = restate.object({
  name: PROGRESS_SERVICE,
  // A report touches one chunk's key: the others' must not travel with it.
  options: { enableLazyState: true },
  handlers: {
    report: async (ctx: restate.ObjectContext, report: ProgressReport): Promise<void> => {
      const key = chunkKey(report.chunk);
      const progress = (await ctx.get<ChunkProgress>(key)) ?? { from: report.from, outcomes: [] };
      for (const { offset, outcome } of report.settled) {
        while (progress.outcomes.length <= offset) progress.outcomes.push(null);
        progress.outcomes[offset] = outcome;
      }
      ctx.set(key, progress);
    },
    /** Every outcome reported so far, by run index. */
    read: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<Array<{ index: number; outcome: SteppedOutcome }>> => {
      const settled: Array<{ index: number; outcome: SteppedOutcome }> = [];
      for (const key of await ctx.stateKeys()) {
        const progress = await ctx.get<ChunkProgress>(key);
        progress?.outcomes.forEach((outcome, offset) => outcome && settled.push({ index: progress.from + offset, outcome }));
      }
      return settled;
    }),
    /** The run is over: its lead holds every outcome now. */
    clear: async (ctx: restate.ObjectContext): Promise<void> => ctx.clearAll(),
  },
});

/** Sends a chunk's report. */
export function reportProgress(ctx: { objectSendClient: restate.Context['objectSendClient'] }, runKey: string, report: ProgressReport): void {
  ctx.objectSendClient(progressObject, runKey).report(report);
}

/** Forgets a run's progress once its fan-out ended. */
export function clearProgress(ctx: { objectSendClient: restate.Context['objectSendClient'] }, runKey: string): void {
  ctx.objectSendClient(progressObject, runKey).clear();
}
