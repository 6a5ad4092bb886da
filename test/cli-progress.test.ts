/**
 * The CLI's progress views, fed run events directly: the live table a terminal shows and the
 * plain lines a pipe gets.
 */
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { createLiveTableView } from '../src/cli/progress/liveTable.ts';
import { createLogLinesView } from '../src/cli/progress/logLines.ts';
import { ProgressTracker } from '../src/cli/progress/tracker.ts';
import type { RunEvent, SpecialistOutcome } from '../src/index.ts';
import { emptyUsage } from '../src/usage.ts';

/** A stand-in terminal: records what was written. */
function fakeTerminal(rows = 30) {
  const chunks: string[] = [];
  const stream = {
    isTTY: true,
    columns: 120,
    rows,
    write: (chunk: string) => {
      chunks.push(chunk);
      return true;
    },
    on() {
      return stream;
    },
    off() {
      return stream;
    },
    once() {
      return stream;
    },
  };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => stripVTControlCharacters(chunks.join('')) };
}

const outcome = (id: string, status: SpecialistOutcome['status'], extra: Partial<SpecialistOutcome> = {}): SpecialistOutcome => ({
  id,
  angle: id,
  status,
  output: status === 'fulfilled' ? 'text' : null,
  error: null,
  attempts: 1,
  model: 'claude-haiku-4-5',
  usage: { ...emptyUsage(), inputTokens: 10, outputTokens: 42 },
  startedAt: 0,
  endedAt: 1500,
  ...extra,
});

const specialists = [{ id: 'historical', angle: 'Historical context' }, { id: 'technical' }, { id: 'societal' }];
const events: RunEvent[] = [
  { type: 'specialist.started', id: 'historical', model: 'claude-haiku-4-5', at: 0 },
  { type: 'specialist.started', id: 'technical', model: 'claude-haiku-4-5', at: 0 },
  { type: 'specialist.started', id: 'societal', model: 'claude-haiku-4-5', at: 0 },
  { type: 'specialist.token', id: 'historical', text: 'The first fusion experiments' },
  {
    type: 'specialist.retrying',
    id: 'technical',
    attempt: 2,
    model: 'claude-haiku-4-5',
    delayMs: 1000,
    reason: 'backoff',
    error: { kind: 'rate_limited', message: 'rate limited (429)', status: 429 },
    at: 5,
  },
  { type: 'specialist.done', id: 'historical', outcome: outcome('historical', 'fulfilled') },
  { type: 'specialist.failed', id: 'societal', outcome: outcome('societal', 'rejected', { error: { kind: 'auth', message: 'ANTHROPIC_API_KEY was rejected (401)' } }) },
];

describe('CLI progress', () => {
  it('on a terminal: one row per specialist with state, tokens, retries and errors; then the synthesis streams in', () => {
    const terminal = fakeTerminal();
    const tracker = new ProgressTracker(specialists);
    const view = createLiveTableView(tracker, terminal.stream, { title: 'Research: fusion' });
    for (const event of events) view.onEvent(event);
    view.onEvent({ type: 'synthesis.started', model: 'claude-haiku-4-5', at: 10 });
    view.onEvent({ type: 'synthesis.token', text: '## Historical context\n' });
    view.onEvent({ type: 'synthesis.token', text: 'Fusion began…' });
    view.finish();

    const text = terminal.text();
    expect(text).toContain('Research: fusion · 3 specialists');
    expect(text).toMatch(/✔ historical\s+done\s+\d+\.\ds\s+42 tok/);
    expect(text).toMatch(/↻ technical\s+retrying\s+\d+\.\ds\s+0 tok\s+retries 1\s+rate limited \(429\)/);
    expect(text).toMatch(/✖ societal\s+failed .*ANTHROPIC_API_KEY was rejected \(401\)/);
    expect(text).toContain('Synthesis (claude-haiku-4-5)\n\n## Historical context\nFusion began…');
  });

  it('with more specialists than rows: the active and latest rows, and a count of the rest', () => {
    const terminal = fakeTerminal(12);
    const many = Array.from({ length: 50 }, (_, index) => ({ id: `s${index}` }));
    const tracker = new ProgressTracker(many);
    const view = createLiveTableView(tracker, terminal.stream, { title: 'big' });
    for (const { id } of many.slice(0, 10)) view.onEvent({ type: 'specialist.started', id, model: 'm', at: 0 });
    for (const { id } of many.slice(0, 4)) view.onEvent({ type: 'specialist.done', id, outcome: outcome(id, 'fulfilled') });
    view.finish();
    const text = terminal.text();
    expect(text).toMatch(/… \d+ more · 40 queued · 6 calling · 4 done/);
    expect(text).toMatch(/s9\s+calling/);
  });

  it('without a terminal: one plain line per start, retry and end', () => {
    const lines: string[] = [];
    const view = createLogLinesView(new ProgressTracker(specialists), (line) => lines.push(line));
    for (const event of events) view.onEvent(event);
    expect(lines.map((line) => line.replace(/^\[\s*\d+\.\ds\] /, ''))).toEqual([
      'historical started on claude-haiku-4-5',
      'technical started on claude-haiku-4-5',
      'societal started on claude-haiku-4-5',
      'technical retrying in 1000 ms (attempt 2 on claude-haiku-4-5): rate limited (429)',
      'historical done in 1.5s: 1 attempt, 42 output tokens',
      'societal failed: ANTHROPIC_API_KEY was rejected (401)',
    ]);
  });

  it("on a terminal, in batch mode: each batch's latest line under the header, an ended one shown once more and then dropped", () => {
    vi.useFakeTimers();
    const terminal = fakeTerminal();
    const view = createLiveTableView(new ProgressTracker(specialists), terminal.stream, { title: 'Research: fusion' });
    const counts = { processing: 3, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    view.onEvent({ type: 'batch.submitted', batchId: 'msgbatch_01', requests: 3, bytes: 2_048, at: 0 });
    vi.advanceTimersByTime(100);
    expect(terminal.text()).toContain('batch msgbatch_01 submitted: 3 requests');
    view.onEvent({ type: 'batch.ended', batchId: 'msgbatch_01', requests: 3, counts: { ...counts, processing: 0, succeeded: 3 }, canceled: null, kept: false, at: 5 });
    vi.advanceTimersByTime(100);
    view.onEvent({ type: 'specialist.started', id: 'historical', model: 'claude-haiku-4-5', at: 0 });
    vi.advanceTimersByTime(100);
    view.finish();
    vi.useRealTimers();
    const frames = terminal.text();
    expect(frames).toMatch(/batch msgbatch_01 .*3 succeeded/);
    // Drawn once after it ended, then gone: the last frame no longer has it.
    const last = frames.slice(frames.lastIndexOf('Research: fusion'));
    expect(last).not.toContain('msgbatch_01');
  });
});
