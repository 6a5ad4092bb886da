/**
 * Batch mode in checkpointed runs: each batch is journaled as soon as its create returns, and a
 * resume polls the same batches instead of submitting their requests again — counted in the
 * simulator's batch log. In process (a memory store, one `SimulatedClock` for the run and the
 * simulator, the crash being the lead actor stopped) and across processes (a real `fanfold run`
 * SIGKILLed with its batch in flight, then `fanfold resume`).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { z } from 'zod';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { createMemoryCheckpointStore, defineTool, resumeFanOut, runFanOut, type FanOutConfig } from '../src/index.ts';
import { startSimulator, type Simulator } from '../src/simulator/index.ts';
import { record, researchSpecialists, runNode, simulatorPerTest, watchStdout, settleOverSdk } from './support.ts';

const KEY = 'sk-ant-batch-resume-key';
const simulator = simulatorPerTest();
const stepped = { baseMs: 1_000, perRequestMs: 100, jitterMs: 0, cancelMs: 250 };
const quick = { gatherMs: 100, pollMs: 500, maxPollMs: 500 };

/** Moves simulated time `stepMs` at a time, with real I/O between, until `done()`. */
async function runUntil(clock: SimulatedClock, done: () => boolean, stepMs = 50, maxSteps = 2_000): Promise<void> {
  for (let step = 0; step < maxSteps && !done(); step++) {
    for (let round = 0; round < 10 && !done(); round++) {
      clock.increment(0);
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (!done()) clock.increment(stepMs);
  }
  if (!done()) throw new Error('still waiting');
}

const everyCustomId = (sim: Simulator) => sim.batches().flatMap((batch) => batch.requests.map((request) => request.customId));

describe('resume with a batch in flight (in process, memory store)', () => {
  it('journals the batch as its create returns; the resumed run polls that batch and submits nothing twice', async () => {
    const clock = new SimulatedClock();
    const sim = await simulator({ clock, batchLatency: stepped, batchCounts: 'at_end' });
    const store = createMemoryCheckpointStore();
    const config: FanOutConfig = { task: 'tidal power', specialists: researchSpecialists, deadlineMs: 600_000, batch: quick };
    const provider = () => createAnthropicProvider({ apiKey: KEY, baseURL: sim.url, env: {} });
    const first = runFanOut(config, { provider: provider(), clock, checkpoint: { store, runId: 'b1' } });
    const events1 = record(first);
    await runUntil(clock, () => events1.some((event) => event.type === 'batch.submitted'));
    const [batch] = sim.batches();
    // On record before anyone heard of it: one journal line with the id and its custom_ids.
    expect(store.load('b1').journal).toEqual([{ seq: 1, batch: { id: batch!.id, customIds: batch!.requests.map((request) => request.customId) } }]);
    clock.increment(500); // half-way: nothing has finished
    // As a crash: everything stops, nothing more is written, and the batch is left as it is.
    first.actor.stop();
    await first.result;
    await runUntil(clock, () => clock.now() >= 2_000);
    expect(sim.batches()[0]).toMatchObject({ cancelInitiatedAt: null, processingStatus: 'ended' });

    const resumed = resumeFanOut('b1', { store, provider: provider(), clock });
    expect(resumed.pending).toEqual(['historical', 'technical', 'societal']);
    const events = record(resumed);
    const result = await settleOverSdk(resumed, clock);

    expect(result.status).toBe('done');
    // One batch, each request once: the resumed calls were its requests.
    expect(sim.batches()).toHaveLength(1);
    expect(new Set(everyCustomId(sim)).size).toBe(3);
    expect(sim.requests.filter((request) => request.path === '/v1/messages').map((request) => request.caller)).toEqual(['synthesizer']);
    for (const outcome of result.outcomes) expect(outcome).toMatchObject({ status: 'fulfilled', attempts: 1, usage: { batched: { inputTokens: outcome.usage.inputTokens } } });
    expect(events.filter((event) => event.type.startsWith('batch.'))).toEqual([
      {
        type: 'batch.ended',
        batchId: batch!.id,
        requests: 3,
        counts: { processing: 0, succeeded: 3, errored: 0, canceled: 0, expired: 0 },
        canceled: null,
        kept: true,
        at: expect.any(Number),
      },
    ]);
    // The finished run's snapshot keeps its batches (a save starts the journal afresh).
    expect(store.load('b1').checkpoint.batches).toEqual([{ id: batch!.id, customIds: batch!.requests.map((request) => request.customId) }]);
  });

  it('a tool-using specialist resumed mid-loop makes the same turn-2 request again and finds it in its kept batch', async () => {
    const clock = new SimulatedClock();
    const sim = await simulator({ clock, batchLatency: stepped });
    const store = createMemoryCheckpointStore();
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks up records for a query.',
      input: z.object({ query: z.string() }),
      run: async ({ query }) => `record for ${query}: 240 MW in 2011`,
    });
    const config: FanOutConfig = { task: 'tidal power', specialists: [{ id: 'historical', angle: 'Historical context', tools: [lookup] }], deadlineMs: 600_000, batch: quick };
    const provider = () => createAnthropicProvider({ apiKey: KEY, baseURL: sim.url, env: {} });
    const first = runFanOut(config, { provider: provider(), clock, checkpoint: { store, runId: 'b2' } });
    // Turn 1 in a batch, its tool calls, then turn 2 in a second batch: crash once that one is journaled.
    await runUntil(clock, () => store.load('b2').journal.filter((entry) => 'batch' in entry).length === 2);
    first.actor.stop();
    await first.result;
    expect(sim.batches().map((batch) => batch.requests.map((request) => request.customId))).toEqual([[expect.stringMatching(/^historical_a1_t1_/)], [expect.stringMatching(/^historical_a2_t2_/)]]);

    const resumed = resumeFanOut('b2', { store, provider: provider(), clock, config });
    const result = await settleOverSdk(resumed, clock);
    expect(result.status).toBe('done');
    expect(result.outcomes[0]).toMatchObject({ status: 'fulfilled', turns: 2, attempts: 2 });
    expect(sim.batches()).toHaveLength(2);
    expect(new Set(everyCustomId(sim)).size).toBe(2);
  });
});

describe('fanfold resume after SIGKILL with a batch in flight (child processes, real SDK over loopback)', () => {
  const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');
  let sim: Simulator;
  let dir: string;
  beforeAll(async () => {
    // Real time: the batch's requests finish 1.5–1.9 s after its create, long after the kill.
    sim = await startSimulator({ apiKey: KEY, latency: { firstTokenMs: 0, tokensPerSecond: Infinity }, batchLatency: { baseMs: 1_500, perRequestMs: 200, jitterMs: 0 } });
    dir = mkdtempSync(join(tmpdir(), 'fanfold-batch-crash-'));
    writeFileSync(
      join(dir, 'app.yaml'),
      [
        'name: Batch crash test',
        'task: The economics of tidal power',
        'deadline: 5m',
        'batch: { gatherMs: 200, pollMs: 300, maxPollMs: 300 }',
        'agents:',
        '  - { id: s1, role: Angle s1 }',
        '  - { id: s2, role: Angle s2 }',
        '  - { id: s3, role: Angle s3 }',
        'lead:',
        '  specialists: [s1, s2, s3]',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the resumed process polls the same batch: every request submitted once, every specialist answered from it', async () => {
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: sim.url };
    const store = join(dir, 'store');
    let child: ChildProcess | undefined;
    const killed = runNode([BIN, 'run', join(dir, 'app.yaml'), '--store', store, '--run-id', 'batch-1'], env, (spawned) => (child = spawned));
    await watchStdout(child!, /batch \S+ submitted: 3 requests/);
    child!.kill('SIGKILL');
    const before = await killed;
    expect(before.code).toBe(null);
    expect(sim.batches()).toHaveLength(1);
    expect(sim.batches()[0]!.processingStatus).toBe('in_progress');

    const resumed = await runNode([BIN, 'resume', 'batch-1', '--store', store, '--json'], env);
    expect(resumed.stderr).toContain('Resuming run batch-1: 0 of 3 specialists kept (not called again); 3 to run (s1, s2, s3).');
    expect(resumed.stderr).toMatch(new RegExp(`batch ${sim.batches()[0]!.id} \\(kept from before the resume\\) ended: 3 succeeded`));
    expect(resumed.code).toBe(0);
    const json = JSON.parse(resumed.stdout);
    expect(json.status).toBe('done');
    expect(json.specialists.map((specialist: { id: string; status: string; attempts: number }) => `${specialist.id}:${specialist.status}:${specialist.attempts}`)).toEqual([
      's1:fulfilled:1',
      's2:fulfilled:1',
      's3:fulfilled:1',
    ]);
    // Zero requests submitted twice: one batch, three custom_ids, and no specialist streamed.
    expect(sim.batches()).toHaveLength(1);
    expect(new Set(sim.batches()[0]!.requests.map((request) => request.customId)).size).toBe(3);
    expect(sim.requests.filter((request) => request.path === '/v1/messages').map((request) => request.caller)).toEqual(['synthesizer']);
  }, 60_000);
});
