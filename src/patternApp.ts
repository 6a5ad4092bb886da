/**
 * App files in the pattern's `app.yaml` format: modules enabled once at the top, agents that
 * list the modules (and tools) they use, a `brain` per agent, and a lead that spawns agents with
 * the `agent_spawn` module's `Agent` tool. Read into a run config with a model lead
 * ({@link FanOutConfig.lead}); every problem names the file, the path inside it and what was
 * expected, all at once.
 *
 * ```yaml
 * modules:
 *   web: {}
 *   agent_spawn: {}
 * agents:
 *   - id: lead
 *     modules: [{agent_spawn: [Agent]}]
 *     brain: { model: claude-sonnet-4-6, credential: anthropic_main }
 *     system_prompt: Dispatch three explorers in parallel, wait for all, then synthesize.
 *   - id: explorer
 *     role: specialist
 *     modules: [{web: [search, fetch]}]
 *     brain: { model: claude-haiku-4-5, credential: anthropic_main }
 *     system_prompt: Find 3-5 sources for the topic. Return facts and citations.
 * ```
 *
 * **Detection.** A document is in this format when it has a top-level `modules`, or an agent
 * has `brain`, `modules` or `system_prompt`; otherwise it is fanfold's own format. Keys of
 * fanfold's format in a pattern-format file (`lead`, `model`, an agent's `system`…) are errors
 * that say what to write instead.
 *
 * **Top level** (strict: unknown keys are errors):
 * - `modules` (required): enabled module name → its options (`{}` or empty for none).
 * - `agents` (required, at least one).
 * - `name`, `description`: labels. `task`: the task; one given on the command line wins.
 * - `credentials`: credential name → the environment variable holding its key, written
 *   `ANTHROPIC_MAIN_KEY` or `{ env: ANTHROPIC_MAIN_KEY }`. A credential an agent uses that is not
 *   listed here reads `ANTHROPIC_API_KEY` (resolved by the CLI; nothing here reads the environment).
 * - fanfold extensions: `deadline` (the whole run, a duration like `90s`), `concurrency` (most
 *   model calls in flight), `quorum` (spawned specialists that must succeed), `prices` (as in
 *   fanfold's format).
 *
 * **Modules**:
 * - `web`: tools `search` (the `web_search` server tool) and `fetch` (`web_fetch`). Options:
 *   `search` and `fetch`, each `{ max_uses, allowed_domains | blocked_domains }`, applied to
 *   every agent's web tools.
 * - `agent_spawn`: tool `Agent` (makes its agent the lead). Options: `max_agents` (most
 *   specialists in the run, default 20), `max_rounds` (rounds of spawning, default 5),
 *   `agent_deadline` (each spawned agent's deadline, a duration), `synthesize` (`lead` or
 *   `synthesizer`: who writes the answer).
 *
 * **Agents** (strict): `id` (letters, digits, `-`, `_`, `.`), `role` (`lead`, `specialist` or
 * `synthesizer`), `description` (a spawned specialist's angle; default the id), `modules` (a
 * list of module names — all their tools — or one-key maps `{ web: [search] }`), `brain`
 * (`{ model, credential, max_tokens }`; default model: fanfold's), `system_prompt`,
 * `instructions`, and the fanfold extensions `timeout` (per attempt) and `policy`.
 *
 * **Roles.** The lead is the one agent with `agent_spawn`'s `Agent` tool (`role: lead` says so
 * too, and needs that tool); it becomes the run's model `lead` (its id is not kept: events call
 * it `lead`). The agents it may spawn (templates) are those with `role: specialist` or, when no
 * agent says so, every agent that is neither the lead nor the synthesizer; at least one is
 * needed, and with `role: specialist` in use an agent without a role is an error (it would be
 * unused). At most one agent has `role: synthesizer`: it takes no modules, becomes the run's
 * synthesizer, and makes the lead hand the fold to it (unless `agent_spawn`'s `synthesize` says
 * otherwise).
 */
import { z } from 'zod';
import type { AppFile, AppFileOptions } from './appFile.ts';
import {
  describeIssue,
  formatPath,
  normalizeConfig,
  policySchema,
  SYNTHESIZER_ID,
  type FanOutConfig,
  type ModelLeadConfig,
  type SpecialistConfig,
  type SynthesizerConfig,
  type ToolConfig,
} from './config.ts';
import { parseDuration } from './duration.ts';
import { agentId, count, duration, nonEmptyText, price, TASK_MISSING, taskField, text, toPrices } from './appFileRules.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import type { PolicyOverride } from './policy.ts';

const upTo = (max: number) => count.max(max, { error: `expected an integer from 1 to ${max}` });

/** What an environment variable name may be (`ANTHROPIC_MAIN_KEY`). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = text.regex(ENV_NAME, { error: 'expected the name of an environment variable (letters, digits and "_", not starting with a digit)' });

/** The modules this format knows, with their tools (in the order an agent gets them when it lists the module by name). */
export const PATTERN_MODULES = { web: ['search', 'fetch'], agent_spawn: ['Agent'] } as const satisfies Record<string, readonly string[]>;
type ModuleName = keyof typeof PATTERN_MODULES;
const MODULE_NAMES = Object.keys(PATTERN_MODULES) as ModuleName[];
/** The web module's tools as fanfold's server tools. */
const WEB_TOOL_TYPES = { search: 'web_search', fetch: 'web_fetch' } as const;

const ROLES = ['lead', 'specialist', 'synthesizer'] as const;
type Role = (typeof ROLES)[number];

const domains = z.array(nonEmptyText, { error: 'expected a list of domains' });
const serverToolOptions = z
  .strictObject({ max_uses: count.optional(), allowed_domains: domains.optional(), blocked_domains: domains.optional() }, { error: 'expected `{ max_uses, allowed_domains | blocked_domains }`' })
  .refine((options) => !(options.allowed_domains && options.blocked_domains), {
    error: 'expected one of `allowed_domains` and `blocked_domains`, not both (the API takes one)',
    params: { plain: true },
  });
const webOptions = z.strictObject({ search: serverToolOptions.optional(), fetch: serverToolOptions.optional() }, { error: "expected the web module's options `{ search, fetch }` (or `{}`)" });
const spawnOptions = z.strictObject(
  {
    max_agents: upTo(100_000).optional(),
    max_rounds: upTo(1000).optional(),
    agent_deadline: duration.optional(),
    synthesize: z.enum(['lead', 'synthesizer'], { error: 'expected "lead" or "synthesizer"' }).optional(),
  },
  { error: "expected the agent_spawn module's options `{ max_agents, max_rounds, agent_deadline, synthesize }` (or `{}`)" },
);
// `web:` with nothing after it is YAML's null: enabled, no options.
const modulesSchema = z.strictObject(
  { web: webOptions.nullish(), agent_spawn: spawnOptions.nullish() },
  { error: `expected the enabled modules with their options, e.g. \`{ web: {}, agent_spawn: {} }\` (known: ${MODULE_NAMES.join(', ')})` },
);

const brainSchema = z.strictObject({ model: nonEmptyText.optional(), credential: nonEmptyText.optional(), max_tokens: count.optional() }, { error: 'expected `{ model, credential, max_tokens }`' });
const agentSchema = z.strictObject(
  {
    id: agentId,
    role: z.enum(ROLES, { error: 'expected "lead", "specialist" or "synthesizer" (a label goes in `description`)' }).optional(),
    description: nonEmptyText.optional(),
    // Items are checked in `resolveModules`, with messages that list the modules and their tools.
    modules: z.array(z.unknown(), { error: 'expected a list of modules, e.g. `[web]` or `[{ web: [search] }]`' }).optional(),
    brain: brainSchema.optional(),
    system_prompt: text.optional(),
    instructions: text.optional(),
    /** Per-attempt deadline (the policy's `attemptTimeoutMs`). */
    timeout: duration.optional(),
    policy: policySchema.optional(),
  },
  { error: 'expected an agent `{ id, modules, brain, system_prompt, … }`' },
);

const patternSchema = z.strictObject({
  name: text.optional(),
  description: text.optional(),
  // null: a `task:` placeholder left empty for the command line to fill.
  task: taskField,
  credentials: z
    .record(nonEmptyText, z.union([envName, z.strictObject({ env: envName })], { error: 'expected an environment variable name, as `NAME` or `{ env: NAME }`' }), {
      error: 'expected credential names, each with the environment variable holding its key',
    })
    .optional(),
  modules: modulesSchema,
  agents: z.array(agentSchema, { error: 'expected a list of agents' }).min(1, { error: 'expected at least one agent' }),
  deadline: duration.optional(),
  concurrency: count.optional(),
  quorum: count.optional(),
  prices: z.record(text, price, { error: 'expected prices by model id' }).optional(),
});

type PatternDocument = z.infer<typeof patternSchema>;
type PatternAgent = z.infer<typeof agentSchema>;

/** Keys of fanfold's own format, and what to write instead in this one. */
const FANFOLD_KEYS: Readonly<Record<string, string>> = {
  lead: 'the lead is the agent with the `agent_spawn` module; the agents it may spawn are the others (or those with `role: specialist`)',
  model: "set each agent's `brain.model`",
  maxTokens: "set each agent's `brain.max_tokens`",
  policy: 'set `policy` on each agent',
  tools: "enable modules under `modules` and list them in each agent's `modules`",
  mcp: "MCP servers are not a module of this format; use fanfold's own format for them",
};
const FANFOLD_AGENT_KEYS: Readonly<Record<string, string>> = {
  model: 'write `brain.model`',
  maxTokens: 'write `brain.max_tokens`',
  credential: 'write `brain.credential`',
  system: 'write `system_prompt`',
  tools: 'list modules in `modules`, e.g. `[{ web: [search] }]`',
  specialists: "sub-leads are fanfold's own format; here the lead spawns agents with the `agent_spawn` module",
  synthesizer: 'give the synthesizer agent `role: synthesizer`',
  quorum: 'set `quorum` at the top level',
  concurrency: 'set `concurrency` at the top level',
  deadline: "set `deadline` at the top level, or `agent_spawn`'s `agent_deadline` option",
};
/** The keys each strict object of the format takes, by path pattern (indices and names as `*`), for "unknown key" messages. */
const KEYS_AT: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(patternSchema.shape),
  'agents.*': Object.keys(agentSchema.shape),
  'agents.*.brain': Object.keys(brainSchema.shape),
  'agents.*.policy': Object.keys(policySchema.shape),
  'modules.web': Object.keys(webOptions.shape),
  'modules.web.*': ['max_uses', 'allowed_domains', 'blocked_domains'],
  'modules.agent_spawn': Object.keys(spawnOptions.shape),
  'credentials.*': ['env'],
  'prices.*': Object.keys(price.shape),
};

/**
 * Why a document is in the pattern format (`it has a top-level \`modules\``), or `null` when it
 * is in fanfold's own format.
 */
function patternMark(raw: unknown): string | null {
  if (!isRecord(raw)) return null;
  if (Object.hasOwn(raw, 'modules')) return 'it has a top-level `modules`';
  if (!Array.isArray(raw['agents'])) return null;
  for (const [index, agent] of raw['agents'].entries()) {
    const key = isRecord(agent) ? ['brain', 'modules', 'system_prompt'].find((name) => Object.hasOwn(agent, name)) : undefined;
    if (key) return `agents[${index}] has \`${key}\``;
  }
  return null;
}

/**
 * Whether a parsed app-file document is in the pattern format: a top-level `modules`, or an
 * agent with `brain`, `modules` or `system_prompt`.
 *
 * @example
 * isPatternApp({ modules: { web: {} }, agents: [] }); // true
 * isPatternApp({ agents: [{ id: 'a' }], lead: { specialists: ['a'] } }); // false
 */
export function isPatternApp(raw: unknown): boolean {
  return patternMark(raw) !== null;
}

/**
 * Reads a parsed pattern-format document (see the module's documentation) into an app file
 * whose run config has a model lead. Throws a {@link ConfigError} naming `file`, each path in it
 * and what was expected.
 *
 * @example
 * import { parse } from 'yaml';
 * const app = readPatternApp(parse(source), 'app.yaml', { task: 'nuclear fusion' });
 * normalizeConfig(app.config).input.lead?.templates.map((t) => t.id); // ['explorer']
 */
export function readPatternApp(raw: unknown, file: string, options: AppFileOptions = {}): AppFile {
  const mark = patternMark(raw) ?? 'it was given to readPatternApp';
  const parsed = patternSchema.safeParse(raw);
  const issues: ConfigIssue[] = parsed.success ? [] : parsed.error.issues.flatMap((issue) => describePatternIssue(issue, raw, mark));
  // Cross-checks run on the raw document, so they are reported with the schema's problems.
  const roles = checkAgents(raw, issues);
  // The same rule as fanfold's format: the task given outside wins; an invalid `task` is reported once.
  const written = isRecord(raw) && typeof raw['task'] === 'string' && raw['task'].trim().length > 0 ? raw['task'] : undefined;
  const task = options.task ?? written;
  if (!task && !issues.some((issue) => issue.path === 'task')) {
    issues.push({ path: 'task', message: TASK_MISSING });
  }
  if (parsed.success) issues.push(...checkLimits(parsed.data));
  if (!parsed.success || !roles || issues.length > 0) throw new ConfigError(file, issues);
  const app = parsed.data;
  const { config, origins } = toRunConfig(app, task!, roles);
  checkRunConfig(config, origins, file);
  const credentials = credentialsOf(app);
  return {
    source: file,
    name: app.name ?? null,
    config,
    prices: toPrices(app.prices),
    ...(credentials ? { credentials } : {}),
  };
}

/** A zod issue with the path written in the file; unknown keys one by one, saying what belongs there. */
function describePatternIssue(issue: z.core.$ZodIssue, raw: unknown, mark: string): ConfigIssue[] {
  if (issue.code !== 'unrecognized_keys') return [describeIssue(issue, raw)];
  const at = issue.path;
  const pattern = at.map((key) => (typeof key === 'number' ? '*' : String(key))).join('.');
  return issue.keys.map((key) => {
    const path = formatPath([...at, key]);
    const fanfold = at.length === 0 ? FANFOLD_KEYS[key] : pattern === 'agents.*' ? FANFOLD_AGENT_KEYS[key] : undefined;
    if (fanfold) return { path, message: `\`${key}\` belongs to fanfold's own app format, and this file is in the pattern format (${mark}): ${fanfold}` };
    if (pattern === 'modules') return { path, message: `unknown module "${key}": expected one of ${quoteList(MODULE_NAMES)}` };
    const known = KEYS_AT[pattern] ?? KEYS_AT[pattern.replace(/\.[^.]+$/, '.*')];
    return { path, message: known ? `unknown key "${key}": expected ${known.join(', ')}` : `unknown key "${key}"` };
  });
}

/** A module an agent lists, with the tools it takes from it and where each is written. */
interface ModuleUse {
  module: ModuleName;
  tools: Array<{ name: string; path: string }>;
}

/** Which agent (by index in `agents`) plays which part. */
interface Roles {
  lead: number;
  synthesizer: number | undefined;
  templates: number[];
  /** Each agent's modules, by agent index. */
  modules: ModuleUse[][];
}

/**
 * The checks across agents and modules a schema cannot make: module references, unique ids,
 * exactly one lead, at most one synthesizer, at least one template. Reads the raw document
 * defensively (it may have failed the schema); `undefined` when the roles cannot be settled.
 */
function checkAgents(raw: unknown, issues: ConfigIssue[]): Roles | undefined {
  if (!isRecord(raw) || !Array.isArray(raw['agents'])) return undefined;
  const written = raw['modules'];
  // Missing: nothing is enabled. Not a map: unknown (its own error says so; "not enabled" would only repeat it).
  const enabled = isRecord(written) ? new Set(Object.keys(written)) : written === undefined ? new Set<string>() : null;
  const agents = raw['agents'] as unknown[];
  const seen = new Map<string, number>();
  const modules: ModuleUse[][] = [];
  const roleOf: Array<Role | undefined> = [];
  const leads: number[] = [];
  const synthesizers: number[] = [];
  agents.forEach((agent, index) => {
    const entry = isRecord(agent) ? agent : {};
    const id = entry['id'];
    if (typeof id === 'string') {
      if (seen.has(id)) issues.push({ path: `agents[${index}].id`, message: `expected a unique id, "${id}" is used twice` });
      seen.set(id, index);
    }
    const role = ROLES.find((known) => known === entry['role']);
    roleOf.push(role);
    const uses = Array.isArray(entry['modules']) ? resolveModules(entry['modules'], `agents[${index}].modules`, enabled, issues) : [];
    modules.push(uses);
    const spawns = uses.some((use) => use.module === 'agent_spawn' && use.tools.some((tool) => tool.name === 'Agent'));
    if (role === 'lead' && !spawns)
      issues.push({ path: `agents[${index}].role`, message: "a lead needs the `agent_spawn` module's `Agent` tool: add `agent_spawn` to its `modules` (and under the top-level `modules`)" });
    if (spawns && role !== undefined && role !== 'lead') {
      issues.push({ path: `agents[${index}].role`, message: `expected "lead" or no role: this agent has the \`agent_spawn\` module's \`Agent\` tool, which makes it the lead, not a ${role}` });
    }
    if (role === 'lead' || spawns) leads.push(index);
    if (role === 'synthesizer') {
      synthesizers.push(index);
      if (entry['modules'] !== undefined) issues.push({ path: `agents[${index}].modules`, message: 'expected no modules: a synthesizer folds the findings it is given, without tools' });
    }
  });
  const idOf = (index: number): unknown => (isRecord(agents[index]) ? agents[index]['id'] : undefined);
  const named = (indices: number[]) => indices.map((index) => `agents[${index}]${typeof idOf(index) === 'string' ? ` ("${idOf(index) as string}")` : ''}`).join(', ');
  if (leads.length === 0 && agents.length > 0) {
    issues.push({ path: 'agents', message: "expected one lead: an agent with the `agent_spawn` module's `Agent` tool, e.g. `modules: [{ agent_spawn: [Agent] }]`" });
  } else if (leads.length > 1) {
    issues.push({ path: 'agents', message: `expected one lead, got ${leads.length}: ${named(leads)} (each has \`agent_spawn\`'s \`Agent\` tool or \`role: lead\`)` });
  }
  if (synthesizers.length > 1) issues.push({ path: 'agents', message: `expected at most one synthesizer, got ${synthesizers.length}: ${named(synthesizers)}` });
  const rest = agents.map((_, index) => index).filter((index) => !leads.includes(index) && !synthesizers.includes(index));
  const explicit = rest.filter((index) => roleOf[index] === 'specialist');
  if (explicit.length > 0) {
    for (const index of rest.filter((other) => roleOf[other] === undefined)) {
      issues.push({ path: `agents[${index}]`, message: 'expected a role: other agents say `role: specialist`, so an agent without one is never used (add `role: specialist`, or remove it)' });
    }
  }
  const templates = explicit.length > 0 ? explicit : rest;
  // With two leads, which agents are templates depends on which one stays the lead.
  if (templates.length === 0 && leads.length < 2 && agents.length > 0) {
    issues.push({ path: 'agents', message: 'expected at least one agent the lead can spawn: an agent that is neither the lead nor the synthesizer (or one with `role: specialist`)' });
  }
  templates.forEach((index) => {
    if (idOf(index) === SYNTHESIZER_ID) {
      issues.push({ path: `agents[${index}].id`, message: `"${SYNTHESIZER_ID}" is reserved for the synthesizer's outcome; rename the agent` });
    }
  });
  if (leads.length !== 1 || templates.length === 0) return undefined;
  return { lead: leads[0]!, synthesizer: synthesizers.length === 1 ? synthesizers[0] : undefined, templates, modules };
}

/**
 * One agent's `modules` list: names (every tool of the module) or one-key maps
 * `{ web: [search] }`. Problems are pushed with their paths; uses of modules not enabled at the
 * top level are still returned, so roles are settled from what is written.
 */
function resolveModules(list: unknown[], at: string, enabled: ReadonlySet<string> | null, issues: ConfigIssue[]): ModuleUse[] {
  const uses: ModuleUse[] = [];
  const listedAt = new Map<string, string>();
  list.forEach((item, index) => {
    const path = `${at}[${index}]`;
    const single = isRecord(item) && Object.keys(item).length === 1 ? Object.keys(item)[0]! : undefined;
    const name = typeof item === 'string' ? item : single;
    if (name === undefined) {
      issues.push({ path, message: `expected a module name (${quoteList(MODULE_NAMES)}) or one module with its tools, e.g. \`{ web: [search] }\`, got ${JSON.stringify(item) ?? 'nothing'}` });
      return;
    }
    if (!isModuleName(name)) {
      issues.push({ path, message: `unknown module "${name}": expected one of ${quoteList(MODULE_NAMES)}` });
      return;
    }
    if (enabled && !enabled.has(name)) issues.push({ path, message: `module "${name}" is not enabled: add it under \`modules\`` });
    const first = listedAt.get(name);
    if (first !== undefined) {
      issues.push({ path, message: `module "${name}" is already listed at ${first}: list it once, with all the tools it needs` });
      return;
    }
    listedAt.set(name, path);
    const known: readonly string[] = PATTERN_MODULES[name];
    if (typeof item === 'string') {
      uses.push({ module: name, tools: known.map((tool) => ({ name: tool, path })) });
      return;
    }
    const tools = (item as Record<string, unknown>)[name];
    const toolsAt = `${path}.${name}`;
    if (!Array.isArray(tools) || tools.length === 0) {
      issues.push({ path: toolsAt, message: `expected a list of tools of module "${name}" (${quoteList(known)}), got ${JSON.stringify(tools) ?? 'nothing'}` });
      return;
    }
    const use: ModuleUse = { module: name, tools: [] };
    tools.forEach((tool, index) => {
      const toolAt = `${toolsAt}[${index}]`;
      if (typeof tool !== 'string' || !known.includes(tool))
        issues.push({ path: toolAt, message: `expected a tool of module "${name}" (${quoteList(known)}), got ${JSON.stringify(tool) ?? 'nothing'}` });
      else if (use.tools.some((other) => other.name === tool)) issues.push({ path: toolAt, message: `"${tool}" is listed twice` });
      else use.tools.push({ name: tool, path: toolAt });
    });
    uses.push(use);
  });
  return uses;
}

/** Limits that depend on several places: the quorum counts spawned specialists, at most `max_agents`. */
function checkLimits(app: PatternDocument): ConfigIssue[] {
  const most = app.modules.agent_spawn?.max_agents;
  const limit = most ?? 20;
  if (app.quorum !== undefined && app.quorum > limit) {
    return [{ path: 'quorum', message: `expected at most ${limit} (the agent_spawn module's max_agents${most === undefined ? ', 20 by default' : ''}), got ${app.quorum}` }];
  }
  return [];
}

/** Where each part of the run config came from in the file, to report its problems there. */
interface Origins {
  /** Agent index of `lead`, `synthesizer` and each of `specialists`. */
  lead: number;
  synthesizer: number | undefined;
  specialists: number[];
  /** File path of each tool, by agent index (`agents[1].modules[0].web[1]`). */
  tools: Map<number, string[]>;
}

function toRunConfig(app: PatternDocument, task: string, roles: Roles): { config: FanOutConfig; origins: Origins } {
  const web = app.modules.web ?? {};
  const spawn = app.modules.agent_spawn ?? {};
  const origins: Origins = { lead: roles.lead, synthesizer: roles.synthesizer, specialists: roles.templates, tools: new Map() };
  /** An agent's tools from its modules (the `Agent` tool is the lead's by role, not a tool config). */
  const toolsOf = (index: number): ToolConfig[] | undefined => {
    const uses = roles.modules[index]!.flatMap((use) => (use.module === 'web' ? use.tools : []));
    if (uses.length === 0) return undefined;
    origins.tools.set(
      index,
      uses.map((tool) => tool.path),
    );
    return uses.map((tool): ToolConfig => {
      const name = tool.name as keyof typeof WEB_TOOL_TYPES;
      const options = web[name];
      if (!options) return WEB_TOOL_TYPES[name];
      return {
        type: WEB_TOOL_TYPES[name],
        ...optional('maxUses', options.max_uses),
        ...optional('allowedDomains', options.allowed_domains && [...options.allowed_domains]),
        ...optional('blockedDomains', options.blocked_domains && [...options.blocked_domains]),
      };
    });
  };
  const agents = app.agents;
  const lead: ModelLeadConfig = {
    ...callOf(agents[roles.lead]!),
    ...optional('tools', toolsOf(roles.lead)),
    ...optional('maxSpecialists', spawn.max_agents),
    ...optional('maxRounds', spawn.max_rounds),
    ...optional('agentDeadlineMs', spawn.agent_deadline === undefined ? undefined : parseDuration(spawn.agent_deadline)),
    ...optional('synthesize', spawn.synthesize ?? (roles.synthesizer === undefined ? undefined : 'synthesizer')),
  };
  const specialists = roles.templates.map((index): SpecialistConfig => {
    const agent = agents[index]!;
    return { id: agent.id, ...optional('angle', agent.description), ...callOf(agent), ...optional('tools', toolsOf(index)) };
  });
  const config: FanOutConfig = {
    task,
    specialists,
    lead,
    ...optional('synthesizer', roles.synthesizer === undefined ? undefined : callOf(agents[roles.synthesizer]!)),
    ...optional('deadlineMs', app.deadline === undefined ? undefined : parseDuration(app.deadline)),
    ...optional('maxConcurrency', app.concurrency),
    ...optional('quorum', app.quorum),
  };
  return { config, origins };
}

/** How an agent's model calls are made: its brain, prompts and policy (`timeout` as the policy's `attemptTimeoutMs`). */
function callOf(agent: PatternAgent): Omit<SynthesizerConfig, 'run'> {
  const written = agent.policy as PolicyOverride | undefined;
  const policy = agent.timeout === undefined ? written : { ...written, attemptTimeoutMs: parseDuration(agent.timeout)! };
  return {
    ...optional('model', agent.brain?.model),
    ...optional('credential', agent.brain?.credential),
    ...optional('maxTokens', agent.brain?.max_tokens),
    ...optional('system', agent.system_prompt),
    ...optional('instructions', agent.instructions),
    ...optional('policy', policy),
  };
}

/** Run-config keys of an agent's call, and where the file writes them. */
const FILE_KEYS: Readonly<Record<string, string>> = {
  id: 'id',
  angle: 'description',
  model: 'brain.model',
  credential: 'brain.credential',
  maxTokens: 'brain.max_tokens',
  system: 'system_prompt',
  instructions: 'instructions',
  policy: 'policy',
  tools: 'modules',
};
const SPAWN_KEYS: Readonly<Record<string, string>> = { maxSpecialists: 'max_agents', maxRounds: 'max_rounds', agentDeadlineMs: 'agent_deadline', synthesize: 'synthesize' };
const RUN_KEYS: Readonly<Record<string, string>> = { task: 'task', deadlineMs: 'deadline', maxConcurrency: 'concurrency', quorum: 'quorum' };

/**
 * Validates the run config the way a run will (the file's own checks should have caught
 * everything; this keeps any rule of the run config they miss), reporting at paths in the file.
 */
function checkRunConfig(config: FanOutConfig, origins: Origins, file: string): void {
  try {
    normalizeConfig(config, file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(
      file,
      error.issues.map((issue) => ({ ...issue, path: toFilePath(issue.path, origins) })),
    );
  }
}

/** A run-config path (`specialists[0].tools[1].maxUses`) as the file's (`agents[1].modules[0].web[1]`), as near as it can tell. */
function toFilePath(path: string, origins: Origins): string {
  const match = /^(?:lead|synthesizer|specialists\[(\d+)\])(?:\.(\w+)(.*))?$/.exec(path);
  if (!match) {
    const [key = '', rest = ''] = /^(\w+)(.*)$/.exec(path)?.slice(1) ?? [];
    return RUN_KEYS[key] !== undefined ? `${RUN_KEYS[key]}${rest}` : path;
  }
  const [, specialist, key, rest = ''] = match;
  const index = path.startsWith('lead') ? origins.lead : path.startsWith('synthesizer') ? origins.synthesizer : origins.specialists[Number(specialist)];
  if (index === undefined) return path;
  if (key === undefined) return `agents[${index}]`;
  if (path.startsWith('lead') && SPAWN_KEYS[key] !== undefined) return `modules.agent_spawn.${SPAWN_KEYS[key]}${rest}`;
  if (key === 'tools') {
    const tool = /^\[(\d+)\]/.exec(rest);
    const written = tool ? origins.tools.get(index)?.[Number(tool[1])] : undefined;
    if (written !== undefined) return written;
  }
  return `agents[${index}].${FILE_KEYS[key] ?? key}${key === 'tools' ? '' : rest}`;
}

/** The file's credentials: its `credentials:` map and every use by an agent's brain, in file order; `undefined` when there are none. */
function credentialsOf(app: PatternDocument): AppFile['credentials'] {
  const map: Record<string, string> = {};
  for (const [name, entry] of Object.entries(app.credentials ?? {})) map[name] = typeof entry === 'string' ? entry : entry.env;
  const used = app.agents.flatMap((agent, index) => (agent.brain?.credential === undefined ? [] : [{ name: agent.brain.credential, path: `agents[${index}].brain.credential` }]));
  return Object.keys(map).length > 0 || used.length > 0 ? { map, used } : undefined;
}

/** `{ [key]: value }` when the value is set, else `{}`: optional fields under `exactOptionalPropertyTypes`. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isModuleName(name: string): name is ModuleName {
  return Object.hasOwn(PATTERN_MODULES, name);
}

function quoteList(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}
