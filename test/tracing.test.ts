/**
 * OpenTelemetry spans of a run (GenAI semantic conventions), read back from the SDK's in-memory
 * exporter: the research preset through the real SDK against the simulator over loopback; then,
 * on the scripted provider under fake timers, retries, fallbacks, a deadline cut, a cancel, a
 * model lead, sub-leads whose ids collide with the top level's, content capture with redaction,
 * and 1,000 specialists at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { z } from 'zod';
import { createFileCheckpointStore, defineTool, researchConfig, resumeFanOut, runFanOut, type FanOutConfig, type ModelRequest } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { startSimulator, type Simulator } from '../src/simulator/index.ts';
import { pumpUntil, settle } from './support.ts';
import { memoryTracing, ms, spanTree } from './tracing-support.ts';

const KEY = 'sk-ant-tracing-test-key-never-print-me';

const attr = (span: ReadableSpan, key: string) => span.attributes[key];
const sum = (spans: ReadableSpan[], key: string) => spans.reduce((total, span) => total + Number(attr(span, key) ?? 0), 0);

describe('tracing the research preset (real SDK ↔ simulator)', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('a span tree: the run, three explorers with their chats and web tools, and the synthesis', async () => {
    sim = await startSimulator({ latency: { firstTokenMs: 0, tokensPerSecond: Infinity } });
    const tracing = memoryTracing();
    const clock = new SimulatedClock();
    const run = runFanOut(researchConfig('tidal power'), { provider: createAnthropicProvider({ apiKey: KEY, baseURL: sim.url, env: {} }), clock, trace: { tracer: tracing.tracer } });
    // No timer of fanfold's needs to fire but its 0 ms batching: simulated time stands still
    // while the SDK and the simulator talk over loopback.
    const result = await pumpUntil(clock, run.result, 30_000);
    expect(result.status).toBe('done');
    expect(tracing.openNames()).toEqual([]);

    const tree = spanTree(tracing.spans());
    tree.expectWellFormed();
    expect(tree.root.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'fanfold',
      'gen_ai.provider.name': 'anthropic',
      'fanfold.agent.kind': 'run',
      'fanfold.status': 'done',
      'fanfold.attempts': result.modelCalls,
      'fanfold.specialists': 3,
      'gen_ai.usage.output_tokens': result.usage.outputTokens,
    });
    // Under the run: the three explorers and the synthesizer, nothing else.
    expect(
      tree
        .childrenOf(tree.root)
        .map((span) => span.name)
        .sort(),
    ).toEqual(['invoke_agent historical', 'invoke_agent societal', 'invoke_agent synthesizer', 'invoke_agent technical']);

    for (const outcome of [...result.outcomes, result.synthesizer!]) {
      const agent = tree.agent(outcome.id);
      expect(agent.attributes).toMatchObject({
        'gen_ai.agent.name': outcome.id,
        'gen_ai.provider.name': 'anthropic',
        'fanfold.status': 'fulfilled',
        'fanfold.attempts': outcome.attempts,
        'gen_ai.response.model': outcome.model,
      });
      expect(agent.status.code).toBe(0);
      const chats = tree.childrenOf(agent).filter((span) => attr(span, 'gen_ai.operation.name') === 'chat');
      // One chat per model call (every turn), with what the API answered.
      expect(chats).toHaveLength(outcome.attempts);
      for (const chat of chats) {
        expect(chat.name).toBe(`chat ${attr(chat, 'gen_ai.request.model')}`);
        expect(chat.kind).toBe(2); // CLIENT
        expect(chat.attributes).toMatchObject({ 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.stream': true, 'server.address': '127.0.0.1', 'server.port': Number(new URL(sim.url).port) });
        expect(attr(chat, 'gen_ai.response.model')).toBeTypeOf('string');
        expect(attr(chat, 'gen_ai.response.finish_reasons')).toEqual([expect.any(String)]);
        expect(attr(chat, 'gen_ai.usage.input_tokens')).toBeGreaterThan(0);
      }
      // The chats' tokens add up to the outcome's; input includes cached tokens, as the conventions ask.
      expect(sum(chats, 'gen_ai.usage.output_tokens')).toBe(outcome.usage.outputTokens);
      expect(sum(chats, 'gen_ai.usage.input_tokens')).toBe(outcome.usage.inputTokens + outcome.usage.cacheCreationInputTokens + outcome.usage.cacheReadInputTokens);
      expect(sum(chats, 'gen_ai.usage.cache_read.input_tokens')).toBe(outcome.usage.cacheReadInputTokens);
      // Each web search and fetch ran inside a model call: its span is under that chat.
      const tools = tree.withOperation('execute_tool').filter((span) => tree.parentOf(tree.parentOf(span)!) === agent);
      expect(tools.map((span) => attr(span, 'gen_ai.tool.name')).sort()).toEqual((outcome.toolCalls ?? []).map((call) => call.name).sort());
      for (const tool of tools) {
        expect(tool.name).toBe(`execute_tool ${attr(tool, 'gen_ai.tool.name')}`);
        expect(attr(tree.parentOf(tool)!, 'gen_ai.operation.name')).toBe('chat');
        expect(tool.attributes).toMatchObject({ 'gen_ai.tool.type': 'extension', 'gen_ai.tool.call.id': expect.stringMatching(/^srvtoolu_/) });
      }
    }
    expect(tree.withOperation('chat')).toHaveLength(result.modelCalls);
    expect(tree.withOperation('execute_tool').length).toBeGreaterThanOrEqual(3);
    // No content unless asked for.
    expect(
      tracing
        .spans()
        .some((span) =>
          Object.keys(span.attributes).some((key) => key.startsWith('gen_ai.input') || key.startsWith('gen_ai.output') || key.startsWith('gen_ai.system') || key.startsWith('gen_ai.tool.call.a')),
        ),
    ).toBe(false);
  });
});

describe('tracing on the scripted provider', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('retries, a fallback and a deadline cut: events, error types and statuses where they happened', async () => {
    const tracing = memoryTracing();
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: {
        flaky: [{ error: { kind: 'rate_limited', message: 'slow down', status: 429 } }, {}],
        busy: [{ error: { kind: 'overloaded', message: 'overloaded', status: 529 } }, {}],
        slow: { hang: true },
        timid: [{ hang: true }, {}],
      },
    });
    const config: FanOutConfig = {
      task: 'tides',
      model: 'main-model',
      deadlineMs: 1_000,
      policy: { retry: { initialDelayMs: 50, jitter: 0 } },
      specialists: [{ id: 'flaky' }, { id: 'busy', policy: { fallbackModels: ['spare-model'] } }, { id: 'slow' }, { id: 'timid', policy: { attemptTimeoutMs: 300 } }],
    };
    const run = runFanOut(config, { provider, trace: { tracer: tracing.tracer }, random: () => 0 });
    const result = await settle(run);
    expect(result.status).toBe('partial');
    expect(tracing.openNames()).toEqual([]);
    const tree = spanTree(tracing.spans());
    tree.expectWellFormed();
    const chatsOf = (id: string) =>
      tree
        .childrenOf(tree.agent(id))
        .filter((span) => attr(span, 'gen_ai.operation.name') === 'chat')
        .sort((a, b) => ms(a.startTime) - ms(b.startTime));

    // flaky: a 429, a retry 50 ms later, then an answer.
    const flaky = tree.agent('flaky');
    expect(flaky.events.map((event) => [event.name, event.attributes?.['error.type'], event.attributes?.['fanfold.attempt'], ms(event.time)])).toEqual([['fanfold.retry', 'rate_limited', 2, 100]]);
    const [first, second] = chatsOf('flaky');
    expect(first!.attributes).toMatchObject({ 'error.type': 'rate_limited', 'http.response.status_code': 429, 'fanfold.attempt': 1 });
    expect(first!.status).toMatchObject({ code: 2, message: 'slow down' });
    expect([ms(first!.startTime), ms(first!.endTime)]).toEqual([0, 100]);
    expect(second!.attributes).toMatchObject({ 'fanfold.attempt': 2, 'gen_ai.response.finish_reasons': ['end_turn'] });
    expect([ms(second!.startTime), ms(second!.endTime)]).toEqual([150, 250]);
    expect(flaky.status.code).toBe(0);

    // busy: overloaded, so the next model at once.
    const busy = tree.agent('busy');
    expect(busy.events.map((event) => [event.name, event.attributes?.['gen_ai.request.model'], event.attributes?.['error.type']])).toEqual([['fanfold.fallback', 'spare-model', 'overloaded']]);
    expect(chatsOf('busy').map((chat) => [chat.name, attr(chat, 'error.type') ?? null])).toEqual([
      ['chat main-model', 'overloaded'],
      ['chat spare-model', null],
    ]);
    expect(busy.attributes['gen_ai.response.model']).toBe('spare-model');

    // timid: its first call hit its 300 ms attempt timeout (the retry says why); 50 ms later the second answered.
    expect(chatsOf('timid').map((chat) => [attr(chat, 'error.type') ?? null, ms(chat.startTime), ms(chat.endTime)])).toEqual([
      ['timeout', 0, 300],
      [null, 350, 450],
    ]);

    // slow: cut by the run's deadline at 1,000 ms, its call with it.
    const slow = tree.agent('slow');
    expect(slow.attributes).toMatchObject({ 'fanfold.status': 'timedOut', 'error.type': 'deadline' });
    expect(slow.status.code).toBe(2);
    expect(slow.events.map((event) => [event.name, ms(event.time)])).toEqual([['fanfold.deadline', 1_000]]);
    expect(ms(slow.endTime)).toBe(1_000);
    expect(chatsOf('slow').map((chat) => [attr(chat, 'error.type'), ms(chat.endTime)])).toEqual([['deadline', 1_000]]);

    // The run: partial, the cut angle named, a deadline event; the synthesis after it.
    expect(tree.root.attributes).toMatchObject({ 'fanfold.status': 'partial', 'fanfold.missing': ['slow'], 'fanfold.attempts': result.modelCalls });
    expect(tree.root.events.map((event) => [event.name, ms(event.time)])).toEqual([['fanfold.deadline', 1_000]]);
    expect(tree.root.status.code).toBe(0);
    expect(ms(tree.agent('synthesizer').startTime)).toBeGreaterThanOrEqual(1_000);
  });

  it('a cancel: the run, the agents in flight and their calls end cancelled, at the cancel', async () => {
    const tracing = memoryTracing();
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { b: { hang: true }, c: { hang: true } } });
    const run = runFanOut({ task: 'tides', specialists: [{ id: 'a' }, { id: 'b' }, { id: 'c' }], maxConcurrency: 2 }, { provider, trace: { tracer: tracing.tracer } });
    await vi.advanceTimersByTimeAsync(500);
    run.cancel('user pressed stop');
    const result = await settle(run);
    expect(result.status).toBe('cancelled');
    expect(tracing.openNames()).toEqual([]);
    const tree = spanTree(tracing.spans());
    tree.expectWellFormed();
    expect(tree.root.attributes).toMatchObject({ 'fanfold.status': 'cancelled', 'error.type': 'cancelled' });
    expect(tree.root.status).toMatchObject({ code: 2 });
    expect(tree.root.events.map((event) => event.name)).toEqual(['fanfold.cancelled']);
    // b was in flight (a's slot freed at 100 ms went to c, also hanging): both end at the cancel.
    for (const id of ['b', 'c']) {
      const agent = tree.agent(id);
      expect(agent.attributes).toMatchObject({ 'fanfold.status': 'skipped', 'error.type': 'cancelled' });
      expect(agent.events.map((event) => [event.name, ms(event.time)])).toEqual([['fanfold.cancelled', 500]]);
      expect(tree.childrenOf(agent).map((chat) => [attr(chat, 'error.type'), ms(chat.endTime)])).toEqual([['cancelled', 500]]);
    }
    expect(tree.agent('a').attributes['fanfold.status']).toBe('fulfilled');
  });

  it('a model lead: its own span, its Agent calls as tool spans with the spawns and the join as events, its explorers under it', async () => {
    const tracing = memoryTracing();
    const results = (request: ModelRequest) => {
      const last = request.messages.at(-1)!;
      return typeof last.content === 'string' ? [] : (last.content.filter((block) => block.type === 'tool_result') as Array<{ content: string; is_error?: boolean }>);
    };
    const lead = (request: ModelRequest): ScriptedReply => {
      const turn = request.messages.filter((message) => message.role === 'assistant').length + 1;
      if (turn === 1)
        return {
          toolUse: [
            { name: 'Agent', input: { prompt: 'Research the news.', description: 'News' } },
            { name: 'Agent', input: { prompt: 'Research journals.', description: 'Academic' } },
          ],
          latencyMs: 100,
        };
      if (turn === 2) return { toolUse: [{ name: 'Agent', input: { agent_ids: results(request).map((result) => (JSON.parse(result.content) as { agent_id: string }).agent_id) } }], latencyMs: 100 };
      return { text: 'The answer.', latencyMs: 100 };
    };
    const provider = createScriptedProvider({ reply: (request, call) => (call.caller?.id === 'lead' ? lead(request) : { text: 'a finding', latencyMs: 300 }) });
    const run = runFanOut({ task: 'tides', lead: { model: 'lead-model' }, specialists: [{ id: 'explorer', model: 'explorer-model' }] }, { provider, trace: { tracer: tracing.tracer } });
    const result = await settle(run);
    expect(result.status).toBe('done');
    expect(tracing.openNames()).toEqual([]);
    const tree = spanTree(tracing.spans());
    tree.expectWellFormed();

    const leadSpan = tree.agent('lead');
    expect(tree.parentOf(leadSpan)).toBe(tree.root);
    expect(leadSpan.attributes).toMatchObject({ 'fanfold.agent.kind': 'lead', 'gen_ai.request.model': 'lead-model', 'fanfold.status': 'fulfilled', 'fanfold.turns': 3 });
    const children = tree.childrenOf(leadSpan);
    expect(children.filter((span) => attr(span, 'gen_ai.operation.name') === 'chat')).toHaveLength(3);
    const agentCalls = children.filter((span) => span.name === 'execute_tool Agent').sort((a, b) => ms(a.startTime) - ms(b.startTime));
    expect(agentCalls).toHaveLength(3);
    expect(agentCalls.map((span) => span.attributes['gen_ai.tool.type'])).toEqual(['function', 'function', 'function']);
    // Each spawn is an event on the Agent call that made it; the join's wait and answer on the join's.
    expect(agentCalls.map((span) => span.events.map((event) => [event.name, event.attributes?.['gen_ai.agent.id'] ?? event.attributes?.['fanfold.agent_ids']]))).toEqual([
      [['fanfold.lead.spawned', 'explorer-1']],
      [['fanfold.lead.spawned', 'explorer-2']],
      [
        ['fanfold.lead.joining', ['explorer-1', 'explorer-2']],
        ['fanfold.lead.joined', ['explorer-1', 'explorer-2']],
      ],
    ]);
    // The explorers are the lead's sub-agents, their chats under them.
    for (const id of ['explorer-1', 'explorer-2']) {
      const explorer = tree.agent(id);
      expect(tree.parentOf(explorer)).toBe(leadSpan);
      expect(explorer.attributes).toMatchObject({ 'gen_ai.request.model': 'explorer-model', 'fanfold.agent.kind': 'specialist' });
      expect(tree.childrenOf(explorer).map((span) => span.name)).toEqual(['chat explorer-model']);
    }
    expect(
      tree
        .withOperation('invoke_agent')
        .map((span) => span.name)
        .sort(),
    ).toEqual(['invoke_agent explorer-1', 'invoke_agent explorer-2', 'invoke_agent fanfold', 'invoke_agent lead']);
  });

  it('sub-leads: their specialists and synthesizer under them, each call under its own agent though ids repeat across levels', async () => {
    const tracing = memoryTracing();
    // Every call answers after a latency that depends on its level, so calls of equal ids overlap.
    const provider = createScriptedProvider({ reply: (request) => ({ text: `from ${request.model}`, latencyMs: request.model === 'top-model' ? 200 : 150 }) });
    const subLead = (id: string) => ({ id, model: 'sub-model', specialists: [{ id: 'a' }, { id: 'b' }] });
    const run = runFanOut({ task: 'tides', model: 'top-model', specialists: [{ id: 'a' }, { id: 'b' }, subLead('x'), subLead('y')] }, { provider, trace: { tracer: tracing.tracer } });
    const result = await settle(run);
    expect(result.status).toBe('done');
    expect(tracing.openNames()).toEqual([]);
    const tree = spanTree(tracing.spans());
    tree.expectWellFormed();
    for (const level of ['x', 'y']) {
      const sub = tree.agent(level);
      expect(sub.attributes).toMatchObject({ 'fanfold.agent.kind': 'sub-lead', 'fanfold.status': 'fulfilled' });
      expect(
        tree
          .childrenOf(sub)
          .map((span) => span.attributes['gen_ai.agent.id'])
          .sort(),
      ).toEqual([`${level}/a`, `${level}/b`, `${level}/synthesizer`]);
      expect(tree.childrenOf(tree.agent(`${level}/synthesizer`)).map((span) => span.name)).toEqual(['chat sub-model']);
    }
    // Five agents named `a`-ish… each chat sits under the agent that made it: the models say so.
    for (const chat of tree.withOperation('chat')) expect(attr(chat, 'gen_ai.request.model')).toBe(attr(tree.parentOf(chat)!, 'gen_ai.request.model'));
    expect(tree.withOperation('chat')).toHaveLength(result.modelCalls);
    for (const id of ['a', 'b', 'x/a', 'x/b', 'y/a', 'y/b', 'synthesizer']) expect(tree.childrenOf(tree.agent(id))).toHaveLength(1);
  });

  it('client tools: a span per call under its agent; an error result is an error span', async () => {
    const tracing = memoryTracing();
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks a term up.',
      input: z.object({ term: z.string() }),
      run: ({ term }) => new Promise<string>((resolve, reject) => setTimeout(() => (term === 'bad' ? reject(new Error('no such term')) : resolve(`${term} means x`)), 50)),
    });
    const provider = createScriptedProvider({
      latencyMs: 100,
      reply: (request) =>
        request.messages.length === 1
          ? {
              toolUse: [
                { name: 'lookup', input: { term: 'good' } },
                { name: 'lookup', input: { term: 'bad' } },
              ],
            }
          : { text: 'found' },
    });
    const run = runFanOut({ task: 'tides', specialists: [{ id: 'scout', tools: [lookup] }] }, { provider, trace: { tracer: tracing.tracer } });
    await settle(run);
    const tree = spanTree(tracing.spans());
    tree.expectWellFormed();
    const scout = tree.agent('scout');
    const tools = tree.childrenOf(scout).filter((span) => attr(span, 'gen_ai.operation.name') === 'execute_tool');
    expect(
      tools.map((span) => [
        span.name,
        span.attributes['gen_ai.tool.type'],
        span.attributes['fanfold.turn'],
        span.attributes['error.type'] ?? null,
        span.status.code,
        ms(span.startTime),
        ms(span.endTime),
      ]),
    ).toEqual([
      ['execute_tool lookup', 'function', 1, null, 0, 100, 150],
      ['execute_tool lookup', 'function', 1, 'tool_error', 2, 100, 150],
    ]);
    expect(tools[1]!.status.message).toBe('The tool "lookup" failed: no such term');
    expect(tools.map((span) => span.attributes['gen_ai.tool.call.id'])).toEqual([expect.stringMatching(/^toolu_/), expect.stringMatching(/^toolu_/)]);
  });

  it("content only when asked for, in the conventions' shape, with credentials redacted", async () => {
    const tracing = memoryTracing();
    const secret = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789';
    const provider = createScriptedProvider({ latencyMs: 10, byCaller: { scout: { text: `Found it. Use key ${secret}.` } } });
    const run = runFanOut({ task: `tides (key ${secret})`, specialists: [{ id: 'scout', system: 'You are a scout.' }] }, { provider, trace: { tracer: tracing.tracer, content: true } });
    await settle(run);
    const tree = spanTree(tracing.spans());
    const chat = tree.childrenOf(tree.agent('scout'))[0]!;
    expect(JSON.parse(attr(chat, 'gen_ai.system_instructions') as string)).toEqual([{ type: 'text', content: 'You are a scout.' }]);
    const input = JSON.parse(attr(chat, 'gen_ai.input.messages') as string) as Array<{ role: string; parts: Array<{ type: string; content: string }> }>;
    expect(input[0]!.role).toBe('user');
    expect(input[0]!.parts[0]!.content).toContain('tides (key [redacted])');
    expect(JSON.parse(attr(chat, 'gen_ai.output.messages') as string)).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'Found it. Use key [redacted].' }], finish_reason: 'end_turn' }]);
    expect(JSON.parse(attr(tree.root, 'gen_ai.input.messages') as string)).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'tides (key [redacted])' }] }]);
    expect(JSON.stringify(tracing.spans().map((span) => span.attributes))).not.toContain(secret);
  });

  it('a resumed run: a trace of its own, marked resumed, named by its run id, with what runs again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanfold-tracing-'));
    try {
      const store = createFileCheckpointStore(dir);
      const config: FanOutConfig = { task: 'tides', specialists: [{ id: 'quick' }, { id: 'slow' }] };
      const first = runFanOut(config, { provider: createScriptedProvider({ latencyMs: 100, byCaller: { slow: { hang: true } } }), checkpoint: { store, runId: 'tides-1' }, trace: false });
      await vi.advanceTimersByTimeAsync(200);
      first.suspend('Ctrl-C');
      await settle(first);

      const tracing = memoryTracing();
      const resumed = resumeFanOut('tides-1', { store, provider: createScriptedProvider({ latencyMs: 100 }), trace: { tracer: tracing.tracer } });
      expect((await settle(resumed)).status).toBe('done');
      expect(tracing.openNames()).toEqual([]);
      const tree = spanTree(tracing.spans());
      tree.expectWellFormed();
      expect(tree.root.attributes).toMatchObject({ 'fanfold.resumed': true, 'gen_ai.conversation.id': 'tides-1', 'fanfold.run.id': 'tides-1', 'fanfold.status': 'done' });
      // quick was kept (not called again): only slow and the synthesis ran here.
      expect(
        tree
          .childrenOf(tree.root)
          .map((span) => span.name)
          .sort(),
      ).toEqual(['invoke_agent slow', 'invoke_agent synthesizer']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run that cannot start (its run id is taken): its span ends at once, failed, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanfold-tracing-'));
    try {
      const store = createFileCheckpointStore(dir);
      const provider = createScriptedProvider({ latencyMs: 10 });
      await settle(runFanOut({ task: 'tides', specialists: [{ id: 'a' }] }, { provider, checkpoint: { store, runId: 'taken' }, trace: false }));
      const tracing = memoryTracing();
      expect(() => runFanOut({ task: 'tides', specialists: [{ id: 'a' }] }, { provider, checkpoint: { store, runId: 'taken' }, trace: { tracer: tracing.tracer } })).toThrow();
      expect(tracing.openNames()).toEqual([]);
      const [root, ...rest] = tracing.spans();
      expect(rest).toHaveLength(0);
      expect(root!.name).toBe('invoke_agent fanfold');
      expect(root!.status.code).toBe(2);
      expect(root!.status.message).toMatch(/taken/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('1,000 specialists in flight at once: every span parented and ended, one chat each, under its own agent', async () => {
    const tracing = memoryTracing();
    const provider = createScriptedProvider({ latencyMs: 200 });
    const n = 1_000;
    const run = runFanOut(
      { task: 'bench', specialists: Array.from({ length: n }, (_, i) => ({ id: `s${i}`, model: `model-${i % 7}` })), synthesizer: { run: async ({ outcomes }) => `${outcomes?.length} findings` } },
      { provider, trace: { tracer: tracing.tracer } },
    );
    const result = await settle(run);
    expect(result.status).toBe('done');
    expect(tracing.openNames()).toEqual([]);
    const spans = tracing.spans();
    const tree = spanTree(spans);
    tree.expectWellFormed();
    // The run, n specialists, n chats, and the (task-function) synthesizer.
    expect(spans).toHaveLength(1 + n + n + 1);
    const agents = tree.childrenOf(tree.root);
    expect(agents).toHaveLength(n + 1);
    for (const agent of agents) {
      if (agent.attributes['fanfold.agent.kind'] === 'synthesizer') {
        // A task function: no GenAI provider, no chat.
        expect(agent.attributes['gen_ai.provider.name']).toBeUndefined();
        continue;
      }
      const [chat, ...more] = tree.childrenOf(agent);
      expect(more).toHaveLength(0);
      expect(chat!.name).toBe(`chat ${agent.attributes['gen_ai.request.model']}`);
      expect([ms(chat!.startTime), ms(chat!.endTime)]).toEqual([0, 200]);
    }
  });
});

describe('tracing defaults', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => {
    vi.useRealTimers();
    trace.disable();
  });

  it('uses the global tracer provider, and records nothing (nor wraps anything) without one', async () => {
    const provider = createScriptedProvider({ latencyMs: 10 });
    const untraced = runFanOut({ task: 'tides', specialists: [{ id: 'a' }] }, { provider });
    await settle(untraced);

    const tracing = memoryTracing();
    trace.setGlobalTracerProvider({ getTracer: () => tracing.tracer });
    const traced = runFanOut({ task: 'tides', specialists: [{ id: 'a' }] }, { provider });
    await settle(traced);
    const off = runFanOut({ task: 'tides', specialists: [{ id: 'a' }] }, { provider, trace: false });
    await settle(off);
    // Only the run in between, with a registered provider, left spans.
    expect(
      tracing
        .spans()
        .map((span) => span.name)
        .sort(),
    ).toEqual(['chat claude-sonnet-4-6', 'chat claude-sonnet-4-6', 'invoke_agent a', 'invoke_agent fanfold', 'invoke_agent synthesizer']);
    expect(tracing.spans().every((span) => span.instrumentationScope.name === 'fanfold')).toBe(true);
  });
});
