/**
 * The CLI's view of a very large run: counts, not a row per specialist — a line at every tenth
 * settled in a log, a bar redrawn in place on a terminal — fed the events such a run emits
 * (`specialists.progress` summaries, one settled event per specialist).
 */
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createSummaryView } from '../src/cli/progress/summaryView.ts';
import type { RunEvent } from '../src/events.ts';
import { unstartedOutcome, type SpecialistOutcome } from '../src/outcome.ts';
import { emptyUsage } from '../src/usage.ts';

const N = 2_000;

const done = (i: number): RunEvent => {
  const outcome: SpecialistOutcome = { id: `s${i}`, angle: `s${i}`, status: 'fulfilled', output: 'ok', error: null, attempts: 1, model: 'm', usage: emptyUsage(), startedAt: 0, endedAt: 1 };
  return { type: 'specialist.done', id: outcome.id, outcome };
};
const failed = (i: number): RunEvent => {
  const outcome = { ...unstartedOutcome({ id: `s${i}`, angle: `s${i}` }, 'rejected', { kind: 'bad_request', message: `bad ${i}` }, 1), attempts: 1, startedAt: 0 };
  return { type: 'specialist.failed', id: outcome.id, outcome };
};
const progress = (running: number, settled: number): RunEvent => ({ type: 'specialists.progress', total: N, queued: N - running - settled, running, fulfilled: settled, unsuccessful: 0, at: 0 });

/** A run of N: all start, one in 100 fails, then the synthesis. */
function events(): RunEvent[] {
  const list: RunEvent[] = [progress(N, 0)];
  for (let i = 0; i < N; i++) {
    list.push(i % 100 === 99 ? failed(i) : done(i));
    if (i % 128 === 127) list.push(progress(N - i - 1, i + 1));
  }
  list.push({ type: 'synthesis.started', model: 'claude-sonnet-4-6', at: 2 });
  return list;
}

describe('the summary view of a very large run', () => {
  it('in a log: a line at every tenth settled, with counts and failures by kind — not a line per specialist', () => {
    const lines: string[] = [];
    const view = createSummaryView({ title: 'big', total: N, write: (line) => lines.push(...line.split('\n')) });
    for (const event of events()) view.onEvent(event);
    view.finish();

    const progressLines = lines.filter((line) => line.includes(' settled ('));
    // Ten tenths, and the summary as the synthesis starts.
    expect(progressLines).toHaveLength(11);
    expect(progressLines[0]).toMatch(/200 of 2,000 settled \(10%\) · 198 done · 2 failed · [\d,]+ running/);
    expect(progressLines.at(-1)).toMatch(/2,000 of 2,000 settled \(100%\) · 1,980 done · 20 failed · 0 running · 0 queued/);
    expect(progressLines[9]).toContain('failures: bad_request ×20');
    expect(lines.at(-1)).toMatch(/synthesis started on claude-sonnet-4-6$/);
    expect(lines.length).toBeLessThan(20);
  });

  it('on a terminal: a bar and the counts redrawn in place, the failures by kind with the latest', () => {
    let out = '';
    const tty = {
      isTTY: true,
      columns: 120,
      rows: 30,
      write: (chunk: string) => {
        out += chunk;
        return true;
      },
      on: () => tty,
      off: () => tty,
      once: () => tty,
      removeListener: () => tty,
    } as unknown as NodeJS.WriteStream;
    const view = createSummaryView({ title: 'big', total: N, tty, write: () => {} });
    for (const event of events()) view.onEvent(event);
    view.finish();

    const plain = stripVTControlCharacters(out);
    expect(plain).toContain('big · 2,000 specialists');
    expect(plain).toMatch(/█{30} 100% · 1,980 done · 20 failed · 0 running · 0 queued/);
    expect(plain).toContain('failures: bad_request ×20 · latest s1999: bad 1999');
    expect(plain).toContain('synthesizing on claude-sonnet-4-6…');
    // No row per specialist was ever drawn.
    expect(plain).not.toContain('s1500');
  });
});
