/**
 * A non-LLM fan-out: a specialist can be any async function. This starts three small HTTP
 * servers on loopback (one slow, one broken), pings them in parallel with a per-attempt
 * deadline and retries, and folds the answers into one status line — no model involved.
 *
 *   npm run example:health
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderError, runFanOut, type TaskFunction } from '../src/index.ts';

/** A loopback server answering after `delayMs` with `status`. */
async function startRegion(delayMs: number, status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((_request, response) => {
    setTimeout(() => response.writeHead(status).end(status === 200 ? 'ok' : 'unavailable'), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`, server };
}

const regions = {
  'eu-west': await startRegion(40, 200),
  'us-east': await startRegion(120, 200),
  'ap-south': await startRegion(30, 503),
};

/** Pings one region; a 5xx is a transient failure, so the retry policy applies. */
const ping =
  (url: string): TaskFunction =>
  async ({ signal, attempt }) => {
    const started = performance.now();
    const response = await fetch(url, { signal });
    if (response.status >= 500) throw new ProviderError('server', `HTTP ${response.status} on attempt ${attempt}`, { status: response.status });
    return `${response.status} in ${Math.round(performance.now() - started)} ms`;
  };

const run = runFanOut({
  task: 'multi-region health check',
  specialists: Object.entries(regions).map(([id, region]) => ({
    id,
    run: ping(region.url),
    policy: { attemptTimeoutMs: 1_000, retry: { maxAttempts: 2, initialDelayMs: 100 } },
  })),
  synthesizer: {
    run: async ({ outcomes }) => (outcomes ?? []).map((outcome) => `${outcome.id}: ${outcome.status === 'fulfilled' ? outcome.output : `DOWN (${outcome.error?.message})`}`).join('\n'),
  },
  deadlineMs: 5_000,
});

const result = await run.result;
console.log(result.synthesis);
console.log(`status ${result.status} in ${result.elapsedMs} ms`);
for (const region of Object.values(regions)) region.server.close();
