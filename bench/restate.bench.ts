/**
 * Runs compiled (`npm run bench:restate` builds it with tsc first).
 *
 * Wall time of the same fan-out in-process and on Restate, measured in the same run: N
 * specialists and a model synthesizer, all calling one scripted provider with a fixed 200 ms
 * latency (no HTTP to a model: the difference is the runtime). The Restate side is a real
 * `restate-server` (from the npm package, on loopback) and the fanfold service served from this
 * process; a run is started through the ingress and awaited with the object's `waitFor`.
 *
 * Cases: N = 10 and 100 flat (one object gathers every outcome), N = 100 and 1,000 chunked
 * (chunk objects of 50 gather in parallel; the lead folds chunk results).
 *
 *   npm run bench:restate                 every case
 *   npm run bench:restate -- 10 100       chosen sizes
 */
import { runFanOut, type RunResult } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { benchConfig, median } from './support.ts';
import { freePort } from '../src/restate/devServer.ts';
import { registerDeployment, serveRestate, startDevRestateServer, startRestateRun, type DevRestateServer, type RestateServiceHandle } from '../src/restate/index.ts';

const LATENCY_MS = 200;

interface Case {
  n: number;
  /** Most specialists one object gathers; `Infinity` keeps the fan-out flat. */
  chunkSize: number;
  rounds: number;
}

const CASES: Case[] = [
  { n: 10, chunkSize: Infinity, rounds: 5 },
  { n: 100, chunkSize: Infinity, rounds: 2 },
  { n: 100, chunkSize: 50, rounds: 2 },
  { n: 1000, chunkSize: 50, rounds: 1 },
];

// A model synthesizer (on Restate functions cannot be sent to the service), and room for slow runs.
const config = (n: number) => benchConfig(n, { deadlineMs: 600_000 });

const provider = createScriptedProvider({ latencyMs: LATENCY_MS });

async function inProcess(n: number): Promise<number> {
  const started = performance.now();
  const result = await runFanOut(config(n), { provider }).result;
  const elapsed = performance.now() - started;
  if (result.status !== 'done') throw new Error(`in-process run ended ${result.status}`);
  return elapsed;
}

/** Waits for a run with the object's shared `waitFor` handler (no polling turns on the object). */
async function waitForRun(ingressUrl: string, runId: string): Promise<RunResult> {
  for (;;) {
    const response = await fetch(`${ingressUrl}/fanfold/${runId}/waitFor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ condition: 'done', timeout: 60_000 }),
    });
    if (response.status === 408) continue;
    if (!response.ok) throw new Error(`waitFor ${runId}: HTTP ${response.status} ${await response.text()}`);
    return ((await response.json()) as { output: RunResult }).output;
  }
}

let runCounter = 0;
async function onRestate(server: DevRestateServer, n: number): Promise<number> {
  const runId = `bench-${process.pid}-${++runCounter}`;
  const started = performance.now();
  await startRestateRun(server.ingressUrl, runId, config(n));
  const result = await waitForRun(server.ingressUrl, runId);
  const elapsed = performance.now() - started;
  if (result.status !== 'done' || result.outcomes.length !== n) throw new Error(`Restate run ended ${result.status}`);
  return elapsed;
}

async function main() {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const cases = sizes.length ? CASES.filter((c) => sizes.includes(c.n)) : CASES;
  console.log(`fanfold Restate bench — ${LATENCY_MS} ms scripted calls (fan-out + synthesis), Node ${process.version}, medians\n`);
  const server = await startDevRestateServer();
  const port = await freePort();
  let service: RestateServiceHandle | null = null;
  let servedChunkSize: number | null = null;
  const rows: string[][] = [];
  try {
    await inProcess(10);
    for (const c of cases) {
      if (servedChunkSize !== c.chunkSize) {
        await service?.close();
        service = await serveRestate({ provider, port, chunkSize: c.chunkSize === Infinity ? Number.MAX_SAFE_INTEGER : c.chunkSize });
        await registerDeployment(server.adminUrl, service.url, { force: true });
        servedChunkSize = c.chunkSize;
        await onRestate(server, 3); // warm-up
      }
      const local: number[] = [];
      const remote: number[] = [];
      for (let round = 0; round < c.rounds; round++) {
        local.push(await inProcess(c.n));
        remote.push(await onRestate(server, c.n));
      }
      const [l, r] = [median(local), median(remote)];
      rows.push([c.n.toLocaleString('en'), c.chunkSize === Infinity ? 'flat' : `chunks of ${c.chunkSize}`, l.toFixed(0), r.toFixed(0), `${(r / l).toFixed(2)}×`, ((r - l) / c.n).toFixed(1)]);
      console.log(`  N=${c.n} (${rows.at(-1)![1]}): in-process ${l.toFixed(0)} ms, Restate ${r.toFixed(0)} ms`);
    }
  } finally {
    await service?.close();
    await server.stop();
  }
  const header = ['N', 'Restate layout', 'in-process ms', 'Restate ms', 'ratio', 'extra ms/specialist'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  console.log(`\n${header.map((title, i) => title.padStart(widths[i]!)).join('  ')}`);
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
  process.exit(0);
}

await main();
