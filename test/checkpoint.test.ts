import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckpointError, createFileCheckpointStore, resumeFanOut, runFanOut, type CheckpointStore, type FanOutConfig } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { settle } from './support.ts';

/** Checkpoint and resume in one process: the crash is an actor abandoned mid-run (the child-process SIGKILL test is in checkpoint-crash.test.ts). */
describe('checkpoint and resume', () => {
  let dir: string;
  let store: CheckpointStore;
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    dir = mkdtempSync(join(tmpdir(), 'fanfold-checkpoint-'));
    store = createFileCheckpointStore(dir);
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Eight specialists finishing 100 ms apart (s1 at 100 ms … s8 at 800 ms). */
  const staggered = (deadlineMs = 60_000): FanOutConfig => ({
    task: 'staggered',
    specialists: Array.from({ length: 8 }, (_, i) => ({ id: `s${i + 1}` })),
    deadlineMs,
  });
  const latencies = (extra: Record<string, object> = {}) =>
    Object.fromEntries([...Array.from({ length: 8 }, (_, i) => [`s${i + 1}`, { latencyMs: (i + 1) * 100 }]), ['synthesizer', { latencyMs: 50 }], ...Object.entries(extra)]);

  /** Runs until `ms` of fake time passed, then "crashes". */
  async function crashAfter(config: FanOutConfig, ms: number, runId = 'r1') {
    const provider = createScriptedProvider({ byCaller: latencies() });
    const run = runFanOut(config, { provider, checkpoint: { store, runId } });
    const settledBefore: string[] = [];
    run.events$.subscribe((event) => {
      if (event.type === 'specialist.done') settledBefore.push(event.id);
    });
    await vi.advanceTimersByTimeAsync(ms);
    // As a crash: everything stops, and nothing more is written (stopping an actor never writes a checkpoint).
    run.actor.stop();
    return { provider, settledBefore };
  }

  it('a resumed run keeps finished outcomes, calls only the unfinished specialists, and completes', async () => {
    const { provider: before, settledBefore } = await crashAfter(staggered(), 350);
    expect(settledBefore).toEqual(['s1', 's2', 's3']);
    const outputsBefore = before.calls.filter((call) => call.result === 'replied').map((call) => call.caller?.id);
    expect(outputsBefore).toEqual(['s1', 's2', 's3']);

    const after = createScriptedProvider({ byCaller: latencies() });
    const resumed = resumeFanOut('r1', { store, provider: after });
    expect(resumed.kept.map((outcome) => outcome.id)).toEqual(['s1', 's2', 's3']);
    expect(resumed.pending).toEqual(['s4', 's5', 's6', 's7', 's8']);
    const result = await settle(resumed);

    expect(result.status).toBe('done');
    expect(result.outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    // Zero repeated calls: the finished three are never called again.
    expect(after.calls.map((call) => call.caller?.id)).toEqual(['s4', 's5', 's6', 's7', 's8', 'synthesizer']);
    // Kept outcomes are the very ones from before the crash, and the synthesis folds all eight.
    expect(result.outcomes.slice(0, 3)).toEqual(resumed.kept);
    expect(result.synthesis).toBeTruthy();
    expect(after.calls.at(-1)!.request.messages[0]!.content).toContain('s1');
  });

  it('with a concurrency limit, specialists started and settled after the snapshot are not called again, and the limit holds', async () => {
    // Two at a time: s1 100, s2 200, s3 100→400, s4 200→600, s5 400→900; crash at 450.
    const { settledBefore } = await crashAfter({ ...staggered(), maxConcurrency: 2 }, 450);
    expect(settledBefore).toEqual(['s1', 's2', 's3']);
    const after = createScriptedProvider({ byCaller: latencies() });
    const result = await settle(resumeFanOut('r1', { store, provider: after }));
    expect(result.status).toBe('done');
    expect(after.calls.map((call) => call.caller?.id)).toEqual(['s4', 's5', 's6', 's7', 's8', 'synthesizer']);
    expect(after.maxInFlight).toBe(2);
  });

  it('outcomes settled after the last full snapshot are kept through the journal', async () => {
    await crashAfter(staggered(), 350);
    const journal = readFileSync(join(dir, 'runs', 'r1', 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n');
    // All three arrived after the first snapshot (taken at start): they live only in the journal.
    expect(journal.map((line) => JSON.parse(line).outcome.id)).toEqual(['s1', 's2', 's3']);
    const checkpoint = JSON.parse(readFileSync(join(dir, 'runs', 'r1', 'checkpoint.json'), 'utf8'));
    expect(checkpoint.snapshot.context.outcomes.filter(Boolean)).toHaveLength(0);

    const after = createScriptedProvider({ byCaller: latencies() });
    expect(resumeFanOut('r1', { store, provider: after }).kept).toHaveLength(3);
  });

  it('the deadline is re-armed from the stored timestamp: a run resumed past it synthesizes at once on what it kept', async () => {
    await crashAfter(staggered(1_000), 350);
    vi.setSystemTime(Date.now() + 5_000); // resumed long after the deadline
    const after = createScriptedProvider({ byCaller: latencies() });
    const result = await settle(resumeFanOut('r1', { store, provider: after }));
    expect(result.status).toBe('partial');
    expect(result.outcomes.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => outcome.id)).toEqual(['s1', 's2', 's3']);
    expect(result.outcomes.slice(3).every((outcome) => outcome.status === 'timedOut')).toBe(true);
    // Nobody is called just to be cut off: the stragglers are stopped before they start.
    expect(after.calls.map((call) => call.caller?.id)).toEqual(['synthesizer']);
    expect(result.modelCalls).toBe(3 + 1);
  });

  it('the remaining deadline still applies after a resume within it', async () => {
    await crashAfter(staggered(700), 350);
    const after = createScriptedProvider({ byCaller: latencies() });
    const resumed = resumeFanOut('r1', { store, provider: after });
    const result = await settle(resumed);
    // Resumed at 350 ms with 350 ms left: s4 (400 ms of fresh latency) cannot make it.
    expect(result.status).toBe('partial');
    expect(result.endedAt - result.startedAt).toBeLessThan(700 + 100);
  });

  it('`deadlineMs` gives a resumed run a fresh deadline from now', async () => {
    await crashAfter(staggered(1_000), 350);
    vi.setSystemTime(Date.now() + 5_000);
    const after = createScriptedProvider({ byCaller: latencies() });
    const result = await settle(resumeFanOut('r1', { store, provider: after, deadlineMs: 10_000 }));
    expect(result.status).toBe('done');
  });

  it('a crash after every specialist settled but before the synthesis resumes with the synthesis only', async () => {
    await crashAfter(staggered(), 801);
    const after = createScriptedProvider({ byCaller: latencies() });
    const resumed = resumeFanOut('r1', { store, provider: after });
    expect(resumed.pending).toEqual([]);
    const result = await settle(resumed);
    expect(result.status).toBe('done');
    expect(after.calls.map((call) => call.caller?.id)).toEqual(['synthesizer']);
  });

  it('a crash during the synthesis resumes with the synthesis only', async () => {
    const provider = createScriptedProvider({ byCaller: latencies({ synthesizer: { latencyMs: 5_000 } }) });
    const run = runFanOut(staggered(), { provider, checkpoint: { store, runId: 'r1' } });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(run.actor.getSnapshot().value).toBe('synthesizing');
    run.actor.stop();

    const after = createScriptedProvider({ byCaller: latencies() });
    const result = await settle(resumeFanOut('r1', { store, provider: after }));
    expect(result.status).toBe('done');
    expect(after.calls.map((call) => call.caller?.id)).toEqual(['synthesizer']);
  });

  it('resuming a finished run returns its stored result and calls nothing', async () => {
    const provider = createScriptedProvider({ byCaller: latencies() });
    const first = await settle(runFanOut(staggered(), { provider, checkpoint: { store, runId: 'r1' } }));
    const after = createScriptedProvider({ byCaller: latencies() });
    const resumed = resumeFanOut('r1', { store, provider: after });
    expect(resumed.alreadyFinished).toBe(true);
    expect(await resumed.result).toEqual(first);
    expect(after.calls).toHaveLength(0);
    expect(store.list()).toMatchObject([{ runId: 'r1', state: 'done', status: 'done', specialists: 8, settled: 8 }]);
  });

  it('a journal line torn by a crash mid-write is ignored, with a warning', async () => {
    await crashAfter(staggered(), 350);
    appendFileSync(join(dir, 'runs', 'r1', 'journal.jsonl'), '{"seq":4,"index":3,"outco');
    const after = createScriptedProvider({ byCaller: latencies() });
    const resumed = resumeFanOut('r1', { store, provider: after });
    expect(resumed.warnings).toEqual([expect.stringMatching(/journal\.jsonl:4: ignored a journal line cut short/)]);
    expect(resumed.kept).toHaveLength(3);
    expect((await settle(resumed)).status).toBe('done');
  });

  it('a temporary file left by a crash mid-snapshot does not stop the resume (the previous snapshot is whole)', async () => {
    await crashAfter(staggered(), 350);
    writeFileSync(join(dir, 'runs', 'r1', `checkpoint.json.${process.pid}.tmp`), '{"format":"fanfold.checkpo');
    const after = createScriptedProvider({ byCaller: latencies() });
    expect((await settle(resumeFanOut('r1', { store, provider: after }))).status).toBe('done');
  });

  it('a damaged checkpoint is a clear CheckpointError naming the file, before any call', async () => {
    await crashAfter(staggered(), 350);
    const file = join(dir, 'runs', 'r1', 'checkpoint.json');
    const text = readFileSync(file, 'utf8');
    const after = createScriptedProvider({ byCaller: latencies() });
    const attempt = () => resumeFanOut('r1', { store, provider: after });

    writeFileSync(file, text.slice(0, text.length / 2));
    expect(attempt).toThrow(CheckpointError);
    expect(attempt).toThrow(/checkpoint\.json: not valid JSON .*damaged/);

    writeFileSync(file, JSON.stringify({ ...JSON.parse(text), version: 9 }));
    expect(attempt).toThrow(/checkpoint version 9 is not supported/);

    const wrongShape = JSON.parse(text);
    wrongShape.snapshot.context.outcomes = [];
    writeFileSync(file, JSON.stringify(wrongShape));
    expect(attempt).toThrow(/snapshot\.context\.outcomes has 0 entries for 8 specialists/);

    writeFileSync(file, JSON.stringify({ hello: 'world' }));
    expect(attempt).toThrow(/not a fanfold checkpoint/);

    const bogusState = JSON.parse(text);
    bogusState.snapshot.value = 'bogus';
    writeFileSync(file, JSON.stringify(bogusState));
    expect(attempt).toThrow(/snapshot\.value: expected a running state of the lead/);

    const noFanOut = JSON.parse(text);
    delete noFanOut.snapshot.children.fanOut;
    writeFileSync(file, JSON.stringify(noFanOut));
    expect(attempt).toThrow(/the fanningOut state needs its fanOut actor, which is missing/);

    // Outcomes kept for a sub-lead that this run does not have (s2 is a plain specialist).
    const strayNested = JSON.parse(text);
    const journaled = JSON.parse(readFileSync(join(dir, 'runs', 'r1', 'journal.jsonl'), 'utf8').split('\n')[0]!);
    strayNested.nested = [{ path: [1, 0], outcome: journaled.outcome }];
    writeFileSync(file, JSON.stringify(strayNested));
    expect(attempt).toThrow(/nested\[0\]\.path starts at specialist index 1, which is not a sub-lead of this run/);

    writeFileSync(file, text);
    writeFileSync(join(dir, 'runs', 'r1', 'journal.jsonl'), 'garbage\n{"seq":1}\n');
    expect(attempt).toThrow(/journal\.jsonl:1: not valid JSON/);
    expect(after.calls).toHaveLength(0);
  });

  it('an unknown run id names the store; a taken run id is refused before any call', async () => {
    expect(() => resumeFanOut('nope', { store })).toThrow(/no run "nope" in .*runs/);
    expect(() => resumeFanOut('../etc', { store })).toThrow(/Invalid run id/);
    const provider = createScriptedProvider({ byCaller: latencies() });
    await settle(runFanOut(staggered(), { provider, checkpoint: { store, runId: 'r1' } }));
    const again = createScriptedProvider({ byCaller: latencies() });
    expect(() => runFanOut(staggered(), { provider: again, checkpoint: { store, runId: 'r1' } })).toThrow(/run "r1" already exists/);
    expect(again.calls).toHaveLength(0);
  });

  it('task-function specialists need the original config to resume, and then only the unfinished ones run', async () => {
    const ran: string[] = [];
    const config: FanOutConfig = {
      task: 't',
      specialists: ['a', 'b', 'c'].map((id, i) => ({
        id,
        run: async () => {
          ran.push(id);
          await new Promise((resolve) => setTimeout(resolve, (i + 1) * 100));
          return `${id} result`;
        },
      })),
      synthesizer: { run: async ({ outcomes }) => outcomes!.map((outcome) => outcome.output).join(' + ') },
      deadlineMs: 60_000,
    };
    const run = runFanOut(config, { checkpoint: { store, runId: 't1' } });
    await vi.advanceTimersByTimeAsync(150);
    run.actor.stop();

    expect(() => resumeFanOut('t1', { store })).toThrow(/task function, which a checkpoint cannot store/);
    ran.length = 0;
    const result = await settle(resumeFanOut('t1', { store, config }));
    expect(ran).toEqual(['b', 'c']);
    expect(result.synthesis).toBe('a result + b result + c result');
  });

  it('a sub-lead in flight at the crash starts again, but its finished sub-specialists are kept and not called again', async () => {
    const nested: FanOutConfig = {
      task: 't',
      specialists: [{ id: 'historical' }, { id: 'technical', specialists: [{ id: 'plasma' }, { id: 'materials' }, { id: 'fuel' }] }, { id: 'societal' }],
      deadlineMs: 60_000,
    };
    const byCaller = { historical: { latencyMs: 100 }, plasma: { latencyMs: 100 }, materials: { latencyMs: 300 }, fuel: { latencyMs: 1_500 }, societal: { latencyMs: 2_000 } };
    const before = createScriptedProvider({ latencyMs: 50, byCaller });
    const run = runFanOut(nested, { provider: before, checkpoint: { store, runId: 'n1' } });
    await vi.advanceTimersByTimeAsync(500);
    run.actor.stop();
    expect(
      before.calls
        .filter((call) => call.result === 'replied')
        .map((call) => call.caller?.id)
        .sort(),
    ).toEqual(['historical', 'materials', 'plasma']);

    const after = createScriptedProvider({ latencyMs: 50, byCaller });
    const resumed = resumeFanOut('n1', { store, provider: after });
    expect(resumed.kept.map((outcome) => outcome.id)).toEqual(['historical']);
    expect(resumed.keptInSubLeads.map(({ path, outcome }) => [path, outcome.id])).toEqual([
      [[1, 0], 'plasma'],
      [[1, 1], 'materials'],
    ]);
    const result = await settle(resumed);
    expect(result.status).toBe('done');
    const technical = result.outcomes[1]!;
    expect(technical.subOutcomes!.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['plasma', 'fulfilled'],
      ['materials', 'fulfilled'],
      ['fuel', 'fulfilled'],
    ]);
    expect(technical.subOutcomes!.slice(0, 2)).toEqual(resumed.keptInSubLeads.map(({ outcome }) => outcome));
    // Zero repeated calls: only what had not finished runs (and the two syntheses).
    expect(after.calls.map((call) => call.caller?.id).sort()).toEqual(['fuel', 'societal', 'synthesizer', 'synthesizer']);
    // Every call made counts once: 3 before the crash that were kept, 4 after.
    expect(result.modelCalls).toBe(7);
  });

  it('nested outcomes survive a second crash, three levels down (they go with every snapshot, not only the journal)', async () => {
    const deep: FanOutConfig = {
      task: 't',
      specialists: [{ id: 'a' }, { id: 'team', specialists: [{ id: 'x' }, { id: 'inner', specialists: [{ id: 'p' }, { id: 'q' }] }, { id: 'y' }] }],
      deadlineMs: 60_000,
    };
    const byCaller = { a: { latencyMs: 100 }, x: { latencyMs: 100 }, p: { latencyMs: 200 }, q: { latencyMs: 3_000 }, y: { latencyMs: 3_000 } };
    const first = runFanOut(deep, { provider: createScriptedProvider({ latencyMs: 50, byCaller }), checkpoint: { store, runId: 'd1' } });
    await vi.advanceTimersByTimeAsync(400);
    first.actor.stop();

    // First resume: x and p are kept; it crashes again before anything else finishes.
    const second = createScriptedProvider({ latencyMs: 50, byCaller });
    const resumedOnce = resumeFanOut('d1', { store, provider: second });
    expect(resumedOnce.keptInSubLeads.map(({ path, outcome }) => [path, outcome.id])).toEqual([
      [[1, 0], 'x'],
      [[1, 1, 0], 'p'],
    ]);
    await vi.advanceTimersByTimeAsync(100);
    resumedOnce.actor.stop();
    expect(second.calls.map((call) => call.caller?.id).sort()).toEqual(['q', 'y']);
    expect(JSON.parse(readFileSync(join(dir, 'runs', 'd1', 'checkpoint.json'), 'utf8')).nested.map((entry: { path: number[] }) => entry.path)).toEqual([
      [1, 0],
      [1, 1, 0],
    ]);

    const third = createScriptedProvider({ latencyMs: 50, byCaller });
    const resumedTwice = resumeFanOut('d1', { store, provider: third });
    expect(resumedTwice.keptInSubLeads.map(({ outcome }) => outcome.id)).toEqual(['x', 'p']);
    const result = await settle(resumedTwice);
    expect(result.status).toBe('done');
    const team = result.outcomes[1]!;
    expect(team.subOutcomes!.map((outcome) => outcome.id)).toEqual(['x', 'inner', 'y']);
    expect(team.subOutcomes![1]!.subOutcomes!.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['p', 'fulfilled'],
      ['q', 'fulfilled'],
    ]);
    // x and p were paid for once, before the first crash: never again.
    expect(third.calls.map((call) => call.caller?.id).sort()).toEqual(['q', 'synthesizer', 'synthesizer', 'synthesizer', 'y']);
    // Once the sub-lead settled, its inner outcomes leave the checkpoint: its own outcome holds them.
    expect(JSON.parse(readFileSync(join(dir, 'runs', 'd1', 'checkpoint.json'), 'utf8')).nested).toBeUndefined();
  });

  it('the final snapshot is saved before anyone hears the run finished', async () => {
    const provider = createScriptedProvider({ byCaller: latencies() });
    const run = runFanOut(staggered(), { provider, checkpoint: { store, runId: 'r1' } });
    let onDisk: unknown;
    run.events$.subscribe((event) => {
      if (event.type === 'run.finished') onDisk = JSON.parse(readFileSync(join(dir, 'runs', 'r1', 'checkpoint.json'), 'utf8')).snapshot.status;
    });
    await settle(run);
    expect(onDisk).toBe('done');
  });

  it('two processes cannot continue one run: the second resume is refused while the first runs', async () => {
    await crashAfter(staggered(), 350);
    const first = resumeFanOut('r1', { store, provider: createScriptedProvider({ byCaller: latencies() }) });
    const other = createFileCheckpointStore(dir); // as another process would open it
    expect(() => resumeFanOut('r1', { store: other, provider: createScriptedProvider() })).toThrow(/run "r1" is already running in this process/);
    // A lock left by a process that no longer exists is taken over (the SIGKILL case).
    await settle(first);
    writeFileSync(join(dir, 'runs', 'r1', 'lock'), '999999999');
    expect(resumeFanOut('r1', { store: other }).alreadyFinished).toBe(true);
  });

  it('a kept outcome that escalates fails the resumed run without calling anyone', async () => {
    const config: FanOutConfig = {
      ...staggered(),
      specialists: staggered().specialists.map((spec, i) => (i === 1 ? { ...spec, policy: { onFailure: 'escalate' as const, retry: { maxAttempts: 1 } } } : spec)),
    };
    const dying = { ...store, save: (checkpoint: Parameters<CheckpointStore['save']>[0]) => (dead ? undefined : store.save(checkpoint)) };
    let dead = false;
    const provider = createScriptedProvider({ byCaller: latencies({ s2: { latencyMs: 200, error: { kind: 'bad_request', message: 'no' } } }) });
    const run = runFanOut(config, { provider, checkpoint: { store: dying, runId: 'e1' } });
    run.events$.subscribe((event) => {
      // The process "dies" the moment s2's failure is journaled: the escalation's stop is never saved.
      if (event.type === 'specialist.failed') dead = true;
    });
    expect((await settle(run)).status).toBe('failed');

    const after = createScriptedProvider({ byCaller: latencies() });
    const result = await settle(resumeFanOut('e1', { store, provider: after }));
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/specialist "s2" failed and its policy escalates/);
    expect(after.calls).toHaveLength(0);
  });

  it('a cancel cut short by a crash is not carried into the resume: the skipped specialists run, and their cut-off calls still count', async () => {
    let dead = false;
    const dying = { ...store, save: (checkpoint: Parameters<CheckpointStore['save']>[0]) => (dead ? undefined : store.save(checkpoint)) };
    const run = runFanOut(staggered(), { provider: createScriptedProvider({ byCaller: latencies() }), checkpoint: { store: dying, runId: 'c1' } });
    await vi.advanceTimersByTimeAsync(350);
    dead = true; // the skipped outcomes are journaled, but the process dies before the cancelled state is saved
    run.cancel('stop');
    expect((await settle(run)).status).toBe('cancelled');
    expect(readFileSync(join(dir, 'runs', 'c1', 'journal.jsonl'), 'utf8')).toContain('"status":"skipped"');

    const after = createScriptedProvider({ byCaller: latencies() });
    const resumed = resumeFanOut('c1', { store, provider: after });
    expect(resumed.pending).toEqual(['s4', 's5', 's6', 's7', 's8']);
    const result = await settle(resumed);
    expect(result.status).toBe('done');
    // 3 kept + 5 cut off by the cancel + 5 run again + the synthesis.
    expect(result.modelCalls).toBe(3 + 5 + 5 + 1);
  });

  it('suspend stops the run but leaves it resumable (what the CLI does on Ctrl-C)', async () => {
    const run = runFanOut(staggered(), { provider: createScriptedProvider({ byCaller: latencies() }), checkpoint: { store, runId: 's1' } });
    await vi.advanceTimersByTimeAsync(350);
    run.suspend('Ctrl-C');
    const stopped = await settle(run);
    expect(stopped.status).toBe('cancelled');
    expect(stopped.outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);

    const after = createScriptedProvider({ byCaller: latencies() });
    const resumed = resumeFanOut('s1', { store, provider: after });
    expect(resumed.alreadyFinished).toBe(false);
    expect((await settle(resumed)).status).toBe('done');
    expect(after.calls.map((call) => call.caller?.id)).toEqual(['s4', 's5', 's6', 's7', 's8', 'synthesizer']);
  });

  it('a failing store does not fail the run: onError hears of it once, the run completes', async () => {
    const failing: CheckpointStore = {
      ...store,
      append: () => {
        throw new Error('disk full');
      },
    };
    const errors: string[] = [];
    const provider = createScriptedProvider({ byCaller: latencies() });
    const result = await settle(runFanOut(staggered(), { provider, checkpoint: { store: failing, runId: 'r1', onError: (error) => errors.push(error.message) } }));
    expect(result.status).toBe('done');
    expect(errors).toEqual(['disk full']);
  });
});
