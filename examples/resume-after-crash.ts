/**
 * Crash and resume, from code: a research fan-out of six angles runs in a child process that
 * is killed (SIGKILL) once three specialists have finished; this process then resumes the run
 * from its checkpoint with `resumeFanOut`. The simulator outlives both processes and counts the
 * calls: the three finished specialists are not called again.
 *
 * Offline: it always uses fanfold's simulator (it must count the calls).
 *
 *   npm run example:resume
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileCheckpointStore, resumeFanOut, runFanOut } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { startSimulator } from '../src/simulator/entry.ts';

const ANGLES = ['Historical context', 'Technical details', 'Societal impact', 'Economics', 'Regulation', 'Open problems'];
const SIMULATOR_KEY = 'sk-fanfold-simulator';
const config = {
  task: 'nuclear fusion',
  specialists: ANGLES.map((angle, i) => ({ id: `angle-${i + 1}`, angle, instructions: 'In 60-80 words.' })),
  deadlineMs: 120_000,
};

if (process.argv[2] === '--child') {
  // The process that will be killed: it runs the fan-out with a checkpoint and prints each outcome.
  const [, , , url, storeDir] = process.argv;
  const provider = createAnthropicProvider({ apiKey: SIMULATOR_KEY, baseURL: url!, env: {} });
  const run = runFanOut(config, { provider, checkpoint: { store: createFileCheckpointStore(storeDir), runId: 'example-run' } });
  run.events$.subscribe((event) => {
    if (event.type === 'specialist.done') console.log(`  [child] ${event.id} done`);
  });
  await run.result;
} else {
  // Angles 1–3 answer in under a second; 4–6 take several, so they are in flight at the kill.
  const simulator = await startSimulator({
    latency: { tokensPerSecond: 400 },
    faults: ANGLES.map((_, i) => ({ match: { caller: `angle-${i + 1}` }, fault: { type: 'latency' as const, firstTokenMs: i < 3 ? 200 * (i + 1) : 3_000 + 500 * i } })),
  });
  const storeDir = mkdtempSync(join(tmpdir(), 'fanfold-example-'));
  console.log(`SIMULATED: fanfold's simulator at ${simulator.url}; checkpoints in ${storeDir}`);
  try {
    console.log('1. A child process runs six specialists; it is killed with SIGKILL after three finish:');
    const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, '--child', simulator.url, storeDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let done = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      done += (chunk.toString().match(/ done/g) ?? []).length;
      if (done >= 3) child.kill('SIGKILL');
    });
    await new Promise((resolve) => child.on('close', resolve));
    console.log(`   killed; the simulator had received ${simulator.requests.length} calls.`);

    console.log('2. This process resumes the run from its checkpoint:');
    const provider = createAnthropicProvider({ apiKey: SIMULATOR_KEY, baseURL: simulator.url, env: {} });
    const before = simulator.requests.length;
    const run = resumeFanOut('example-run', { store: createFileCheckpointStore(storeDir), provider });
    console.log(`   kept ${run.kept.map((outcome) => outcome.id).join(', ')}; running ${run.pending.join(', ')}`);
    const result = await run.result;

    const called = simulator.requests.slice(before).map((request) => request.caller);
    const repeated = run.kept.filter((outcome) => called.includes(outcome.id)).length;
    console.log(`3. ${result.status}: ${result.outcomes.filter((outcome) => outcome.status === 'fulfilled').length} of ${ANGLES.length} angles in the synthesis.`);
    console.log(`   Calls after the resume: ${called.join(', ')}. Repeated calls for finished specialists: ${repeated}.`);
    process.exitCode = result.status === 'done' && repeated === 0 ? 0 : 1;
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
    await simulator.close();
  }
}
