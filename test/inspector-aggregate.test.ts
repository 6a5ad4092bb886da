/**
 * A very large run reaches the inspector and recordings as aggregated progress: no actor per
 * specialist, none of their ends one by one, the fan-out's snapshots at most a few per second
 * (the last, final one always) — while a small run is recorded actor by actor as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runFanOut, type FanOutConfig } from '../src/index.ts';
import { AGGREGATE_INTERVAL_MS, createInspectionRecorder, readRecording } from '../src/inspector/index.ts';
import { createScriptedProvider } from '../src/testing.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Message = { type: string; name?: string; sessionId: string; event?: { type: string }; snapshot?: { status?: string; fulfilled?: number } };

/** Records a run of `n` specialists (20 ms calls, spread over ~200 ms) and returns its messages. */
async function record(n: number): Promise<Message[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fanfold-aggregate-'));
  dirs.push(dir);
  const recorder = createInspectionRecorder(join(dir, 'run.jsonl'));
  const provider = createScriptedProvider({ reply: (_request, call) => ({ latencyMs: 20 + (Number(call.caller?.id.slice(1)) % 10) * 20 }) });
  const config: FanOutConfig = { task: 't', specialists: Array.from({ length: n }, (_, i) => ({ id: `s${i}` })), synthesizer: { run: async () => 'folded' } };
  const result = await runFanOut(config, { provider, inspect: recorder.inspect }).result;
  expect(result.status).toBe('done');
  await recorder.close();
  return (await readRecording(join(dir, 'run.jsonl'))) as Message[];
}

describe('inspection of a very large run', () => {
  it('5,000 specialists: no actor and no end event per specialist, and the fan-out snapshots throttled, the final one kept', async () => {
    const messages = await record(5_000);
    const actors = messages.filter((message) => message.type === '@xstate.actor');
    expect(actors.length).toBeLessThan(10);
    expect(messages.some((message) => message.type === '@xstate.event' && /^xstate\.done\.actor\.s\d+$/.test(message.event?.type ?? ''))).toBe(false);
    const fanOut = actors.find((actor) => actor.name === 'fanOut')!;
    const snapshots = messages.filter((message) => message.type === '@xstate.snapshot' && message.sessionId === fanOut.sessionId);
    // ~200 ms of settling: a handful of snapshots per AGGREGATE_INTERVAL_MS, not 5,000.
    expect(snapshots.length).toBeLessThan(200);
    expect(snapshots.at(-1)!.snapshot!.status).toBe('done');
    expect(messages.length).toBeLessThan(1_000);
    expect(AGGREGATE_INTERVAL_MS).toBeGreaterThan(0);
  });

  it('500 specialists (hosted as actors): each is an actor of its own in the recording', async () => {
    const messages = await record(500);
    const specialists = messages.filter((message) => message.type === '@xstate.actor' && /^s\d+$/.test(message.name ?? ''));
    expect(specialists).toHaveLength(500);
  });
});
