/**
 * App files: a fan-out declared in YAML (or JSON) — agents with their role, model, system prompt,
 * policy and timeout; the lead's specialists and synthesizer; the run-wide deadline and
 * concurrency. Validated before anything runs; every problem names the file, the path inside it
 * and what was expected.
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
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { describeIssue, MAX_TIMER_MS, policySchema, SYNTHESIZER_ID, type FanOutConfig, type SpecialistConfig, type SynthesizerConfig } from './config.ts';
import { DURATION_HINT, parseDuration } from './duration.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import type { PolicyOverride } from './policy.ts';
import type { ModelPrice, PriceTable } from './pricing/prices.ts';

const text = z.string({ error: 'expected a string' });
const nonEmptyText = text.min(1, { error: 'expected a non-empty string' });
const count = z.number({ error: 'expected an integer from 1 and up' }).int({ error: 'expected an integer from 1 and up' }).min(1, { error: 'expected an integer from 1 and up' });
const duration = z.custom<number | string>((value) => {
  const ms = parseDuration(value);
  return ms !== undefined && ms <= MAX_TIMER_MS;
}, { error: `expected ${DURATION_HINT} (at most ${MAX_TIMER_MS} ms)` });
const agentId = nonEmptyText.regex(/^[A-Za-z0-9][\w.-]*$/, { error: 'expected an id of letters, digits, "-", "_" or "." (starting with a letter or digit)' });
const price = z.strictObject({
  input: z.number({ error: 'expected USD per million tokens' }).min(0, { error: 'expected USD per million tokens' }),
  output: z.number({ error: 'expected USD per million tokens' }).min(0, { error: 'expected USD per million tokens' }),
  cacheWrite: z.number({ error: 'expected USD per million tokens' }).min(0, { error: 'expected USD per million tokens' }).optional(),
  cacheRead: z.number({ error: 'expected USD per million tokens' }).min(0, { error: 'expected USD per million tokens' }).optional(),
});

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
  task: text.refine((value) => value.trim().length > 0, { error: 'expected a non-empty string' }).nullish(),
  model: nonEmptyText.optional(),
  maxTokens: count.optional(),
  deadline: duration.optional(),
  concurrency: count.optional(),
  quorum: count.optional(),
  policy: policySchema.optional(),
  agents: z.array(agentSchema, { error: 'expected a list of agents' }).min(1, { error: 'expected at least one agent' }),
  lead: z.strictObject({
    specialists: z.array(agentId, { error: 'expected a list of agent ids' }).min(1, { error: 'expected at least one agent id' }),
    synthesizer: agentId.optional(),
  }, { error: 'expected an object with `specialists` (agent ids) and optionally `synthesizer`' }),
  prices: z.record(text, price, { error: 'expected prices by model id' }).optional(),
});

type AppAgent = z.infer<typeof agentSchema>;
type AppDocument = z.infer<typeof appSchema>;

/** A loaded app file. */
export interface AppFile {
  /** The file it came from (as given). */
  source: string;
  name: string | null;
  /** The run config; its `task` is empty when the file has none (give one on the command line). */
  config: FanOutConfig;
  /** Prices the file adds or overrides, merged over nothing: combine with `DEFAULT_PRICES`. */
  prices: PriceTable;
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
  return parseAppFile(source, path, options);
}

/** Validates app-file text (YAML or JSON); `path` names it in errors. */
export function parseAppFile(source: string, path: string, options: AppFileOptions = {}): AppFile {
  const document = parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(path, document.errors.map((error) => {
      const at = error.linePos?.[0];
      return { path: at ? `line ${at.line}, column ${at.col}` : '', message: `not valid YAML (or JSON): ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` };
    }));
  }
  const raw: unknown = document.toJS();
  const parsed = appSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(path, parsed.error.issues.map((issue) => describeIssue(issue, raw)));
  const app = parsed.data;
  const issues = checkReferences(app);
  const task = options.task ?? app.task ?? undefined;
  if (!task) issues.push({ path: 'task', message: 'expected the task: set `task` in the file, or give it on the command line' });
  if (issues.length > 0) throw new ConfigError(path, issues);
  return { source: path, name: app.name ?? null, config: toRunConfig(app, task ?? ''), prices: toPrices(app.prices) };
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

function toRunConfig(app: AppDocument, task: string): FanOutConfig {
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
  return config;
}

function toPrices(prices: AppDocument['prices']): PriceTable {
  const table: Record<string, ModelPrice> = {};
  for (const [model, entry] of Object.entries(prices ?? {})) {
    // Defaults follow the API's pricing rule: cache writes 1.25× input, reads 0.1×.
    table[model] = { input: entry.input, output: entry.output, cacheWrite: entry.cacheWrite ?? entry.input * 1.25, cacheRead: entry.cacheRead ?? entry.input * 0.1 };
  }
  return table;
}
