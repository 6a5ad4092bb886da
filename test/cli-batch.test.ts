/**
 * `--batch` and `batch:` in app files, through the built CLI as a child process, offline (no
 * key: the built-in simulator, which serves the batch endpoints): specialists' calls go through
 * one batch, the progress lines follow it, and the cost line prices batched tokens at half.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonRunResult } from '../src/cli/jsonResult.ts';
import { estimateCostUsd } from '../src/pricing/cost.ts';
import type { Usage } from '../src/usage.ts';
import { runNode } from './support.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function appFile(yaml: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'fanfold-cli-batch-'));
  const path = join(dir, 'app.yaml');
  await writeFile(path, yaml);
  return path;
}

const fullPrice = (usage: Usage, model: string) => estimateCostUsd({ ...usage, batched: undefined } as unknown as Usage, model)!;

describe('fanfold --batch, offline', () => {
  it('research --batch --json: one batch for the three specialists, batched usage at half price, the synthesis streamed', async () => {
    const { code, stdout, stderr } = await runNode([BIN, 'research', 'tidal power', '--batch', '--no-tools', '--no-checkpoint', '--json']);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^SIMULATED: offline run/);
    // Progress (stderr with --json): the batch's lines between the starts and the ends.
    expect(stderr).toMatch(/\] batch msgbatch_sim_000001 submitted: 3 requests \([\d.]+ KB\)\n/);
    expect(stderr).toMatch(/\] batch msgbatch_sim_000001 ended: 3 succeeded\n/);
    const json = JSON.parse(stdout) as JsonRunResult;
    expect(json.status).toBe('done');
    expect(json.modelCalls).toBe(4);
    let total = 0;
    for (const specialist of json.specialists) {
      const { inputTokens, outputTokens, cacheCreationInputTokens, cacheReadInputTokens } = specialist.usage;
      expect(specialist.usage.batched).toEqual({ inputTokens, outputTokens, cacheCreationInputTokens, cacheReadInputTokens });
      expect(specialist.costUsd).toBeCloseTo(fullPrice(specialist.usage, specialist.model!) / 2, 12);
      total += specialist.costUsd!;
    }
    expect(json.synthesizer!.usage.batched).toBeUndefined();
    expect(json.synthesizer!.costUsd).toBeCloseTo(fullPrice(json.synthesizer!.usage, json.synthesizer!.model!), 12);
    total += json.synthesizer!.costUsd!;
    // The cost line is the sum of the lines: batched ones at half.
    expect(json.costUsd).toBeCloseTo(total, 6);
    expect(json.usage.batched!.outputTokens).toBe(json.specialists.reduce((sum, specialist) => sum + specialist.usage.outputTokens, 0));
  }, 30_000);

  it('run with `batch:` in the app file: log lines per batch and the batch summary under the report', async () => {
    const file = await appFile(
      [
        'name: Batched scan',
        'task: Home batteries in Europe',
        'batch: { gatherMs: 200, pollMs: 300 }',
        'agents:',
        '  - { id: news, role: Recent news }',
        '  - { id: academic, role: Academic research }',
        '  - { id: analyst, role: Lead analyst }',
        'lead:',
        '  specialists: [news, academic]',
        '  synthesizer: analyst',
        '',
      ].join('\n'),
    );
    const { code, stdout } = await runNode([BIN, 'run', file, '--no-checkpoint']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\] batch msgbatch_sim_000001 submitted: 2 requests/);
    expect(stdout).toContain('Batch mode: 1 batch, 2 requests read (2 succeeded); batched calls are priced at half.');
    expect(stdout).toMatch(/DONE · wall .* · 3 model calls · est\. \$/);
  }, 30_000);

  it('a bad `batch:` in an app file is exit 2, naming the file, the path and what was expected', async () => {
    const file = await appFile(['task: x', 'batch: { maxRequests: 200000, every: 2s }', 'agents: [{ id: a }]', 'lead: { specialists: [a] }', ''].join('\n'));
    const { code, stderr } = await runNode([BIN, 'run', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      [`Invalid fanfold config in ${file}:`, "  - batch.maxRequests: expected an integer from 1 to 100000 (the API's limit), got 200000", '  - batch: unknown key "every"'].join('\n'),
    );
  });
});
