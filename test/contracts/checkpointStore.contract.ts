/**
 * The checkpoint-store contract: one suite of behaviours every `CheckpointStore` must have,
 * registered with Vitest for each implementation (see `test/checkpoint-store.contract.test.ts`).
 * A store that knowingly behaves otherwise in one case lists it in `differences` with the
 * reason and a check of what it does instead: that check runs as its own test, named
 * `differs: <case> — <reason>`, so a difference is visible and still tested, never skipped.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type Checkpoint, type JournalEntry, type PersistedLead, type SpecialistJournalEntry } from '../../src/checkpoint/format.ts';
import type { CheckpointStore } from '../../src/checkpoint/store.ts';
import type { SpecialistOutcome } from '../../src/outcome.ts';
import type { LoopStep } from '../../src/tools/types.ts';
import type { Digest } from '../../src/fold/streamFold.ts';

/** A fresh, empty store for one test, and what the test may do to it from outside. */
export interface CheckpointStoreFixture {
  store: CheckpointStore;
  /**
   * Leaves the start of a journal line with no end, as a process killed mid-write would.
   * Absent when the store cannot tear a line; then the torn-line case must be a difference.
   */
  tearJournal?: (runId: string, partialLine: string) => void;
  /** Called after the test (removes a temporary directory, say). */
  dispose?: () => void;
}

/** What a store does instead of a contract case, and why. */
export interface StoreDifference {
  reason: string;
  /** Asserts the documented other behaviour. */
  check: (fixture: CheckpointStoreFixture) => void | Promise<void>;
}

/** Options of {@link describeCheckpointStoreContract}. */
export interface CheckpointStoreContractOptions {
  /** Cases this store knowingly does otherwise, by title (see {@link CHECKPOINT_STORE_CASES}). */
  differences?: Partial<Record<CheckpointStoreCase, StoreDifference>>;
}

// ---------------------------------------------------------------------------------------------
// Fixtures: checkpoints and journal entries the format's validation accepts.

const usage = { inputTokens: 10, outputTokens: 5, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };

/** A settled specialist's outcome. */
export function outcomeOf(id: string, output = `${id} finding`): SpecialistOutcome {
  return { id, angle: `Angle ${id}`, status: 'fulfilled', output, error: null, attempts: 1, model: 'claude-test', usage: { ...usage }, startedAt: 0, endedAt: 100 };
}

/** What a test checkpoint looks like. */
export interface CheckpointShape {
  task?: string;
  /** How many specialists (ids `s1`, `s2`, …). Default 3. */
  specialists?: number;
  /** Indexes with an outcome in the lead's context. */
  inContext?: number[];
  /** Indexes with an outcome only in the running fan-out's snapshot. */
  inFanOut?: number[];
  savedAt?: string;
  journalSeq?: number;
  meta?: Record<string, unknown>;
  /** A finished run with this result status (every specialist settled), instead of one fanning out. */
  finished?: 'done' | 'partial';
}

/** A checkpoint of run `runId`: fanning out, or finished. */
export function checkpointOf(runId: string, shape: CheckpointShape = {}): Checkpoint {
  const count = shape.specialists ?? 3;
  const specialists = Array.from({ length: count }, (_, i) => ({ id: `s${i + 1}`, kind: 'model' }));
  const outcomesAt = (indexes: number[]) => specialists.map((spec, i) => (shape.finished || indexes.includes(i) ? outcomeOf(spec.id) : null));
  const outcomes = outcomesAt(shape.inContext ?? []);
  const input = { task: shape.task ?? `task of ${runId}`, specialists, synthesizer: { id: 'synthesizer', kind: 'model' }, deadlineMs: 60_000 };
  const context = { input, startedAt: 0, deadlineAt: 60_000, outcomes, settled: outcomes.filter(Boolean).length, fulfilled: outcomes.filter(Boolean).length };
  const snapshot = shape.finished
    ? { status: 'done', value: 'done', output: { status: shape.finished }, context, children: {} }
    : {
        status: 'active',
        value: { fanningOut: 'waiting' },
        context,
        children: {
          fanOut: {
            snapshot: {
              status: 'active',
              outcomes: outcomesAt([...(shape.inContext ?? []), ...(shape.inFanOut ?? [])]),
              nextIndex: count,
              requeued: [],
              running: 0,
              fulfilled: 0,
              unsuccessful: 0,
              discarded: {},
              input: { deadlineAt: 60_000, specialists },
            },
          },
          deadline: { snapshot: { status: 'active' } },
        },
      };
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    runId,
    createdAt: '2026-01-01T09:00:00.000Z',
    savedAt: shape.savedAt ?? '2026-01-01T09:00:00.000Z',
    journalSeq: shape.journalSeq ?? 0,
    meta: shape.meta ?? { command: 'test' },
    snapshot: snapshot as unknown as PersistedLead,
  };
}

/** A journal entry: specialist `index` settled. */
export function settledEntry(seq: number, index: number): SpecialistJournalEntry {
  return { seq, index, outcome: outcomeOf(`s${index + 1}`) };
}

const modelStep = { kind: 'model', turn: 1, content: [{ type: 'text', text: 'thinking' }], stopReason: 'tool_use', model: 'claude-test', calls: 1, usage, serverToolCalls: [] } as unknown as LoopStep;
const digest: Digest = { text: 'digest of s1', usage, attempts: 1, model: 'claude-test' };

/** The thrown error of `act`, which must throw. */
function thrown(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`expected an Error, got ${String(error)}`);
  }
  throw new Error('expected it to throw');
}

// ---------------------------------------------------------------------------------------------
// The cases. Each is one test; its title is its key.

type Case = (fixture: CheckpointStoreFixture) => void | Promise<void>;

/** Every behaviour the contract checks, by title. */
export const CHECKPOINT_STORE_CASES = {
  'a created run loads as it was saved, with an empty journal and no warnings': ({ store }) => {
    const checkpoint = checkpointOf('r1');
    store.create(checkpoint);
    expect(store.load('r1')).toEqual({ checkpoint, journal: [], warnings: [] });
  },

  'journal entries of every kind load in the order they were appended, after the snapshot': ({ store }) => {
    store.create(checkpointOf('r1', { specialists: 4 }));
    const entries: JournalEntry[] = [
      settledEntry(1, 2),
      { seq: 2, index: 3, subPath: [0], outcome: outcomeOf('inner') },
      { seq: 3, index: 1, step: modelStep },
      { seq: 4, index: 0, digest },
      settledEntry(5, 0),
      // Batch mode: a batch, journaled as its create returned (no specialist index).
      { seq: 6, batch: { id: 'msgbatch_01', customIds: ['s1_a1_0123456789abcdef_0', 's2_a1_fedcba9876543210_0'] } },
    ];
    for (const entry of entries) store.append('r1', entry);
    expect(store.load('r1').journal).toEqual(entries);
  },

  'save replaces the snapshot and drops the journal entries it includes': ({ store }) => {
    store.create(checkpointOf('r1'));
    store.append('r1', settledEntry(1, 0));
    store.append('r1', settledEntry(2, 1));
    const later = checkpointOf('r1', { inContext: [0, 1], journalSeq: 2, savedAt: '2026-01-01T09:05:00.000Z' });
    store.save(later);
    expect(store.load('r1')).toEqual({ checkpoint: later, journal: [], warnings: [] });
    store.append('r1', settledEntry(3, 2));
    expect(store.load('r1').journal).toEqual([settledEntry(3, 2)]);
  },

  "entries the snapshot already holds are skipped on load (a crash between a snapshot and the journal's truncation)": ({ store }) => {
    store.create(checkpointOf('r1'));
    store.save(checkpointOf('r1', { inContext: [0, 1], journalSeq: 2 }));
    // As if the journal still held the lines the snapshot took in.
    for (const entry of [settledEntry(1, 0), settledEntry(2, 1), settledEntry(3, 2)]) store.append('r1', entry);
    expect(store.load('r1').journal).toEqual([settledEntry(3, 2)]);
  },

  'runs are isolated: interleaved appends and saves of two runs do not mix': ({ store }) => {
    const first = checkpointOf('r1', { task: 'first' });
    store.create(first);
    store.create(checkpointOf('r2', { task: 'second' }));
    store.append('r1', settledEntry(1, 0));
    store.append('r2', settledEntry(1, 2));
    store.append('r1', settledEntry(2, 1));
    const second = checkpointOf('r2', { task: 'second', inContext: [2], journalSeq: 1 });
    store.save(second);
    expect(store.load('r1')).toEqual({ checkpoint: first, journal: [settledEntry(1, 0), settledEntry(2, 1)], warnings: [] });
    expect(store.load('r2')).toEqual({ checkpoint: second, journal: [], warnings: [] });
  },

  'a run id is taken once: a second create is a CheckpointError, while the run runs and after it closed': ({ store }) => {
    store.create(checkpointOf('r1', { task: 'original' }));
    const again = () => store.create(checkpointOf('r1', { task: 'usurper' }));
    expect(again).toThrow(CheckpointError);
    expect(again).toThrow(/run "r1" already exists/);
    store.close('r1');
    expect(again).toThrow(/run "r1" already exists/);
    expect(store.load('r1').checkpoint.snapshot.context.input.task).toBe('original');
  },

  'create takes the run: acquire is refused until close releases it, then taken once more': ({ store }) => {
    store.create(checkpointOf('r1'));
    const acquire = () => store.acquire('r1');
    expect(acquire).toThrow(CheckpointError);
    expect(acquire).toThrow(/run "r1" is already running in this process/);
    store.close('r1');
    acquire();
    expect(acquire).toThrow(/run "r1" is already running/);
    store.close('r1');
    store.close('r1'); // closing twice is harmless
    acquire();
  },

  'close releases the run but keeps it: it loads, takes appends and is acquired after close': ({ store }) => {
    store.create(checkpointOf('r1'));
    store.append('r1', settledEntry(1, 0));
    store.close('r1');
    store.close('other'); // a run it never had: nothing to release
    expect(store.load('r1').journal).toEqual([settledEntry(1, 0)]);
    store.append('r1', settledEntry(2, 1));
    expect(store.load('r1').journal).toEqual([settledEntry(1, 0), settledEntry(2, 1)]);
    store.acquire('r1');
    expect(store.list().map((summary) => summary.runId)).toEqual(['r1']);
  },

  'an unknown run is a CheckpointError naming it and the store, from load and from acquire': ({ store }) => {
    expect(store.location).toMatch(/\S/);
    for (const act of [() => store.load('nope'), () => store.acquire('nope')]) {
      const error = thrown(act);
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.message).toContain('no run "nope"');
      expect(error.message).toContain(store.location);
    }
  },

  'save and append need a created run: they throw and create nothing': ({ store }) => {
    expect(() => store.save(checkpointOf('ghost'))).toThrow();
    expect(() => store.append('ghost', settledEntry(1, 0))).toThrow();
    expect(store.list()).toEqual([]);
    expect(() => store.load('ghost')).toThrow(/no run "ghost"/);
  },

  'an invalid run id is refused by every method, naming it, and nothing is kept': ({ store }) => {
    const bad = '../escape';
    const acts = [
      () => store.create(checkpointOf(bad)),
      () => store.acquire(bad),
      () => store.save(checkpointOf(bad)),
      () => store.append(bad, settledEntry(1, 0)),
      () => store.load(bad),
      () => store.close(bad),
    ];
    for (const act of acts) {
      // Which Error class is the run-id rule's to choose; every store must apply that one rule.
      expect(thrown(act).message).toMatch(/^Invalid run id "\.\.\/escape"/);
    }
    expect(store.list()).toEqual([]);
  },

  'values are isolated: changing what was saved, appended or loaded does not change the store': ({ store }) => {
    const checkpoint = checkpointOf('r1');
    const entry = settledEntry(1, 0);
    const expected = { checkpoint: structuredClone(checkpoint), journal: [structuredClone(entry)], warnings: [] };
    store.create(checkpoint);
    store.append('r1', entry);
    checkpoint.meta['changed'] = true;
    checkpoint.snapshot.context.input.task = 'changed after saving';
    entry.outcome!.output = 'changed after appending';
    const loaded = store.load('r1');
    loaded.checkpoint.meta['changed'] = true;
    loaded.checkpoint.snapshot.context.outcomes[1] = outcomeOf('s2');
    loaded.journal[0]!.outcome!.output = 'changed after loading';
    loaded.journal.push(settledEntry(2, 1));
    loaded.warnings.push('changed');
    expect(store.load('r1')).toEqual(expected);
  },

  'load refuses a checkpoint that is not a valid run, with a CheckpointError naming the problem': ({ store }) => {
    store.create(checkpointOf('r1'));
    const damaged = checkpointOf('r1');
    damaged.snapshot.context.outcomes = [null];
    // The store keeps what it is given; it is checked where it is read, before a resume calls anyone.
    store.save(damaged);
    const error = thrown(() => store.load('r1'));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toMatch(/snapshot\.context\.outcomes has 1 entries for 3 specialists/);
  },

  'load refuses a journal entry for a specialist the run does not have, naming its line': ({ store }) => {
    store.create(checkpointOf('r1'));
    store.append('r1', settledEntry(1, 0));
    store.append('r1', settledEntry(2, 7));
    const error = thrown(() => store.load('r1'));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toMatch(/:2: journal entry for specialist index 7, but the run has 3 specialists/);
  },

  'list is empty for a new store': ({ store }) => {
    expect(store.list()).toEqual([]);
  },

  'list summarises every run, newest first (then by run id, descending)': ({ store }) => {
    // Four specialists: one settled in the context, one only in the fan-out, one only in the journal.
    store.create(checkpointOf('a-running', { specialists: 4, inContext: [0], inFanOut: [1], savedAt: '2026-01-01T10:00:00.000Z' }));
    store.append('a-running', settledEntry(1, 2));
    // Neither a sub-lead's inner outcome nor a loop step settles a top-level specialist.
    store.append('a-running', { seq: 2, index: 3, subPath: [0], outcome: outcomeOf('inner') });
    store.append('a-running', { seq: 3, index: 3, step: modelStep });
    store.create(checkpointOf('b-finished', { finished: 'partial', savedAt: '2026-01-01T11:00:00.000Z' }));
    store.create(checkpointOf('c-same-time', { specialists: 2, savedAt: '2026-01-01T10:00:00.000Z' }));
    expect(store.list()).toEqual([
      { runId: 'b-finished', state: 'done', status: 'partial', task: 'task of b-finished', specialists: 3, settled: 3, savedAt: '2026-01-01T11:00:00.000Z' },
      { runId: 'c-same-time', state: 'fanningOut', status: null, task: 'task of c-same-time', specialists: 2, settled: 0, savedAt: '2026-01-01T10:00:00.000Z' },
      { runId: 'a-running', state: 'fanningOut', status: null, task: 'task of a-running', specialists: 4, settled: 3, savedAt: '2026-01-01T10:00:00.000Z' },
    ]);
  },

  'list shows an unreadable run with its problem, last, and still lists the others': ({ store }) => {
    store.create(checkpointOf('good'));
    store.create(checkpointOf('bad'));
    store.append('bad', settledEntry(1, 9));
    const [first, second, ...rest] = store.list();
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ runId: 'good', state: 'fanningOut', settled: 0 });
    expect(second).toEqual({ runId: 'bad', state: null, status: null, task: null, specialists: 0, settled: 0, savedAt: null, problem: expect.stringMatching(/journal entry for specialist index 9/) });
  },

  'an append that fails (a value JSON cannot hold) leaves the journal whole': ({ store }) => {
    store.create(checkpointOf('r1'));
    store.append('r1', settledEntry(1, 0));
    const unwritable = settledEntry(2, 1);
    (unwritable.outcome!.usage as unknown as Record<string, unknown>)['inputTokens'] = 10n;
    expect(() => store.append('r1', unwritable)).toThrow(TypeError);
    store.append('r1', settledEntry(2, 1));
    expect(store.load('r1')).toMatchObject({ journal: [settledEntry(1, 0), settledEntry(2, 1)], warnings: [] });
  },

  'a create that fails (a value JSON cannot hold) leaves the run id free': ({ store }) => {
    expect(() => store.create(checkpointOf('r1', { meta: { size: 10n } }))).toThrow(TypeError);
    expect(store.list()).toEqual([]);
    expect(() => store.load('r1')).toThrow(/no run "r1"/);
    const checkpoint = checkpointOf('r1');
    store.create(checkpoint);
    expect(store.load('r1').checkpoint).toEqual(checkpoint);
    expect(() => store.acquire('r1')).toThrow(/already running/);
  },

  'a journal line torn by a crash mid-write is ignored with a warning, and gone after the next save': (fixture) => {
    const { store, tearJournal } = fixture;
    if (!tearJournal) throw new Error('this store cannot tear a journal line: give its fixture `tearJournal`, or list this case in `differences` with what it does instead');
    store.create(checkpointOf('r1'));
    store.append('r1', settledEntry(1, 0));
    store.append('r1', settledEntry(2, 1));
    tearJournal('r1', '{"seq":3,"index":2,"outco');
    const loaded = store.load('r1');
    expect(loaded.journal).toEqual([settledEntry(1, 0), settledEntry(2, 1)]);
    expect(loaded.warnings).toEqual([expect.stringMatching(/:3: ignored a journal line cut short by a crash mid-write/)]);
    // A resume saves a snapshot first: the torn line goes with the journal it ended.
    store.save(checkpointOf('r1', { inContext: [0, 1], journalSeq: 2 }));
    expect(store.load('r1')).toMatchObject({ journal: [], warnings: [] });
  },
} satisfies Record<string, Case>;

/** A contract case's title. */
export type CheckpointStoreCase = keyof typeof CHECKPOINT_STORE_CASES;

/**
 * Registers the contract's tests for one store implementation. `makeStore` gives each test a
 * fresh, empty store.
 *
 * @example
 * describeCheckpointStoreContract('memory store', () => ({ store: createMemoryCheckpointStore() }));
 */
export function describeCheckpointStoreContract(name: string, makeStore: () => CheckpointStoreFixture | Promise<CheckpointStoreFixture>, options: CheckpointStoreContractOptions = {}): void {
  const differences: Partial<Record<string, StoreDifference>> = options.differences ?? {};
  const unknown = Object.keys(differences).filter((title) => !(title in CHECKPOINT_STORE_CASES));
  if (unknown.length > 0) throw new TypeError(`${name}: differences name cases the contract does not have: ${unknown.map((title) => JSON.stringify(title)).join(', ')}`);

  describe(`CheckpointStore contract: ${name}`, () => {
    let fixture: CheckpointStoreFixture | undefined;
    beforeEach(async () => {
      fixture = await makeStore();
    });
    afterEach(() => {
      fixture?.dispose?.();
      fixture = undefined;
    });
    for (const [title, run] of Object.entries(CHECKPOINT_STORE_CASES) as Array<[string, Case]>) {
      const difference = differences[title];
      if (difference) it(`differs: ${title} — ${difference.reason}`, () => difference.check(fixture!));
      else it(title, () => run(fixture!));
    }
  });
}
