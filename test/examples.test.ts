/**
 * Every example in the README runs offline with its one command (no key: the built-in
 * simulator answers) and prints what it promises.
 */
import { describe, expect, it } from 'vitest';
import { runNode, type ProcessRun } from './support.ts';

function example(script: string, args: string[] = []): Promise<ProcessRun> {
  return runNode(['--import', 'tsx', script, ...args]);
}

const SIMULATED = /^SIMULATED: offline run against fanfold's built-in simulator/;

describe('examples, offline', () => {
  it.concurrent('research: three explorers with web tools, four sections and their sources, the wall time reported against the slowest and the sum', async () => {
    const { code, stdout } = await example('examples/research.ts', ['nuclear fusion']);
    expect(code).toBe(0);
    expect(stdout).toMatch(SIMULATED);
    // Four sections, then the sources the explorers' web searches found.
    expect(stdout.match(/^## .+$/gm)).toEqual(['## Historical context', '## Technical details', '## Societal impact', '## Cross-cutting synthesis', '## Sources']);
    const [, wall, slowest, sum] = /wall (\d+) ms \(slowest specialist (\d+) ms, all specialists summed (\d+) ms\)/.exec(stdout) ?? [];
    expect(Number(wall)).toBeGreaterThan(Number(slowest));
    expect(Number(sum)).toBeGreaterThan(Number(slowest));
    expect(stdout).toContain('done · 7 model calls');
  });

  it.concurrent('planner: the planner proposes angles, they fan out, one section each', async () => {
    const { code, stdout } = await example('examples/planner-angles.ts', ['urban heat islands']);
    expect(code).toBe(0);
    expect(stdout).toMatch(SIMULATED);
    const angles = [...stdout.matchAll(/^ {2}- ([a-z0-9-]+): (.+)$/gm)].map((match) => match[2]);
    expect(angles).toHaveLength(4);
    for (const angle of angles) expect(stdout).toContain(`## ${angle}`);
    expect(stdout).toContain('done · 6 model calls (1 planner + 5)');
  });

  it.concurrent('summarise: one summary per file in the folder (4 at a time), then an overview', async () => {
    const { code, stdout } = await example('examples/summarise-folder.ts', ['examples/corpus']);
    expect(code).toBe(0);
    expect(stdout).toContain('Summarising 6 files from examples/corpus, 4 at a time');
    for (const name of ['demand-response.txt', 'green-hydrogen.txt', 'grid-batteries.txt', 'heat-pumps.txt', 'offshore-wind.txt', 'tidal-power.txt'])
      expect(stdout).toMatch(new RegExp(`## ${name}\\n\\[Simulated summary\\] `));
    expect(stdout).toContain('Grid batteries store electricity when it is plentiful');
    expect(stdout).toContain('## Overview');
    expect(stdout).toContain('done · 7 model calls');
  });

  it.concurrent('health checks: a non-LLM fan-out over loopback servers', async () => {
    const { code, stdout } = await example('examples/health-checks.ts');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^eu-west: 200 in \d+ ms$/m);
    expect(stdout).toMatch(/^us-east: 200 in \d+ ms$/m);
    // The failing region is retried once, then reported, without costing the others.
    expect(stdout).toContain('ap-south: DOWN (HTTP 503 on attempt 2)');
    expect(stdout).toMatch(/^status partial in \d+ ms$/m);
  });

  it.concurrent('resume: a run killed with SIGKILL is resumed; finished specialists are not called again', async () => {
    const { code, stdout } = await example('examples/resume-after-crash.ts');
    expect(code).toBe(0);
    expect(stdout).toContain('kept angle-1, angle-2, angle-3; running angle-4, angle-5, angle-6');
    expect(stdout).toContain('Calls after the resume: angle-4, angle-5, angle-6, synthesizer. Repeated calls for finished specialists: 0.');
    expect(stdout).toContain('done: 6 of 6 angles in the synthesis.');
  });

  it.concurrent('embedding: the lead machine under createActor reaches done', async () => {
    const { code, stdout } = await example('examples/embed-machine.ts');
    expect(code).toBe(0);
    expect(stdout).toContain('state: "synthesizing"');
    expect(stdout).toMatch(/\ndone: /);
  });
});
