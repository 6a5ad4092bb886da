/**
 * Runs compiled (`npm run bench:restate` builds it with tsc first).
 *
 * Wall time of the same fan-out three ways, measured in the same run: fanfold in-process,
 * plain Restate (the engine alone: `plainRestate.ts`, chunk invocations of journaled steps, no
 * fanfold), and fanfold on Restate. N specialists and a model synthesizer, all calling one
 * scripted provider with a fixed 200 ms latency (no HTTP to a model: the difference is the
 * runtime). The Restate side is a real `restate-server` (from the npm package, on loopback) and
 * the services served from this process; fanfold's run is started through the ingress and
 * awaited with the lead object's `waitFor`.
 *
 *   npm run bench:restate                 N = 10, 100, 1,000, 10,000
 *   npm run bench:restate -- 10 100       chosen sizes
 *
 * Targets: fanfold on Restate ≤ 1.5× plain Restate at N = 1,000 and 10,000, and ≤ 2.0× in-process
 * at N = 1,000.
 */
import * as restate from '@restatedev/restate-sdk';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { runFanOut, type RunResult } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { benchConfig, median } from './support.ts';
import { createRestateServices, DEFAULT_CHUNK_SIZE, registerDeployment, startDevRestateServer, startRestateRun, type DevRestateServer } from '../src/restate/index.ts';
import { createPlainRestateServices, PLAIN_FAN_OUT } from './plainRestate.ts';

const LATENCY_MS = 200;

interface Case {
  n: number;
  rounds: number;
}

const CASES: Case[] = [
  { n: 10, rounds: 5 },
  { n: 100, rounds: 3 },
  { n: 1000, rounds: 3 },
  { n: 10_000, rounds: 1 },
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

/** Posts to the ingress, retrying a 408 (the ingress's own wait limit) for `waitFor`. */
async function ingress(server: DevRestateServer, path: string, body: unknown): Promise<unknown> {
  for (;;) {
    const response = await fetch(`${server.ingressUrl}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status === 408) continue;
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
    return response.json();
  }
}

async function plainRestate(server: DevRestateServer, n: number): Promise<number> {
  const started = performance.now();
  const findings = await ingress(server, `${PLAIN_FAN_OUT}/run`, { n, chunkSize: DEFAULT_CHUNK_SIZE });
  const elapsed = performance.now() - started;
  if (findings !== n) throw new Error(`plain Restate fan-out returned ${String(findings)} findings`);
  return elapsed;
}

let runCounter = 0;
async function onRestate(server: DevRestateServer, n: number): Promise<number> {
  const runId = `bench-${process.pid}-${++runCounter}`;
  const started = performance.now();
  await startRestateRun(server.ingressUrl, runId, config(n));
  const { output: result } = (await ingress(server, `fanfold/${runId}/waitFor`, { condition: 'done', timeout: 60_000 })) as { output: RunResult };
  const elapsed = performance.now() - started;
  if (result.status !== 'done' || result.outcomes.length !== n) throw new Error(`Restate run ended ${result.status}`);
  return elapsed;
}

/** Serves fanfold's services and the baseline's from this process. */
async function serveAll(): Promise<{ url: string; close(): Promise<void> }> {
  let endpoint = restate.endpoint().setLogger(() => {});
  for (const service of [...createRestateServices({ provider }), ...createPlainRestateServices(provider)]) endpoint = endpoint.bind(service);
  const server = http2.createServer(endpoint.http2Handler());
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => sessions.add(session));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

async function main() {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  const cases = sizes.length ? sizes.map((n) => CASES.find((c) => c.n === n) ?? { n, rounds: 1 }) : CASES;
  console.log(`fanfold Restate bench — ${LATENCY_MS} ms scripted calls (fan-out + synthesis), chunks of ${DEFAULT_CHUNK_SIZE}, Node ${process.version}, medians\n`);
  const server = await startDevRestateServer();
  const service = await serveAll();
  const rows: string[][] = [];
  try {
    await registerDeployment(server.adminUrl, service.url, { force: true });
    // Warm-up: both paths through the server once.
    await inProcess(10);
    await plainRestate(server, 10);
    await onRestate(server, 10);
    for (const c of cases) {
      const local: number[] = [];
      const plain: number[] = [];
      const remote: number[] = [];
      for (let round = 0; round < c.rounds; round++) {
        local.push(await inProcess(c.n));
        plain.push(await plainRestate(server, c.n));
        remote.push(await onRestate(server, c.n));
      }
      const [l, p, r] = [median(local), median(plain), median(remote)];
      rows.push([c.n.toLocaleString('en'), l.toFixed(0), p.toFixed(0), r.toFixed(0), `${(r / p).toFixed(2)}×`, `${(r / l).toFixed(2)}×`, ((r - p) / c.n).toFixed(3), ((r - l) / c.n).toFixed(3)]);
      console.log(`  N=${c.n}: in-process ${l.toFixed(0)} ms, plain Restate ${p.toFixed(0)} ms, fanfold on Restate ${r.toFixed(0)} ms`);
    }
  } finally {
    await service.close();
    await server.stop();
  }
  const header = ['N', 'in-process ms', 'plain Restate ms', 'fanfold Restate ms', 'vs plain', 'vs in-process', 'extra ms/specialist vs plain', 'vs in-process'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  console.log(`\n${header.map((title, i) => title.padStart(widths[i]!)).join('  ')}`);
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
  process.exit(0);
}

await main();
