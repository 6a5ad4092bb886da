import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAppFile, parseAppFile } from '../src/appFile.ts';
import { normalizeConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

/** The ConfigError `parseAppFile` throws for `yaml`. */
function errorOf(yaml: string, task?: string): ConfigError {
  try {
    parseAppFile(yaml, 'app.yaml', { task });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const minimal = `
task: t
agents:
  - { id: a }
  - { id: b }
lead:
  specialists: [a, b]
`;

describe('app files', () => {
  it('loads the example app: agents become specialists, the synthesizer and run-wide settings apply', async () => {
    const app = await loadAppFile('examples/apps/market-scan.yaml');
    expect(app.name).toBe('Market scan');
    const { input } = normalizeConfig(app.config, app.source);
    expect(input.specialists.map((spec) => [spec.id, spec.angle, spec.models[0]])).toEqual([
      ['news', 'Recent news', 'claude-haiku-4-5'],
      ['academic', 'Academic research', 'claude-sonnet-4-6'],
      ['vendor', 'Vendor landscape', 'claude-sonnet-4-6'],
    ]);
    expect(input.specialists[0]!.policy.attemptTimeoutMs).toBe(45_000);
    expect(input.specialists[2]!.policy.retry.maxAttempts).toBe(2);
    expect(input.specialists[1]!.policy.fallbackModels).toEqual(['claude-haiku-4-5']);
    expect(input.synthesizer.models[0]).toBe('claude-opus-4-7');
    expect(input.synthesizer.maxTokens).toBe(1500);
    expect(input.deadlineMs).toBe(120_000);
    expect(input.maxConcurrency).toBe(4);
    expect(input.quorum).toBe(2);
  });

  it('takes the task from outside the file, and asks for one when there is none', () => {
    expect(parseAppFile(minimal, 'app.yaml', { task: 'other' }).config.task).toBe('other');
    const error = errorOf(minimal.replace('task: t\n', ''));
    expect(error.issues).toEqual([{ path: 'task', message: expect.stringContaining('expected the task') }]);
  });

  it('names the file, the path inside it and what was expected', () => {
    const error = errorOf(`${minimal}\ndeadline: soon\nagents_: 1\n`.replace('- { id: b }', '- { id: b, maxTokens: -5 }'));
    expect(error.message).toContain('app.yaml');
    const byPath = Object.fromEntries(error.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath['deadline']).toMatch(/expected a duration.*got "soon"/);
    expect(byPath['agents[1].maxTokens']).toMatch(/expected an integer from 1 and up, got -5/);
    expect(byPath['']).toMatch(/unknown key "agents_"/);
  });

  it('checks references: unknown and repeated ids, a sub-lead as synthesizer, cycles', () => {
    const unknown = errorOf(minimal.replace('[a, b]', '[a, c, a]'));
    expect(unknown.issues).toEqual([
      { path: 'lead.specialists[1]', message: 'expected the id of an agent in `agents` ("a", "b"), got "c"' },
      { path: 'lead.specialists[2]', message: '"a" is listed twice' },
    ]);
    const twice = errorOf(minimal.replace('- { id: b }', '- { id: a }'));
    expect(twice.issues[0]).toEqual({ path: 'agents[1].id', message: 'expected a unique id, "a" is used twice' });
    const cycle = errorOf(minimal.replace('- { id: a }', '- { id: a, specialists: [b] }').replace('- { id: b }', '- { id: b, specialists: [a] }'));
    expect(cycle.issues[0]!.message).toBe('expected no cycle of sub-leads, got a → b → a');
    const onlySubLeads = errorOf(minimal.replace('- { id: a }', '- { id: a, quorum: 1 }'));
    expect(onlySubLeads.issues[0]).toEqual({ path: 'agents[0].quorum', message: 'only a sub-lead (an agent with `specialists`) takes `quorum`' });
  });

  it('reports YAML syntax errors with line and column', () => {
    const error = errorOf('task: t\nagents: [\n');
    expect(error.issues[0]!.path).toMatch(/^line \d+, column \d+$/);
    expect(error.issues[0]!.message).toMatch(/^not valid YAML/);
  });

  it('builds N-level fan-outs from agents that list agents', () => {
    const app = parseAppFile(
      `
task: t
agents:
  - { id: plasma }
  - { id: magnets }
  - { id: physics, role: Physics, specialists: [plasma, magnets], synthesizer: editor, quorum: 1, deadline: 30s }
  - { id: editor, instructions: fold }
  - { id: economics }
lead: { specialists: [physics, economics] }
`,
      'app.yaml',
    );
    const { input } = normalizeConfig(app.config, app.source);
    const physics = input.specialists[0]!;
    expect(physics.kind).toBe('fanOut');
    expect(physics.fanOut?.specialists.map((spec) => spec.id)).toEqual(['plasma', 'magnets']);
    expect(physics.fanOut?.synthesizer.instructions).toBe('fold');
    expect(physics.fanOut?.deadlineMs).toBe(30_000);
  });

  it('reads prices, defaulting cache rates from the input price', () => {
    const app = parseAppFile(`${minimal}\nprices:\n  my-model: { input: 2, output: 10 }\n`, 'app.yaml');
    expect(app.prices['my-model']).toEqual({ input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.2 });
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'fanfold-app-'))));
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('names a missing file', async () => {
      await expect(loadAppFile(join(dir, 'nope.yaml'))).rejects.toThrow(/nope\.yaml[\s\S]*no such file/);
    });

    it('reads JSON too', async () => {
      const path = join(dir, 'app.json');
      await writeFile(path, JSON.stringify({ task: 't', agents: [{ id: 'a' }], lead: { specialists: ['a'] } }));
      expect((await loadAppFile(path)).config.specialists).toEqual([{ id: 'a' }]);
    });
  });

  it.each([
    ['agents[0].timeout', 'task: t\nagents:\n  - { id: a, timeout: 0.4ms }\nlead: { specialists: [a] }\n'],
    ['deadline', 'task: t\ndeadline: 0.4\nagents:\n  - { id: a }\nlead: { specialists: [a] }\n'],
  ])('a duration that rounds to 0 ms is rejected at the path written in the file (%s)', (path, yaml) => {
    expect(errorOf(yaml).issues.map((issue) => issue.path)).toEqual([path]);
  });

  it('a whitespace-only task is no task; an empty `task:` placeholder takes the one given outside', () => {
    expect(errorOf('task: "   "\nagents:\n  - { id: a }\nlead: { specialists: [a] }\n').issues).toEqual([{ path: 'task', message: 'expected a non-empty string, got "   "' }]);
    expect(parseAppFile('task:\nagents:\n  - { id: a }\nlead: { specialists: [a] }\n', 'app.yaml', { task: 'tides' }).config.task).toBe('tides');
  });

  it("a sub-lead's model is the default of its sub-tree; system and instructions on a sub-lead are rejected", () => {
    const yaml =
      'task: t\nmodel: claude-sonnet-4-6\nagents:\n  - { id: tech, model: claude-haiku-4-5, specialists: [turbines, grid] }\n  - { id: turbines }\n  - { id: grid, model: claude-opus-4-7 }\nlead: { specialists: [tech] }\n';
    const tech = normalizeConfig(parseAppFile(yaml, 'app.yaml').config).input.specialists[0]!;
    expect(tech.fanOut!.specialists.map((spec) => spec.models[0])).toEqual(['claude-haiku-4-5', 'claude-opus-4-7']);
    expect(tech.fanOut!.synthesizer.models[0]).toBe('claude-haiku-4-5');
    const withInstructions = errorOf(yaml.replace('specialists: [turbines, grid] }', 'specialists: [turbines, grid], instructions: Only turbines. }'));
    expect(withInstructions.issues).toEqual([{ path: 'agents[0].instructions', message: 'a sub-lead makes no model call of its own: put `instructions` on its synthesizer or its specialists' }]);
  });

  it('agents shared by sub-leads are counted as expanded: past 100,000 specialists the file is rejected', () => {
    // Each level lists both agents of the next: 2 + 4 + … doubles per level.
    const agents: string[] = [];
    const levels = 17;
    for (let level = 0; level < levels; level++) {
      for (const name of ['a', 'b']) agents.push(level === levels - 1 ? `  - { id: ${name}${level} }` : `  - { id: ${name}${level}, specialists: [a${level + 1}, b${level + 1}] }`);
    }
    const error = errorOf(`task: t\nagents:\n${agents.join('\n')}\nlead:\n  specialists: [a0, b0]\n`);
    expect(error.issues).toEqual([{ path: 'lead.specialists', message: `expands to ${2 ** (levels + 1) - 2} specialists, more than 100000: agents listed by several sub-leads are copied into each` }]);
  });
});
