/**
 * App files: a fan-out declared in YAML (or JSON) — agents with their role, model, system prompt,
 * policy and timeout; the lead's specialists and synthesizer; the run-wide deadline and
 * concurrency. Validated before anything runs; every problem names the file, the path inside it
 * and what was expected. Files in the pattern's `app.yaml` format (a top-level `modules`, agents
 * with `brain` / `modules` / `system_prompt`) are read by `patternApp.ts` into a model-lead run.
 *
 * ```yaml
 * task: Assess the market for home batteries
 * model: claude-sonnet-4-6
 * deadline: 90s
 * concurrency: 4
 * agents:
 *   - { id: news, role: Recent news, timeout: 45s }
 *   - { id: academic, role: Academic research, model: claude-opus-4-7 }
 *   - { id: writer, role: Lead analyst, instructions: Write a one-page brief. }
 * lead:
 *   specialists: [news, academic]
 *   synthesizer: writer
 * ```
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { batchSchema, describeIssue, normalizeConfig, policySchema, SYNTHESIZER_ID, type FanOutConfig, type SpecialistConfig, type SynthesizerConfig, type ToolConfig } from './config.ts';
import { mcpServersSchema } from './tools/mcpConfig.ts';
import { isToolDefinition, type ToolDefinition } from './tools/tool.ts';
import { isPatternApp, readPatternApp } from './patternApp.ts';
import { parseDuration } from './duration.ts';
import { agentId, count, duration, nonEmptyText, price, TASK_MISSING, taskField, text, toPrices } from './appFileRules.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import type { PolicyOverride } from './policy.ts';
import type { PriceTable } from './pricing/prices.ts';

/** A tool from a JavaScript module: `{ module: ./tools.js, export: lookup }` (default export when `export` is left out). */
const moduleTool = z.strictObject({
  module: nonEmptyText,
  export: nonEmptyText.optional(),
});
/**
 * A tools list: names (`web_search`, `web_fetch`, an MCP server, `<server>.<tool>`), server
 * tools with options (`{ type: web_search, maxUses: 3 }`) or module tools. Names and options are
 * checked with the run config, which lists what is accepted.
 */
const toolList = z.array(
  z.union([text, moduleTool, z.looseObject({ type: z.unknown() })], {
    error: 'expected a tool name (web_search, web_fetch, an MCP server or "<server>.<tool>"), `{ type: web_search | web_fetch, … }`, or `{ module, export }`',
  }),
  { error: 'expected a list of tools' },
);

const agentSchema = z.strictObject({
  id: agentId,
  /** The angle or role label, used in prompts and reports. */
  role: nonEmptyText.optional(),
  model: nonEmptyText.optional(),
  system: text.optional(),
  instructions: text.optional(),
  maxTokens: count.optional(),
  /** Per-attempt deadline (the policy's `attemptTimeoutMs`). */
  timeout: duration.optional(),
  /** Tools its model may call in a loop. Default: the file's `tools`. */
  tools: toolList.optional(),
  policy: policySchema.optional(),
  /** Makes the agent a sub-lead over these agents (N-level fan-out). */
  specialists: z.array(agentId, { error: 'expected a list of agent ids' }).min(1, { error: 'expected at least one agent id' }).optional(),
  synthesizer: agentId.optional(),
  quorum: count.optional(),
  concurrency: count.optional(),
  deadline: duration.optional(),
});

const appSchema = z.strictObject({
  name: text.optional(),
  description: text.optional(),
  // null: a `task:` placeholder left empty for the command line to fill.
  task: taskField,
  model: nonEmptyText.optional(),
  maxTokens: count.optional(),
  deadline: duration.optional(),
  concurrency: count.optional(),
  quorum: count.optional(),
  policy: policySchema.optional(),
  /** Default tools of every agent. */
  tools: toolList.optional(),
  /** MCP servers by name, for agents' `tools`. */
  mcp: mcpServersSchema.optional(),
  /** Weigh findings in the synthesis (`true`, or a rule `{ confidence, sources, words, speed }`). */
  weights: z
    .union(
      [z.boolean(), z.strictObject({ confidence: z.number().min(0).optional(), sources: z.number().min(0).optional(), words: z.number().min(0).optional(), speed: z.number().min(0).optional() })],
      { error: 'expected true, false or `{ confidence?, sources?, words?, speed? }` (numbers from 0 and up)' },
    )
    .optional(),
  /** Batch mode: specialists' calls through Message Batches (`true`, or `{ gatherMs?, pollMs?, maxPollMs?, cancelMarginMs?, maxRequests?, maxBytes? }`). */
  batch: batchSchema.optional(),
  agents: z.array(agentSchema, { error: 'expected a list of agents' }).min(1, { error: 'expected at least one agent' }),
  lead: z.strictObject(
    {
      specialists: z.array(agentId, { error: 'expected a list of agent ids' }).min(1, { error: 'expected at least one agent id' }),
      synthesizer: agentId.optional(),
    },
    { error: 'expected an object with `specialists` (agent ids) and optionally `synthesizer`' },
  ),
  prices: z.record(text, price, { error: 'expected prices by model id' }).optional(),
});

type AppAgent = z.infer<typeof agentSchema>;
type AppDocument = z.infer<typeof appSchema>;
type AppTools = z.infer<typeof toolList>;

/** A loaded app file. */
export interface AppFile {
  /** The file it came from (as given). */
  source: string;
  name: string | null;
  /** The run config; its `task` is empty when the file has none (give one on the command line). */
  config: FanOutConfig;
  /** Prices the file adds or overrides, merged over nothing: combine with `DEFAULT_PRICES`. */
  prices: PriceTable;
  /**
   * Credentials of a pattern-format file (see `patternApp.ts`), when it declares or uses any:
   * `map` is credential name → the environment variable holding its key (the file's
   * `credentials:`); `used` is every credential an agent uses, with where it is written
   * (`agents[0].brain.credential`), in file order. A name not in `map` reads `ANTHROPIC_API_KEY`.
   */
  credentials?: { map: Record<string, string>; used: Array<{ name: string; path: string }> };
}

/** Options of {@link parseAppFile} and {@link loadAppFile}. */
export interface AppFileOptions {
  /** The task, when it is given outside the file; wins over the file's `task`. */
  task?: string | undefined;
}

/**
 * Reads and validates an app file. Throws a {@link ConfigError} naming the file, each path and
 * what was expected (also for YAML syntax errors, with line and column).
 *
 * @example
 * const app = await loadAppFile('examples/apps/market-scan.yaml');
 * const run = runFanOut(app.config, { provider, source: app.source });
 */
export async function loadAppFile(path: string, options: AppFileOptions = {}): Promise<AppFile> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(path, [{ path: '', message: `cannot read the app file: ${reason}` }]);
  }
  const raw = readDocument(source, path);
  if (isPatternApp(raw)) return readPatternApp(raw, path, options);
  const parsed = parseAppDocument(raw, path, options);
  const { tools, issues } = await importModuleTools(parsed.app, path);
  return buildAppFile(parsed, path, tools, issues);
}

/**
 * Validates app-file text (YAML or JSON); `path` names it in errors. Tools from modules
 * (`{ module, export }`) need {@link loadAppFile}, which imports them.
 */
export function parseAppFile(source: string, path: string, options: AppFileOptions = {}): AppFile {
  const raw = readDocument(source, path);
  if (isPatternApp(raw)) return readPatternApp(raw, path, options);
  const parsed = parseAppDocument(raw, path, options);
  const modules = moduleToolPaths(parsed.app);
  if (modules.length > 0)
    throw new ConfigError(
      path,
      modules.map(({ path: at }) => ({ path: at, message: 'tools from modules are imported by loadAppFile (parseAppFile reads text only)' })),
    );
  return buildAppFile(parsed, path, new Map(), []);
}

/** A validated document and its task. */
interface ParsedApp {
  app: AppDocument;
  task: string;
}

/** Where the file lists module tools: `agents[2].tools[1]` (or `tools[0]`), with the entry. */
function moduleToolPaths(app: AppDocument): Array<{ path: string; entry: { module: string; export?: string | undefined } }> {
  const found: Array<{ path: string; entry: { module: string; export?: string | undefined } }> = [];
  const scan = (tools: AppTools | undefined, at: string) =>
    tools?.forEach((tool, index) => {
      if (typeof tool === 'object' && 'module' in tool) found.push({ path: `${at}[${index}]`, entry: tool as { module: string; export?: string } });
    });
  scan(app.tools, 'tools');
  app.agents.forEach((agent, index) => scan(agent.tools, `agents[${index}].tools`));
  return found;
}

/**
 * Imports every module tool (relative to the app file), by its path in the file. Every problem
 * — a module that cannot be imported, a missing export, an export that is no tool — is an
 * issue naming the path (reported with the file's other problems).
 */
async function importModuleTools(app: AppDocument, file: string): Promise<{ tools: Map<string, ToolDefinition>; issues: ConfigIssue[] }> {
  const tools = new Map<string, ToolDefinition>();
  const issues: ConfigIssue[] = [];
  const modules = new Map<string, Promise<Record<string, unknown>>>();
  for (const { path, entry } of moduleToolPaths(app)) {
    const target = resolve(dirname(file), entry.module);
    let loaded = modules.get(target);
    if (!loaded) modules.set(target, (loaded = import(pathToFileURL(target).href) as Promise<Record<string, unknown>>));
    const name = entry.export ?? 'default';
    try {
      const exports = await loaded;
      const value = exports[name];
      if (value === undefined)
        issues.push({
          path: `${path}.export`,
          message: `${entry.module} has no export "${name}" (it exports ${
            Object.keys(exports)
              .map((key) => `"${key}"`)
              .join(', ') || 'nothing'
          })`,
        });
      else if (!isToolDefinition(value))
        issues.push({ path: `${path}.export`, message: `expected "${name}" of ${entry.module} to be a tool made with defineTool, got ${typeof value === 'function' ? 'a function' : typeof value}` });
      else tools.set(path, value);
    } catch (error) {
      issues.push({ path: `${path}.module`, message: `cannot import ${entry.module} (${target}): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` });
    }
  }
  return { tools, issues };
}

/** The file's YAML (or JSON) as plain data, in either format. */
function readDocument(source: string, path: string): unknown {
  const document = parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      path,
      document.errors.map((error) => {
        const at = error.linePos?.[0];
        return { path: at ? `line ${at.line}, column ${at.col}` : '', message: `not valid YAML (or JSON): ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` };
      }),
    );
  }
  return document.toJS();
}

function parseAppDocument(raw: unknown, path: string, options: AppFileOptions): ParsedApp {
  const parsed = appSchema.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      path,
      parsed.error.issues.map((issue) => describeIssue(issue, raw)),
    );
  const app = parsed.data;
  const issues = checkReferences(app);
  const task = options.task ?? app.task ?? undefined;
  if (!task) issues.push({ path: 'task', message: TASK_MISSING });
  if (issues.length > 0) throw new ConfigError(path, issues);
  return { app, task: task ?? '' };
}

/** The loaded file, its run config validated too (tool names, MCP references), so every problem names a path in the file. */
function buildAppFile({ app, task }: ParsedApp, path: string, modules: ReadonlyMap<string, ToolDefinition>, moduleIssues: ConfigIssue[]): AppFile {
  const config = toRunConfig(app, task, modules);
  const issues = [...checkToolNames(app, config, path), ...moduleIssues];
  if (issues.length > 0) throw new ConfigError(path, issues);
  return { source: path, name: app.name ?? null, config, prices: toPrices(app.prices) };
}

/**
 * Checks tool names the way the run config will, but with paths into the file (`agents[1].tools[0]`
 * rather than the run config's `specialists[0].tools[0]`): a wrong name is reported where it is written.
 */
function checkToolNames(app: AppDocument, config: FanOutConfig, file: string): ConfigIssue[] {
  const probe: FanOutConfig = { task: config.task, specialists: [], ...(config.mcp ? { mcp: config.mcp } : {}) };
  const issues: ConfigIssue[] = [];
  const check = (tools: ToolConfig[] | undefined, at: string) => {
    if (!tools) return;
    try {
      normalizeConfig({ ...probe, specialists: [{ id: 'probe', tools }] }, file);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) issues.push({ ...issue, path: issue.path.replace(/^specialists\[0\]\.tools/, at) });
    }
  };
  check(app.tools === undefined ? undefined : toolsOf(app.tools, 'tools', new Map()), 'tools');
  app.agents.forEach((agent, index) => check(agent.tools === undefined ? undefined : toolsOf(agent.tools, `agents[${index}].tools`, new Map()), `agents[${index}].tools`));
  return issues;
}

/** An app file's tool list as run-config tools: module entries become the tools imported for them (a stand-in when not imported, for name checks). */
function toolsOf(tools: AppTools, at: string, modules: ReadonlyMap<string, ToolDefinition>): ToolConfig[] {
  return tools.map((tool, index): ToolConfig => {
    if (typeof tool === 'string') return tool;
    if ('module' in tool) return modules.get(`${at}[${index}]`) ?? moduleStandIn(`${at}[${index}]`);
    return tool as ToolConfig;
  });
}

/** A placeholder for a module tool not imported yet (name checks only): a name no other tool can have. */
function moduleStandIn(path: string): ToolDefinition {
  return {
    kind: 'fanfold.tool',
    name: `module_${path.replace(/[^A-Za-z0-9]/g, '_')}`.slice(0, 64),
    description: 'module tool',
    inputSchema: { type: 'object' },
    parse: (input) => input,
    run: () => '',
  };
}

/** Cross-references a schema cannot check: unique ids, known ids, no cycles, quorum in reach. */
function checkReferences(app: AppDocument): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const byId = new Map<string, AppAgent>();
  app.agents.forEach((agent, index) => {
    if (byId.has(agent.id)) issues.push({ path: `agents[${index}].id`, message: `expected a unique id, "${agent.id}" is used twice` });
    byId.set(agent.id, agent);
    if (agent.specialists) {
      for (const key of ['system', 'instructions'] as const) {
        if (agent[key] !== undefined) issues.push({ path: `agents[${index}].${key}`, message: `a sub-lead makes no model call of its own: put \`${key}\` on its synthesizer or its specialists` });
      }
    } else {
      for (const key of ['synthesizer', 'quorum', 'concurrency', 'deadline'] as const) {
        if (agent[key] !== undefined) issues.push({ path: `agents[${index}].${key}`, message: `only a sub-lead (an agent with \`specialists\`) takes \`${key}\`` });
      }
    }
  });
  const known = [...byId.keys()].map((id) => `"${id}"`).join(', ');
  const checkIds = (ids: readonly string[] | undefined, path: string) => {
    const seen = new Set<string>();
    ids?.forEach((id, index) => {
      if (!byId.has(id)) issues.push({ path: `${path}[${index}]`, message: `expected the id of an agent in \`agents\` (${known}), got "${id}"` });
      else if (seen.has(id)) issues.push({ path: `${path}[${index}]`, message: `"${id}" is listed twice` });
      else if (id === SYNTHESIZER_ID) issues.push({ path: `${path}[${index}]`, message: `"${SYNTHESIZER_ID}" is reserved for the synthesizer's outcome; rename the agent` });
      seen.add(id);
    });
  };
  const checkSynthesizer = (id: string | undefined, path: string) => {
    if (id !== undefined && !byId.has(id)) issues.push({ path, message: `expected the id of an agent in \`agents\` (${known}), got "${id}"` });
    else if (id !== undefined && byId.get(id)?.specialists) issues.push({ path, message: `"${id}" is a sub-lead; a synthesizer must be a plain agent` });
  };
  checkIds(app.lead.specialists, 'lead.specialists');
  checkSynthesizer(app.lead.synthesizer, 'lead.synthesizer');
  const synthesizers = new Set([app.lead.synthesizer, ...app.agents.map((agent) => agent.synthesizer)].filter((id): id is string => id !== undefined));
  app.agents.forEach((agent, index) => {
    if (agent.tools !== undefined && synthesizers.has(agent.id))
      issues.push({ path: `agents[${index}].tools`, message: `"${agent.id}" is a synthesizer, which takes no tools (it folds the findings it is given)` });
  });
  if (app.quorum !== undefined && app.quorum > app.lead.specialists.length) {
    issues.push({ path: 'quorum', message: `expected at most ${app.lead.specialists.length} (the number of lead.specialists), got ${app.quorum}` });
  }
  app.agents.forEach((agent, index) => {
    checkIds(agent.specialists, `agents[${index}].specialists`);
    checkSynthesizer(agent.synthesizer, `agents[${index}].synthesizer`);
    if (agent.specialists && agent.quorum !== undefined && agent.quorum > agent.specialists.length) {
      issues.push({ path: `agents[${index}].quorum`, message: `expected at most ${agent.specialists.length} (the number of its specialists), got ${agent.quorum}` });
    }
  });
  if (issues.length === 0) issues.push(...findCycles(app, byId));
  return issues;
}

/** Most specialists an app file may expand to (agents reused by several sub-leads multiply). */
export const MAX_EXPANDED_SPECIALISTS = 100_000;

/**
 * A sub-lead that (through others) lists itself would fan out forever; agents reused by several
 * sub-leads multiply, so the expanded tree is counted too. Both in one linear pass.
 */
function findCycles(app: AppDocument, byId: ReadonlyMap<string, AppAgent>): ConfigIssue[] {
  const sizes = new Map<string, number>();
  const onPath: string[] = [];
  let cycle: string[] | undefined;
  /** Specialists an agent expands to (itself included); NaN once a cycle is found. */
  const size = (id: string): number => {
    const known = sizes.get(id);
    if (known !== undefined) return known;
    if (onPath.includes(id)) {
      cycle ??= [...onPath.slice(onPath.indexOf(id)), id];
      return Number.NaN;
    }
    onPath.push(id);
    let total = 1;
    for (const child of byId.get(id)?.specialists ?? []) total += size(child);
    onPath.pop();
    sizes.set(id, total);
    return total;
  };
  const total = app.lead.specialists.reduce((sum, id) => sum + size(id), 0);
  if (cycle) {
    const index = app.agents.findIndex((agent) => agent.id === cycle![0]);
    return [{ path: `agents[${index}].specialists`, message: `expected no cycle of sub-leads, got ${cycle.join(' → ')}` }];
  }
  if (total > MAX_EXPANDED_SPECIALISTS) {
    return [{ path: 'lead.specialists', message: `expands to ${total} specialists, more than ${MAX_EXPANDED_SPECIALISTS}: agents listed by several sub-leads are copied into each` }];
  }
  return [];
}

function toRunConfig(app: AppDocument, task: string, modules: ReadonlyMap<string, ToolDefinition>): FanOutConfig {
  const agentIndex = new Map(app.agents.map((agent, index) => [agent.id, index]));
  const byId = new Map(app.agents.map((agent) => [agent.id, agent]));
  const call = (agent: AppAgent): SynthesizerConfig => {
    const written = agent.policy as PolicyOverride | undefined;
    const policy: PolicyOverride | undefined = agent.timeout !== undefined ? { ...written, attemptTimeoutMs: parseDuration(agent.timeout)! } : written;
    return {
      ...(agent.model !== undefined ? { model: agent.model } : {}),
      ...(agent.system !== undefined ? { system: agent.system } : {}),
      ...(agent.instructions !== undefined ? { instructions: agent.instructions } : {}),
      ...(agent.maxTokens !== undefined ? { maxTokens: agent.maxTokens } : {}),
      ...(policy !== undefined ? { policy } : {}),
    };
  };
  const specialist = (id: string): SpecialistConfig => {
    const agent = byId.get(id)!;
    const spec: SpecialistConfig = { id, ...(agent.role !== undefined ? { angle: agent.role } : {}), ...call(agent) };
    if (agent.tools !== undefined) spec.tools = toolsOf(agent.tools, `agents[${agentIndex.get(id)}].tools`, modules);
    if (agent.specialists) {
      spec.specialists = agent.specialists.map(specialist);
      if (agent.synthesizer !== undefined) spec.synthesizer = call(byId.get(agent.synthesizer)!);
      if (agent.quorum !== undefined) spec.quorum = agent.quorum;
      if (agent.concurrency !== undefined) spec.maxConcurrency = agent.concurrency;
      if (agent.deadline !== undefined) spec.deadlineMs = parseDuration(agent.deadline)!;
    }
    return spec;
  };
  const config: FanOutConfig = { task, specialists: app.lead.specialists.map(specialist) };
  if (app.lead.synthesizer !== undefined) config.synthesizer = call(byId.get(app.lead.synthesizer)!);
  if (app.model !== undefined) config.model = app.model;
  if (app.maxTokens !== undefined) config.maxTokens = app.maxTokens;
  if (app.deadline !== undefined) config.deadlineMs = parseDuration(app.deadline)!;
  if (app.concurrency !== undefined) config.maxConcurrency = app.concurrency;
  if (app.quorum !== undefined) config.quorum = app.quorum;
  if (app.policy !== undefined) config.policy = app.policy as PolicyOverride;
  if (app.tools !== undefined) config.tools = toolsOf(app.tools, 'tools', modules);
  if (app.mcp !== undefined) config.mcp = app.mcp as FanOutConfig['mcp'] & object;
  if (app.weights !== undefined) config.weights = app.weights as FanOutConfig['weights'] & object;
  if (app.batch !== undefined) config.batch = app.batch as NonNullable<FanOutConfig['batch']>;
  return config;
}
