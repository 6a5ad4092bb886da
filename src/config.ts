/**
 * The run config a user writes, its validation (zod), and its normalisation into the lead
 * machine's input: plain JSON, with task functions moved out into a registry because functions
 * cannot live in a machine's context.
 */
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.ts';
import type { ErrorKind } from './errors.ts';
import { DEFAULT_POLICY, resolvePolicy, type PolicyOverride, type SupervisionPolicy } from './policy.ts';
import type { SpecialistOutcome } from './outcome.ts';
import type { Usage } from './usage.ts';
import { isToolDefinition, type ToolDefinition } from './tools/tool.ts';
import { mcpServersSchema, type McpServerConfig } from './tools/mcpConfig.ts';
import { SERVER_TOOL_NAMES } from './tools/serverTools.ts';
import type { ServerToolName, ToolSpec } from './tools/types.ts';
import { AGENT_TOOL_NAME } from './lead/agentTool.ts';
import { DEFAULT_WEIGHTS, type WeightRule } from './findings/weights.ts';
import type { BudgetCaps } from './budget/ledger.ts';
import { DEFAULT_BATCH_SETTINGS, MAX_BATCH_BYTES, MAX_BATCH_REQUESTS, type BatchSettings } from './providers/batch/settings.ts';

/** What a task function (a non-LLM specialist, or a custom synthesizer) receives. */
export interface TaskContext {
  /** The run's task. */
  task: string;
  /** The specialist's id and angle (`synthesizer` for the synthesizer). */
  id: string;
  angle: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the attempt times out, the run's deadline passes, or the run is cancelled. */
  signal: AbortSignal;
  /** For the synthesizer only: every specialist's outcome, in config order. */
  outcomes?: readonly SpecialistOutcome[];
}

/** What a task function returns: its text, or text with token usage. */
export type TaskResult = string | { text: string; usage?: Partial<Usage> };

/**
 * A specialist may be any async function, e.g. an API health check. Throw to fail the attempt;
 * throw a `ProviderError` with a transient `kind` to make it retryable.
 */
export type TaskFunction = (context: TaskContext) => Promise<TaskResult>;

/**
 * A server tool with options: `{ type: 'web_search', maxUses: 3, allowedDomains: ['nature.com'] }`.
 * Domain filters: one of `allowedDomains` and `blockedDomains`, not both.
 */
export interface ServerToolConfig {
  type: ServerToolName;
  /** Most uses per model call (`max_uses`). Default: the API's. */
  maxUses?: number;
  allowedDomains?: string[];
  blockedDomains?: string[];
}

/**
 * A tool a specialist may use:
 * - `'web_search'`, `'web_fetch'` (or {@link ServerToolConfig}): Anthropic server tools;
 * - a tool made with `defineTool` (code);
 * - `'<server>'`: every tool of an MCP server in the run's `mcp` (its `allowedTools`);
 * - `'<server>.<tool>'`: one tool of that server.
 */
export type ToolConfig = string | ServerToolConfig | ToolDefinition;

/** One specialist as written in config. */
export interface SpecialistConfig {
  /** Unique within the run; used in events, outcomes and the synthesis prompt. */
  id: string;
  /** A human label for its angle, e.g. "Historical context". Default: the id. */
  angle?: string;
  /** Model id. Default: the run's `model`. On a sub-lead: the default of its sub-specialists and synthesizer. */
  model?: string;
  /** System prompt. Default: one shared by all specialists (the angle goes in the user message). Not on a sub-lead. */
  system?: string;
  /** What this specialist should do with the task (appended to it in the user message). */
  instructions?: string;
  /** Output token limit per call. Default: the run's `maxTokens`. On a sub-lead: the default of its sub-tree. */
  maxTokens?: number;
  /** Overrides of the run-wide policy for this specialist. */
  policy?: PolicyOverride;
  /** This specialist's own caps (over all its calls); it stops, `skipped`, rather than pass them. */
  budget?: BudgetConfig;
  /** Makes this a non-LLM specialist: this function runs instead of a model call. */
  run?: TaskFunction;
  /**
   * Which of the run's `providers` (by name) its calls go through, e.g. an app file's
   * `credential: anthropic_main`. Default: the run's `provider`.
   */
  credential?: string;
  /**
   * Tools its model may call in a loop (see {@link ToolConfig}); `[]` for none. Default: the
   * run's `tools` (on a sub-lead: the default of its sub-specialists).
   */
  tools?: ToolConfig[];
  /**
   * Makes this specialist a sub-lead (N-level fan-out): it fans its angle out to these
   * sub-specialists and folds their findings with its own `synthesizer`; that synthesis is its
   * output. Sub-specialist ids need only be unique among their siblings.
   */
  specialists?: SpecialistConfig[];
  /** For a sub-lead: how it folds its sub-specialists' findings. */
  synthesizer?: SynthesizerConfig;
  /** For a sub-lead: its quorum. Default `1`. */
  quorum?: number;
  /** For a sub-lead: most calls of its sub-specialists in flight at once. Default: no limit. */
  maxConcurrency?: number;
  /** For a sub-lead: its own deadline in ms, capped by what is left of the parent's. */
  deadlineMs?: number;
}

/** The synthesizer as written in config. */
export interface SynthesizerConfig {
  model?: string;
  system?: string;
  /** How to write the synthesis (e.g. sections to produce). */
  instructions?: string;
  maxTokens?: number;
  policy?: PolicyOverride;
  /** A custom fold instead of a model call; gets every outcome in `context.outcomes`. */
  run?: TaskFunction;
  /** Which of the run's `providers` its calls go through. Default: the run's `provider`. */
  credential?: string;
}

/**
 * A fan-out, as written by a user.
 *
 * @example
 * const config: FanOutConfig = {
 *   task: 'nuclear fusion',
 *   model: 'claude-sonnet-4-6',
 *   specialists: [{ id: 'historical' }, { id: 'technical' }, { id: 'societal' }],
 *   synthesizer: {},
 *   deadlineMs: 60_000,
 * };
 */
export interface FanOutConfig {
  task: string;
  specialists: SpecialistConfig[];
  synthesizer?: SynthesizerConfig;
  /** The whole fan-out's deadline in ms; at it, stragglers stop and synthesis runs on what arrived. Default `300_000`. */
  deadlineMs?: number;
  /** Run-wide default policy; each specialist may override parts. */
  policy?: PolicyOverride;
  /** The run succeeds if at least this many specialists succeed. Default `1`. */
  quorum?: number;
  /** Most model calls in flight at once; the rest queue. Default: no limit. */
  maxConcurrency?: number;
  /** Default model for specialists and synthesizer. Default `'claude-sonnet-4-6'`. */
  model?: string;
  /** Default output token limit per call. Default `1024`. */
  maxTokens?: number;
  /** Default tools of every model specialist (see {@link ToolConfig}). Default: none. */
  tools?: ToolConfig[];
  /**
   * MCP servers of the run, by name: started once before any model call, their tools listed
   * once, stopped when the run ends. Specialists refer to them in `tools`.
   */
  mcp?: Record<string, McpServerConfig>;
  /**
   * Weigh findings in the synthesis: each model specialist reports its confidence and sources
   * with its finding (a `report` tool call, no extra model call), and the synthesis prompt gives
   * each finding its metadata and a weight by this rule (`true`: confidence 0.6, sources 0.4),
   * telling the synthesizer to favour the higher-weighted finding where they conflict.
   * Default: off.
   */
  weights?: WeightRule | boolean;
  /**
   * Context every specialist shares (documents, a brief): sent first in every call of the run,
   * identical, as a prompt-cache prefix. Long enough to cache (about 1,024 tokens), one call
   * writes the cache and the others start once it is written, so they read it. Default: none.
   */
  context?: string | SharedContext;
  /**
   * A hard budget for the run (USD at the price table, and/or tokens). A run whose unavoidable
   * cost (its first calls' inputs, counted with count_tokens, and the share kept for the
   * synthesis) already passes it is refused before any call; while it runs, no call starts that
   * could pass it, and once one is refused the fan-out stops and the synthesis runs on what
   * arrived (`partial`, each missing angle saying "budget"). Default: none.
   */
  budget?: RunBudgetConfig;
  /**
   * How the synthesis folds the findings. `batch` (default): one call once every specialist is
   * done. `stream`: each finding is digested into its section of the report as soon as it
   * arrives (the synthesizer's model, beside the specialists still running), and after the
   * last only the cross-cutting part and the sources are written — so little is left to wait
   * for at the end. Same sections, same missing angles named.
   */
  fanIn?: 'batch' | 'stream';
  /**
   * Batch mode: specialists' model calls go through the Message Batches API at half price,
   * gathered into one batch per round (each model turn of a tool-using specialist is a round),
   * polled until they end. The synthesizer, a model lead and a streaming fold's digests still
   * stream. Calls wait for their batch to end (minutes to hours on the API), so specialists'
   * `attemptTimeoutMs` defaults to none in this mode; open batches are canceled a margin before
   * the deadline so what they finished is read in time. `true` takes every default of
   * {@link BatchConfig}. Needs a provider with the batch endpoints (`createAnthropicProvider`).
   * Default: off.
   */
  batch?: boolean | BatchConfig;
  /**
   * A model lead: instead of running every specialist, a model decides the fan-out. It spawns
   * specialists from `specialists` (then the templates it may choose from) with the `Agent`
   * tool, joins them by id, and writes the synthesis. Default: none (every specialist runs).
   */
  lead?: ModelLeadConfig;
}

/** Batch mode's settings; every field is optional (see {@link FanOutConfig.batch}). */
export interface BatchConfig {
  /** How long the first call of a round waits for others to join its batch, in ms. Default `1_000`. */
  gatherMs?: number;
  /** Wait before a batch's first poll, in ms; each later poll waits 1.5× longer. Default `1_000`. */
  pollMs?: number;
  /** Longest wait between two polls of a batch, in ms. Default `60_000`. */
  maxPollMs?: number;
  /** How long before the run's deadline open batches are canceled, in ms. Default: a tenth of the deadline, from 1 s to 10 min. */
  cancelMarginMs?: number;
  /** Most requests per batch; more calls are split into several batches. Default (and most) `100_000`, the API's limit. */
  maxRequests?: number;
  /** Largest create body per batch, in bytes; larger rounds are split. Default (and most) 256 MB, the API's limit. */
  maxBytes?: number;
}

/** Caps on money and tokens; every one given must hold. */
export interface BudgetConfig {
  /** USD, priced with the run's price table (a model without a price counts only in token caps). */
  usd?: number;
  inputTokens?: number;
  outputTokens?: number;
}

/** The run's budget: its caps, and what happens to calls in flight once it is spent. */
export interface RunBudgetConfig extends BudgetConfig {
  /** `finish` (default): calls in flight finish, nothing new starts. `cut`: they are stopped too. */
  onBudget?: 'finish' | 'cut';
  /** Share of the cap kept for the synthesis. Default: its worst case, at most half the cap. */
  reserve?: number;
}

/** A run's shared context: a brief and documents. */
export interface SharedContext {
  brief?: string;
  documents?: Array<{ title?: string; text: string }>;
}

/**
 * A model lead, as written in config: a model with the `Agent` tool (and tools of its own)
 * that spawns specialists from the run's `specialists` (its templates), joins them by id and
 * writes the answer.
 *
 * @example
 * const config: FanOutConfig = {
 *   task: 'nuclear fusion',
 *   lead: { model: 'claude-sonnet-4-6', system: 'Dispatch three explorers, one per source domain (news, academic, vendor).' },
 *   specialists: [{ id: 'explorer', model: 'claude-haiku-4-5', tools: ['web_search', 'web_fetch'] }],
 * };
 */
export interface ModelLeadConfig {
  /** Default: the run's `model`. */
  model?: string;
  /** Its system prompt: how to plan and delegate. Default: a generic lead prompt. */
  system?: string;
  /** Added to the task in its first message. */
  instructions?: string;
  /** Output token limit per call. Default: the run's `maxTokens`, at least 2048 (its last turn writes the synthesis). */
  maxTokens?: number;
  /** Its policy (retries, fallbacks, `maxTurns`…), over the run's. Default `maxToolCalls`: 50 (spawns and joins count). */
  policy?: PolicyOverride;
  /** Its own tools besides `Agent` (see {@link ToolConfig}). Default: none. */
  tools?: ToolConfig[];
  /** Which of the run's `providers` its calls go through. Default: the run's `provider`. */
  credential?: string;
  /** Most specialists it may spawn in the whole run. Default `20`. */
  maxSpecialists?: number;
  /** Most rounds of spawning (lead turns that spawn). Default `5`. */
  maxRounds?: number;
  /** Each spawned specialist's own deadline, in ms from its spawn. Default: none (the run's deadline). */
  agentDeadlineMs?: number;
  /**
   * Who writes the synthesis: `'lead'` (its last turn's text) or `'synthesizer'` (the run's
   * `synthesizer` folds the spawned specialists' findings once the lead is done). Default `'lead'`.
   */
  synthesize?: 'lead' | 'synthesizer';
}

/** One specialist as the lead machine sees it: every default applied, JSON only. */
export interface SpecialistSpec {
  id: string;
  angle: string;
  /**
   * `model` calls the provider; `task` runs the task function registered under `taskKey`;
   * `fanOut` is a sub-lead that runs `fanOut` and answers with its synthesis.
   */
  kind: 'model' | 'task' | 'fanOut';
  /** For `task` specialists, the key of its function in the registry: the JSON of its id path, e.g. `["technical","plasma"]`. */
  taskKey: string | null;
  /** `[primary, ...fallbackModels]`; empty for task functions. */
  models: string[];
  system: string | null;
  instructions: string | null;
  /** The whole first user message, instead of the task, angle and instructions (a model lead's). */
  brief?: string;
  /** The name of the provider its calls go through (`RunOptions.providers`); absent: the run's `provider`. */
  credential?: string;
  /** Its own caps, over all its calls; absent: none. */
  budget?: BudgetCaps;
  maxTokens: number;
  policy: SupervisionPolicy;
  /** Tools of a `model` specialist (empty: one plain call); shared between specialists that inherit one list. */
  tools: ToolSpec[];
  /** For `fanOut` specialists: the nested fan-out, normalised like the top level. */
  fanOut?: SubLeadSpec;
}

/** A sub-lead's own fan-out: what a lead needs besides the task and the deadline. */
export interface SubLeadSpec {
  specialists: SpecialistSpec[];
  synthesizer: SpecialistSpec;
  quorum: number;
  maxConcurrency: number | null;
  /** Its own deadline, if it set one (capped by the parent's remaining time when it starts). */
  deadlineMs: number | null;
}

/** The lead machine's input: a normalised {@link FanOutConfig}, plain JSON. */
export interface LeadInput {
  task: string;
  specialists: SpecialistSpec[];
  synthesizer: SpecialistSpec;
  deadlineMs: number;
  quorum: number;
  /** `null` means no limit. */
  maxConcurrency: number | null;
  /**
   * A model lead decides the fan-out: `specialists` starts empty and grows as it spawns them
   * (from `lead.templates`). Absent for a fixed fan-out.
   */
  lead?: ModelLeadSpec;
  /** How findings are weighed in the synthesis; absent: they are not. */
  weights?: Required<WeightRule>;
  /** The shared context, as sent (see `FanOutConfig.context`); absent: none. */
  context?: string;
  /** A sub-lead's input: its parent already warmed the context's cache. */
  cacheWarm?: boolean;
  /** The run's budget; absent: none. */
  budget?: { caps: BudgetCaps; onBudget: 'finish' | 'cut'; reserve: number | null };
  /** A sub-lead's input (its synthesizer uses no share kept for the run's synthesis). */
  nested?: true;
  /** `stream`: findings are digested as they arrive (see `FanOutConfig.fanIn`); absent: batch. */
  fanIn?: 'stream';
  /** Batch mode (see `FanOutConfig.batch`), every setting resolved; absent: off. */
  batch?: BatchSettings;
}

/** A model lead as the lead machine sees it. Plain JSON. */
export interface ModelLeadSpec {
  /** The lead's own agent: id `lead`, its tools with the `Agent` tool last. */
  agent: SpecialistSpec;
  /** What it may spawn from, by id; a spawned specialist is a copy with its own id, angle and brief. */
  templates: SpecialistSpec[];
  maxSpecialists: number;
  maxRounds: number;
  agentDeadlineMs: number | null;
  synthesize: 'lead' | 'synthesizer';
}

/** The id of a model lead's own agent in events and checkpoints. */
export const LEAD_ID = 'lead';

/** The id under which the synthesizer appears in events, outcomes and the task registry. */
export const SYNTHESIZER_ID = 'synthesizer';
const DEFAULT_MODEL = 'claude-sonnet-4-6';
const DEFAULT_MAX_TOKENS = 1024;
const DEFAULT_DEADLINE_MS = 300_000;
const DEFAULT_MAX_SPAWNED = 20;
const DEFAULT_MAX_ROUNDS = 5;
/** A model lead's last turn writes the whole synthesis: its default token limit is at least this. */
const LEAD_MIN_MAX_TOKENS = 2048;
/** A model lead's default `maxToolCalls`: its spawns and joins are tool calls. */
const LEAD_MAX_TOOL_CALLS = 50;

const errorKinds = [
  'rate_limited',
  'overloaded',
  'server',
  'timeout',
  'connection',
  'bad_request',
  'auth',
  'permission',
  'not_found',
  'deadline',
  'cancelled',
  'budget',
  'unknown',
] as const satisfies readonly ErrorKind[];

/** The longest delay a timer can take (Node and browsers overflow past it and fire at once). */
export const MAX_TIMER_MS = 2_147_483_647;
const positiveInt = (what = 'an integer from 1 and up') =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}` });
const durationMs = (what = `an integer from 1 to ${MAX_TIMER_MS} (ms)`) => positiveInt(what).max(MAX_TIMER_MS, { error: `expected ${what}` });
const nonNegative = z
  .number({ error: `expected a number from 0 to ${MAX_TIMER_MS} (ms)` })
  .min(0, { error: `expected a number from 0 to ${MAX_TIMER_MS} (ms)` })
  .max(MAX_TIMER_MS, { error: `expected a number from 0 to ${MAX_TIMER_MS} (ms)` });
const text = z.string({ error: 'expected a string' });
const nonEmptyText = text.min(1, { error: 'expected a non-empty string' });
const fn = z.custom<TaskFunction>((value) => typeof value === 'function', { error: 'expected a function' });

const retrySchema = z.strictObject({
  maxAttempts: positiveInt().optional(),
  initialDelayMs: nonNegative.optional(),
  factor: z.number({ error: 'expected a number from 1 and up' }).min(1, { error: 'expected a number from 1 and up' }).optional(),
  maxDelayMs: nonNegative.optional(),
  jitter: z.number({ error: 'expected a number from 0 to 1' }).min(0, { error: 'expected a number from 0 to 1' }).max(1, { error: 'expected a number from 0 to 1' }).optional(),
  retryOn: z.array(z.enum(errorKinds, { error: `expected one of ${errorKinds.join(', ')}` })).optional(),
});

/** The supervision policy as written in config (and in app files). */
export const policySchema = z.strictObject({
  retry: retrySchema.optional(),
  fallbackModels: z.array(nonEmptyText).optional(),
  fallbackOn: z.array(z.enum(errorKinds, { error: `expected one of ${errorKinds.join(', ')}` })).optional(),
  streamOn: z.array(z.enum(errorKinds, { error: `expected one of ${errorKinds.join(', ')}` })).optional(),
  onFailure: z.enum(['skip', 'escalate'], { error: 'expected "skip" or "escalate"' }).optional(),
  attemptTimeoutMs: durationMs(`an integer from 1 to ${MAX_TIMER_MS} (ms), or null`).nullable().optional(),
  maxTurns: positiveInt().max(1000, { error: 'expected an integer from 1 to 1000' }).optional(),
  maxToolCalls: z.number({ error: 'expected an integer from 0 and up' }).int({ error: 'expected an integer from 0 and up' }).min(0, { error: 'expected an integer from 0 and up' }).optional(),
  maxToolConcurrency: positiveInt().optional(),
  toolTimeoutMs: durationMs(`an integer from 1 to ${MAX_TIMER_MS} (ms), or null`).nullable().optional(),
});

/** Checks one level of a fan-out: unique ids, the reserved id, a reachable quorum. */
function checkLevel(level: { specialists?: Array<{ id: string }> | undefined; quorum?: number | undefined }, ctx: z.RefinementCtx, path: PropertyKey[]): void {
  const specialists = level.specialists ?? [];
  const seen = new Set<string>();
  specialists.forEach((specialist, index) => {
    if (seen.has(specialist.id)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'specialists', index, 'id'], message: `expected a unique id, "${specialist.id}" is used twice`, params: { plain: true } });
    }
    if (specialist.id === SYNTHESIZER_ID) {
      ctx.addIssue({ code: 'custom', path: [...path, 'specialists', index, 'id'], message: `"${SYNTHESIZER_ID}" is reserved for the synthesizer`, params: { plain: true } });
    }
    seen.add(specialist.id);
  });
  if (level.quorum !== undefined && level.quorum > specialists.length) {
    ctx.addIssue({ code: 'custom', path: [...path, 'quorum'], message: `expected at most ${specialists.length} (the number of specialists), got ${level.quorum}`, params: { plain: true } });
  }
}

/** What the synthesizer and every specialist share: how its call is made (or its function). */
const caps = {
  usd: z.number({ error: 'expected USD above 0' }).gt(0, { error: 'expected USD above 0' }).optional(),
  inputTokens: positiveInt().optional(),
  outputTokens: positiveInt().optional(),
};
const budgetSchema = z
  .strictObject(caps, { error: 'expected `{ usd?, inputTokens?, outputTokens? }`' })
  .refine((budget) => Object.keys(budget).length > 0, { error: 'expected at least one of usd, inputTokens, outputTokens' });
const runBudgetSchema = z
  .strictObject(
    {
      ...caps,
      onBudget: z.enum(['finish', 'cut'], { error: 'expected "finish" or "cut"' }).optional(),
      reserve: z.number({ error: 'expected a share from 0 to 0.9' }).min(0, { error: 'expected a share from 0 to 0.9' }).max(0.9, { error: 'expected a share from 0 to 0.9' }).optional(),
    },
    { error: 'expected `{ usd?, inputTokens?, outputTokens?, onBudget?, reserve? }`' },
  )
  .refine((budget) => budget.usd !== undefined || budget.inputTokens !== undefined || budget.outputTokens !== undefined, { error: 'expected at least one of usd, inputTokens, outputTokens' });

/** What every model call takes: a specialist's, the synthesizer's, the lead's. */
const modelCallFields = {
  credential: nonEmptyText.optional(),
  model: nonEmptyText.optional(),
  system: text.optional(),
  instructions: text.optional(),
  maxTokens: positiveInt().optional(),
  policy: policySchema.optional(),
};

/** A specialist's or the synthesizer's: a model call, or a `run` function instead. */
const callFields = { ...modelCallFields, run: fn.optional() };

const synthesizerSchema = z.strictObject(callFields);

/** Tool lists are checked item by item in `checkTools`, with messages that list what is accepted. */
const toolList = z.array(z.unknown(), { error: 'expected a list of tools' });
const serverToolSchema = z.strictObject({
  type: z.enum(['web_search', 'web_fetch'], { error: 'expected "web_search" or "web_fetch"' }),
  maxUses: positiveInt().optional(),
  allowedDomains: z.array(nonEmptyText, { error: 'expected a list of domains' }).optional(),
  blockedDomains: z.array(nonEmptyText, { error: 'expected a list of domains' }).optional(),
});

const specialistSchema: z.ZodType<SpecialistConfig> = z.strictObject({
  id: nonEmptyText,
  angle: nonEmptyText.optional(),
  ...callFields,
  tools: toolList.optional(),
  budget: budgetSchema.optional(),
  // Recursive (N-level fan-out). `z.lazy` rather than a getter: measured faster to parse.
  specialists: z
    .array(
      z.lazy(() => specialistSchema),
      { error: 'expected an array of specialists' },
    )
    .min(1, { error: 'expected at least one specialist' })
    .optional(),
  synthesizer: synthesizerSchema.optional(),
  quorum: positiveInt().optional(),
  maxConcurrency: positiveInt().optional(),
  deadlineMs: durationMs().optional(),
}) as unknown as z.ZodType<SpecialistConfig>;

/**
 * The checks a schema cannot express, over the whole tree in one pass (a refinement per
 * specialist would cost an allocation-heavy pass each, at 10,000 specialists).
 */
function checkTree(level: { specialists?: SpecialistConfig[] | undefined; quorum?: number | undefined }, ctx: z.RefinementCtx, path: PropertyKey[], mcp: ReadonlySet<string>): void {
  checkLevel(level, ctx, path);
  level.specialists?.forEach((specialist, index) => {
    const at = [...path, 'specialists', index];
    if (specialist.tools) checkTools(specialist.tools, ctx, [...at, 'tools'], mcp);
    if (specialist.run && specialist.tools && specialist.tools.length > 0) {
      ctx.addIssue({ code: 'custom', path: [...at, 'tools'], message: 'a `run` function makes no model call, so it takes no `tools`', params: { plain: true } });
    }
    if (specialist.run && specialist.specialists) {
      ctx.addIssue({ code: 'custom', path: [...at, 'specialists'], message: 'expected either `run` (a task function) or `specialists` (a sub-lead), not both', params: { plain: true } });
    }
    if (specialist.run && specialist.budget) {
      ctx.addIssue({ code: 'custom', path: [...at, 'budget'], message: 'a `run` function makes no model call, so it takes no `budget`', params: { plain: true } });
    }
    if (specialist.specialists) {
      for (const key of ['system', 'instructions', 'budget'] as const) {
        if (specialist[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [...at, key],
            message: `a sub-lead makes no model call of its own: put \`${key}\` on its synthesizer or its specialists${key === 'budget' ? " (or cap the whole run with the run's `budget`)" : ''}`,
            params: { plain: true },
          });
        }
      }
      checkTree(specialist, ctx, at, mcp);
    } else {
      for (const key of ['synthesizer', 'quorum', 'maxConcurrency', 'deadlineMs'] as const) {
        if (specialist[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [...at, key], message: `only a sub-lead (a specialist with \`specialists\`) takes \`${key}\``, params: { plain: true } });
        }
      }
    }
  });
}

/** What a string tool reference may be, for messages. */
function toolHint(mcp: ReadonlySet<string>): string {
  const servers = mcp.size > 0 ? `an MCP server of \`mcp\` (${[...mcp].map((name) => `"${name}"`).join(', ')}) or "<server>.<tool>"` : 'an MCP server (none is declared in `mcp`)';
  return `"web_search", "web_fetch", ${servers}, or a tool made with defineTool`;
}

/** The name a tool entry gives the model, when it is known before MCP servers are listed. */
function toolEntryName(tool: unknown): string | null {
  if (typeof tool === 'string') return tool.includes('.') ? tool.slice(tool.indexOf('.') + 1) : SERVER_TOOL_NAMES.has(tool) ? tool : null;
  if (isToolDefinition(tool)) return tool.name;
  if (tool && typeof tool === 'object' && typeof (tool as { type?: unknown }).type === 'string') return (tool as { type: string }).type;
  return null;
}

/** Checks one `tools` list: every entry known, no name twice, server tool options valid. */
function checkTools(tools: readonly unknown[], ctx: z.RefinementCtx, path: PropertyKey[], mcp: ReadonlySet<string>): void {
  const seen = new Map<string, number>();
  tools.forEach((tool, index) => {
    const at = [...path, index];
    const issue = (message: string, where: PropertyKey[] = at) => ctx.addIssue({ code: 'custom', path: where, message, params: { plain: true } });
    if (typeof tool === 'string') {
      const dot = tool.indexOf('.');
      const server = dot === -1 ? tool : tool.slice(0, dot);
      if (dot === -1 ? !SERVER_TOOL_NAMES.has(tool) && !mcp.has(tool) : !mcp.has(server) || dot === tool.length - 1) {
        issue(`expected ${toolHint(mcp)}, got ${JSON.stringify(tool)}`);
        return;
      }
    } else if (isToolDefinition(tool)) {
      // defineTool checked its own fields.
    } else if (tool && typeof tool === 'object' && !Array.isArray(tool) && 'type' in tool) {
      const parsed = serverToolSchema.safeParse(tool);
      if (!parsed.success) {
        for (const problem of parsed.error.issues) {
          const where = [...at, ...problem.path];
          if (problem.code === 'unrecognized_keys') issue(`unknown ${problem.keys.length === 1 ? 'key' : 'keys'} ${problem.keys.map((key) => `"${key}"`).join(', ')}`, where);
          else
            issue(
              `${problem.message.replace(/^Invalid input: /, '')}, got ${JSON.stringify(problem.path.reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key], tool)) ?? 'nothing'}`,
              where,
            );
        }
        return;
      }
      if (parsed.data.allowedDomains && parsed.data.blockedDomains) issue('expected one of `allowedDomains` and `blockedDomains`, not both (the API takes one)');
    } else {
      issue(`expected ${toolHint(mcp)}, got ${tool === undefined ? 'nothing' : typeof tool === 'function' ? 'a function (wrap it with defineTool)' : JSON.stringify(tool)}`);
      return;
    }
    const name = toolEntryName(tool);
    if (name === null) return;
    const first = seen.get(name);
    if (first !== undefined) issue(`the tool name "${name}" is already given at ${formatPath([...path, first])}: a model cannot tell two tools of one name apart`);
    else seen.set(name, index);
  });
}

const weight = z.number({ error: 'expected a number from 0 and up' }).min(0, { error: 'expected a number from 0 and up' });

const batchInt = (max: number, unit: string) => {
  const what = `an integer from 1 to ${max}${unit}`;
  return positiveInt(what).max(max, { error: `expected ${what}` });
};

/** `batch: true`, or its settings. */
export const batchSchema = z.union(
  [
    z.boolean(),
    z.strictObject({
      gatherMs: nonNegative.optional(),
      pollMs: durationMs().optional(),
      maxPollMs: durationMs().optional(),
      cancelMarginMs: nonNegative.optional(),
      maxRequests: batchInt(MAX_BATCH_REQUESTS, " (the API's limit)").optional(),
      maxBytes: batchInt(MAX_BATCH_BYTES, " bytes (256 MB, the API's limit)").optional(),
    }),
  ],
  { error: 'expected true, false or `{ gatherMs?, pollMs?, maxPollMs?, cancelMarginMs?, maxRequests?, maxBytes? }`' },
);

const leadSchema = z.strictObject({
  ...modelCallFields,
  tools: toolList.optional(),
  maxSpecialists: positiveInt().max(100_000, { error: 'expected an integer from 1 to 100000' }).optional(),
  maxRounds: positiveInt().max(1000, { error: 'expected an integer from 1 to 1000' }).optional(),
  agentDeadlineMs: durationMs().optional(),
  synthesize: z.enum(['lead', 'synthesizer'], { error: 'expected "lead" or "synthesizer"' }).optional(),
});

/** With a model lead, `specialists` are templates: model specialists it copies when it spawns. */
function checkTemplates(config: { specialists?: SpecialistConfig[] | undefined; quorum?: number | undefined; lead?: { maxSpecialists?: number | undefined } | undefined }, ctx: z.RefinementCtx): void {
  config.specialists?.forEach((specialist, index) => {
    for (const key of ['run', 'specialists'] as const) {
      if (specialist[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['specialists', index, key],
          message: `with a model \`lead\`, specialists are templates it spawns model agents from: \`${key}\` is not allowed here`,
          params: { plain: true },
        });
      }
    }
  });
  const most = config.lead?.maxSpecialists ?? DEFAULT_MAX_SPAWNED;
  if (config.quorum !== undefined && config.quorum > most) {
    ctx.addIssue({ code: 'custom', path: ['quorum'], message: `expected at most ${most} (the lead's maxSpecialists), got ${config.quorum}`, params: { plain: true } });
  }
}

const configSchema = z
  .strictObject({
    task: text.refine((value) => value.trim().length > 0, { error: 'expected a non-empty string' }),
    specialists: z.array(specialistSchema, { error: 'expected an array of specialists' }).min(1, { error: 'expected at least one specialist' }),
    synthesizer: synthesizerSchema.optional(),
    deadlineMs: durationMs().optional(),
    policy: policySchema.optional(),
    quorum: positiveInt().optional(),
    maxConcurrency: positiveInt().optional(),
    model: nonEmptyText.optional(),
    maxTokens: positiveInt().optional(),
    tools: toolList.optional(),
    mcp: mcpServersSchema.optional(),
    lead: leadSchema.optional(),
    budget: runBudgetSchema.optional(),
    fanIn: z.enum(['batch', 'stream'], { error: 'expected "batch" or "stream"' }).optional(),
    batch: batchSchema.optional(),
    context: z
      .union(
        [
          text.min(1, { error: 'expected a non-empty string' }),
          z.strictObject({ brief: text.optional(), documents: z.array(z.strictObject({ title: text.optional(), text }), { error: 'expected a list of `{ title?, text }`' }).optional() }),
        ],
        { error: 'expected the context as text, or `{ brief?, documents?: [{ title?, text }] }`' },
      )
      .optional(),
    weights: z
      .union([z.boolean(), z.strictObject({ confidence: weight.optional(), sources: weight.optional(), words: weight.optional(), speed: weight.optional() })], {
        error: 'expected true, false or `{ confidence?, sources?, words?, speed? }` (numbers from 0 and up)',
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    if (typeof config.weights === 'object' && !Object.values(config.weights).some((value) => (value ?? 0) > 0)) {
      ctx.addIssue({ code: 'custom', path: ['weights'], message: 'expected at least one of confidence, sources, words, speed above 0 (or `true` for the default rule)', params: { plain: true } });
    }
    if (typeof config.context === 'object' && !config.context.brief?.trim() && !config.context.documents?.some((document) => document.text.trim() !== '')) {
      ctx.addIssue({ code: 'custom', path: ['context'], message: 'expected a non-empty `brief` or a document with text', params: { plain: true } });
    }
    const mcp = new Set(Object.keys(config.mcp ?? {}));
    if (config.tools) checkTools(config.tools, ctx, ['tools'], mcp);
    if (config.lead?.tools) {
      checkTools(config.lead.tools, ctx, ['lead', 'tools'], mcp);
      config.lead.tools.forEach((tool, index) => {
        if (toolEntryName(tool) === AGENT_TOOL_NAME)
          ctx.addIssue({
            code: 'custom',
            path: ['lead', 'tools', index],
            message: `the tool name "${AGENT_TOOL_NAME}" is the lead's own spawn-and-join tool: rename this one`,
            params: { plain: true },
          });
      });
    }
    if (config.fanIn === 'stream' && config.lead && config.lead.synthesize !== 'synthesizer') {
      ctx.addIssue({
        code: 'custom',
        path: ['fanIn'],
        message: "a streaming fold needs a synthesizer to fold: with a model lead that writes the answer itself, set `lead.synthesize: 'synthesizer'` (or leave fanIn out)",
        params: { plain: true },
      });
    }
    if (typeof config.batch === 'object') {
      const { pollMs, maxPollMs, cancelMarginMs } = config.batch;
      if (pollMs !== undefined && maxPollMs !== undefined && maxPollMs < pollMs) {
        ctx.addIssue({ code: 'custom', path: ['batch', 'maxPollMs'], message: `expected at least \`pollMs\` (${pollMs}), got ${maxPollMs}`, params: { plain: true } });
      }
      const deadlineMs = config.deadlineMs ?? DEFAULT_DEADLINE_MS;
      if (cancelMarginMs !== undefined && cancelMarginMs >= deadlineMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['batch', 'cancelMarginMs'],
          message: `expected less than the run's deadline (${deadlineMs} ms): batches are canceled this long before it, got ${cancelMarginMs}`,
          params: { plain: true },
        });
      }
    }
    if (config.fanIn === 'stream' && config.synthesizer?.run) {
      ctx.addIssue({ code: 'custom', path: ['fanIn'], message: "a streaming fold digests findings with the synthesizer's model: it cannot stream a `run` function", params: { plain: true } });
    }
    if (config.lead) {
      // Templates: the quorum counts spawned specialists, not templates.
      checkTree({ specialists: config.specialists as SpecialistConfig[] }, ctx, [], mcp);
      checkTemplates(config as FanOutConfig, ctx);
    } else {
      checkTree(config as FanOutConfig, ctx, [], mcp);
    }
  });

/** What a level of the fan-out gives its members by default. */
interface CallDefaults {
  model: string;
  maxTokens: number;
  /** The normalised default tool list (shared by every specialist that inherits it). */
  tools: ToolSpec[];
}

/** The tool list of a specialist without tools: one shared, frozen array. */
export const NO_TOOLS: ToolSpec[] = Object.freeze([]) as unknown as ToolSpec[];

/** A config ready to run: the machine's JSON input plus the task functions it refers to. */
export interface NormalizedConfig {
  input: LeadInput;
  /** Task functions by `taskKey`: the JSON of the specialist's id path (`["synthesizer"]` for the fold). */
  tasks: Map<string, TaskFunction>;
  /** Tools defined in code, by the `key` of their {@link ToolSpec}: the JSON of where the config lists them. */
  codeTools: Map<string, ToolDefinition>;
  /** The run's MCP servers (kept out of `input`: their `env` and `headers` may be secrets). */
  mcp: Record<string, McpServerConfig>;
  /**
   * References to single MCP tools (`"<server>.<tool>"`), with their config path: checked once
   * the servers have listed their tools, before any model call.
   */
  mcpToolReferences: Array<{ path: string; server: string; tool: string }>;
}

/**
 * Validates a config and applies every default. Throws a {@link ConfigError} listing each
 * invalid path and what was expected; `source` names where the config came from.
 *
 * @example
 * const { input, tasks } = normalizeConfig(config, 'app.yaml');
 */
export function normalizeConfig(config: unknown, source = 'run config'): NormalizedConfig {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success)
    throw new ConfigError(
      source,
      parsed.error.issues.map((issue) => describeIssue(issue, config)),
    );
  const raw = parsed.data as FanOutConfig;
  const model = raw.model ?? DEFAULT_MODEL;
  const maxTokens = raw.maxTokens ?? DEFAULT_MAX_TOKENS;
  const batch = batchSettingsOf(raw.batch);
  // Calls that stream (the synthesizer, a model lead) keep the usual defaults; batched ones wait
  // for their batch to end (minutes to hours), so no per-attempt deadline unless one is given.
  const streamedPolicy = resolvePolicy(DEFAULT_POLICY, raw.policy);
  const runPolicy = batch ? resolvePolicy(DEFAULT_POLICY, { attemptTimeoutMs: null }, raw.policy) : streamedPolicy;
  const tasks = new Map<string, TaskFunction>();
  const codeTools = new Map<string, ToolDefinition>();
  const mcpToolReferences: NormalizedConfig['mcpToolReferences'] = [];
  /** A written tool list as specs; `where` is its config path (the code tools' keys derive from it). */
  const toToolSpecs = (tools: readonly ToolConfig[], where: PropertyKey[]): ToolSpec[] =>
    tools.map((tool, index): ToolSpec => {
      if (typeof tool === 'string') {
        if (SERVER_TOOL_NAMES.has(tool)) return { source: 'server', name: tool as ServerToolName, maxUses: null, allowedDomains: null, blockedDomains: null };
        const dot = tool.indexOf('.');
        if (dot === -1) return { source: 'mcp', server: tool, tool: null };
        const reference = { server: tool.slice(0, dot), tool: tool.slice(dot + 1) };
        mcpToolReferences.push({ path: formatPath([...where, index]), ...reference });
        return { source: 'mcp', ...reference };
      }
      if (isToolDefinition(tool)) {
        const key = JSON.stringify([...where, index]);
        codeTools.set(key, tool);
        return { source: 'code', name: tool.name, key };
      }
      const server = tool as ServerToolConfig;
      return { source: 'server', name: server.type, maxUses: server.maxUses ?? null, allowedDomains: server.allowedDomains ?? null, blockedDomains: server.blockedDomains ?? null };
    });
  /** `defaults`: the model and token limit of the level it is in (a sub-lead's own, or the run's). */
  /** `at`: its config path (for tool keys); `defaults`: the model, token limit and tools of the level it is in. */
  const toSpec = (id: string, entry: Omit<SpecialistConfig, 'id'>, parentPolicy: SupervisionPolicy, parentPath: readonly string[], defaults: CallDefaults, at: PropertyKey[]): SpecialistSpec => {
    // Shared policy object when there is no override: 10,000 specialists, one policy.
    const policy = entry.policy ? resolvePolicy(parentPolicy, entry.policy) : parentPolicy;
    // The JSON of its id path: unambiguous whatever characters the ids hold.
    const taskKey = entry.run ? JSON.stringify([...parentPath, id]) : null;
    if (entry.run && taskKey) tasks.set(taskKey, entry.run);
    const spec: SpecialistSpec = {
      id,
      angle: entry.angle ?? id,
      kind: entry.run ? 'task' : entry.specialists ? 'fanOut' : 'model',
      taskKey,
      models: entry.run || entry.specialists ? [] : [entry.model ?? defaults.model, ...policy.fallbackModels],
      system: entry.system ?? null,
      instructions: entry.instructions ?? null,
      maxTokens: entry.maxTokens ?? defaults.maxTokens,
      policy,
      tools: entry.run || entry.specialists || id === SYNTHESIZER_ID ? NO_TOOLS : entry.tools ? toToolSpecs(entry.tools, [...at, 'tools']) : defaults.tools,
      ...(entry.credential !== undefined && !entry.run ? { credential: entry.credential } : {}),
      ...(entry.budget ? { budget: toCaps(entry.budget) } : {}),
    };
    if (entry.specialists) {
      // A sub-lead's specialists inherit its policy as their default, except `onFailure`: a
      // sub-lead that escalates fails the run when it fails, not when one of its angles does.
      const childPolicy = policy.onFailure === parentPolicy.onFailure ? policy : { ...policy, onFailure: parentPolicy.onFailure };
      // A sub-lead's `model` and `maxTokens` are the defaults of its sub-tree.
      // … and its `tools`, of its sub-specialists.
      const childDefaults = {
        model: entry.model ?? defaults.model,
        maxTokens: entry.maxTokens ?? defaults.maxTokens,
        tools: entry.tools ? toToolSpecs(entry.tools, [...at, 'tools']) : defaults.tools,
      };
      spec.fanOut = {
        specialists: entry.specialists.map((child, index) => toSpec(child.id, child, childPolicy, [...parentPath, id], childDefaults, [...at, 'specialists', index])),
        synthesizer: toSpec(SYNTHESIZER_ID, { angle: `${spec.angle} synthesis`, ...entry.synthesizer }, childPolicy, [...parentPath, id], childDefaults, [...at, 'synthesizer']),
        quorum: entry.quorum ?? 1,
        maxConcurrency: entry.maxConcurrency ?? null,
        deadlineMs: entry.deadlineMs ?? null,
      };
    }
    return spec;
  };
  const runDefaults = { model, maxTokens, tools: raw.tools ? toToolSpecs(raw.tools, ['tools']) : NO_TOOLS };
  const specialists = raw.specialists.map((entry, index) => toSpec(entry.id, entry, runPolicy, [], runDefaults, ['specialists', index]));
  const synthesizer = toSpec(SYNTHESIZER_ID, { angle: 'Synthesis', ...raw.synthesizer }, streamedPolicy, [], runDefaults, ['synthesizer']);
  const weights = raw.weights === true ? { ...DEFAULT_WEIGHTS } : raw.weights ? { ...DEFAULT_WEIGHTS, confidence: 0, sources: 0, ...raw.weights } : undefined;
  // Weighed findings: every model specialist may report with its finding.
  if (weights) addReportTool(specialists);
  const lead = raw.lead ? modelLeadSpec(raw.task, raw.lead, specialists, streamedPolicy, runDefaults, toToolSpecs) : undefined;
  return {
    input: {
      task: raw.task,
      // A model lead starts with none: they are spawned from the templates.
      specialists: lead ? [] : specialists,
      synthesizer,
      deadlineMs: raw.deadlineMs ?? DEFAULT_DEADLINE_MS,
      quorum: raw.quorum ?? 1,
      maxConcurrency: raw.maxConcurrency ?? null,
      ...(lead ? { lead } : {}),
      ...(weights ? { weights } : {}),
      ...(raw.context !== undefined ? { context: contextText(raw.context) } : {}),
      ...(raw.fanIn === 'stream' ? { fanIn: 'stream' as const } : {}),
      ...(batch ? { batch } : {}),
      ...(raw.budget ? { budget: { caps: toCaps(raw.budget), onBudget: raw.budget.onBudget ?? 'finish', reserve: raw.budget.reserve ?? null } } : {}),
    },
    tasks,
    codeTools,
    mcp: raw.mcp ?? {},
    mcpToolReferences,
  };
}

/** Batch mode's settings, every default applied; `null` when it is off. */
function batchSettingsOf(batch: FanOutConfig['batch']): BatchSettings | null {
  if (!batch) return null;
  if (batch === true) return { ...DEFAULT_BATCH_SETTINGS };
  return {
    gatherMs: batch.gatherMs ?? DEFAULT_BATCH_SETTINGS.gatherMs,
    pollMs: batch.pollMs ?? DEFAULT_BATCH_SETTINGS.pollMs,
    maxPollMs: batch.maxPollMs ?? Math.max(DEFAULT_BATCH_SETTINGS.maxPollMs, batch.pollMs ?? 0),
    cancelMarginMs: batch.cancelMarginMs ?? null,
    maxRequests: batch.maxRequests ?? DEFAULT_BATCH_SETTINGS.maxRequests,
    maxBytes: batch.maxBytes ?? DEFAULT_BATCH_SETTINGS.maxBytes,
  };
}

/** Caps as the machine keeps them: `null` for a measure with no cap. */
function toCaps(budget: BudgetConfig): BudgetCaps {
  return { usd: budget.usd ?? null, inputTokens: budget.inputTokens ?? null, outputTokens: budget.outputTokens ?? null };
}

/** The shared context as the text every call sends first. */
export function contextText(context: string | SharedContext): string {
  if (typeof context === 'string') return `<context>\n${context}\n</context>`;
  const parts = ['<context>'];
  if (context.brief) parts.push(`<brief>\n${context.brief}\n</brief>`);
  context.documents?.forEach((document, index) => parts.push(`<document index="${index + 1}"${document.title ? ` title="${document.title.replace(/"/g, "'")}"` : ''}>\n${document.text}\n</document>`));
  parts.push('</context>');
  return parts.join('\n');
}

/**
 * Gives every model specialist (sub-leads' included) the `report` tool. Specialists that shared
 * a tool list share the extended one too (10,000 specialists, one list).
 */
function addReportTool(specs: SpecialistSpec[]): void {
  const extended = new Map<readonly ToolSpec[], ToolSpec[]>();
  const visit = (spec: SpecialistSpec) => {
    if (spec.kind === 'model' && spec.id !== SYNTHESIZER_ID && !spec.tools.some((tool) => tool.source === 'report')) {
      let tools = extended.get(spec.tools);
      if (!tools) extended.set(spec.tools, (tools = [...spec.tools, { source: 'report' }]));
      spec.tools = tools;
    }
    spec.fanOut?.specialists.forEach(visit);
  };
  specs.forEach(visit);
}

/** The model lead's spec: its agent (with the `Agent` tool last) and its templates. */
function modelLeadSpec(
  task: string,
  config: ModelLeadConfig,
  templates: SpecialistSpec[],
  runPolicy: SupervisionPolicy,
  defaults: CallDefaults,
  toToolSpecs: (tools: readonly ToolConfig[], where: PropertyKey[]) => ToolSpec[],
): ModelLeadSpec {
  const maxSpecialists = config.maxSpecialists ?? DEFAULT_MAX_SPAWNED;
  const maxRounds = config.maxRounds ?? DEFAULT_MAX_ROUNDS;
  // Defaults that let every round be spawned and joined: a spawn turn and a join turn per round
  // plus the last turn that writes; a tool call per spawn and a join per round, and room for its own tools.
  const policy = resolvePolicy(runPolicy, {
    maxTurns: Math.max(runPolicy.maxTurns, 2 * maxRounds + 2),
    maxToolCalls: Math.max(LEAD_MAX_TOOL_CALLS, maxSpecialists + maxRounds + 10),
    ...config.policy,
  });
  const agentDeadlineMs = config.agentDeadlineMs ?? null;
  const own = config.tools ? toToolSpecs(config.tools, ['lead', 'tools']) : [];
  const agent: SpecialistSpec = {
    id: LEAD_ID,
    angle: 'Lead',
    kind: 'model',
    taskKey: null,
    models: [config.model ?? defaults.model, ...policy.fallbackModels],
    system: config.system ?? null,
    instructions: config.instructions ?? null,
    brief: leadBrief(task, config.instructions ?? null, { maxSpecialists, maxRounds, agentDeadlineMs }),
    maxTokens: config.maxTokens ?? Math.max(defaults.maxTokens, LEAD_MIN_MAX_TOKENS),
    policy,
    tools: [...own, { source: 'agent', templates: templates.map((template) => template.id) }],
    ...(config.credential !== undefined ? { credential: config.credential } : {}),
  };
  return { agent, templates, maxSpecialists, maxRounds, agentDeadlineMs, synthesize: config.synthesize ?? 'lead' };
}

/** The lead's first message: the task, its instructions, and the limits it works within. */
function leadBrief(task: string, instructions: string | null, limits: { maxSpecialists: number; maxRounds: number; agentDeadlineMs: number | null }): string {
  const deadline = limits.agentDeadlineMs === null ? '' : `; each agent has ${Math.round(limits.agentDeadlineMs / 100) / 10} s`;
  const parts = [`Task: ${task}`];
  if (instructions) parts.push(instructions);
  parts.push(`Limits: at most ${limits.maxSpecialists} agents in all, in at most ${limits.maxRounds} rounds of spawning${deadline}.`);
  return parts.join('\n\n');
}

/** Formats a path the way people write it: `specialists[2].policy.retry.maxAttempts`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

/** A zod issue as a {@link ConfigIssue}: the path as people write it, what was expected and what was given. */
export function describeIssue(issue: z.core.$ZodIssue, root: unknown): ConfigIssue {
  if (issue.code === 'unrecognized_keys') {
    return { path: formatPath(issue.path), message: `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((key) => `"${key}"`).join(', ')}` };
  }
  if (issue.code === 'custom' && issue.params?.['plain']) return { path: formatPath(issue.path), message: issue.message };
  const value = issue.path.reduce<unknown>((at, key) => (at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined), root);
  return { path: formatPath(issue.path), message: `${issue.message.replace(/^Invalid input: /, '')}, got ${describeValue(value)}` };
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'function') return 'a function';
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
