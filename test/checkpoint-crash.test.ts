import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/entry.ts';
import { runNode, watchStdout } from './support.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');
const KEY = 'sk-ant-crash-test-key-never-stored';

/**
 * The crash test: a real `fanfold run` process is SIGKILLed after some specialists finished,
 * then `fanfold resume` in a new process finishes the run. The simulator outlives both
 * processes, so its request log counts every call either of them made.
 */
describe('fanfold resume after SIGKILL (child processes, real SDK over loopback)', () => {
  let sim: Simulator;
  let dir: string;
  const ids = ['s1', 's2', 's3', 's4', 's5', 's6'];
  // s1–s3 answer within ~0.6 s; s4–s6 take seconds, so they are in flight when the process dies.
  const firstTokenMs: Record<string, number> = { s1: 150, s2: 300, s3: 450, s4: 4_000, s5: 4_500, s6: 5_000, synthesizer: 100 };

  beforeAll(async () => {
    sim = await startSimulator({
      apiKey: KEY,
      latency: { tokensPerSecond: Infinity },
      faults: Object.entries(firstTokenMs).map(([caller, ms]) => ({ match: { caller }, fault: { type: 'latency' as const, firstTokenMs: ms } })),
    });
    dir = mkdtempSync(join(tmpdir(), 'fanfold-crash-'));
    writeFileSync(
      join(dir, 'app.yaml'),
      [
        'name: Crash test',
        'task: The economics of tidal power',
        'deadline: 5m',
        'agents:',
        ...ids.map((id) => `  - { id: ${id}, role: Angle ${id} }`),
        'lead:',
        '  specialists: [s1, s2, s3, s4, s5, s6]',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: sim.url });
  const callsOf = (id: string) => sim.requests.filter((request) => request.caller === id);
  const store = () => join(dir, 'store');

  /** Starts `fanfold run` as run `runId`, SIGKILLs it once its stdout matches `pattern`, and returns what it printed. */
  async function killAfter(runId: string, pattern: RegExp) {
    let child: ChildProcess | undefined;
    const first = runNode([BIN, 'run', join(dir, 'app.yaml'), '--store', store(), '--run-id', runId], env(), (spawned) => (child = spawned));
    await watchStdout(child!, pattern);
    child!.kill('SIGKILL');
    return first;
  }

  it('finished specialists are not called again; in-flight ones restart; the run completes', async () => {
    // Plain progress lines: a specialist's "done" line is printed after its outcome is journaled.
    const killed = await killAfter('tidal-1', /s3 done/);
    expect(killed.code).toBe(null);
    expect(killed.stdout).toMatch(/^SIMULATED|^Calling the Anthropic API/);
    expect(killed.stdout).toContain('Run tidal-1: checkpointed');
    const finishedBefore = ids.filter((id) => new RegExp(`\\] ${id} done`).test(killed.stdout));
    expect(finishedBefore).toEqual(['s1', 's2', 's3']);
    await sim.waitFor(() => ids.slice(3).every((id) => callsOf(id)[0]?.outcome === 'client_closed'), 'ended');
    const requestsBefore = sim.requests.length;

    const resumed = await runNode([BIN, 'resume', 'tidal-1', '--store', store(), '--json'], env());
    expect(resumed.stderr).toContain('Resuming run tidal-1: 3 of 6 specialists kept (not called again); 3 to run (s4, s5, s6).');
    expect(resumed.code).toBe(0);
    const json = JSON.parse(resumed.stdout);
    expect(json.status).toBe('done');
    expect(json.runId).toBe('tidal-1');
    expect(json.specialists.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual(ids.map((id) => `${id}:fulfilled`));
    expect(json.missing).toEqual([]);

    // Zero repeated calls for the finished three; one new call each for the three cut off; one synthesis.
    for (const id of finishedBefore) expect(callsOf(id)).toHaveLength(1);
    for (const id of ['s4', 's5', 's6']) expect(callsOf(id).map((call) => call.outcome)).toEqual(['client_closed', 'completed']);
    const afterResume = sim.requests
      .slice(requestsBefore)
      .map((request) => request.caller)
      .sort();
    expect(afterResume).toEqual(['s4', 's5', 's6', 'synthesizer']);
    // The kept outputs are the texts the simulator sent before the crash, and the synthesis folds all six.
    expect(json.synthesis).toContain('Angle s1');
    expect(json.synthesis).toContain('Angle s6');

    // The checkpoint never holds the key.
    for (const file of readdirSync(join(store(), 'runs', 'tidal-1'))) {
      expect(readFileSync(join(store(), 'runs', 'tidal-1', file), 'utf8')).not.toContain(KEY);
    }

    // Resuming again: the stored result, nothing called.
    const again = await runNode([BIN, 'resume', 'tidal-1', '--store', store(), '--json'], env());
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).synthesis).toBe(json.synthesis);
    expect(sim.requests.slice(requestsBefore)).toHaveLength(4);

    const list = await runNode([BIN, 'resume', '--store', store()], env());
    expect(list.stdout).toMatch(/tidal-1 {2}finished done {2}6\/6 specialists settled {2}The economics of tidal power/);
  }, 60_000);

  it('Ctrl-C reports what finished and leaves the run resumable', async () => {
    let child: ChildProcess | undefined;
    const first = runNode([BIN, 'run', join(dir, 'app.yaml'), '--store', store(), '--run-id', 'tidal-4', '--json'], env(), (spawned) => (child = spawned));
    let stderr = '';
    await new Promise<void>((resolve) =>
      child!.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/s3 done/.test(stderr)) resolve();
      }),
    );
    const requestsBefore = sim.requests.length;
    child!.kill('SIGINT');
    const interrupted = await first;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain('continue it with `fanfold resume tidal-4`');
    expect(JSON.parse(interrupted.stdout).specialists.filter((s: { status: string }) => s.status === 'fulfilled')).toHaveLength(3);

    const resumed = await runNode([BIN, 'resume', 'tidal-4', '--store', store(), '--json'], env());
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).status).toBe('done');
    expect(
      sim.requests
        .slice(requestsBefore)
        .map((request) => request.caller)
        .sort(),
    ).toEqual(['s4', 's5', 's6', 'synthesizer']);
  }, 60_000);

  it('a damaged checkpoint file is a clear error (exit 2, naming the file) and calls nothing', async () => {
    await killAfter('tidal-2', /s1 done/);
    const file = join(store(), 'runs', 'tidal-2', 'checkpoint.json');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, Math.floor(text.length / 3)));
    const requestsBefore = sim.requests.length;

    const resumed = await runNode([BIN, 'resume', 'tidal-2', '--store', store()], env());
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/Cannot resume from .*runs\/tidal-2\/checkpoint\.json: not valid JSON/);
    expect(resumed.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(sim.requests.length).toBe(requestsBefore);

    const unknown = await runNode([BIN, 'resume', 'no-such-run', '--store', store()], env());
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no run "no-such-run" in .*store\/runs/);

    const list = await runNode([BIN, 'resume', '--store', store()], env());
    expect(list.stdout).toMatch(/tidal-2 {2}unreadable: Cannot resume from .*not valid JSON/);
  }, 60_000);

  it('a run started against the API is not silently finished by the simulator when the key is gone', async () => {
    await killAfter('tidal-3', /s1 done/);
    const resumed = await runNode([BIN, 'resume', 'tidal-3', '--store', store()], {});
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain('Run tidal-3 was calling the Anthropic API: set ANTHROPIC_API_KEY to resume it');
  }, 60_000);
});
