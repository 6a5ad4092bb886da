/**
 * The streaming fold (`fanIn: 'stream'`) through the real SDK against the simulator: each
 * finding is digested into its section while the others still run, and after the last only the
 * closing part (cross-cutting synthesis, sources) is written; failed and timed-out angles are
 * named; a resumed run keeps the digests it had. fanfold's time is a `SimulatedClock`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createFileCheckpointStore, resumeFanOut, runFanOut, type FanOutConfig } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { CLOSING_OPENING, DIGEST_OPENING } from '../src/prompts.ts';
import type { Simulator } from '../src/simulator/index.ts';
import { record, settleOverLoopback, simulatorPerTest } from './support.ts';

const simulator = simulatorPerTest();
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const provider = (server: Simulator) => createAnthropicProvider({ apiKey: 'sk-ant-fold-test', baseURL: server.url, env: {} });
const angles = [
  { id: 'historical', angle: 'Historical context' },
  { id: 'technical', angle: 'Technical details' },
  { id: 'economic', angle: 'Economic impact' },
  { id: 'societal', angle: 'Societal impact' },
];
const config = (extra: Partial<FanOutConfig> = {}): FanOutConfig => ({
  task: 'tidal power',
  specialists: angles.map((angle) => ({ ...angle, instructions: 'Write 150-200 words.' })),
  fanIn: 'stream',
  deadlineMs: 60_000,
  ...extra,
});
/** Requests whose text opens a digest / the closing part. */
const digests = (server: Simulator) => server.requests.filter((request) => request.text.includes(DIGEST_OPENING));
const closings = (server: Simulator) => server.requests.filter((request) => request.text.includes(CLOSING_OPENING));

describe('streaming fold (real SDK ↔ simulator)', () => {
  it('digests each finding as it arrives; after the last only the closing part; a failed and a timed-out angle are named', async () => {
    const server = await simulator({
      faults: [
        { match: { caller: 'technical' }, fault: { type: 'http_error', status: 400, errorType: 'invalid_request_error' } },
        { match: { caller: 'societal' }, fault: { type: 'hang' } },
      ],
    });
    const clock = new SimulatedClock();
    const run = runFanOut(config({ deadlineMs: 30_000 }), { provider: provider(server), clock });
    const events = record(run);
    const result = await settleOverLoopback(run, clock, () => server.requests.every((request) => request.outcome !== 'pending' || request.caller === 'societal'));

    expect(result.status).toBe('partial');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'timedOut']);
    // One digest per fulfilled finding, and it was done before the fold ended: the closing
    // request already had its section.
    expect(
      digests(server)
        .map((request) => request.caller)
        .sort(),
    ).toEqual(['digest:economic', 'digest:historical']);
    const [closing] = closings(server);
    expect(closings(server)).toHaveLength(1);
    expect(closing!.text).toContain('<section specialist="historical" angle="Historical context">');
    expect(closing!.text).toContain('<section specialist="economic" angle="Economic impact">');
    // The digests ran while societal was still running (it hung until the deadline).
    const societal = server.requests.find((request) => request.caller === 'societal')!;
    for (const digest of digests(server)) expect(digest.endedAt!).toBeLessThanOrEqual(closing!.receivedAt);
    expect(societal.outcome).toBe('client_closed');
    // The same sections as a batch fold, in config order, then the closing part naming the gaps.
    expect(result.synthesis!.match(/^## .+$/gm)).toEqual(['## Historical context', '## Economic impact', '## Cross-cutting synthesis']);
    expect(result.synthesis).toMatch(/Technical details/);
    expect(result.synthesis).toMatch(/Societal impact/);
    expect(result.missing.map((missing) => missing.id)).toEqual(['technical', 'societal']);
    // Every call counted: 4 specialists (one 400, one hung), 2 digests, 1 closing.
    expect(result.modelCalls).toBe(4 + 2 + 1);
    expect(result.synthesizer!.attempts).toBe(3);
    const foldTokens = [...digests(server), closing!].reduce((sum, request) => sum + request.usage!.output_tokens, 0);
    expect(result.synthesizer!.usage.outputTokens).toBe(foldTokens);
    // The closing part streamed as it was written.
    expect(events.filter((event) => event.type === 'synthesis.token').length).toBeGreaterThan(0);
  });

  it('a resumed run keeps the digests already made', async () => {
    const server = await simulator({ faults: [{ match: { caller: 'societal' }, times: 1, fault: { type: 'hang' } }] });
    const dir = mkdtempSync(join(tmpdir(), 'fanfold-fold-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = createFileCheckpointStore(dir);
    const clock = new SimulatedClock();
    const run = runFanOut(config(), { provider: provider(server), clock, checkpoint: { store, runId: 'fold-1' } });
    // Wait until the three quick findings are digested (societal hangs), then "crash".
    const done = () => ['digest:historical', 'digest:technical', 'digest:economic'].every((id) => server.requests.some((request) => request.caller === id && request.outcome === 'completed'));
    while (!done()) {
      clock.increment(0);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setImmediate(resolve));
    run.actor.stop();
    const before = server.requests.length;

    const clock2 = new SimulatedClock();
    const resumed = resumeFanOut('fold-1', { store, provider: provider(server), clock: clock2 });
    const result = await settleOverLoopback(resumed, clock2, () => server.requests.every((request) => request.outcome !== 'pending'));
    expect(result.status).toBe('done');
    const after = server.requests.slice(before);
    // Only societal runs again, then its digest and the closing part: no digest is written twice.
    expect(after.map((request) => request.caller).sort()).toEqual(['digest:societal', 'societal', 'synthesizer']);
    expect(result.synthesis!.match(/^## .+$/gm)).toEqual(['## Historical context', '## Technical details', '## Economic impact', '## Societal impact', '## Cross-cutting synthesis']);
    // The kept digests were paid for in the first process: the synthesis still counts their calls and tokens.
    expect(result.synthesizer!.attempts).toBe(5);
    const foldRequests = server.requests.filter((request) => request.outcome === 'completed' && (request.caller === 'synthesizer' || request.caller?.startsWith('digest:')));
    expect(result.synthesizer!.usage.outputTokens).toBe(foldRequests.reduce((sum, request) => sum + request.usage!.output_tokens, 0));
  });

  it('config: a streaming fold needs a model synthesizer to fold with', () => {
    expect(() => runFanOut(config({ synthesizer: { run: async () => 'x' } }))).toThrow(/- fanIn: a streaming fold digests findings with the synthesizer's model/);
    expect(() => runFanOut({ ...config(), lead: {}, specialists: [{ id: 'explorer' }] })).toThrow(/- fanIn: a streaming fold needs a synthesizer to fold/);
  });
});
