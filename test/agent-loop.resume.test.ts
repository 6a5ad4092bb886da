/**
 * A checkpointed tool-using run journals each finished model turn and tool call, so after a
 * crash a resumed specialist goes on from its last finished step: no finished tool call and no
 * finished turn is paid for again. (The crash is an actor abandoned mid-run, as in
 * checkpoint.test.ts; a SIGKILLed child process is in checkpoint-crash.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createFileCheckpointStore, defineTool, resumeFanOut, runFanOut, type CheckpointStore, type FanOutConfig, type ModelRequest } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { settle } from './support.ts';

/** Tools that count their calls by input and answer after `ms` (fake time). */
function countingTools(ms: Record<string, number>) {
  const calls: string[] = [];
  const make = (name: string) =>
    defineTool({
      name,
      description: name,
      input: z.object({ q: z.string() }),
      run: ({ q }) =>
        new Promise<string>((resolve) => {
          calls.push(`${name}:${q}`);
          setTimeout(() => resolve(`${name} result for ${q} (secret sk-ant-api03-leakedKEY123)`), ms[name] ?? 100);
        }),
    });
  return { calls, search: make('search'), read: make('read') };
}

/** Turn 1: search a and read b; turn 2: search c; turn 3: the finding. 100 ms a call. */
function threeTurns(request: ModelRequest): ScriptedReply {
  const turn = request.messages.filter((message) => message.role === 'assistant').length + 1;
  if (turn === 1)
    return {
      toolUse: [
        { name: 'search', input: { q: 'a' } },
        { name: 'read', input: { q: 'b' } },
      ],
      latencyMs: 100,
    };
  if (turn === 2) return { toolUse: [{ name: 'search', input: { q: 'c' } }], latencyMs: 100 };
  return { text: `finding after ${turn - 1} tool turns`, latencyMs: 100 };
}

describe('resuming a tool-using specialist', () => {
  let dir: string;
  let store: CheckpointStore;
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    dir = mkdtempSync(join(tmpdir(), 'fanfold-loop-resume-'));
    store = createFileCheckpointStore(dir);
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (tools: ReturnType<typeof countingTools>): FanOutConfig => ({
    task: 'tidal power',
    specialists: [{ id: 'explorer', tools: [tools.search, tools.read] }, { id: 'plain' }],
    synthesizer: { run: async ({ outcomes }) => `folded ${outcomes?.length}` },
  });

  it('after a crash mid-tools, runs only the unfinished call and the turns after it', async () => {
    // search a takes 100 ms, read b 400: crash at 300 ms, when search a is done and read b runs.
    const before = countingTools({ search: 100, read: 400 });
    const first = createScriptedProvider({ reply: threeTurns });
    const run = runFanOut(config(before), { provider: first, checkpoint: { store, runId: 'loop-1' } });
    await vi.advanceTimersByTimeAsync(300);
    run.actor.stop();
    expect(before.calls).toEqual(['search:a', 'read:b']);
    expect(first.calls.filter((call) => call.caller?.id === 'explorer')).toHaveLength(1);

    // The journal kept turn 1 and search a, redacted like everything fanfold keeps.
    const journal = readFileSync(join(dir, 'runs', 'loop-1', 'journal.jsonl'), 'utf8');
    expect(journal).toContain('"kind":"model"');
    expect(journal).toContain('search result for a');
    expect(journal).not.toContain('sk-ant-api03-leakedKEY123');

    const after = countingTools({ search: 100, read: 100 });
    const second = createScriptedProvider({ reply: threeTurns });
    const resumed = resumeFanOut('loop-1', { store, provider: second, config: config(after) });
    const result = await settle(resumed);
    expect(result.status).toBe('done');
    // Only read b again (it never finished), then turn 2's search c.
    expect(after.calls).toEqual(['read:b', 'search:c']);
    // Turn 1 is not called again: the resumed specialist's first call is turn 2.
    expect(second.calls.filter((call) => call.caller?.id === 'explorer').map((call) => call.caller?.turn)).toEqual([2, 3]);
    const explorer = result.outcomes[0]!;
    expect(explorer).toMatchObject({ status: 'fulfilled', output: 'finding after 2 tool turns', turns: 3, attempts: 3 });
    expect(explorer.toolCalls!.map((call) => call.name)).toEqual(['search', 'read', 'search']);
    // Turn 2 got turn 1's results, the kept one and the re-run one, in the model's order.
    const turn2 = second.calls.find((call) => call.caller?.turn === 2)!.request;
    const results = turn2.messages.at(-1)!.content as Array<{ type: string; content: string }>;
    expect(results.map((block) => block.content)).toEqual([expect.stringContaining('search result for a'), expect.stringContaining('read result for b')]);
  });

  it('after a crash between turns, goes on with the next model turn; nothing finished is repeated', async () => {
    const before = countingTools({ search: 100, read: 100 });
    const first = createScriptedProvider({ reply: threeTurns });
    const run = runFanOut(config(before), { provider: first, checkpoint: { store, runId: 'loop-2' } });
    // Turn 1 ends at 100, tools at 200, turn 2 in flight until 300: crash at 250.
    await vi.advanceTimersByTimeAsync(250);
    run.actor.stop();
    expect(before.calls).toEqual(['search:a', 'read:b']);

    const after = countingTools({});
    const second = createScriptedProvider({ reply: threeTurns });
    const result = await settle(resumeFanOut('loop-2', { store, provider: second, config: config(after) }));
    expect(after.calls).toEqual(['search:c']);
    expect(second.calls.filter((call) => call.caller?.id === 'explorer').map((call) => call.caller?.turn)).toEqual([2, 3]);
    expect(result.outcomes[0]).toMatchObject({ status: 'fulfilled', turns: 3 });
  });

  it('a resume without the config that holds code tools is a clear error, before any call', async () => {
    const tools = countingTools({});
    const run = runFanOut(config(tools), { provider: createScriptedProvider({ reply: threeTurns }), checkpoint: { store, runId: 'loop-3' } });
    await vi.advanceTimersByTimeAsync(50);
    run.actor.stop();
    const provider = createScriptedProvider({ reply: threeTurns });
    let message = '';
    try {
      resumeFanOut('loop-3', { store, provider });
    } catch (error) {
      message = (error as Error).message;
    }
    // Every path at once: the task-function synthesizer and the code tools.
    expect(message).toContain('- synthesizer: is a task function, which a checkpoint cannot store');
    expect(message).toContain("- specialists[0].tools: has tools defined in code or MCP servers, which a checkpoint does not store: pass the run's original `config` to resumeFanOut");
    expect(provider.calls).toHaveLength(0);
  });
});
