/**
 * The tool-use loop through the real SDK against the simulator over loopback: the simulated
 * model asks for tools (1–3 parallel calls a turn, inputs from each tool's schema), the loop
 * runs them and sends the results back, and the finding cites what came back. Time for
 * fanfold (tool latency and timeouts, backoff, deadlines) is a `SimulatedClock` the test moves;
 * network I/O is real. (The same rules on the scripted provider, with exact timings, are in
 * agent-loop.scripted.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { z } from 'zod';
import { createFileCheckpointStore, defineTool, resumeFanOut, runFanOut, type FanOutConfig, type FanOutRun, type RunEvent } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import type { Simulator } from '../src/simulator/index.ts';
import { pumpUntil, record, simulatorPerTest, settleOverSdk } from './support.ts';

const KEY = 'sk-ant-test-loop-key-never-print-me';
const task = 'tidal power';

const simulator = simulatorPerTest();
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const provider = (server: Simulator) => createAnthropicProvider({ apiKey: KEY, baseURL: server.url, env: {} });

/** Counts of one tool's calls: started, in flight (and the most at once), aborted, by input query. */
interface ToolStats {
  calls: number;
  inFlight: number;
  peak: number;
  aborted: number;
  queries: string[];
}

/**
 * A tool that answers after `ms` of the test's simulated time (`null`: only an abort ends it),
 * counting its calls into `stats` (shared stats count several tools together).
 */
function timedTool(clock: SimulatedClock, name: string, ms: number | null, stats: ToolStats) {
  return defineTool({
    name,
    description: `Looks up ${name.replace('_', ' ')} records for a query.`,
    input: z.object({ query: z.string() }),
    run: ({ query }, { signal }) =>
      new Promise<string>((resolve, reject) => {
        stats.calls++;
        stats.queries.push(`${name}:${query}`);
        stats.inFlight++;
        stats.peak = Math.max(stats.peak, stats.inFlight);
        const timer =
          ms === null
            ? null
            : clock.setTimeout(() => {
                stats.inFlight--;
                resolve(`${name} record: ${query} peaked at 240 MW in 2011`);
              }, ms);
        signal.addEventListener('abort', () => {
          if (timer !== null) clock.clearTimeout(timer);
          stats.inFlight--;
          stats.aborted++;
          reject(signal.reason);
        });
      }),
  });
}

const newStats = (): ToolStats => ({ calls: 0, inFlight: 0, peak: 0, aborted: 0, queries: [] });

/** The next event matching `predicate`, with real I/O pumped meanwhile; watched from now on. */
function watch(run: FanOutRun, clock: SimulatedClock, predicate: (event: RunEvent) => boolean): () => Promise<RunEvent> {
  const seen = firstValueFrom(run.events$.pipe(filter(predicate)));
  return () => pumpUntil(clock, seen);
}

/** Starts a run on `clock` against the simulator, with a fold that calls nothing. */
function startRun(server: Simulator, clock: SimulatedClock, config: Omit<FanOutConfig, 'task' | 'synthesizer'>): FanOutRun {
  return runFanOut({ task, deadlineMs: 600_000, synthesizer: { run: async ({ outcomes }) => `folded ${outcomes?.length}` }, ...config }, { provider: provider(server), clock, random: () => 0.5 });
}

const turnsOf = (server: Simulator, caller: string) => server.requests.filter((request) => request.caller === caller).map((request) => request.turn);

describe('the tool-use loop (real SDK ↔ simulator over loopback)', () => {
  it("two turns: the turn's calls run at once, every result goes back, and the finding cites them", async () => {
    const server = await simulator();
    const clock = new SimulatedClock();
    const stats = newStats();
    const tools = [timedTool(clock, 'lookup', 300, stats), timedTool(clock, 'read_page', 300, stats)];
    const run = runFanOut(
      { task, deadlineMs: 600_000, specialists: [{ id: 'historical', angle: 'Historical context', tools }], synthesizer: { run: async () => 'folded' } },
      { provider: provider(server), clock, random: () => 0.5 },
    );
    const events = record(run);
    const result = await settleOverSdk(run, clock);

    expect(result.status).toBe('done');
    const turn1 = events.find((event) => event.type === 'specialist.turn' && event['turn'] === 1)!;
    const asked = turn1['toolUses'] as number;
    // The simulated model asks for 1–3 calls a turn, seeded by the request: this one asks for several.
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(turn1).toMatchObject({ stopReason: 'tool_use', final: false });
    // They overlapped: every call of the turn was in flight at once.
    expect(stats.calls).toBe(asked);
    expect(stats.peak).toBe(asked);

    const outcome = result.outcomes[0]!;
    expect(outcome).toMatchObject({ status: 'fulfilled', turns: 2, stopReason: 'end_turn', loopLimit: null, attempts: 2, model: 'claude-sonnet-4-6' });
    expect(outcome.toolCalls!.map((call) => call.isError)).toEqual(Array(asked).fill(false));
    expect(outcome.toolCalls!.every((call) => call.ms >= 300)).toBe(true);
    // Turn 2 went to the simulator with every result: its finding names each tool and quotes what came back.
    expect(turnsOf(server, 'historical')).toEqual([1, 2]);
    for (const name of new Set(outcome.toolCalls!.map((call) => call.name))) expect(outcome.output).toContain(`The ${name} tool`);
    expect(outcome.output).toContain('peaked at 240 MW in 2011');
    // Usage is summed over both turns, as the simulator counted them.
    const requests = server.requests.filter((request) => request.caller === 'historical');
    expect(outcome.usage.inputTokens).toBe(requests.reduce((sum, request) => sum + request.usage!.input_tokens, 0));
    expect(outcome.usage.outputTokens).toBe(requests.reduce((sum, request) => sum + request.usage!.output_tokens, 0));
    // Events: a started and a done per call, between the two turns.
    const kinds = events.filter((event) => event['id'] === 'historical' && event.type !== 'specialist.token').map((event) => event.type);
    expect(kinds).toEqual([
      'specialist.started',
      'specialist.turn',
      ...Array(asked).fill('specialist.tool.started'),
      ...Array(asked).fill('specialist.tool.done'),
      'specialist.turn',
      'specialist.done',
    ]);
  });

  it('maxToolConcurrency 1: the same calls, one at a time', async () => {
    const server = await simulator();
    const clock = new SimulatedClock();
    const stats = newStats();
    const tools = [timedTool(clock, 'lookup', 300, stats), timedTool(clock, 'read_page', 300, stats)];
    const run = runFanOut(
      { task, deadlineMs: 600_000, specialists: [{ id: 'historical', angle: 'Historical context', tools, policy: { maxToolConcurrency: 1 } }], synthesizer: { run: async () => 'folded' } },
      { provider: provider(server), clock, random: () => 0.5 },
    );
    const result = await settleOverSdk(run, clock);
    expect(result.outcomes[0]).toMatchObject({ status: 'fulfilled', turns: 2 });
    expect(stats.calls).toBeGreaterThanOrEqual(2);
    expect(stats.peak).toBe(1);
  });

  it("a 529 on turn 2 retries turn 2 only: turn 1's tools are not run again", async () => {
    const server = await simulator({ faults: [{ match: { caller: 'historical', turn: 2 }, times: 1, fault: { type: 'overloaded' } }] });
    const stats = newStats();
    const clock = new SimulatedClock();
    const tools = [timedTool(clock, 'lookup', 100, stats), timedTool(clock, 'read_page', 100, stats)];
    const run = runFanOut(
      {
        task,
        deadlineMs: 600_000,
        specialists: [{ id: 'historical', angle: 'Historical context', tools, policy: { retry: { initialDelayMs: 200, jitter: 0 } } }],
        synthesizer: { run: async () => 'folded' },
      },
      { provider: provider(server), clock, random: () => 0.5 },
    );
    const events = record(run);
    const result = await settleOverSdk(run, clock);

    const asked = events.find((event) => event.type === 'specialist.turn' && event['turn'] === 1)!['toolUses'] as number;
    expect(stats.calls).toBe(asked);
    const requests = server.requests.filter((request) => request.caller === 'historical');
    expect(requests.map((request) => [request.turn, request.attempt, request.status])).toEqual([
      [1, 1, 200],
      [2, 2, 529],
      [2, 3, 200],
    ]);
    expect(result.outcomes[0]).toMatchObject({ status: 'fulfilled', attempts: 3, turns: 2, stopReason: 'end_turn' });
    expect(result.outcomes[0]!.toolCalls).toHaveLength(asked);
    expect(events.filter((event) => event.type === 'specialist.retrying').map((event) => [event['attempt'], event['delayMs'], (event['error'] as { kind: string }).kind])).toEqual([
      [3, 200, 'overloaded'],
    ]);
  });

  it('tool failures are error results the model reads: a throw, a timeout, input that fails the schema; the loop goes on', async () => {
    const server = await simulator();
    const clock = new SimulatedClock();
    const hung = { calls: 0, aborted: 0 };
    const tools = [
      defineTool({
        name: 'tide_gauge',
        description: 'Reads a tide gauge.',
        input: z.object({ query: z.string() }),
        run: () => {
          throw new Error('gauge offline since 04:00');
        },
      }),
      defineTool({
        name: 'grid_archive',
        description: 'Searches the grid operator archive.',
        input: z.object({ query: z.string() }),
        timeoutMs: 1_000,
        run: (_input, { signal }) =>
          new Promise<string>((_, reject) => {
            hung.calls++;
            signal.addEventListener('abort', () => {
              hung.aborted++;
              reject(signal.reason);
            });
          }),
      }),
      defineTool({
        name: 'permit_registry',
        description: 'Looks up permits by year.',
        // JSON Schema cannot say this, so the simulated model's input passes the schema it sees and fails this.
        input: z.object({ query: z.string().refine((query) => /\b(19|20)\d\d\b/.test(query), { message: 'name a year, e.g. "permits 2011"' }) }),
        run: ({ query }) => `permits for ${query}`,
      }),
    ];
    const angles = ['Historical context', 'Technical details', 'Economic impact', 'Safety', 'Public opinion', 'Supply chain'];
    const run = startRun(server, clock, { specialists: angles.map((angle, index) => ({ id: `s${index}`, angle, tools })) });
    const events = record(run);
    const result = await settleOverSdk(run, clock);

    expect(result.status).toBe('done');
    const dones = events.filter((event) => event.type === 'specialist.tool.done');
    // Every failure mode came up (the simulated model picks 1–3 of the three tools per specialist).
    expect(new Set(dones.map((event) => event['tool']))).toEqual(new Set(['tide_gauge', 'grid_archive', 'permit_registry']));
    for (const done of dones) {
      expect(done['isError']).toBe(true);
      const expected = {
        tide_gauge: 'The tool "tide_gauge" failed: gauge offline since 04:00',
        grid_archive: 'The tool "grid_archive" did not finish within 1000 ms and was stopped.',
        permit_registry: expect.stringMatching(/^Invalid input for the tool "permit_registry": query: name a year, e\.g\. "permits 2011"\. Fix the input and call it again\.$/),
      }[done['tool'] as string];
      expect(done['error']).toEqual(expected);
    }
    // The timed-out calls' signals were aborted.
    expect(hung.calls).toBe(dones.filter((event) => event['tool'] === 'grid_archive').length);
    expect(hung.aborted).toBe(hung.calls);
    // Each specialist went on to a second turn, and its finding reports the errors it read.
    for (const outcome of result.outcomes) {
      expect(outcome).toMatchObject({ status: 'fulfilled', turns: 2, stopReason: 'end_turn' });
      expect(outcome.toolCalls!.length).toBeGreaterThan(0);
      expect(outcome.toolCalls!.every((call) => call.isError)).toBe(true);
      for (const name of new Set(outcome.toolCalls!.map((call) => call.name))) expect(outcome.output).toMatch(new RegExp(`The ${name} tool( \\(\\d+ calls\\))? reported an error`));
    }
  });

  it('a tool the model was not given: an error result naming the tools it has, never another tool', async () => {
    const server = await simulator();
    const clock = new SimulatedClock();
    const stats = newStats();
    const lookup = timedTool(clock, 'lookup', 100, stats);
    // What the model sees is offered by the request; the specialist itself runs only its own tools.
    // A provider that renames the first call shows what happens when the model asks for another name.
    const base = provider(server);
    const renaming = {
      name: base.name,
      stream: async (...args: Parameters<typeof base.stream>) => {
        const response = await base.stream(...args);
        const content = response.content?.map((block) => (block.type === 'tool_use' && block.name === 'lookup' ? { ...block, name: 'delete_everything' } : block));
        return content ? { ...response, content } : response;
      },
    };
    const run = runFanOut(
      { task, deadlineMs: 600_000, specialists: [{ id: 'historical', angle: 'Historical context', tools: [lookup] }], synthesizer: { run: async () => 'folded' } },
      { provider: renaming, clock, random: () => 0.5 },
    );
    const events = record(run);
    const result = await settleOverSdk(run, clock);
    expect(stats.calls).toBe(0);
    const dones = events.filter((event) => event.type === 'specialist.tool.done');
    expect(dones.length).toBeGreaterThan(0);
    for (const done of dones) expect(done).toMatchObject({ tool: 'delete_everything', isError: true, error: 'There is no tool named "delete_everything". The tools you can call are: "lookup".' });
    expect(result.outcomes[0]).toMatchObject({ status: 'fulfilled', turns: 2 });
    expect(result.outcomes[0]!.output).toMatch(/The delete_everything tool( \(\d+ calls\))? reported an error: "There is no tool named/);
  });

  it('maxTurns: the last turn is offered no tools and told why; the outcome names the limit', async () => {
    const server = await simulator();
    const clock = new SimulatedClock();
    const stats = newStats();
    const tools = [timedTool(clock, 'lookup', 100, stats), timedTool(clock, 'read_page', 100, stats)];
    const run = startRun(server, clock, {
      specialists: [
        { id: 'one', angle: 'Historical context', tools, policy: { maxTurns: 1 } },
        { id: 'two', angle: 'Historical context', tools, policy: { maxTurns: 2 } },
      ],
    });
    const result = await settleOverSdk(run, clock);
    const [one, two] = result.outcomes;
    // One turn allowed: it is the last, so no tool is called at all.
    expect(one).toMatchObject({ status: 'fulfilled', turns: 1, loopLimit: 'maxTurns', stopReason: 'end_turn', toolCalls: [] });
    expect(turnsOf(server, 'one')).toEqual([1]);
    // Two: tools on turn 1, then the finding on a tool-less turn 2 that was told about the limit.
    expect(two).toMatchObject({ status: 'fulfilled', turns: 2, loopLimit: 'maxTurns', stopReason: 'end_turn' });
    expect(two!.toolCalls!.length).toBe(stats.calls);
    const last = server.requests.find((request) => request.caller === 'two' && request.turn === 2)!;
    expect(last.text).toContain('You have reached your limit of turns (maxTurns)');
  });

  it('maxToolCalls: calls past it get an error result, and the next turn is the last', async () => {
    const server = await simulator();
    const clock = new SimulatedClock();
    const stats = newStats();
    const tools = [timedTool(clock, 'lookup', 100, stats), timedTool(clock, 'read_page', 100, stats)];
    const run = startRun(server, clock, { specialists: [{ id: 'historical', angle: 'Historical context', tools, policy: { maxToolCalls: 1 } }] });
    const events = record(run);
    const result = await settleOverSdk(run, clock);
    const asked = events.find((event) => event.type === 'specialist.turn' && event['turn'] === 1)!['toolUses'] as number;
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(stats.calls).toBe(1);
    expect(result.outcomes[0]).toMatchObject({ status: 'fulfilled', turns: 2, loopLimit: 'maxToolCalls', stopReason: 'end_turn' });
    expect(result.outcomes[0]!.toolCalls).toHaveLength(1);
    const last = server.requests.find((request) => request.caller === 'historical' && request.turn === 2)!;
    expect(last.text).toContain('You have used all your tool calls (maxToolCalls)');
    // The calls it could not make reached the model as errors, and its finding says so.
    expect(result.outcomes[0]!.output).toContain('reported an error');
  });

  it.each(['deadline', 'cancel'] as const)("the run %s aborts running tools' signals and a model call in flight, keeping the turns and calls so far", async (how) => {
    // `slow` hangs on its second turn, so that turn's call is in flight at the end.
    const server = await simulator({ faults: [{ match: { caller: 'slow', turn: 2 }, fault: { type: 'hang' } }] });
    const clock = new SimulatedClock();
    const hanging = newStats();
    const quick = newStats();
    const run = startRun(server, clock, {
      deadlineMs: 5_000,
      specialists: [
        { id: 'historical', angle: 'Historical context', tools: [timedTool(clock, 'lookup', null, hanging), timedTool(clock, 'read_page', null, hanging)], policy: { toolTimeoutMs: null } },
        { id: 'slow', angle: 'Technical details', tools: [timedTool(clock, 'gauge', 100, quick)] },
        // No tools: one call, finished long before the end; it is kept.
        { id: 'plain', angle: 'Societal impact' },
      ],
    });
    const toolsRunning = watch(run, clock, (event) => event.type === 'specialist.tool.started' && event.id === 'historical');
    const slowTurn2 = server.waitFor((request) => request.caller === 'slow' && request.turn === 2);
    await toolsRunning();
    // Let `slow` finish its tools and send turn 2, which hangs.
    for (let step = 0; step < 10; step++) {
      clock.increment(50);
      await pumpUntil(clock, new Promise((resolve) => setImmediate(resolve)));
    }
    await pumpUntil(clock, slowTurn2);
    expect(hanging.inFlight).toBeGreaterThanOrEqual(2);
    if (how === 'deadline') clock.increment(5_000);
    else run.cancel('the user pressed stop');
    const result = await settleOverSdk(run, clock);

    expect(hanging.aborted).toBe(hanging.calls);
    expect(hanging.inFlight).toBe(0);
    const status = how === 'deadline' ? 'timedOut' : 'skipped';
    expect(result.outcomes[0]).toMatchObject({ status, turns: 1, attempts: 1, toolCalls: [] });
    expect(result.outcomes[1]).toMatchObject({ status, turns: 1, attempts: 2 });
    expect(result.outcomes[1]!.toolCalls!.length).toBe(quick.calls);
    // The hung model call was aborted: the simulator saw the client go away.
    await pumpUntil(
      clock,
      server.waitFor((request) => request.caller === 'slow' && request.turn === 2, 'ended'),
    );
    expect(server.requests.find((request) => request.caller === 'slow' && request.turn === 2)!.outcome).toBe('client_closed');
    expect(result.outcomes[2]).toMatchObject({ status: 'fulfilled', turns: 1, toolCalls: [] });
    expect(result.status).toBe(how === 'deadline' ? 'partial' : 'cancelled');
  });

  it('a crash mid-tools, resumed: no finished tool call and no finished turn is run again', async () => {
    const server = await simulator();
    const dir = mkdtempSync(join(tmpdir(), 'fanfold-loop-sdk-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = createFileCheckpointStore(dir);
    // lookup answers at 100 ms, read_page at 1 s: the crash comes between.
    const config = (clock: SimulatedClock, stats: ToolStats): FanOutConfig => ({
      task,
      deadlineMs: 600_000,
      specialists: [{ id: 'historical', angle: 'Historical context', tools: [timedTool(clock, 'lookup', 100, stats), timedTool(clock, 'read_page', 1_000, stats)] }],
      synthesizer: { run: async ({ outcomes }) => `folded ${outcomes?.length}` },
    });
    const before = newStats();
    const clock1 = new SimulatedClock();
    const run = runFanOut(config(clock1, before), { provider: provider(server), clock: clock1, random: () => 0.5, checkpoint: { store, runId: 'loop-sdk' } });
    const firstDone = watch(run, clock1, (event) => event.type === 'specialist.tool.done');
    await pumpUntil(clock1, new Promise((resolve) => setImmediate(resolve)));
    while (before.calls === 0) await pumpUntil(clock1, new Promise((resolve) => setImmediate(resolve)));
    clock1.increment(100);
    await firstDone();
    const finishedBefore = before.queries.filter((query) => query.startsWith('lookup:'));
    const unfinished = before.queries.filter((query) => query.startsWith('read_page:'));
    // This turn has both kinds: some finished, some still running.
    expect(finishedBefore.length).toBeGreaterThan(0);
    expect(unfinished.length).toBeGreaterThan(0);
    run.actor.stop();

    const after = newStats();
    const clock2 = new SimulatedClock();
    const resumed = resumeFanOut('loop-sdk', { store, provider: provider(server), clock: clock2, random: () => 0.5, config: config(clock2, after) });
    const result = await settleOverSdk(resumed, clock2);
    expect(result.status).toBe('done');
    // Only the calls that had not finished ran again; turn 1 was not called again.
    expect(after.queries.sort()).toEqual(unfinished.sort());
    expect(turnsOf(server, 'historical')).toEqual([1, 2]);
    const outcome = result.outcomes[0]!;
    expect(outcome).toMatchObject({ status: 'fulfilled', turns: 2, attempts: 2 });
    expect(outcome.toolCalls).toHaveLength(before.calls);
    // Per tool, over both processes: each call the model asked for ran to its end exactly once.
    const ranToEnd = [...finishedBefore, ...after.queries];
    expect(ranToEnd.sort()).toEqual([...before.queries].sort());
  });
});
