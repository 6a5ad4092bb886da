/**
 * A checkpointed model-lead run that crashes mid-round is resumed without spawning anything
 * again and without paying again for specialists that finished or lead turns that ended.
 * (The crash is an actor abandoned mid-run, as in checkpoint.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFileCheckpointStore, resumeFanOut, runFanOut, type CheckpointStore, type FanOutConfig, type ModelRequest } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { settle } from './support.ts';

const config: FanOutConfig = {
  task: 'tidal power',
  lead: { model: 'lead-model' },
  specialists: [{ id: 'explorer', model: 'explorer-model' }],
};

const leadTurn = (request: ModelRequest) => request.messages.filter((message) => message.role === 'assistant').length + 1;

/** Turn 1 spawns three; turn 2 joins them; turn 3 answers. Each lead call takes 100 ms. */
function lead(request: ModelRequest): ScriptedReply {
  const turn = leadTurn(request);
  if (turn === 1) return { toolUse: ['news', 'journals', 'vendors'].map((where) => ({ name: 'Agent', input: { prompt: `Look in ${where}.`, description: where } })), latencyMs: 100 };
  if (turn === 2) return { toolUse: [{ name: 'Agent', input: { agent_ids: ['explorer-1', 'explorer-2', 'explorer-3'] } }], latencyMs: 100 };
  const last = request.messages.at(-1)!.content as Array<{ content: string }>;
  return { text: `ANSWER: ${last[0]!.content.split('\n')[0]}`, latencyMs: 100 };
}

/** explorer-1 answers after 100 ms, explorer-2 after 200, explorer-3 after 2 s. */
const explorerLatency: Record<string, number> = { 'explorer-1': 100, 'explorer-2': 200, 'explorer-3': 2_000 };
const provider = () =>
  createScriptedProvider({ reply: (request, call) => (call.caller?.id === 'lead' ? lead(request) : { text: `finding of ${call.caller!.id}`, latencyMs: explorerLatency[call.caller!.id] ?? 100 }) });
const callsBy = (scripted: ReturnType<typeof provider>, id: string) => scripted.calls.filter((call) => call.caller?.id === id);

describe('resuming a model lead', () => {
  let dir: string;
  let store: CheckpointStore;
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    dir = mkdtempSync(join(tmpdir(), 'fanfold-lead-resume-'));
    store = createFileCheckpointStore(dir);
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a crash while the lead waits on its join: nothing is spawned again; only the unfinished specialist and the last lead turn are called', async () => {
    const first = provider();
    const run = runFanOut(config, { provider: first, checkpoint: { store, runId: 'lead-1' } });
    // Spawned at 100; explorer-1 done at 200, explorer-2 at 300; the join was sent at 200.
    await vi.advanceTimersByTimeAsync(600);
    expect(run.actor.getSnapshot().value).toEqual({ leading: 'waiting' });
    run.actor.stop();
    expect(callsBy(first, 'lead')).toHaveLength(2);

    const second = provider();
    const resumed = resumeFanOut('lead-1', { store, provider: second, config });
    expect(resumed.kept.map((outcome) => outcome.id)).toEqual(['explorer-1', 'explorer-2']);
    expect(resumed.pending).toEqual(['explorer-3']);
    const result = await settle(resumed);

    expect(result.status).toBe('done');
    // Finished specialists are not called again; the one in flight starts again, once.
    expect(callsBy(second, 'explorer-1')).toHaveLength(0);
    expect(callsBy(second, 'explorer-2')).toHaveLength(0);
    expect(callsBy(second, 'explorer-3')).toHaveLength(1);
    // The lead's spawn and join turns are not paid again: the join was re-sent, then its last turn.
    expect(callsBy(second, 'lead').map((call) => call.caller?.turn)).toEqual([3]);
    expect(result.lead!.spawned.map((spawn) => spawn.id)).toEqual(['explorer-1', 'explorer-2', 'explorer-3']);
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status, outcome.output])).toEqual([
      ['explorer-1', 'fulfilled', 'finding of explorer-1'],
      ['explorer-2', 'fulfilled', 'finding of explorer-2'],
      ['explorer-3', 'fulfilled', 'finding of explorer-3'],
    ]);
    expect(result.synthesis).toBe('ANSWER: 3 of 3 agents finished.');
    // Every model call of both processes is counted once.
    expect(result.modelCalls).toBe(3 + 3);
  });

  it("a crash right after the spawns, while the lead's next turn is in flight: the specialists are not spawned twice", async () => {
    const first = provider();
    const run = runFanOut(config, { provider: first, checkpoint: { store, runId: 'lead-2' } });
    await vi.advanceTimersByTimeAsync(150);
    run.actor.stop();
    expect(callsBy(first, 'explorer-1')).toHaveLength(1);

    // No config needed: the lead's Agent tool and the templates are in the checkpoint (as `fanfold resume` relies on).
    const second = provider();
    const result = await settle(resumeFanOut('lead-2', { store, provider: second }));
    expect(result.status).toBe('done');
    expect(result.outcomes.map((outcome) => outcome.id)).toEqual(['explorer-1', 'explorer-2', 'explorer-3']);
    // The three run again from their first attempt (none had finished); no fourth is spawned.
    for (const id of ['explorer-1', 'explorer-2', 'explorer-3']) expect(callsBy(second, id)).toHaveLength(1);
    // The lead's turn 1 ended before the crash: the resumed lead goes on with turn 2.
    expect(callsBy(second, 'lead').map((call) => call.caller?.turn)).toEqual([2, 3]);
  });

  it('a run stopped after the deadline answered its join resumes and finishes (it does not wait on the ended fan-out)', async () => {
    const late = (request: ModelRequest): ScriptedReply => {
      const turn = leadTurn(request);
      if (turn === 1) return { toolUse: [{ name: 'Agent', input: { prompt: 'Look.' } }], latencyMs: 50 };
      if (turn === 2) return { toolUse: [{ name: 'Agent', input: { agent_ids: ['explorer-1'] } }], latencyMs: 50 };
      return { text: 'with what arrived', latencyMs: 500 };
    };
    const hanging = () => createScriptedProvider({ reply: (request, call) => (call.caller?.id === 'lead' ? late(request) : { hang: true }) });
    const run = runFanOut({ ...config, deadlineMs: 300 }, { provider: hanging(), checkpoint: { store, runId: 'lead-3' } });
    // The deadline (300) stops explorer-1 and answers the join; the lead's last turn is in flight at 500.
    await vi.advanceTimersByTimeAsync(500);
    run.actor.stop();
    const result = await settle(resumeFanOut('lead-3', { store, provider: hanging() }));
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['timedOut']);
    expect(result.lead!.outcome).toMatchObject({ status: 'fulfilled', output: 'with what arrived' });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toBe('quorum not met: 0 of 1 specialists succeeded, 1 required');
  });

  it("the lead's conversation is redacted in checkpoint.json, and saves do not grow with the spawns of a turn", async () => {
    /** Runs a lead that spawns `n` in its first response, stops it, and returns how many full saves were made. */
    const savesFor = async (n: number, runId: string) => {
      const leaky = (request: ModelRequest): ScriptedReply =>
        leadTurn(request) === 1
          ? { text: 'my key is sk-ant-api03-leakedLEADkey123456', toolUse: Array.from({ length: n }, (_, i) => ({ name: 'Agent', input: { prompt: `angle ${i}` } })), latencyMs: 50 }
          : { hang: true };
      const saves: number[] = [];
      const counting: CheckpointStore = {
        ...store,
        save: (checkpoint) => {
          saves.push(checkpoint.snapshot.context.spawned.length);
          return store.save(checkpoint);
        },
      };
      const run = runFanOut(
        { ...config, lead: { maxSpecialists: n } },
        { provider: createScriptedProvider({ reply: (request, call) => (call.caller?.id === 'lead' ? leaky(request) : { hang: true }) }), checkpoint: { store: counting, runId } },
      );
      await vi.advanceTimersByTimeAsync(100);
      run.actor.stop();
      expect(saves.at(-1)).toBe(n);
      return saves.length;
    };
    // A full save per spawn would be O(N²) bytes: the same few saves hold 20 spawns or 200.
    expect(await savesFor(200, 'lead-4')).toBe(await savesFor(20, 'lead-5'));
    const saved = readFileSync(join(dir, 'runs', 'lead-4', 'checkpoint.json'), 'utf8');
    expect(saved).toContain('my key is');
    expect(saved).not.toContain('sk-ant-api03-leakedLEADkey123456');
  });
});
