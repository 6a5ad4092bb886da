/**
 * The model lead from the command line (the built bin in a child process): the pattern's
 * app.yaml run as written, `research --lead model`, and credentials — resolved from the
 * environment, refused with exit 2 (naming them, never a key) when they resolve to nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonRunResult } from '../src/cli/jsonResult.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/simulator/index.ts';
import { runNode, type ProcessRun } from './support.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');
const PATTERN = join(import.meta.dirname, '..', 'examples', 'apps', 'research-pattern.yaml');
const MAIN_KEY = 'sk-ant-main-credential-never-print';

function fanfold(args: string[], env: Record<string, string> = {}): Promise<ProcessRun> {
  return runNode([BIN, ...args], env);
}

let sim: Simulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ latency: { firstTokenMs: 0, tokensPerSecond: Infinity }, ...options });
  return sim;
}

/** The pattern's file with a `credentials:` map in front. */
async function withCredentials(map: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'fanfold-cli-lead-'));
  const { readFile } = await import('node:fs/promises');
  const path = join(dir, 'app.yaml');
  await writeFile(path, `credentials:\n${map}\n${await readFile(PATTERN, 'utf8')}`);
  return path;
}

describe('fanfold with a model lead', () => {
  it.concurrent('run: the pattern app.yaml as written, offline — three explorers spawned, joined, and a synthesis citing their sources', async () => {
    const { code, stdout, stderr } = await fanfold(['run', PATTERN, 'nuclear fusion', '--json', '--no-checkpoint']);
    expect(stderr).toMatch(/^SIMULATED: offline run/);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as JsonRunResult;
    expect(result).toMatchObject({ status: 'done', backend: 'simulator', task: 'nuclear fusion', error: null, missing: [] });
    // Every spawned specialist with the brief it was given and its round.
    expect(result.lead!.spawned.map((spawn) => [spawn.id, spawn.template, spawn.round, spawn.status])).toEqual([
      ['explorer-1', 'explorer', 1, 'fulfilled'],
      ['explorer-2', 'explorer', 1, 'fulfilled'],
      ['explorer-3', 'explorer', 1, 'fulfilled'],
    ]);
    for (const spawn of result.lead!.spawned) expect(spawn.prompt).toMatch(/^Research nuclear fusion from (news|academic|vendor) sources/);
    expect(result.specialists.map((entry) => [entry.id, entry.model, entry.turns])).toEqual([
      ['explorer-1', 'claude-haiku-4-5', 2],
      ['explorer-2', 'claude-haiku-4-5', 2],
      ['explorer-3', 'claude-haiku-4-5', 2],
    ]);
    for (const entry of result.specialists) expect(entry.toolCalls!.map((call) => call.name)).toEqual(['web_search', 'web_fetch']);
    // The lead wrote the synthesis: it is the synthesizer, with its spawn and join calls.
    expect(result.lead!.agent).toMatchObject({ id: 'lead', model: 'claude-sonnet-4-6', status: 'fulfilled', turns: 3 });
    expect(result.lead!.agent!.toolCalls!.map((call) => call.name)).toEqual(['Agent', 'Agent', 'Agent', 'Agent']);
    expect(result.synthesizer!.id).toBe('lead');
    expect(result.synthesis!.match(/^## .+$/gm)).toEqual(['## News sources', '## Academic sources', '## Vendor sources', '## Cross-cutting synthesis', '## Sources']);
    expect(result.synthesis).toMatch(/^1\. \[Simulated\] .+ — https:\/\/[a-z0-9.-]+\.fanfold-sim\.example\//m);
    expect(result.modelCalls).toBe(3 * 2 + 3);
    expect(result.costUsd).toBeGreaterThan(0);
  });

  it.concurrent('run, piped: the spawns, the join and the lead show as progress lines; the report lists what was spawned', async () => {
    const { code, stdout } = await fanfold(['run', PATTERN, 'nuclear fusion', '--no-checkpoint']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\[\s*\d+\.\ds\] lead spawned explorer-1 \(explorer, round 1\): News sources$/m);
    expect(stdout).toMatch(/^\[\s*\d+\.\ds\] lead waits for explorer-1, explorer-2, explorer-3$/m);
    expect(stdout).toMatch(/^\[\s*\d+\.\ds\] lead joined explorer-1 \(fulfilled\), explorer-2 \(fulfilled\), explorer-3 \(fulfilled\)$/m);
    expect(stdout).toContain('Spawned by the lead (3 in 1 round)');
    expect(stdout).toMatch(/explorer-2 · round 1 · fulfilled · Academic sources: Research nuclear fusion from academic sources/);
    expect(stdout).toMatch(/DONE · wall \d+\.\ds · slowest specialist \d+\.\ds, all specialists summed \d+\.\ds, lead \d+\.\ds over 3 turns · 9 model calls/);
  });

  it.concurrent('research --lead model: the lead decides the angles and spawns explorers with web tools', async () => {
    const { code, stdout } = await fanfold(['research', 'tidal', 'power', '--lead', 'model', '--json', '--no-checkpoint']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as JsonRunResult;
    expect(result.status).toBe('done');
    expect(result.lead!.spawned.length).toBeGreaterThanOrEqual(2);
    expect(result.lead!.spawned.length).toBeLessThanOrEqual(4);
    for (const entry of result.specialists) expect(entry.toolCalls!.length).toBeGreaterThan(0);
    expect(result.synthesis).toContain('## Cross-cutting synthesis');
  });

  it('a credential mapped to a variable that is not set, with a key set: exit 2 naming it, no request, no key printed', async () => {
    const server = await simulator();
    const file = await withCredentials('  anthropic_main: FANFOLD_TEST_MAIN_KEY');
    const { code, stdout, stderr } = await fanfold(['run', file, 'nuclear fusion', '--no-checkpoint'], { ANTHROPIC_API_KEY: MAIN_KEY, ANTHROPIC_BASE_URL: server.url });
    expect(code).toBe(2);
    expect(stderr).toContain(`Invalid fanfold config in ${file}:`);
    expect(stderr).toContain(
      '- agents[0].brain.credential: credential "anthropic_main" resolves to no key: the file\'s `credentials` map it to the environment variable FANFOLD_TEST_MAIN_KEY, which is not set',
    );
    expect(stderr).toContain('- agents[1].brain.credential:');
    expect(`${stdout}${stderr}`).not.toContain(MAIN_KEY);
    expect(server.requests).toHaveLength(0);
  });

  it('a credential read from its own variable: every call carries that key (and no key is printed)', async () => {
    // The simulator answers only requests that carry this key.
    const server = await simulator({ apiKey: MAIN_KEY });
    const file = await withCredentials('  anthropic_main: { env: FANFOLD_TEST_MAIN_KEY }');
    const { code, stdout, stderr } = await fanfold(['run', file, 'nuclear fusion', '--json', '--no-checkpoint'], { FANFOLD_TEST_MAIN_KEY: MAIN_KEY, ANTHROPIC_BASE_URL: server.url });
    expect(stderr.split('\n')[0]).toBe(`Calling the Anthropic API at ${server.url} (FANFOLD_TEST_MAIN_KEY is set).`);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as JsonRunResult).status).toBe('done');
    expect(server.requests.length).toBe(9);
    expect(server.requests.every((request) => request.status === 200)).toBe(true);
    expect(`${stdout}${stderr}`).not.toContain(MAIN_KEY);
  });

  it('an unknown module or a tool its module lacks: exit 2 naming the paths, no request', async () => {
    dir ??= await mkdtemp(join(tmpdir(), 'fanfold-cli-lead-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'modules:',
        '  web: {}',
        '  browser: {}',
        '  agent_spawn: {}',
        'agents:',
        '  - id: lead',
        '    modules: [{agent_spawn: [Agent]}]',
        '  - id: explorer',
        '    role: specialist',
        '    modules: [{web: [search, crawl]}]',
      ].join('\n'),
    );
    const server = await simulator();
    const { code, stderr } = await fanfold(['run', file, 'x', '--no-checkpoint'], { ANTHROPIC_API_KEY: MAIN_KEY, ANTHROPIC_BASE_URL: server.url });
    expect(code).toBe(2);
    expect(stderr).toMatch(/- modules\.browser: .*"web", "agent_spawn"/);
    expect(stderr).toMatch(/- agents\[1\]\.modules\[0\]\.web\[1\]: .*"search", "fetch".*"crawl"/);
    expect(server.requests).toHaveLength(0);
  });
});
