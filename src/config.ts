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
  /** Makes this a non-LLM specialist: this function runs instead of a model call. */
  run?: TaskFunction;
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
  maxTokens: number;
  policy: SupervisionPolicy;
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
}

/** The id under which the synthesizer appears in events, outcomes and the task registry. */
export const SYNTHESIZER_ID = 'synthesizer';
const DEFAULT_MODEL = 'claude-sonnet-4-6';
const DEFAULT_MAX_TOKENS = 1024;
const DEFAULT_DEADLINE_MS = 300_000;

const errorKinds = [
  'rate_limited', 'overloaded', 'server', 'timeout', 'connection', 'bad_request', 'auth',
  'permission', 'not_found', 'deadline', 'cancelled', 'unknown',
] as const satisfies readonly ErrorKind[];

/** The longest delay a timer can take (Node and browsers overflow past it and fire at once). */
export const MAX_TIMER_MS = 2_147_483_647;
const positiveInt = (what = 'an integer from 1 and up') => z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
const durationMs = (what = `an integer from 1 to ${MAX_TIMER_MS} (ms)`) => positiveInt(what).max(MAX_TIMER_MS, { error: `expected ${what}` });
const nonNegative = z.number({ error: `expected a number from 0 to ${MAX_TIMER_MS} (ms)` }).min(0, { error: `expected a number from 0 to ${MAX_TIMER_MS} (ms)` }).max(MAX_TIMER_MS, { error: `expected a number from 0 to ${MAX_TIMER_MS} (ms)` });
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
  onFailure: z.enum(['skip', 'escalate'], { error: 'expected "skip" or "escalate"' }).optional(),
  attemptTimeoutMs: durationMs(`an integer from 1 to ${MAX_TIMER_MS} (ms), or null`).nullable().optional(),
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
const callFields = {
  model: nonEmptyText.optional(),
  system: text.optional(),
  instructions: text.optional(),
  maxTokens: positiveInt().optional(),
  policy: policySchema.optional(),
  run: fn.optional(),
};

const synthesizerSchema = z.strictObject(callFields);

const specialistSchema: z.ZodType<SpecialistConfig> = z.strictObject({
  id: nonEmptyText,
  angle: nonEmptyText.optional(),
  ...callFields,
  // Recursive (N-level fan-out). `z.lazy` rather than a getter: measured faster to parse.
  specialists: z.array(z.lazy(() => specialistSchema), { error: 'expected an array of specialists' }).min(1, { error: 'expected at least one specialist' }).optional(),
  synthesizer: synthesizerSchema.optional(),
  quorum: positiveInt().optional(),
  maxConcurrency: positiveInt().optional(),
  deadlineMs: durationMs().optional(),
}) as unknown as z.ZodType<SpecialistConfig>;

/**
 * The checks a schema cannot express, over the whole tree in one pass (a refinement per
 * specialist would cost an allocation-heavy pass each, at 10,000 specialists).
 */
function checkTree(level: { specialists?: SpecialistConfig[] | undefined; quorum?: number | undefined }, ctx: z.RefinementCtx, path: PropertyKey[]): void {
  checkLevel(level, ctx, path);
  level.specialists?.forEach((specialist, index) => {
    const at = [...path, 'specialists', index];
    if (specialist.run && specialist.specialists) {
      ctx.addIssue({ code: 'custom', path: [...at, 'specialists'], message: 'expected either `run` (a task function) or `specialists` (a sub-lead), not both', params: { plain: true } });
    }
    if (specialist.specialists) {
      for (const key of ['system', 'instructions'] as const) {
        if (specialist[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [...at, key], message: `a sub-lead makes no model call of its own: put \`${key}\` on its synthesizer or its specialists`, params: { plain: true } });
        }
      }
      checkTree(specialist, ctx, at);
    } else {
      for (const key of ['synthesizer', 'quorum', 'maxConcurrency', 'deadlineMs'] as const) {
        if (specialist[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [...at, key], message: `only a sub-lead (a specialist with \`specialists\`) takes \`${key}\``, params: { plain: true } });
        }
      }
    }
  });
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
  })
  .superRefine((config, ctx) => checkTree(config as FanOutConfig, ctx, []));

/** What a level of the fan-out gives its members by default. */
interface CallDefaults {
  model: string;
  maxTokens: number;
}

/** A config ready to run: the machine's JSON input plus the task functions it refers to. */
export interface NormalizedConfig {
  input: LeadInput;
  /** Task functions by `taskKey`: the JSON of the specialist's id path (`["synthesizer"]` for the fold). */
  tasks: Map<string, TaskFunction>;
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
  if (!parsed.success) throw new ConfigError(source, parsed.error.issues.map((issue) => describeIssue(issue, config)));
  const raw = parsed.data as FanOutConfig;
  const model = raw.model ?? DEFAULT_MODEL;
  const maxTokens = raw.maxTokens ?? DEFAULT_MAX_TOKENS;
  const runPolicy = resolvePolicy(DEFAULT_POLICY, raw.policy);
  const tasks = new Map<string, TaskFunction>();
  /** `defaults`: the model and token limit of the level it is in (a sub-lead's own, or the run's). */
  const toSpec = (id: string, entry: Omit<SpecialistConfig, 'id'>, parentPolicy: SupervisionPolicy, parentPath: readonly string[], defaults: CallDefaults): SpecialistSpec => {
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
    };
    if (entry.specialists) {
      // A sub-lead's specialists inherit its policy as their default, except `onFailure`: a
      // sub-lead that escalates fails the run when it fails, not when one of its angles does.
      const childPolicy = policy.onFailure === parentPolicy.onFailure ? policy : { ...policy, onFailure: parentPolicy.onFailure };
      // A sub-lead's `model` and `maxTokens` are the defaults of its sub-tree.
      const childDefaults = { model: entry.model ?? defaults.model, maxTokens: entry.maxTokens ?? defaults.maxTokens };
      spec.fanOut = {
        specialists: entry.specialists.map((child) => toSpec(child.id, child, childPolicy, [...parentPath, id], childDefaults)),
        synthesizer: toSpec(SYNTHESIZER_ID, { angle: `${spec.angle} synthesis`, ...entry.synthesizer }, childPolicy, [...parentPath, id], childDefaults),
        quorum: entry.quorum ?? 1,
        maxConcurrency: entry.maxConcurrency ?? null,
        deadlineMs: entry.deadlineMs ?? null,
      };
    }
    return spec;
  };
  const runDefaults = { model, maxTokens };
  const specialists = raw.specialists.map((entry) => toSpec(entry.id, entry, runPolicy, [], runDefaults));
  const synthesizer = toSpec(SYNTHESIZER_ID, { angle: 'Synthesis', ...raw.synthesizer }, runPolicy, [], runDefaults);
  return {
    input: {
      task: raw.task,
      specialists,
      synthesizer,
      deadlineMs: raw.deadlineMs ?? DEFAULT_DEADLINE_MS,
      quorum: raw.quorum ?? 1,
      maxConcurrency: raw.maxConcurrency ?? null,
    },
    tasks,
  };
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
