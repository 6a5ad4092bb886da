/**
 * Progress on a terminal: one row per specialist (state, elapsed, tokens, retries) redrawn in
 * place, then the synthesis streaming in below it. Rendering uses `log-update`, which rewrites
 * only the live region and keeps the cursor tidy.
 */
import { createLogUpdate } from 'log-update';
import { styleText } from 'node:util';
import type { RunEvent } from '../../events.ts';
import { batchLine, isBatchEvent } from './batchLines.ts';
import { formatSeconds, truncate, type ProgressRow, type ProgressTracker, type RowState } from './tracker.ts';
import type { ProgressView } from './view.ts';

/** Options of {@link createLiveTableView}. */
export interface LiveTableOptions {
  /** A title line, e.g. the task. */
  title: string;
  /** Redraws per second while anything runs. Default 10. */
  fps?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARK: Record<RowState, string> = { queued: '·', calling: '', tooling: '⚙', retrying: '↻', done: '✔', failed: '✖', timedOut: '⏱', skipped: '–' };
const COLOR: Record<RowState, Parameters<typeof styleText>[0]> = {
  queued: 'gray',
  calling: 'cyan',
  tooling: 'magenta',
  retrying: 'yellow',
  done: 'green',
  failed: 'red',
  timedOut: 'yellow',
  skipped: 'gray',
};

/** What a row says about its tools: the ones running now, and how many calls so far. */
function toolDetail(row: ProgressRow): string {
  const parts: string[] = [];
  if (row.activeTools.size > 0) {
    const names = new Map<string, number>();
    for (const name of row.activeTools.values()) names.set(name, (names.get(name) ?? 0) + 1);
    parts.push([...names].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', '));
  }
  if (row.toolCalls > 0) parts.push(`${row.toolCalls} tool call${row.toolCalls === 1 ? '' : 's'}${row.toolErrors > 0 ? ` (${row.toolErrors} failed)` : ''}, turn ${row.turn}`);
  return parts.join(' · ');
}

/** The live table on a TTY stream. */
export function createLiveTableView(tracker: ProgressTracker, stream: NodeJS.WriteStream, options: LiveTableOptions): ProgressView {
  const update = createLogUpdate(stream, { showCursor: false });
  const started = Date.now();
  let frame = 0;
  let synthesizing = false;
  const idWidth = Math.min(24, Math.max(9, ...tracker.rows.map((row) => row.id.length)));
  /** Batch mode: the latest line of each batch, under the header; an ended one is drawn once more, then dropped. */
  const batches = new Map<string, { line: string; ended: boolean }>();

  const line = (row: ProgressRow): string => {
    const mark = row.state === 'calling' ? SPINNER[frame % SPINNER.length]! : MARK[row.state];
    const elapsed = row.startedAt === null ? '' : formatSeconds((row.endedAt ?? Date.now()) - row.startedAt);
    const retries = row.retries > 0 ? `retries ${row.retries}` : '';
    const tools = toolDetail(row);
    const detail = row.error && row.state !== 'done' ? truncate(row.error.message, 60) : [tools, row.model ?? ''].filter(Boolean).join(' · ');
    const cells = [
      styleText(COLOR[row.state], `${mark} ${row.id.padEnd(idWidth).slice(0, idWidth)}`),
      styleText(COLOR[row.state], row.state.padEnd(8)),
      elapsed.padStart(7),
      `${String(row.tokens).padStart(6)} tok`,
      retries.padEnd(9),
      styleText('gray', detail),
    ];
    return ` ${cells.join('  ')}`;
  };

  const render = () => {
    frame += 1;
    const height = (stream.rows || 24) - 4 - batches.size;
    const rows = tracker.rows;
    let shown = rows;
    let hidden = '';
    if (rows.length > height) {
      // Too many to show: the ones in flight first, then the latest to settle, and a count of the rest.
      const active = rows.filter((row) => row.state === 'calling' || row.state === 'tooling' || row.state === 'retrying');
      const settled = rows.filter((row) => row.endedAt !== null).sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0));
      shown = [...active, ...settled].slice(0, Math.max(1, height - 1));
      const counts = tracker.counts();
      hidden = styleText(
        'gray',
        ` … ${rows.length - shown.length} more · ${Object.entries(counts)
          .filter(([, n]) => n > 0)
          .map(([state, n]) => `${n} ${state}`)
          .join(' · ')}`,
      );
    }
    const header = styleText('bold', ` ${options.title}`) + styleText('gray', ` · ${rows.length} specialist${rows.length === 1 ? '' : 's'} · ${formatSeconds(Date.now() - started)}`);
    const batchLines = [...batches.values()].map((batch) => styleText('gray', ` ${batch.line}`));
    for (const [id, batch] of batches) if (batch.ended) batches.delete(id);
    update([header, ...batchLines, ...shown.map(line), ...(hidden ? [hidden] : [])].join('\n'));
  };

  const timer = setInterval(render, 1000 / (options.fps ?? 10));
  timer.unref();
  render();

  return {
    onEvent(event: RunEvent) {
      if (isBatchEvent(event)) {
        batches.set(event.batchId, { line: batchLine(event), ended: event.type === 'batch.ended' });
        return;
      }
      tracker.apply(event);
      if (event.type === 'synthesis.started' && !synthesizing) {
        synthesizing = true;
        clearInterval(timer);
        render();
        update.done();
        stream.write(`\n${styleText('bold', `Synthesis${event.model ? ` (${event.model})` : ''}`)}\n\n`);
      } else if (event.type === 'synthesis.token') {
        stream.write(event.text);
      } else if (event.type === 'synthesis.retrying') {
        stream.write(styleText('yellow', `\n[synthesis retrying in ${event.delayMs} ms: ${event.error.message}]\n`));
      }
    },
    finish() {
      clearInterval(timer);
      if (!synthesizing) {
        render();
        update.done();
      } else {
        stream.write('\n');
      }
    },
  };
}
