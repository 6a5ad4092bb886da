import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadAppFile, parseAppFile } from '../src/appFile.ts';
import { normalizeConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { isPatternApp } from '../src/patternApp.ts';

/** The ConfigError `parseAppFile` throws for `yaml`. */
function errorOf(yaml: string, options: { task?: string } = { task: 't' }): ConfigError {
  try {
    parseAppFile(yaml, 'app.yaml', options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** The issues of `yaml`'s ConfigError, by path. */
function issuesOf(yaml: string): Record<string, string> {
  return Object.fromEntries(errorOf(yaml).issues.map((issue) => [issue.path, issue.message]));
}

/** A lead and one explorer, in the pattern format; tests edit it. */
const app = `
modules:
  web: {}
  agent_spawn: {}
agents:
  - id: lead
    modules: [{agent_spawn: [Agent]}]
    brain: { model: claude-sonnet-4-6 }
    system_prompt: Dispatch explorers.
  - id: explorer
    modules: [{web: [search, fetch]}]
    brain: { model: claude-haiku-4-5 }
    system_prompt: Find sources.
`;

const example = `modules:
  web: {}
  agent_spawn: {}

agents:
  - id: lead
    modules: [{agent_spawn: [Agent]}]
    brain: { model: claude-sonnet-4-6, credential: anthropic_main }
    system_prompt: |
      For research tasks, dispatch THREE explorer sub-agents in parallel,
      one per source domain (news, academic, vendor). Then call
      Agent(agent_ids=[id1,id2,id3]) to wait for all, then synthesize.

  - id: explorer
    role: specialist
    modules: [{web: [search, fetch]}]
    brain: { model: claude-haiku-4-5, credential: anthropic_main }
    system_prompt: "Find 3-5 sources for the topic. Return facts and citations."
`;

describe('pattern-format app files', () => {
  it('loads the example: a model lead with its brain and prompt, the explorer as its template', async () => {
    expect(await readFile('examples/apps/research-pattern.yaml', 'utf8')).toBe(example);
    const loaded = await loadAppFile('examples/apps/research-pattern.yaml', { task: 'nuclear fusion' });
    const { config } = loaded;
    expect(config.task).toBe('nuclear fusion');
    expect(config.model).toBeUndefined();
    expect(config.lead).toEqual({
      model: 'claude-sonnet-4-6',
      credential: 'anthropic_main',
      system:
        'For research tasks, dispatch THREE explorer sub-agents in parallel,\none per source domain (news, academic, vendor). Then call\nAgent(agent_ids=[id1,id2,id3]) to wait for all, then synthesize.\n',
    });
    expect(config.specialists).toEqual([
      {
        id: 'explorer',
        model: 'claude-haiku-4-5',
        credential: 'anthropic_main',
        system: 'Find 3-5 sources for the topic. Return facts and citations.',
        tools: ['web_search', 'web_fetch'],
      },
    ]);
    expect(config.synthesizer).toBeUndefined();
    expect(loaded.credentials).toEqual({
      map: {},
      used: [
        { name: 'anthropic_main', path: 'agents[0].brain.credential' },
        { name: 'anthropic_main', path: 'agents[1].brain.credential' },
      ],
    });
    const { input } = normalizeConfig(config, loaded.source);
    expect(input.lead?.templates[0]?.id).toBe('explorer');
    expect(input.lead?.templates[0]?.tools.map((tool) => tool.source === 'server' && tool.name)).toEqual(['web_search', 'web_fetch']);
    expect(input.lead?.agent.models[0]).toBe('claude-sonnet-4-6');
    expect(input.lead?.agent.credential).toBe('anthropic_main');
    expect(input.lead?.synthesize).toBe('lead');
  });

  it("is told apart from fanfold's own format by `modules`, or an agent's `brain`, `modules` or `system_prompt`", () => {
    expect(isPatternApp({ modules: {}, agents: [] })).toBe(true);
    expect(isPatternApp({ agents: [{ id: 'a' }, { id: 'b', system_prompt: 'x' }] })).toBe(true);
    expect(isPatternApp({ agents: [{ id: 'a', system: 'x' }], lead: { specialists: ['a'] } })).toBe(false);
    expect(isPatternApp([{ modules: {} }])).toBe(false);
    // fanfold's own format is read as before.
    const fanfold = parseAppFile('task: t\nagents:\n  - { id: a, role: Angle A }\nlead: { specialists: [a] }\n', 'app.yaml');
    expect(fanfold.config).toEqual({ task: 't', specialists: [{ id: 'a', angle: 'Angle A' }] });
    expect(fanfold.credentials).toBeUndefined();
  });

  it("takes the task the way fanfold's format does: from outside the file first, asking for one when there is none", () => {
    expect(parseAppFile(`task: in the file\n${app}`, 'app.yaml').config.task).toBe('in the file');
    expect(parseAppFile(`task: in the file\n${app}`, 'app.yaml', { task: 'outside' }).config.task).toBe('outside');
    expect(parseAppFile(`task:\n${app}`, 'app.yaml', { task: 'outside' }).config.task).toBe('outside');
    expect(errorOf(app, {}).issues).toEqual([{ path: 'task', message: 'expected the task: set `task` in the file, or give it on the command line' }]);
    expect(errorOf(`task: "  "\n${app}`, {}).issues).toEqual([{ path: 'task', message: 'expected a non-empty string, got "  "' }]);
  });

  it("maps the web module's options onto every agent's web tools", () => {
    const yaml = app
      .replace('  web: {}', '  web:\n    search: { max_uses: 3, allowed_domains: [nature.com, arxiv.org] }\n    fetch: { blocked_domains: [example.com] }')
      .replace('[{agent_spawn: [Agent]}]', '[{agent_spawn: [Agent]}, {web: [search]}]');
    const { config } = parseAppFile(yaml, 'app.yaml', { task: 't' });
    expect(config.specialists[0]!.tools).toEqual([
      { type: 'web_search', maxUses: 3, allowedDomains: ['nature.com', 'arxiv.org'] },
      { type: 'web_fetch', blockedDomains: ['example.com'] },
    ]);
    expect(config.lead!.tools).toEqual([{ type: 'web_search', maxUses: 3, allowedDomains: ['nature.com', 'arxiv.org'] }]);
    const { input } = normalizeConfig(config);
    expect(input.lead!.agent.tools).toEqual([
      { source: 'server', name: 'web_search', maxUses: 3, allowedDomains: ['nature.com', 'arxiv.org'], blockedDomains: null },
      { source: 'agent', templates: ['explorer'] },
    ]);
    // A module by name: all its tools.
    expect(parseAppFile(app.replace('[{web: [search, fetch]}]', '[web]'), 'app.yaml', { task: 't' }).config.specialists[0]!.tools).toEqual(['web_search', 'web_fetch']);
  });

  it("maps agent_spawn's options onto the lead, and the agents' other fields onto the run config", () => {
    const yaml = `
name: Research
deadline: 2m
concurrency: 4
quorum: 2
credentials:
  main: ANTHROPIC_MAIN_KEY
  cheap: { env: CHEAP_KEY }
modules:
  web:
  agent_spawn: { max_agents: 6, max_rounds: 2, agent_deadline: 30s }
agents:
  - id: boss
    role: lead
    modules: [agent_spawn]
    brain: { model: claude-opus-4-7, credential: main, max_tokens: 4000 }
    system_prompt: Plan.
    instructions: Three angles.
    timeout: 90s
  - id: news
    description: Recent news
    modules: [web]
    brain: { credential: cheap }
    instructions: Last year only.
    policy: { retry: { maxAttempts: 2 } }
  - id: academic
    timeout: 45s
`;
    const loaded = parseAppFile(yaml, 'app.yaml', { task: 't' });
    expect(loaded.name).toBe('Research');
    expect(loaded.config).toEqual({
      task: 't',
      lead: {
        model: 'claude-opus-4-7',
        credential: 'main',
        maxTokens: 4000,
        system: 'Plan.',
        instructions: 'Three angles.',
        policy: { attemptTimeoutMs: 90_000 },
        maxSpecialists: 6,
        maxRounds: 2,
        agentDeadlineMs: 30_000,
      },
      specialists: [
        { id: 'news', angle: 'Recent news', credential: 'cheap', instructions: 'Last year only.', policy: { retry: { maxAttempts: 2 } }, tools: ['web_search', 'web_fetch'] },
        { id: 'academic', policy: { attemptTimeoutMs: 45_000 } },
      ],
      deadlineMs: 120_000,
      maxConcurrency: 4,
      quorum: 2,
    });
    expect(loaded.credentials).toEqual({
      map: { main: 'ANTHROPIC_MAIN_KEY', cheap: 'CHEAP_KEY' },
      used: [
        { name: 'main', path: 'agents[0].brain.credential' },
        { name: 'cheap', path: 'agents[1].brain.credential' },
      ],
    });
    const { input } = normalizeConfig(loaded.config);
    expect(input.lead).toMatchObject({ maxSpecialists: 6, maxRounds: 2, agentDeadlineMs: 30_000, synthesize: 'lead' });
    // An agent without `brain.model` gets fanfold's default.
    expect(input.lead!.templates.map((spec) => [spec.id, spec.angle, spec.models[0]])).toEqual([
      ['news', 'Recent news', 'claude-sonnet-4-6'],
      ['academic', 'academic', 'claude-sonnet-4-6'],
    ]);
  });

  it("a `role: synthesizer` agent becomes the run's synthesizer, and the lead hands it the fold", () => {
    const yaml = `${app}  - id: writer\n    role: synthesizer\n    brain: { model: claude-opus-4-7, max_tokens: 1500 }\n    instructions: Four sections.\n`;
    const { config } = parseAppFile(yaml, 'app.yaml', { task: 't' });
    expect(config.synthesizer).toEqual({ model: 'claude-opus-4-7', maxTokens: 1500, instructions: 'Four sections.' });
    expect(config.lead!.synthesize).toBe('synthesizer');
    expect(config.specialists.map((spec) => spec.id)).toEqual(['explorer']);
    expect(normalizeConfig(config).input.synthesizer.models[0]).toBe('claude-opus-4-7');
    // agent_spawn's `synthesize` has the last word.
    const lead = parseAppFile(yaml.replace('agent_spawn: {}', 'agent_spawn: { synthesize: lead }'), 'app.yaml', { task: 't' });
    expect(lead.config.lead!.synthesize).toBe('lead');
  });

  it('reads JSON too, from disk', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'fanfold-pattern-'));
    try {
      const path = join(dir, 'app.json');
      await writeFile(
        path,
        JSON.stringify({
          task: 't',
          modules: { agent_spawn: {} },
          agents: [
            { id: 'lead', modules: ['agent_spawn'] },
            { id: 'helper', system_prompt: 'Help.' },
          ],
        }),
      );
      expect((await loadAppFile(path)).config).toEqual({ task: 't', lead: {}, specialists: [{ id: 'helper', system: 'Help.' }] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('errors name the file, the path in it and what was expected', () => {
    it('an unknown module, at the top and in an agent', () => {
      const error = errorOf(app.replace('  agent_spawn: {}', '  agent_spawn: {}\n  browser: {}').replace('[{web: [search, fetch]}]', '[web, browser]'));
      expect(error.message).toContain('app.yaml');
      expect(error.issues).toEqual([
        { path: 'modules.browser', message: 'unknown module "browser": expected one of "web", "agent_spawn"' },
        { path: 'agents[1].modules[1]', message: 'unknown module "browser": expected one of "web", "agent_spawn"' },
      ]);
    });

    it('a module the agent uses that is not enabled at the top', () => {
      expect(errorOf(app.replace('  web: {}\n', '')).issues).toEqual([{ path: 'agents[1].modules[0]', message: 'module "web" is not enabled: add it under `modules`' }]);
    });

    it('a tool its module does not have, and a tool listed twice', () => {
      expect(errorOf(app.replace('[{web: [search, fetch]}]', '[{web: [search, browse, search]}]')).issues).toEqual([
        { path: 'agents[1].modules[0].web[1]', message: 'expected a tool of module "web" ("search", "fetch"), got "browse"' },
        { path: 'agents[1].modules[0].web[2]', message: '"search" is listed twice' },
      ]);
      expect(issuesOf(app.replace('[{web: [search, fetch]}]', '[{web: search}, {web: [fetch], agent_spawn: [Agent]}]'))).toEqual({
        'agents[1].modules[0].web': 'expected a list of tools of module "web" ("search", "fetch"), got "search"',
        'agents[1].modules[1]': 'expected a module name ("web", "agent_spawn") or one module with its tools, e.g. `{ web: [search] }`, got {"web":["fetch"],"agent_spawn":["Agent"]}',
      });
    });

    it('an unknown role', () => {
      expect(errorOf(app.replace('  - id: explorer\n', '  - id: explorer\n    role: scout\n')).issues).toEqual([
        { path: 'agents[1].role', message: 'expected "lead", "specialist" or "synthesizer" (a label goes in `description`), got "scout"' },
      ]);
    });

    it('no lead, two leads, a lead without the Agent tool, a specialist with it', () => {
      expect(errorOf(app.replace('[{agent_spawn: [Agent]}]', '[web]')).issues).toEqual([
        { path: 'agents', message: "expected one lead: an agent with the `agent_spawn` module's `Agent` tool, e.g. `modules: [{ agent_spawn: [Agent] }]`" },
      ]);
      expect(errorOf(app.replace('[{web: [search, fetch]}]', '[agent_spawn]')).issues).toEqual([
        { path: 'agents', message: 'expected one lead, got 2: agents[0] ("lead"), agents[1] ("explorer") (each has `agent_spawn`\'s `Agent` tool or `role: lead`)' },
      ]);
      expect(errorOf(app.replace('[{agent_spawn: [Agent]}]', '[]').replace('  - id: lead\n', '  - id: lead\n    role: lead\n')).issues).toEqual([
        { path: 'agents[0].role', message: "a lead needs the `agent_spawn` module's `Agent` tool: add `agent_spawn` to its `modules` (and under the top-level `modules`)" },
      ]);
      expect(errorOf(app.replace('  - id: lead\n', '  - id: lead\n    role: specialist\n')).issues).toEqual([
        { path: 'agents[0].role', message: 'expected "lead" or no role: this agent has the `agent_spawn` module\'s `Agent` tool, which makes it the lead, not a specialist' },
      ]);
    });

    it('no agent to spawn; an agent left unused beside `role: specialist`; two synthesizers; a synthesizer with modules', () => {
      const leadOnly = app.slice(0, app.indexOf('  - id: explorer'));
      expect(errorOf(leadOnly).issues).toEqual([
        { path: 'agents', message: 'expected at least one agent the lead can spawn: an agent that is neither the lead nor the synthesizer (or one with `role: specialist`)' },
      ]);
      expect(errorOf(`${app}  - { id: news, role: specialist }\n`).issues).toEqual([
        { path: 'agents[1]', message: 'expected a role: other agents say `role: specialist`, so an agent without one is never used (add `role: specialist`, or remove it)' },
      ]);
      expect(issuesOf(`${app}  - { id: a, role: synthesizer }\n  - { id: b, role: synthesizer, modules: [web] }\n`)).toEqual({
        'agents[3].modules': 'expected no modules: a synthesizer folds the findings it is given, without tools',
        agents: 'expected at most one synthesizer, got 2: agents[2] ("a"), agents[3] ("b")',
      });
    });

    it('a credential whose environment variable is no valid name', () => {
      expect(errorOf(`credentials:\n  main: 1BAD\n  other: { env: has-dash }\n  ok: GOOD_KEY\n${app}`).issues).toEqual([
        { path: 'credentials.main', message: 'expected the name of an environment variable (letters, digits and "_", not starting with a digit), got "1BAD"' },
        { path: 'credentials.other.env', message: 'expected the name of an environment variable (letters, digits and "_", not starting with a digit), got "has-dash"' },
      ]);
      expect(errorOf(`credentials:\n  main: [A]\n${app}`).issues).toEqual([{ path: 'credentials.main', message: 'expected an environment variable name, as `NAME` or `{ env: NAME }`, got ["A"]' }]);
    });

    it('unknown keys, each at its own path with the keys that belong there', () => {
      const yaml = app
        .replace('  web: {}', '  web: { search: { max: 3 } }')
        .replace('  agent_spawn: {}', '  agent_spawn: { max_agent: 3 }')
        .replace('brain: { model: claude-sonnet-4-6 }', 'brain: { model: claude-sonnet-4-6, temperature: 0 }')
        .replace('  - id: explorer\n', '  - id: explorer\n    colour: red\n');
      expect(issuesOf(`colour: blue\n${yaml}`)).toEqual({
        colour: 'unknown key "colour": expected name, description, task, credentials, modules, agents, deadline, concurrency, quorum, prices',
        'modules.web.search.max': 'unknown key "max": expected max_uses, allowed_domains, blocked_domains',
        'modules.agent_spawn.max_agent': 'unknown key "max_agent": expected max_agents, max_rounds, agent_deadline, synthesize',
        'agents[0].brain.temperature': 'unknown key "temperature": expected model, credential, max_tokens',
        'agents[1].colour': 'unknown key "colour": expected id, role, description, modules, brain, system_prompt, instructions, timeout, policy',
      });
    });

    it("keys of fanfold's own format in a pattern-format file, saying what to write instead", () => {
      const mixed = issuesOf(`${app.replace('    brain: { model: claude-haiku-4-5 }\n', '    model: claude-haiku-4-5\n')}lead:\n  specialists: [explorer]\n`);
      expect(mixed).toEqual({
        lead: expect.stringMatching(
          /^`lead` belongs to fanfold's own app format, and this file is in the pattern format \(it has a top-level `modules`\): the lead is the agent with the `agent_spawn` module/,
        ),
        'agents[1].model': "`model` belongs to fanfold's own app format, and this file is in the pattern format (it has a top-level `modules`): write `brain.model`",
      });
      // Without `modules`, an agent with a pattern key makes the file a pattern-format one.
      const detected = issuesOf('task: t\nagents:\n  - { id: a, system: Plan. }\n  - { id: b, system_prompt: Find. }\nlead: { specialists: [a] }\n');
      expect(detected['agents[0].system']).toBe("`system` belongs to fanfold's own app format, and this file is in the pattern format (agents[1] has `system_prompt`): write `system_prompt`");
      expect(detected['modules']).toMatch(/^expected the enabled modules with their options, e.g. `\{ web: \{\}, agent_spawn: \{\} \}`.*got nothing$/);
    });

    it('options: domains allowed and blocked at once, limits out of range, a quorum past max_agents', () => {
      const yaml = app
        .replace('  web: {}', '  web: { fetch: { allowed_domains: [a.com], blocked_domains: [b.com] } }')
        .replace('  agent_spawn: {}', '  agent_spawn: { max_rounds: 0, agent_deadline: soon, synthesize: writer }');
      expect(issuesOf(yaml)).toEqual({
        'modules.web.fetch': 'expected one of `allowed_domains` and `blocked_domains`, not both (the API takes one)',
        'modules.agent_spawn.max_rounds': 'expected an integer from 1 and up, got 0',
        'modules.agent_spawn.agent_deadline': expect.stringMatching(/^expected a duration.*got "soon"$/),
        'modules.agent_spawn.synthesize': 'expected "lead" or "synthesizer", got "writer"',
      });
      expect(errorOf(`quorum: 4\n${app.replace('agent_spawn: {}', 'agent_spawn: { max_agents: 3 }')}`).issues).toEqual([
        { path: 'quorum', message: "expected at most 3 (the agent_spawn module's max_agents), got 4" },
      ]);
    });

    it('reports several problems at once', () => {
      const yaml = `deadline: soon\ncredentials: { main: bad-name }\n${app}`
        .replace('  web: {}\n', '')
        .replace('  - id: explorer\n', '  - id: explorer\n    role: scout\n')
        .replace('brain: { model: claude-haiku-4-5 }', 'brain: { model: claude-haiku-4-5, max_tokens: -1 }')
        .replace('[{web: [search, fetch]}]', '[{web: [search, browse]}]');
      expect(errorOf(yaml).issues.map((issue) => issue.path)).toEqual([
        'credentials.main',
        'agents[1].role',
        'agents[1].brain.max_tokens',
        'deadline',
        'agents[1].modules[0]',
        'agents[1].modules[0].web[1]',
      ]);
    });

    it("ids follow fanfold's rules, with the same messages", () => {
      const fanfold = (agents: string) => errorOf(`task: t\nagents: ${agents}\nlead: { specialists: [b] }\n`).issues;
      const pattern = errorOf(app.replace('id: explorer', 'id: "-a"').replace('id: lead', 'id: b').concat('  - { id: b }\n')).issues;
      expect(pattern).toEqual([{ path: 'agents[1].id', message: fanfold('[{ id: "-a" }, { id: b }]')[0]!.message }, fanfold('[{ id: a }, { id: b }, { id: b }]')[0]]);
      expect(errorOf(`${app}  - { id: synthesizer }\n`).issues).toEqual([{ path: 'agents[2].id', message: '"synthesizer" is reserved for the synthesizer\'s outcome; rename the agent' }]);
      const deadline = (yaml: string) => errorOf(yaml).issues.find((issue) => issue.path === 'deadline')?.message;
      expect(deadline(`deadline: soon\n${app}`)).toBe(deadline(`deadline: soon\ntask: t\nagents: [{ id: a }]\nlead: { specialists: [a] }\n`));
    });
  });
});
