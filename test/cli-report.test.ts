/**
 * The report after a run: one row per specialist, sub-specialists by path under their sub-lead.
 */
import { describe, expect, it } from 'vitest';
import { toJsonResult } from '../src/cli/jsonResult.ts';
import { formatReport } from '../src/cli/report.ts';
import { DEFAULT_PRICES } from '../src/pricing/prices.ts';
import { buildRunResult } from '../src/result.ts';
import type { SpecialistOutcome } from '../src/outcome.ts';
import { emptyUsage } from '../src/usage.ts';

const outcome = (id: string, status: SpecialistOutcome['status'], extra: Partial<SpecialistOutcome> = {}): SpecialistOutcome => ({
  id,
  angle: id,
  status,
  output: status === 'fulfilled' ? 'text' : null,
  error: status === 'fulfilled' ? null : { kind: 'deadline', message: 'the deadline passed' },
  attempts: 1,
  model: 'claude-haiku-4-5',
  usage: { ...emptyUsage(), inputTokens: 100, outputTokens: 50 },
  startedAt: 0,
  endedAt: 1000,
  ...extra,
});

describe('CLI report', () => {
  it('lists sub-specialists by path under their sub-lead, and names what is missing below it', () => {
    const technical = outcome('technical', 'fulfilled', { attempts: 3, subOutcomes: [outcome('plasma', 'fulfilled'), outcome('fuel', 'timedOut')] });
    const result = buildRunResult({
      status: 'partial',
      task: 't',
      outcomes: [outcome('historical', 'fulfilled'), technical],
      synthesizer: outcome('synthesizer', 'fulfilled'),
      error: null,
      startedAt: 0,
      modelKinds: [true, true],
      synthesizerIsModel: true,
    });
    const text = formatReport(toJsonResult(result, 'simulator', DEFAULT_PRICES), { includeSynthesis: false, color: false });
    const lines = text.split('\n');
    const table = lines.slice(lines.indexOf('Specialists') + 1, lines.indexOf('', lines.indexOf('Specialists')));
    expect(table.map((line) => line.trim().split(/\s+/)[0])).toEqual(['id', 'historical', 'technical', 'technical/plasma', 'technical/fuel', 'synthesizer', 'total']);
    expect(table[4]).toMatch(/^ {2}technical\/fuel\s+timedOut\s+claude-haiku-4-5\s+1\s+-\s+-\s+1\.0s\s+100\s+50\s+\$0\.0003\s+the deadline passed$/);
    expect(text).toContain('Missing angles (1):\n  - technical/fuel (fuel): the deadline passed');
  });
});
