/**
 * The tool-use loop on the scripted provider, under fake timers: turns, parallel tool calls,
 * limits, tool failures as results, and what outcomes and events keep of it. (The same loop
 * through the real SDK and the simulator is in agent-loop.sdk.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineTool, runFanOut, type ModelRequest } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { record, settle } from './support.ts';

const task = 'nuclear fusion';

/** Tool results the model got back in a request, by tool_use_id. */
function resultsIn(request: ModelRequest): Array<{ tool_use_id: string; content: unknown; is_error?: boolean }> {
  const last = request.messages[request.messages.length - 1]!;
  return typeof last.content === 'string' ? [] : (last.content.filter((block) => block.type === 'tool_result') as never);
}

/** A tool that waits `ms` of (fake) time, counting calls and calls in flight. */
function sleeper(name: string, ms: number) {
  const stats = { calls: 0, inFlight: 0, peak: 0, aborted: 0 };
  const tool = defineTool({
    name,
    description: `waits ${ms} ms`,
    input: z.object({ q: z.string() }),
    run: ({ q }, { signal }) =>
      new Promise<string>((resolve, reject) => {
        stats.calls++;
        stats.inFlight++;
        stats.peak = Math.max(stats.peak, stats.inFlight);
        const timer = setTimeout(() => {
          stats.inFlight--;
          resolve(`${name} says ${q}`);
        }, ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          stats.inFlight--;
          stats.aborted++;
          reject(signal.reason);
        });
      }),
  });
  return { tool, stats };
}

/** Turn 1 asks for `uses`, turn 2 answers. */
function twoTurns(uses: ScriptedReply['toolUse']): (request: ModelRequest) => ScriptedReply | undefined {
  return (request) => (request.tools && request.messages.length === 1 ? { toolUse: uses!, latencyMs: 100 } : { text: `finding from ${resultsIn(request).length} results`, latencyMs: 100 });
}

describe('the tool-use loop (scripted provider)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it("runs a turn's tool calls in parallel, sends every result back, and ends on the model's final turn", async () => {
    const search = sleeper('search', 300);
    const fetchPage = sleeper('fetch_page', 300);
    const provider = createScriptedProvider({
      reply: twoTurns([
        { name: 'search', input: { q: 'a' } },
        { name: 'fetch_page', input: { q: 'b' } },
        { name: 'search', input: { q: 'c' } },
      ]),
    });
    const run = runFanOut({ task, specialists: [{ id: 'explorer', tools: [search.tool, fetchPage.tool] }], synthesizer: { run: async () => 'folded' } }, { provider });
    const events = record(run);
    const result = await settle(run);

    expect(result.status).toBe('done');
    const outcome = result.outcomes[0]!;
    expect(outcome).toMatchObject({ status: 'fulfilled', output: 'finding from 3 results', turns: 2, stopReason: 'end_turn', loopLimit: null, attempts: 2 });
    expect(outcome.toolCalls!.map((call) => [call.name, call.ms, call.isError])).toEqual([
      ['search', 300, false],
      ['fetch_page', 300, false],
      ['search', 300, false],
    ]);
    // All three at once: 100 ms turn 1, 300 ms of tools, 100 ms turn 2.
    expect(search.stats.peak + fetchPage.stats.peak).toBe(3);
    expect(outcome.endedAt - outcome.startedAt!).toBe(500);
    // Turn 2 got every result, in the order the model asked, answered by id.
    const second = provider.calls[1]!.request;
    expect(resultsIn(second).map((result) => result.content)).toEqual(['search says a', 'fetch_page says b', 'search says c']);
    expect(second.messages[1]!.role).toBe('assistant');
    expect(provider.calls.map((call) => call.caller)).toEqual([
      { id: 'explorer', attempt: 1, turn: 1 },
      { id: 'explorer', attempt: 2, turn: 2 },
    ]);
    // Usage summed over turns.
    expect(outcome.usage.inputTokens).toBe(
      provider.calls.reduce(
        (sum, call) =>
          sum +
          Math.ceil(((call.request.system?.length ?? 0) + call.request.messages.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : JSON.stringify(m.content).length), 0)) / 4),
        0,
      ),
    );

    const mine = events.filter((event) => event['id'] === 'explorer').map((event) => `${event.type}${event['tool'] ? `:${String(event['tool'])}` : ''}`);
    expect(mine).toEqual([
      'specialist.started',
      'specialist.token',
      'specialist.turn',
      'specialist.tool.started:search',
      'specialist.tool.started:fetch_page',
      'specialist.tool.started:search',
      'specialist.tool.done:search',
      'specialist.tool.done:fetch_page',
      'specialist.tool.done:search',
      'specialist.token',
      'specialist.turn',
      'specialist.done',
    ]);
    const done = events.find((event) => event.type === 'specialist.tool.done') as Record<string, unknown>;
    expect(done).toMatchObject({ id: 'explorer', tool: 'search', turn: 1, server: false, ms: 300, isError: false, error: null, result: 'search says a' });
    expect(events.find((event) => event.type === 'specialist.turn')).toMatchObject({ turn: 1, stopReason: 'tool_use', toolUses: 3, final: false });
  });

  it("bounds a turn's calls by maxToolConcurrency", async () => {
    const search = sleeper('search', 100);
    const uses = Array.from({ length: 5 }, (_, i) => ({ name: 'search', input: { q: `q${i}` } }));
    const provider = createScriptedProvider({ reply: twoTurns(uses) });
    const run = runFanOut({ task, specialists: [{ id: 'x', tools: [search.tool], policy: { maxToolConcurrency: 2 } }], synthesizer: { run: async () => 'folded' } }, { provider });
    const result = await settle(run);
    expect(search.stats.peak).toBe(2);
    expect(search.stats.calls).toBe(5);
    // 100 + 3 waves of 100 + 100.
    expect(result.outcomes[0]!.endedAt).toBe(500);
  });

  it('turns every tool failure into an error result the model reads, and goes on', async () => {
    const boom = defineTool({
      name: 'boom',
      description: 'throws',
      input: z.object({}),
      run: () => {
        throw new Error('disk on fire');
      },
    });
    const slow = defineTool({
      name: 'slow',
      description: 'hangs',
      input: z.object({}),
      timeoutMs: 1_000,
      run: (_input, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    });
    const strict = defineTool({ name: 'strict', description: 'needs a number', input: z.object({ n: z.number() }), run: ({ n }) => `n=${n}` });
    const provider = createScriptedProvider({
      reply: twoTurns([{ name: 'boom' }, { name: 'slow' }, { name: 'strict', input: { n: 'seven' } }, { name: 'nope', input: {} }, { name: 'strict', input: { n: 7 } }]),
    });
    const run = runFanOut({ task, specialists: [{ id: 'x', tools: [boom, slow, strict] }], synthesizer: { run: async () => 'folded' } }, { provider });
    const events = record(run);
    const result = await settle(run);
    const outcome = result.outcomes[0]!;
    expect(outcome.status).toBe('fulfilled');
    const results = resultsIn(provider.calls[1]!.request);
    expect(results.map((r) => [r.is_error === true, String(r.content)])).toEqual([
      [true, 'The tool "boom" failed: disk on fire'],
      [true, 'The tool "slow" did not finish within 1000 ms and was stopped.'],
      [true, expect.stringMatching(/^Invalid input for the tool "strict": n: .*number.*Fix the input and call it again\.$/)],
      [true, 'There is no tool named "nope". The tools you can call are: "boom", "slow", "strict".'],
      [false, 'n=7'],
    ]);
    expect(outcome.toolCalls!.filter((call) => call.isError)).toHaveLength(4);
    const slowDone = events.find((event) => event.type === 'specialist.tool.done' && event['tool'] === 'slow');
    expect(slowDone).toMatchObject({ isError: true, ms: 1_000, error: 'The tool "slow" did not finish within 1000 ms and was stopped.' });
  });

  it('gives the model one last turn without tools at maxTurns, and says so', async () => {
    const search = sleeper('search', 10);
    // A model that never stops asking.
    const provider = createScriptedProvider({ reply: (request) => (request.toolChoice === 'none' ? { text: 'final answer' } : { toolUse: [{ name: 'search', input: { q: 'more' } }] }) });
    const run = runFanOut({ task, specialists: [{ id: 'x', tools: [search.tool], policy: { maxTurns: 3 } }], synthesizer: { run: async () => 'folded' } }, { provider });
    const result = await settle(run);
    const outcome = result.outcomes[0]!;
    expect(outcome).toMatchObject({ status: 'fulfilled', output: 'final answer', turns: 3, loopLimit: 'maxTurns', stopReason: 'end_turn' });
    expect(search.stats.calls).toBe(2);
    const last = provider.calls[2]!.request;
    expect(last.toolChoice).toBe('none');
    expect(last.tools?.map((tool) => tool.name)).toEqual(['search']);
    const note = (last.messages.at(-1)!.content as Array<{ type: string; text?: string }>).at(-1)!;
    expect(note).toMatchObject({ type: 'text', text: expect.stringContaining('maxTurns') });
  });

  it('stops at maxToolCalls: calls past it get an error result, the next turn is the last', async () => {
    const search = sleeper('search', 10);
    const provider = createScriptedProvider({
      reply: (request) =>
        request.toolChoice === 'none'
          ? { text: 'done' }
          : {
              toolUse: [
                { name: 'search', input: { q: '1' } },
                { name: 'search', input: { q: '2' } },
                { name: 'search', input: { q: '3' } },
              ],
            },
    });
    const run = runFanOut({ task, specialists: [{ id: 'x', tools: [search.tool], policy: { maxToolCalls: 4 } }], synthesizer: { run: async () => 'folded' } }, { provider });
    const result = await settle(run);
    expect(search.stats.calls).toBe(4);
    expect(result.outcomes[0]).toMatchObject({ turns: 3, loopLimit: 'maxToolCalls', output: 'done' });
    const second = resultsIn(provider.calls[2]!.request);
    expect(second.map((r) => r.is_error === true)).toEqual([false, true, true]);
    expect(String(second[1]!.content)).toMatch(/maxToolCalls/);
  });

  it("retries the failed turn, not the loop: turn 1's tools are not run again", async () => {
    const search = sleeper('search', 50);
    let turn2Calls = 0;
    const provider = createScriptedProvider({
      reply: (request) => {
        if (request.messages.length === 1) return { toolUse: [{ name: 'search', input: { q: 'x' } }] };
        turn2Calls++;
        return turn2Calls === 1 ? { error: { kind: 'overloaded', message: '529 overloaded', status: 529 } } : { text: 'recovered' };
      },
    });
    const run = runFanOut(
      { task, specialists: [{ id: 'x', tools: [search.tool], policy: { fallbackModels: [], retry: { initialDelayMs: 100, jitter: 0 } } }], synthesizer: { run: async () => 'folded' } },
      { provider, random: () => 0 },
    );
    const events = record(run);
    const result = await settle(run);
    expect(result.outcomes[0]).toMatchObject({ status: 'fulfilled', output: 'recovered', attempts: 3, turns: 2 });
    expect(search.stats.calls).toBe(1);
    expect(provider.calls.map((call) => call.caller)).toEqual([
      { id: 'x', attempt: 1, turn: 1 },
      { id: 'x', attempt: 2, turn: 2 },
      { id: 'x', attempt: 3, turn: 2 },
    ]);
    // The retry re-sent turn 2's request: same conversation, tool result included.
    expect(provider.calls[2]!.request.messages).toEqual(provider.calls[1]!.request.messages);
    expect(events.filter((event) => event.type === 'specialist.retrying').map((event) => event['attempt'])).toEqual([3]);
  });

  it('aborts running tools on the run deadline and on cancel, keeping the turns and calls so far', async () => {
    for (const how of ['deadline', 'cancel'] as const) {
      const hang = sleeper('hang', 1_000_000);
      const provider = createScriptedProvider({
        reply: twoTurns([
          { name: 'hang', input: { q: '1' } },
          { name: 'hang', input: { q: '2' } },
        ]),
      });
      const run = runFanOut({ task, specialists: [{ id: 'x', tools: [hang.tool], policy: { toolTimeoutMs: null } }], synthesizer: { run: async () => 'folded' }, deadlineMs: 1_000 }, { provider });
      if (how === 'cancel') setTimeout(() => run.cancel('stop'), 500);
      const result = await settle(run);
      expect(hang.stats.aborted).toBe(2);
      expect(hang.stats.inFlight).toBe(0);
      expect(result.outcomes[0]).toMatchObject({ status: how === 'deadline' ? 'timedOut' : 'skipped', turns: 1, attempts: 1, toolCalls: [] });
    }
  });
});
