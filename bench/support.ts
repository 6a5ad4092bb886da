/**
 * What the benchmarks share: the fan-out they all run, and how they summarise rounds.
 */
import type { FanOutConfig } from '../src/index.ts';

/** The median of a list of timings. */
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A synthesizer that folds instantly, so a bench measures the fan-out alone. */
export const instantFold: NonNullable<FanOutConfig['synthesizer']> = { run: async ({ outcomes }) => `${outcomes?.length ?? 0} findings` };

/** N specialists `s0…s(N-1)` on one scripted model, with a model synthesizer unless one is given. */
export function benchConfig(n: number, overrides: Partial<FanOutConfig> = {}): FanOutConfig {
  return {
    task: 'bench',
    model: 'bench-model',
    maxTokens: 64,
    specialists: Array.from({ length: n }, (_, i) => ({ id: `s${i}` })),
    deadlineMs: 60_000,
    ...overrides,
  };
}
