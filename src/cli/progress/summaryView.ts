/**
 * Progress of a very large run (more than `LIGHT_HOSTING_ABOVE` specialists at the top): counts,
 * not rows. On a terminal, a few lines redrawn in place — a bar, the counts by state, the
 * failures by kind with the latest one — then a note while it synthesizes (the report that
 * follows has the synthesis); in a log, a line at every tenth of the specialists
 * settled, the batches' lines in batch mode, and the synthesis. Nothing per specialist is kept
 * or drawn, so 100,000 cost what 10 do.
 */
import { createLogUpdate } from 'log-update';
import { styleText } from 'node:util';
import type { ErrorKind } from '../../errors.ts';
import type { RunEvent } from '../../events.ts';
import { batchLine, isBatchEvent } from './batchLines.ts';
import { formatSeconds, truncate } from './tracker.ts';
import type { ProgressView } from './view.ts';

/** Counts of a large run's specialists by where they are. */
export class ProgressCounts {
  queued: number;
  running = 0;
  done = 0;
  failed = 0;
  timedOut = 0;
  skipped = 0;
  /** Failures by error kind, and the latest one's words. */
  readonly failures = new Map<ErrorKind, number>();
  latestFailure: string | null = null;

  constructor(public total: number) {
    this.queued = total;
  }

  get settled(): number {
    return this.done + this.failed + this.timedOut + this.skipped;
  }

  /** Takes in a run event; true when it changed the counts. */
  apply(event: RunEvent): boolean {
    switch (event.type) {
      case 'specialists.progress':
        // The fan-out's own counts of who waits and who runs; settled ones are counted below, by status.
        this.total = Math.max(this.total, event.total);
        this.running = event.running;
        this.queued = event.queued;
        return true;
      case 'specialist.done':
        this.done++;
        // Between summaries: one fewer running (the next summary says so exactly).
        this.running = Math.max(0, this.running - 1);
        return true;
      case 'specialist.failed':
      case 'specialist.timedOut':
      case 'specialist.skipped': {
        // Skipped or timed out before it started: it never ran (the next summary says so exactly).
        if (event.outcome.startedAt !== null) this.running = Math.max(0, this.running - 1);
        else this.queued = Math.max(0, this.queued - 1);
        if (event.type === 'specialist.failed') this.failed++;
        else if (event.type === 'specialist.timedOut') this.timedOut++;
        else this.skipped++;
        const kind = event.outcome.error?.kind ?? 'unknown';
        this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
        this.latestFailure = `${event.outcome.id}: ${event.outcome.error?.message ?? event.type.slice('specialist.'.length)}`;
        return true;
      }
      default:
        return false;
    }
  }

  /** "61,800 done · 120 failed · 38,080 running · 0 queued" (zero counts of settled states left out). */
  line(): string {
    const n = (value: number) => value.toLocaleString('en');
    const parts = [`${n(this.done)} done`];
    if (this.failed) parts.push(`${n(this.failed)} failed`);
    if (this.timedOut) parts.push(`${n(this.timedOut)} timed out`);
    if (this.skipped) parts.push(`${n(this.skipped)} skipped`);
    parts.push(`${n(Math.max(0, this.running))} running`, `${n(Math.max(0, this.queued))} queued`);
    return parts.join(' · ');
  }

  /** "bad_request ×100, timeout ×3": failures by kind, most first. */
  failureLine(): string {
    return [...this.failures]
      .sort((a, b) => b[1] - a[1])
      .map(([kind, count]) => `${kind} ×${count.toLocaleString('en')}`)
      .join(', ');
  }
}

/** Options of {@link createSummaryView}. */
export interface SummaryViewOptions {
  title: string;
  /** Specialists at the top of the run. */
  total: number;
  /** A terminal to redraw in place; absent: plain lines through `write`. */
  tty?: NodeJS.WriteStream;
  write: (line: string) => void;
  /** Redraws per second on a terminal. Default 4. */
  fps?: number;
}

const BAR_WIDTH = 30;

/** The view for a very large run. */
export function createSummaryView(options: SummaryViewOptions): ProgressView {
  const counts = new ProgressCounts(options.total);
  const startedAt = Date.now();
  const stamp = () => `[${formatSeconds(Date.now() - startedAt).padStart(6)}]`;
  const percent = () => (counts.total === 0 ? 100 : Math.floor((counts.settled * 100) / counts.total));
  const summary = () => `${counts.settled.toLocaleString('en')} of ${counts.total.toLocaleString('en')} settled (${percent()}%) · ${counts.line()}`;

  if (options.tty) {
    const update = createLogUpdate(options.tty, { showCursor: false });
    let synthesizing = false;
    const render = () => {
      const filled = counts.total === 0 ? BAR_WIDTH : Math.round((counts.settled / counts.total) * BAR_WIDTH);
      const lines = [
        styleText('bold', ` ${options.title}`) + styleText('gray', ` · ${counts.total.toLocaleString('en')} specialists · ${formatSeconds(Date.now() - startedAt)}`),
        ` ${styleText('green', '█'.repeat(filled))}${styleText('gray', '░'.repeat(BAR_WIDTH - filled))} ${String(percent()).padStart(3)}% · ${counts.line()}`,
      ];
      if (counts.failures.size > 0) lines.push(styleText('red', ` failures: ${counts.failureLine()}`) + styleText('gray', ` · latest ${truncate(counts.latestFailure ?? '', 80)}`));
      update(lines.join('\n'));
    };
    const timer = setInterval(render, 1000 / (options.fps ?? 4));
    timer.unref();
    render();
    const stop = () => {
      clearInterval(timer);
      render();
      update.done();
    };
    return {
      onEvent(event) {
        counts.apply(event);
        if (isBatchEvent(event)) return;
        // The synthesis is written whole in the report that follows.
        if (event.type === 'synthesis.started' && !synthesizing) {
          synthesizing = true;
          stop();
          options.tty!.write(styleText('gray', ` synthesizing${event.model ? ` on ${event.model}` : ''}…\n`));
        }
      },
      finish() {
        if (!synthesizing) stop();
      },
    };
  }

  let reportedTenth = 0;
  return {
    onEvent(event) {
      if (isBatchEvent(event)) return options.write(`${stamp()} ${batchLine(event)}`);
      if (event.type === 'synthesis.started') return options.write(`${stamp()} ${summary()}\n${stamp()} synthesis started${event.model ? ` on ${event.model}` : ''}`);
      if (event.type === 'synthesis.done' || event.type === 'synthesis.failed') return options.write(`${stamp()} synthesis ${event.outcome.status === 'fulfilled' ? 'done' : event.outcome.status}`);
      if (!counts.apply(event) || counts.total === 0) return;
      const tenth = Math.floor((counts.settled * 10) / counts.total);
      if (tenth > reportedTenth) {
        reportedTenth = tenth;
        options.write(`${stamp()} ${summary()}${counts.failures.size > 0 ? ` · failures: ${counts.failureLine()}` : ''}`);
      }
    },
    finish() {},
  };
}
