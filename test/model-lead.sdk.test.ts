/**
 * The pattern's app.yaml, loaded as written and run through the real SDK against the simulator
 * over loopback: the simulated lead spawns three explorers in one response, they run at once,
 * the join returns them in order, and the lead's last turn synthesizes their cited findings.
 * fanfold's own time (deadlines) is a `SimulatedClock` where a test needs it; network I/O is real.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { loadAppFile, runFanOut, type FanOutRun, type RunResult } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { record, simulatorPerTest } from './support.ts';

const PATTERN = join(import.meta.dirname, '..', 'examples', 'apps', 'research-pattern.yaml');
const KEY = 'sk-ant-lead-sdk-test-key';

const simulator = simulatorPerTest({ latency: { firstTokenMs: 5, tokensPerSecond: 5_000 } });

/**
 * Runs the clock until the run settles. Simulated time moves only while no call is in flight
 * but the ones `idle` says may hang, so real HTTP never races the run's timers.
 */
async function finish(run: FanOutRun, clock: SimulatedClock, idle: () => boolean, stepMs = 100, realBudgetMs = 20_000): Promise<RunResult> {
  let settled = false;
  run.result.then(
    () => (settled = true),
    () => (settled = true),
  );
  const giveUpAt = Date.now() + realBudgetMs;
  while (!settled && Date.now() < giveUpAt) {
    clock.increment(0);
    await new Promise((resolve) => setImmediate(resolve));
    if (!settled && idle()) clock.increment(stepMs);
  }
  if (!settled) throw new Error('the run did not finish');
  return run.result;
}

describe('the pattern app.yaml, offline (real SDK ↔ simulator)', () => {
  it('three explorers spawned in one lead response run at once, join in order, and the lead synthesizes after the join', async () => {
    const server = await simulator();
    const app = await loadAppFile(PATTERN, { task: 'nuclear fusion' });
    const run = runFanOut(app.config, { provider: createAnthropicProvider({ apiKey: KEY, baseURL: server.url, env: {} }), source: PATTERN });
    const events = record(run);
    const result = await run.result;

    expect(result.status).toBe('done');
    const spawned = events.filter((event) => event.type === 'lead.spawned');
    // One response, one round: three Agent calls of the lead's first turn.
    expect(spawned.map((event) => [event['id'], event['round'], event['template']])).toEqual([
      ['explorer-1', 1, 'explorer'],
      ['explorer-2', 1, 'explorer'],
      ['explorer-3', 1, 'explorer'],
    ]);
    expect(new Set(spawned.map((event) => String(event['callId']).replace(/_\d+$/, ''))).size).toBe(1);
    expect(result.outcomes.map((outcome) => [outcome.angle, outcome.model, outcome.status])).toEqual([
      ['News sources', 'claude-haiku-4-5', 'fulfilled'],
      ['Academic sources', 'claude-haiku-4-5', 'fulfilled'],
      ['Vendor sources', 'claude-haiku-4-5', 'fulfilled'],
    ]);

    // Their requests overlapped in the simulator's log: each explorer's first call began before any ended.
    const byCaller = (id: string) => server.requests.filter((request) => request.caller === id);
    const firsts = ['explorer-1', 'explorer-2', 'explorer-3'].map((id) => byCaller(id)[0]!);
    const lastStart = Math.max(...firsts.map((request) => request.receivedAt));
    const firstEnd = Math.min(...firsts.map((request) => request.endedAt!));
    expect(lastStart).toBeLessThan(firstEnd);
    // Each explorer: its system prompt from the file, the lead's brief, web search and fetch.
    expect(firsts.every((request) => request.text.startsWith('Find 3-5 sources for the topic. Return facts and citations.'))).toBe(true);
    expect(byCaller('explorer-1')[0]!.text).toContain('Your angle: News sources');

    // The join returned them in the order asked; the synthesis came after the join.
    const joined = events.find((event) => event.type === 'lead.joined')!;
    expect(joined['ids']).toEqual(['explorer-1', 'explorer-2', 'explorer-3']);
    const leadCalls = byCaller('lead');
    expect(leadCalls.map((request) => request.turn)).toEqual([1, 2, 3]);
    const explorersEnded = Math.max(...server.requests.filter((request) => request.caller?.startsWith('explorer')).map((request) => request.endedAt!));
    expect(leadCalls[2]!.receivedAt).toBeGreaterThanOrEqual(explorersEnded);
    expect(leadCalls[2]!.text).toContain('3 of 3 agents finished.');

    // The synthesis: a section per explorer, then the cross-cutting part and the sources they cited.
    expect(result.synthesis!.match(/^## .+$/gm)).toEqual(['## News sources', '## Academic sources', '## Vendor sources', '## Cross-cutting synthesis', '## Sources']);
    expect(result.synthesis).toMatch(/https:\/\/[a-z0-9.-]+\.fanfold-sim\.example\//);
    // Exactly the explorers' calls (a search turn and a fetch-and-write turn each) plus the lead's three turns.
    expect(result.outcomes.map((outcome) => outcome.attempts)).toEqual([2, 2, 2]);
    expect(result.modelCalls).toBe(6 + 3);
    expect(server.requests).toHaveLength(9);
    // The lead's join turn ran while they worked: it was sent before the first explorer ended.
    expect(leadCalls[1]!.receivedAt).toBeLessThan(firstEnd);
  });

  it('a hung explorer is cut at the per-agent deadline; the lead is told which and why, and keeps the others', async () => {
    const server = await simulator({ faults: [{ match: { caller: 'explorer-2' }, fault: { type: 'hang' } }] });
    const app = await loadAppFile(PATTERN, { task: 'nuclear fusion' });
    const clock = new SimulatedClock();
    const config = { ...app.config, lead: { ...app.config.lead, agentDeadlineMs: 30_000 } };
    const run = runFanOut(config, { provider: createAnthropicProvider({ apiKey: KEY, baseURL: server.url, env: {} }), clock });
    // Only explorer-2's hung call may be pending while time moves.
    const result = await finish(run, clock, () => server.requests.every((request) => request.outcome !== 'pending' || request.caller === 'explorer-2'));

    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'timedOut', 'fulfilled']);
    expect(result.outcomes[1]!.error).toEqual({ kind: 'deadline', message: 'its 30 s deadline (agentDeadlineMs) passed before it finished' });
    expect(server.requests.find((request) => request.caller === 'explorer-2')!.outcome).toBe('client_closed');
    // The lead read the join: two finished, explorer-2 timed out, with the reason.
    const lastLead = server.requests.filter((request) => request.caller === 'lead').at(-1)!;
    expect(lastLead.text).toContain('2 of 3 agents finished.');
    expect(lastLead.text).toContain(
      '<agent id="explorer-2" template="explorer" description="Academic sources" status="timedOut" reason="its 30 s deadline (agentDeadlineMs) passed before it finished">',
    );
    // Its synthesis names the gap.
    expect(result.synthesis).toMatch(/explorer-2/);
    expect(result.status).toBe('partial');
    expect(result.missing.map((missing) => missing.id)).toEqual(['explorer-2']);
  });
});
