import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFileCheckpointStore } from '../src/checkpoint/fileStore.ts';
import { createMemoryCheckpointStore } from '../src/checkpoint/memoryStore.ts';
import type { CheckpointStore } from '../src/checkpoint/store.ts';
import type { FanOutConfig } from '../src/config.ts';
import { createScriptedProvider } from '../src/providers/scripted.ts';
import { resumeFanOut } from '../src/resume.ts';
import { runFanOut } from '../src/run.ts';
import { checkpointOf, describeCheckpointStoreContract, settledEntry } from './contracts/checkpointStore.contract.ts';
import { settle } from './support.ts';

describeCheckpointStoreContract('file store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fanfold-store-contract-'));
  const store = createFileCheckpointStore(dir);
  return {
    store,
    tearJournal: (runId, partialLine) => appendFileSync(join(dir, 'runs', runId, 'journal.jsonl'), partialLine),
    dispose: () => {
      // Release the journals and locks this test's runs hold before their folder goes.
      for (const { runId } of store.list()) store.close(runId);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeCheckpointStoreContract('memory store', () => ({ store: createMemoryCheckpointStore() }), {
  differences: {
    'a journal line torn by a crash mid-write is ignored with a warning, and gone after the next save': {
      reason: 'the memory store never tears a line: an entry is kept whole or not at all, and load never warns',
      check: ({ store }) => {
        store.create(checkpointOf('r1'));
        store.append('r1', settledEntry(1, 0));
        // The one way an append can stop half-way: a value that cannot be written.
        const unwritable = { ...settledEntry(2, 1), index: 10n as unknown as number };
        expect(() => store.append('r1', unwritable)).toThrow(TypeError);
        store.append('r1', settledEntry(2, 1));
        expect(store.load('r1')).toMatchObject({ journal: [settledEntry(1, 0), settledEntry(2, 1)], warnings: [] });
      },
    },
  },
});

/** The runtime on the memory store: checkpoint, crash, resume in one process. */
describe('runs checkpointed in a memory store', () => {
  let store: CheckpointStore;
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    store = createMemoryCheckpointStore();
  });
  afterEach(() => vi.useRealTimers());

  /** Five specialists finishing 100 ms apart (s1 at 100 ms … s5 at 500 ms). */
  const config: FanOutConfig = { task: 'staggered', specialists: Array.from({ length: 5 }, (_, i) => ({ id: `s${i + 1}` })), deadlineMs: 60_000 };
  const latencies = () => Object.fromEntries([...config.specialists.map((spec, i) => [spec.id, { latencyMs: (i + 1) * 100 }]), ['synthesizer', { latencyMs: 50 }]]);

  it('a run abandoned mid-way resumes from the same store without calling its finished specialists again', async () => {
    const before = createScriptedProvider({ byCaller: latencies() });
    const run = runFanOut(config, { provider: before, checkpoint: { store, runId: 'm1', meta: { note: 'kept' } } });
    await vi.advanceTimersByTimeAsync(250);
    // As a crash: everything stops and nothing more is written.
    run.actor.stop();
    expect(before.calls.filter((call) => call.result === 'replied').map((call) => call.caller?.id)).toEqual(['s1', 's2']);
    expect(store.list()).toMatchObject([{ runId: 'm1', state: 'fanningOut', status: null, specialists: 5, settled: 2 }]);

    const after = createScriptedProvider({ byCaller: latencies() });
    const resumed = resumeFanOut('m1', { store, provider: after });
    expect(resumed.kept.map((outcome) => outcome.id)).toEqual(['s1', 's2']);
    expect(resumed.pending).toEqual(['s3', 's4', 's5']);
    expect(resumed.meta).toEqual({ note: 'kept' });
    expect(resumed.warnings).toEqual([]);
    const result = await settle(resumed);

    expect(result.status).toBe('done');
    expect(result.outcomes.slice(0, 2)).toEqual(resumed.kept);
    expect(after.calls.map((call) => call.caller?.id)).toEqual(['s3', 's4', 's5', 'synthesizer']);
    expect(store.list()).toMatchObject([{ runId: 'm1', state: 'done', status: 'done', specialists: 5, settled: 5 }]);

    // Once finished, the run is released and resuming it again gives the stored result, calling no one.
    const again = createScriptedProvider({ byCaller: latencies() });
    const finished = resumeFanOut('m1', { store, provider: again });
    expect(finished.alreadyFinished).toBe(true);
    expect(await finished.result).toEqual(result);
    expect(again.calls).toHaveLength(0);
  });

  it('a run id taken in the store is refused before any call; another store does not know the run', async () => {
    const provider = createScriptedProvider({ byCaller: latencies() });
    await settle(runFanOut(config, { provider, checkpoint: { store, runId: 'm2' } }));
    const again = createScriptedProvider({ byCaller: latencies() });
    expect(() => runFanOut(config, { provider: again, checkpoint: { store, runId: 'm2' } })).toThrow(/run "m2" already exists/);
    expect(again.calls).toHaveLength(0);
    expect(() => resumeFanOut('m2', { store: createMemoryCheckpointStore() })).toThrow(/no run "m2" in memory/);
  });
});

describe('the contract harness', () => {
  it('refuses a difference for a case the contract does not have, before registering anything', () => {
    const differences = { 'a case that does not exist': { reason: 'typo', check: () => {} } } as never;
    expect(() => describeCheckpointStoreContract('misnamed', () => ({ store: createMemoryCheckpointStore() }), { differences })).toThrow(
      'misnamed: differences name cases the contract does not have: "a case that does not exist"',
    );
  });
});
