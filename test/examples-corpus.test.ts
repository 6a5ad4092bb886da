/**
 * The batch-mode example runs offline with its one command (`npm run example:corpus`): it makes
 * its corpus, summarises every file through one Message Batch, folds the shelves and streams an
 * overview. A small corpus here (`--files`), the same code path as the 20,000 files it defaults to.
 */
import { describe, expect, it } from 'vitest';
import { runNode } from './support.ts';

describe('examples, offline: summarise-corpus (batch mode)', () => {
  it('generates the corpus, summarises it in one batch, folds 20 shelves and writes the overview', async () => {
    const { code, stdout } = await runNode(['--import', 'tsx', 'examples/summarise-corpus.ts', '--files', '120']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^SIMULATED: offline run against fanfold's built-in simulator/);
    expect(stdout).toMatch(/(Generated|Reusing) 120 files in 20 shelves under build\/corpus\/120/);
    expect(stdout).toMatch(/\] batch msgbatch_sim_000001 submitted: 120 requests/);
    expect(stdout).toMatch(/\] batch msgbatch_sim_000001 ended: 120 succeeded, 0 errored, 0 expired, 0 canceled/);
    expect(stdout.match(/^## shelf-\d\d: .+$/gm)).toHaveLength(20);
    expect(stdout).toContain('shelf-01 holds 6 field reports on tidal power; 6 were summarised.');
    const [, cost, streamed] = /done · 121 model calls: 120 batched in 1 batch, 1 streamed · wall [\d.]+ s · est\. \$([\d.]+) \(streamed it would be \$([\d.]+)\)/.exec(stdout) ?? [];
    expect(Number(cost)).toBeGreaterThan(0);
    expect(Number(streamed)).toBeGreaterThan(Number(cost));
  }, 60_000);
});
