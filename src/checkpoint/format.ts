/**
 * What a checkpoint is: the lead's persisted XState snapshot plus a journal of the outcomes
 * that settled after it was taken. Loading one validates both, so a damaged file is a clear
 * error naming the file and what was expected, never a crash inside XState.
 */
import { z } from 'zod';
import { FanfoldError } from '../errors.ts';
import type { LeadContext } from '../../machines/lead.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import type { NestedOutcome } from './nestedOutcomes.ts';
import type { KeptSteps } from './loopSteps.ts';
import type { LoopStep } from '../tools/types.ts';
import type { Digest } from '../fold/streamFold.ts';
import type { KeptBatch } from '../providers/batch/batchingProvider.ts';

/** The format tag every checkpoint file starts with. */
export const CHECKPOINT_FORMAT = 'fanfold.checkpoint';
/** The version this code writes and reads. */
export const CHECKPOINT_VERSION = 1;

/** JSON data a caller keeps with its run (the CLI keeps its command, backend and prices). */
export type CheckpointMeta = { [key: string]: unknown };

/** A full checkpoint: everything needed to restore the lead actor. Plain JSON. */
export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  runId: string;
  /** When the run was first checkpointed (ISO 8601). */
  createdAt: string;
  /** When this snapshot was taken (ISO 8601). */
  savedAt: string;
  /** Sequence number of the last journal entry this snapshot already includes (0: none). */
  journalSeq: number;
  meta: CheckpointMeta;
  /** The lead actor's `getPersistedSnapshot()`. */
  snapshot: PersistedLead;
  /** Outcomes inside sub-leads that were still running when it was saved (the snapshot holds no sub-lead). */
  nested?: NestedOutcome[];
  /** Finished loop steps of tool-using specialists still running when it was saved, by path. */
  steps?: KeptSteps[];
  /** A streaming fold's finished digests when it was saved, by specialist index. */
  digests?: KeptDigest[];
  /** Batch mode: every batch the run created (and kept ones it polled), oldest first, so a resume polls them instead of submitting again. */
  batches?: KeptBatch[];
}

/** A finished digest of a streaming fold, kept by its specialist's index. */
export interface KeptDigest {
  index: number;
  digest: Digest;
}

/**
 * One journal line: a settled specialist, journaled the moment the lead learns of it, a
 * finished step of a running specialist's tool-use loop (a model turn or a tool call), a
 * streaming fold's digest, or (batch mode) a batch the moment its create returned.
 */
export type JournalEntry = SpecialistJournalEntry | BatchJournalEntry;

/** Batch mode: a batch the run created, journaled as soon as `create` returned (its id and the `custom_id`s it holds). */
export interface BatchJournalEntry {
  seq: number;
  batch: KeptBatch;
  index?: undefined;
  subPath?: undefined;
  outcome?: undefined;
  step?: undefined;
  digest?: undefined;
}

/** A journal line about one specialist (by config index). */
export type SpecialistJournalEntry = {
  seq: number;
  /** The specialist's index in the lead's config order (for a nested one: of its top sub-lead). */
  index: number;
  /** For a specialist inside a sub-lead: the indexes below `index` down to it (see `nestedOutcomes.ts`). */
  subPath?: number[];
} & (
  | { outcome: SpecialistOutcome; step?: undefined; digest?: undefined }
  | { step: LoopStep; outcome?: undefined; digest?: undefined }
  /** A streaming fold digested the finding of specialist `index`. */
  | { digest: Digest; outcome?: undefined; step?: undefined }
);

/** A checkpoint as loaded: the snapshot and the journal entries written after it. */
export interface LoadedCheckpoint {
  checkpoint: Checkpoint;
  /** Entries newer than the snapshot, in order. */
  journal: JournalEntry[];
  /** Damage that was safely ignored (a journal line torn by a crash mid-write). */
  warnings: string[];
}

/**
 * A checkpoint that cannot be read or used. Its message names the file and what was wrong;
 * the CLI turns it into exit code 2.
 */
export class CheckpointError extends FanfoldError {
  readonly file: string;
  constructor(file: string, problem: string) {
    super('checkpoint', `Cannot resume from ${file}: ${problem}`);
    this.name = 'CheckpointError';
    this.file = file;
  }
}

const outcomeSchema = z.looseObject({
  id: z.string(),
  angle: z.string(),
  status: z.enum(['fulfilled', 'rejected', 'timedOut', 'skipped']),
  output: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  usage: z.looseObject({ inputTokens: z.number(), outputTokens: z.number() }),
  endedAt: z.number(),
});

const specSchema = z.looseObject({ id: z.string(), kind: z.enum(['model', 'task', 'fanOut']) });

const toolSummarySchema = z.looseObject({ name: z.string(), ms: z.number(), isError: z.boolean() });
const stepSchema = z.union([
  z.looseObject({
    kind: z.literal('model'),
    turn: z.number().int().positive(),
    content: z.array(z.looseObject({ type: z.string() })),
    stopReason: z.string().nullable(),
    model: z.string(),
    calls: z.number().int().nonnegative(),
    usage: z.looseObject({ inputTokens: z.number(), outputTokens: z.number() }),
    serverToolCalls: z.array(toolSummarySchema),
  }),
  z.looseObject({
    kind: z.literal('tool'),
    turn: z.number().int().positive(),
    name: z.string(),
    result: z.looseObject({ type: z.literal('tool_result'), tool_use_id: z.string() }),
    ms: z.number(),
  }),
]);

const digestSchema = z.looseObject({
  text: z.string(),
  usage: z.looseObject({ inputTokens: z.number(), outputTokens: z.number() }),
  attempts: z.number().int().nonnegative(),
  model: z.string().nullable(),
});

const fanOutSnapshotSchema = z.looseObject({
  status: z.string(),
  outcomes: z.array(outcomeSchema.nullable()),
  nextIndex: z.number().int().nonnegative(),
  requeued: z.array(z.number().int().nonnegative()),
  running: z.number().int().nonnegative(),
  fulfilled: z.number().int().nonnegative(),
  unsuccessful: z.number().int().nonnegative(),
  discarded: z.record(z.string(), z.unknown()),
  input: z.looseObject({ deadlineAt: z.number(), specialists: z.array(specSchema) }),
});

const persistedLeadSchema = z.looseObject({
  status: z.enum(['active', 'done', 'error']),
  value: z.union([z.string(), z.record(z.string(), z.unknown())]),
  context: z.looseObject({
    // A model lead's run starts with no specialists: it spawns them.
    input: z
      .looseObject({
        task: z.string(),
        specialists: z.array(specSchema),
        synthesizer: specSchema,
        deadlineMs: z.number(),
        lead: z.looseObject({ agent: specSchema, templates: z.array(specSchema).min(1) }).optional(),
      })
      .refine((input) => input.lead !== undefined || input.specialists.length > 0, { message: 'expected at least one specialist', path: ['specialists'] }),
    startedAt: z.number(),
    deadlineAt: z.number(),
    outcomes: z.array(outcomeSchema.nullable()),
    settled: z.number().int().nonnegative(),
    fulfilled: z.number().int().nonnegative(),
  }),
  children: z.record(z.string(), z.looseObject({ snapshot: z.looseObject({ status: z.string() }) }).optional()),
});

/** The fan-out's persisted snapshot, as far as resuming relies on its shape (see `FanOutSnapshot`). */
export interface PersistedFanOut {
  status: string;
  input: { deadlineAt: number; [key: string]: unknown };
  outcomes: Array<SpecialistOutcome | null>;
  nextIndex: number;
  fulfilled: number;
  unsuccessful: number;
  discarded?: Record<number, unknown>;
  [key: string]: unknown;
}

/** The lead's persisted snapshot, as far as resuming relies on its shape (see `LeadContext`). */
export interface PersistedLead {
  status: 'active' | 'done' | 'error';
  value: string | { [key: string]: unknown };
  output?: unknown;
  context: LeadContext;
  children: {
    fanOut?: { snapshot: PersistedFanOut; [key: string]: unknown };
    deadline?: { snapshot: { status: string; input?: { deadlineAt: number }; [key: string]: unknown }; [key: string]: unknown };
    [key: string]: { snapshot: { status: string; [key: string]: unknown }; [key: string]: unknown } | undefined;
  };
  [key: string]: unknown;
}

const keptBatchSchema = z.object({ id: z.string().min(1), customIds: z.array(z.string()) });

const checkpointSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  runId: z.string(),
  createdAt: z.string(),
  savedAt: z.string(),
  journalSeq: z.number().int().nonnegative(),
  meta: z.record(z.string(), z.unknown()),
  snapshot: persistedLeadSchema,
  nested: z.array(z.object({ path: z.array(z.number().int().nonnegative()).min(2), outcome: outcomeSchema })).optional(),
  steps: z.array(z.object({ path: z.array(z.number().int().nonnegative()).min(1), steps: z.array(stepSchema) })).optional(),
  digests: z.array(z.object({ index: z.number().int().nonnegative(), digest: digestSchema })).optional(),
  batches: z.array(keptBatchSchema).optional(),
});

const journalEntrySchema = z.union([
  z.object({
    seq: z.number().int().positive(),
    batch: keptBatchSchema,
  }),
  z.object({
    seq: z.number().int().positive(),
    index: z.number().int().nonnegative(),
    digest: digestSchema,
  }),
  z.object({
    seq: z.number().int().positive(),
    index: z.number().int().nonnegative(),
    subPath: z.array(z.number().int().nonnegative()).min(1).optional(),
    outcome: outcomeSchema,
  }),
  z.object({
    seq: z.number().int().positive(),
    index: z.number().int().nonnegative(),
    subPath: z.array(z.number().int().nonnegative()).min(1).optional(),
    step: stepSchema,
  }),
]);

/** The lead's top-level state: `{ fanningOut: 'waiting' }` → `fanningOut`, `'done'` → `done`. */
export function topState(value: unknown): string {
  return typeof value === 'string' ? value : (Object.keys((value ?? {}) as object)[0] ?? '');
}

/** `issues[0]` as "path: message", for error text. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path
    .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
    .join('')
    .replace(/^\./, '');
  return `${path || '(root)'}: ${issue.message}`;
}

/**
 * Validates a parsed checkpoint file. Throws {@link CheckpointError} naming `file` and the
 * first wrong path.
 */
export function parseCheckpoint(file: string, data: unknown): Checkpoint {
  if (data && typeof data === 'object' && (data as { format?: unknown }).format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(file, `not a fanfold checkpoint (expected "format": "${CHECKPOINT_FORMAT}")`);
  }
  if (data && typeof data === 'object' && (data as { version?: unknown }).version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(file, `checkpoint version ${JSON.stringify((data as { version?: unknown }).version)} is not supported (this fanfold reads version ${CHECKPOINT_VERSION})`);
  }
  const parsed = checkpointSchema.safeParse(data);
  if (!parsed.success) throw new CheckpointError(file, `unexpected content at ${firstIssue(parsed.error)}`);
  const checkpoint = parsed.data as unknown as Checkpoint;
  const { context, children, status } = checkpoint.snapshot;
  const total = context.input.specialists.length;
  if (context.outcomes.length !== total) {
    throw new CheckpointError(file, `snapshot.context.outcomes has ${context.outcomes.length} entries for ${total} specialists`);
  }
  const strayNested = checkpoint.nested?.findIndex((entry) => context.input.specialists[entry.path[0]!]?.kind !== 'fanOut') ?? -1;
  if (strayNested >= 0) throw new CheckpointError(file, `nested[${strayNested}].path starts at specialist index ${checkpoint.nested![strayNested]!.path[0]}, which is not a sub-lead of this run`);
  const fanOut = children['fanOut'];
  if (status === 'active') {
    // The children each state of the lead machine invokes must be there to be restored.
    const state = topState(checkpoint.snapshot.value);
    // A model lead whose fan-out already ended (its deadline passed) has only the lead left to run.
    const leading = context.fanOutDone ? ['leadAgent'] : ['fanOut', 'deadline', 'leadAgent'];
    const needed = state === 'fanningOut' ? ['fanOut', 'deadline'] : state === 'leading' && context.input.lead ? leading : state === 'synthesizing' ? ['synthesizer'] : null;
    if (!needed) throw new CheckpointError(file, `snapshot.value: expected a running state of the lead (fanningOut, leading or synthesizing), got ${JSON.stringify(checkpoint.snapshot.value)}`);
    const missing = needed.filter((id) => !children[id]);
    if (missing.length > 0) throw new CheckpointError(file, `snapshot.children: the ${state} state needs its ${missing.join(' and ')} actor, which is missing`);
  }
  if (status === 'active' && fanOut) {
    const inner = fanOutSnapshotSchema.safeParse(fanOut.snapshot);
    if (!inner.success) throw new CheckpointError(file, `unexpected content at snapshot.children.fanOut.snapshot.${firstIssue(inner.error)}`);
    if (inner.data.outcomes.length !== total) throw new CheckpointError(file, `snapshot.children.fanOut.snapshot.outcomes has ${inner.data.outcomes.length} entries for ${total} specialists`);
    const ids = (list: Array<{ id: string }>) => list.map((spec) => spec.id).join('\n');
    if (ids(inner.data.input.specialists) !== ids(context.input.specialists)) throw new CheckpointError(file, "snapshot.children.fanOut.snapshot.input.specialists differ from the lead's specialists");
  }
  return checkpoint;
}

/** Validates one parsed journal line; `where` is `file:line`. */
export function parseJournalEntry(where: string, data: unknown, total: number): JournalEntry {
  const parsed = journalEntrySchema.safeParse(data);
  if (!parsed.success) throw new CheckpointError(where, `unexpected journal entry at ${firstIssue(parsed.error)}`);
  if ('index' in parsed.data && parsed.data.index >= total) throw new CheckpointError(where, `journal entry for specialist index ${parsed.data.index}, but the run has ${total} specialists`);
  return parsed.data as unknown as JournalEntry;
}
