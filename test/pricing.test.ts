import { describe, expect, it } from 'vitest';
import { costOfRun, estimateCostUsd, priceOf } from '../src/pricing/cost.ts';
import { DEFAULT_PRICES } from '../src/pricing/prices.ts';
import type { SpecialistOutcome } from '../src/outcome.ts';
import { emptyUsage, type Usage } from '../src/usage.ts';

const usage = (parts: Partial<Usage>): Usage => ({ ...emptyUsage(), ...parts });
const outcome = (id: string, model: string | null, parts: Partial<Usage>, extra: Partial<SpecialistOutcome> = {}): SpecialistOutcome => ({
  id,
  angle: id,
  status: 'fulfilled',
  output: 'x',
  error: null,
  attempts: 1,
  model,
  usage: usage(parts),
  startedAt: 0,
  endedAt: 1,
  ...extra,
});

describe('pricing', () => {
  it('prices input, output, cache writes and cache reads per million tokens', () => {
    // Sonnet: $3 in, $15 out, $3.75 cache write, $0.30 cache read.
    const cost = estimateCostUsd(usage({ inputTokens: 1_000_000, outputTokens: 100_000, cacheCreationInputTokens: 200_000, cacheReadInputTokens: 1_000_000 }), 'claude-sonnet-4-6');
    expect(cost).toBeCloseTo(3 + 1.5 + 0.75 + 0.3, 10);
  });

  it('matches dated model ids to their family entry, and says null for unknown models', () => {
    expect(priceOf('claude-haiku-4-5-20251001')).toBe(DEFAULT_PRICES['claude-haiku-4-5']);
    expect(estimateCostUsd(usage({ inputTokens: 10 }), 'gpt-unknown')).toBeNull();
    expect(estimateCostUsd(usage({ inputTokens: 10 }), null)).toBeNull();
  });

  it('sums a run per specialist and in total, naming models it could not price', () => {
    const report = costOfRun({
      outcomes: [outcome('a', 'claude-haiku-4-5', { inputTokens: 1000, outputTokens: 200 }), outcome('b', 'mystery-model', { inputTokens: 500, outputTokens: 100 })],
      synthesizer: outcome('synthesizer', 'claude-opus-4-7', { inputTokens: 2000, outputTokens: 1000 }),
    });
    expect(report.specialists[0]!.costUsd).toBeCloseTo((1000 * 1 + 200 * 5) / 1e6, 12);
    expect(report.specialists[1]!.costUsd).toBeNull();
    expect(report.synthesizer!.costUsd).toBeCloseTo((2000 * 5 + 1000 * 25) / 1e6, 12);
    expect(report.total.costUsd).toBeCloseTo((2000 + 35_000) / 1e6, 12);
    expect(report.total.usage.inputTokens).toBe(3500);
    expect(report.unpricedModels).toEqual(['mystery-model']);
  });

  it('prices a sub-lead as its sub-specialists plus its own synthesis', () => {
    const sub = outcome(
      'physics',
      'claude-opus-4-7',
      { inputTokens: 3000, outputTokens: 1100 },
      {
        subOutcomes: [outcome('plasma', 'claude-haiku-4-5', { inputTokens: 1000, outputTokens: 100 })],
      },
    );
    const report = costOfRun({ outcomes: [sub], synthesizer: null });
    // Plasma on haiku, the rest (2000 in, 1000 out) on opus.
    expect(report.specialists[0]!.costUsd).toBeCloseTo((1000 + 500) / 1e6 + (2000 * 5 + 1000 * 25) / 1e6, 12);
  });
});
