/**
 * Batch mode's progress as plain lines: one when a batch is created, one when a poll finds it
 * changed, one when it ends (with why fanfold canceled it, if it did), and the summary after the
 * run. Shared by the log-lines view and the report.
 */
import type { BatchEvent, BatchRequestCounts } from '../../events.ts';

/** "2 processing, 1 succeeded": the counts that are not zero, in the API's order. */
export function describeCounts(counts: BatchRequestCounts): string {
  const parts = (['processing', 'succeeded', 'errored', 'canceled', 'expired'] as const).filter((key) => counts[key] > 0).map((key) => `${counts[key]} ${key}`);
  return parts.length > 0 ? parts.join(', ') : 'no requests';
}

const CANCELED: Record<NonNullable<Extract<BatchEvent, { type: 'batch.ended' }>['canceled']>, string> = {
  deadline: "canceled before the run's deadline",
  run: 'canceled with the run',
  unused: 'canceled: nobody waited for it',
};

/**
 * One progress line for a batch event (without the time stamp).
 *
 * @example
 * batchLine({ type: 'batch.submitted', batchId: 'msgbatch_01', requests: 3, bytes: 2_048, at: 0 }); // 'batch msgbatch_01 submitted: 3 requests (2.0 KB)'
 */
export function batchLine(event: BatchEvent): string {
  switch (event.type) {
    case 'batch.submitted':
      return `batch ${event.batchId} submitted: ${event.requests} request${event.requests === 1 ? '' : 's'} (${formatBytes(event.bytes)})`;
    case 'batch.progress':
      return `batch ${event.batchId} ${event.status}${event.kept ? ' (kept from before the resume)' : ''}: ${describeCounts(event.counts)}`;
    case 'batch.ended':
      return `batch ${event.batchId}${event.kept ? ' (kept from before the resume)' : ''} ended${event.canceled ? ` (${CANCELED[event.canceled]})` : ''}: ${describeCounts(event.counts)}`;
  }
}

/** True for the events {@link batchLine} formats. */
export function isBatchEvent(event: { type: string }): event is BatchEvent {
  return event.type === 'batch.submitted' || event.type === 'batch.progress' || event.type === 'batch.ended';
}

/** Collects a run's batch events into the summary line of the report. */
export class BatchSummary {
  private readonly ended = new Map<string, BatchRequestCounts>();
  private readonly seen = new Set<string>();

  add(event: BatchEvent): void {
    this.seen.add(event.batchId);
    if (event.type === 'batch.ended') this.ended.set(event.batchId, event.counts);
  }

  /** "Batch mode: 2 batches, 30 requests (29 succeeded, 1 errored); batched calls are priced at half." or `null` when none ran. */
  line(): string | null {
    if (this.seen.size === 0) return null;
    const total: BatchRequestCounts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    for (const counts of this.ended.values()) for (const key of Object.keys(total) as Array<keyof BatchRequestCounts>) total[key] += counts[key];
    const requests = Object.values(total).reduce((a, b) => a + b, 0);
    const open = this.seen.size - this.ended.size;
    return `Batch mode: ${this.seen.size} batch${this.seen.size === 1 ? '' : 'es'}, ${requests} request${requests === 1 ? '' : 's'} read (${describeCounts(total)})${open > 0 ? `, ${open} not ended` : ''}; batched calls are priced at half.`;
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
