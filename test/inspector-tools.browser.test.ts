/**
 * Specialists' tool-use loops in the inspector page, in Debian's headless Chromium
 * (/usr/bin/chromium) driven by playwright-core: tool calls marked on each lane (client and
 * server tools, errors, a call still running), the selected specialist's transcript, secrets
 * redacted on the page and in recordings, a recording replaying to the same marks and
 * transcripts, and the page's bounds with a specialist that makes hundreds of calls.
 * Real timers with small latencies; every wait is on something the page shows, and the
 * "running" state is held by a tool that waits for the test, never by a sleep.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { defineTool, runFanOut, type ModelProvider, type ModelRequest } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { combineInspectors, createInspectionRecorder, readRecording } from '../src/inspector/index.ts';
import { inspectorPages } from './inspector-support.ts';
import { researchSpecialists } from './support.ts';

const SECRET = 'sk-ant-secret-0123456789abcdefghijklmnopqrstuvwxyz';

const pages = inspectorPages({ tmpPrefix: 'fanfold-inspector-tools-' });
const { startServer, openPage, cleanups } = pages;

const lane = (page: Page, id: string) => page.locator(`#lanes .lane[data-actor="${id}"]`);
const leadState = (page: Page, state: string) => page.locator('#machine-state', { hasText: new RegExp(`^${state}$`) }).waitFor({ timeout: 15_000 });

/** A lane's tool marks as text: class, tool, title. */
const marksOf = (page: Page, id: string) =>
  lane(page, id)
    .locator('.tool')
    .evaluateAll((marks) => marks.map((mark) => `${mark.className} | ${mark.getAttribute('data-tool')} | ${mark.getAttribute('title')}`));

/** Selects a specialist by its lane and returns the transcript's text once it shows `expected`. */
async function transcriptOf(page: Page, id: string, expected: RegExp): Promise<string> {
  await lane(page, id).locator('.lane-label').click();
  await expect.poll(() => page.locator('#details-name').textContent()).toMatch(new RegExp(`^${id} \\(specialist, `));
  await page.locator('#transcript', { hasText: expected }).waitFor({ timeout: 10_000 });
  return (await page.locator('#transcript').textContent()) ?? '';
}

/** A gate a tool waits at until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('inspector page: tool-using specialists', () => {
  it("marks every tool call on its lane (client, server, failed, running) and shows the selected specialist's transcript; a recording replays to the same", async () => {
    const server = await startServer();
    const { page, errors } = await openPage(server);
    const path = join(pages.dir(), 'run.jsonl');
    const recorder = createInspectionRecorder(path);
    const held = gate();
    cleanups.push(held.open);

    const search = defineTool({
      name: 'search',
      description: 'Searches the archive.',
      input: z.object({ q: z.string() }),
      // The historical specialist's search waits for the test: it shows as running meanwhile.
      run: async ({ q }) => {
        if (q.startsWith('historical')) await held.wait;
        return `results for ${q}`;
      },
    });
    const fetchPage = defineTool({
      name: 'fetch_page',
      description: 'Fetches a page.',
      input: z.object({ url: z.string() }),
      run: ({ url }) => {
        if (url.includes('broken')) throw new Error('404 at https://broken.example');
        return `page ${url}: ok`;
      },
    });
    const scripted = createScriptedProvider({
      reply: (request: ModelRequest, call) => {
        const id = call.caller?.id ?? '?';
        if (!request.tools) return { latencyMs: 40 };
        if (request.messages.length === 1) {
          // The societal specialist's query holds a key: it must show redacted everywhere.
          const q = id === 'societal' ? `societal key ${SECRET}` : `${id} query`;
          return {
            text: `Turn 1 of ${id}: looking things up.`,
            toolUse: [
              { name: 'search', input: { q } },
              { name: 'fetch_page', input: { url: id === 'technical' ? 'https://broken.example' : `https://${id}.example` } },
            ],
            latencyMs: 40,
          };
        }
        return { text: `Finding of ${id}.`, latencyMs: 40 };
      },
    });
    // The societal specialist's first turn also runs a server tool inside its model call.
    const provider: ModelProvider = {
      name: 'scripted',
      stream: (request, options) => {
        const serverTool = options.caller?.id === 'societal' && options.caller.turn === 1;
        if (serverTool) options.onServerTool?.({ phase: 'started', id: 'srvtoolu_1', name: 'web_search', input: { query: 'fusion history' } });
        let told = false;
        return scripted.stream(request, {
          ...options,
          onText: (text) => {
            if (serverTool && !told) {
              told = true;
              options.onServerTool?.({
                phase: 'done',
                id: 'srvtoolu_1',
                name: 'web_search',
                isError: false,
                error: null,
                content: [{ type: 'web_search_result', title: 'Fusion, a history', url: 'https://example.org/fusion' }],
              });
            }
            options.onText?.(text);
          },
        });
      },
    };
    const specialists = researchSpecialists.map((spec) => ({ ...spec, tools: [search, fetchPage] }));
    const run = runFanOut({ task: 'nuclear fusion', specialists, deadlineMs: 20_000 }, { provider, inspect: combineInspectors(server.inspect, recorder.inspect) });

    // While the held search runs: its mark is running, the transcript says so.
    await lane(page, 'historical').locator('.tool.running[data-tool="search"]').waitFor({ timeout: 10_000 });
    const running = await transcriptOf(page, 'historical', /search · client tool · running/);
    expect(running).toContain('turn 1');
    expect(await page.locator('#details-box').getAttribute('open')).not.toBeNull();
    held.open();
    expect((await run.result).status).toBe('done');
    await recorder.close();
    await leadState(page, 'done');

    // Each lane: one mark per tool call, the failed one marked, the server tool apart.
    for (const { id } of researchSpecialists) await expect.poll(() => lane(page, id).getAttribute('data-status'), { message: id }).toBe('fulfilled');
    await expect.poll(() => lane(page, 'historical').locator('.tool.running').count()).toBe(0);
    expect(await lane(page, 'historical').locator('.tool').count()).toBe(2);
    expect(await lane(page, 'technical').locator('.tool').count()).toBe(2);
    expect(await lane(page, 'societal').locator('.tool').count()).toBe(3);
    expect(await lane(page, 'societal').locator('.tool.server').count()).toBe(1);
    expect(await lane(page, 'societal').locator('.tool.server').getAttribute('data-tool')).toBe('web_search');
    expect(await lane(page, 'historical').locator('.tool.client').count()).toBe(2);
    for (const id of ['historical', 'societal']) expect(await lane(page, id).locator('.tool.error').count(), id).toBe(0);
    const failed = lane(page, 'technical').locator('.tool.error');
    expect(await failed.count()).toBe(1);
    expect(await failed.getAttribute('data-tool')).toBe('fetch_page');
    expect(await failed.getAttribute('title')).toMatch(/^fetch_page · client tool · \d+ ms · error: The tool "fetch_page" failed: 404 at https:\/\/broken\.example$/);
    expect(await lane(page, 'historical').locator('.tool[data-tool="search"]').getAttribute('title')).toMatch(/^search · client tool · \d+ ms$/);
    // Turn ends: two turns each.
    for (const { id } of researchSpecialists) expect(await lane(page, id).locator('.turn-tick').count(), id).toBe(2);
    expect(await lane(page, 'technical').locator('.lane-status').textContent()).toMatch(/^fulfilled · 2 attempts · [\d.]+ m?s · 2 tool calls \(1 failed\)$/);

    // The technical specialist's transcript: both turns, each call with its input and result or error, the outcome's summary.
    const technical = await transcriptOf(page, 'technical', /Transcript · fulfilled/);
    expect(technical).toContain('Transcript · fulfilled · 2 turns · last stop: end_turn · loop limit: none · 2 tool calls (1 failed)');
    // Selected from its lane: its tree row is selected and in view, though the details pane opened under the tree.
    expect(await page.locator('#tree .tree-row.selected').getAttribute('data-actor')).toBe('technical');
    const turns = page.locator('#transcript .tx-turn');
    expect(await turns.count()).toBe(2);
    expect(await turns.nth(0).locator('.tx-turn-head').textContent()).toMatch(/^turn 1 · .+ · stop: tool_use · 2 tool uses · \d+ \/ \d+ tokens$/);
    expect(await turns.nth(0).locator('.tx-text').textContent()).toBe('Turn 1 of technical: looking things up.');
    expect(await turns.nth(1).locator('.tx-turn-head').textContent()).toMatch(/^turn 2 · .+ · stop: end_turn/);
    expect(await turns.nth(1).locator('.tx-text').textContent()).toBe('Finding of technical.');
    const calls = turns.nth(0).locator('.tx-call');
    expect(await calls.evaluateAll((list) => list.map((call) => call.getAttribute('data-tool')))).toEqual(['search', 'fetch_page']);
    expect(await calls.nth(0).locator('.tx-call-head').textContent()).toMatch(/^search · client tool · \d+ ms · ok$/);
    expect(await calls.nth(0).locator('.tx-input').textContent()).toBe('{"q":"technical query"}');
    expect(await calls.nth(0).locator('.tx-result').textContent()).toBe('results for technical query');
    expect(await calls.nth(1).getAttribute('class')).toBe('tx-call client error');
    expect(await calls.nth(1).locator('.tx-input').textContent()).toBe('{"url":"https://broken.example"}');
    expect(await calls.nth(1).locator('.tx-error').textContent()).toBe('The tool "fetch_page" failed: 404 at https://broken.example');
    expect(await turns.nth(1).locator('.tx-call').count()).toBe(0);

    // The societal specialist: the server tool in turn 1, its key redacted in input and result.
    const societal = await transcriptOf(page, 'societal', /Transcript · fulfilled/);
    expect(societal).toContain('3 tool calls');
    await mkdir('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/inspector-tools.png' });
    const societalCalls = page.locator('#transcript .tx-turn').nth(0).locator('.tx-call');
    expect(await societalCalls.evaluateAll((list) => list.map((call) => `${call.getAttribute('data-tool')} ${call.className}`))).toEqual([
      'web_search tx-call server',
      'search tx-call client',
      'fetch_page tx-call client',
    ]);
    expect(await societalCalls.nth(0).locator('.tx-input').textContent()).toBe('{"query":"fusion history"}');
    expect(await societalCalls.nth(0).locator('.tx-result').textContent()).toContain('Fusion, a history');
    expect(await societalCalls.nth(1).locator('.tx-input').textContent()).toBe('{"q":"societal key [redacted]"}');
    expect(await societalCalls.nth(1).locator('.tx-result').textContent()).toBe('results for societal key [redacted]');
    expect(await page.content()).not.toContain(SECRET);
    expect(await page.evaluate(`JSON.stringify([...window.fanfoldInspector.model().actors.values()].map((a) => a.tx && window.fanfoldInspector.transcript(a.key)))`)).not.toContain(SECRET);

    // The recording: the key redacted there too.
    const recording = await readFile(path, 'utf8');
    expect(recording).not.toContain(SECRET);
    expect(recording).toContain('societal key [redacted]');
    expect(recording).toContain('specialist.tool.done');

    // Replayed: the same marks and transcripts.
    const live: Record<string, { marks: string[]; transcript: string }> = {};
    for (const { id } of researchSpecialists) live[id] = { marks: await marksOf(page, id), transcript: await transcriptOf(page, id, /Transcript · fulfilled/) };
    const replayServer = await startServer();
    replayServer.replay(await readRecording(path));
    const { page: replayPage, errors: replayErrors } = await openPage(replayServer);
    await leadState(replayPage, 'done');
    for (const { id } of researchSpecialists) {
      await expect.poll(() => marksOf(replayPage, id), { message: id }).toEqual(live[id]!.marks);
      expect(await transcriptOf(replayPage, id, /Transcript · fulfilled/), id).toBe(live[id]!.transcript);
    }
    expect(live['technical']!.marks).toHaveLength(2);
    expect(await replayPage.content()).not.toContain(SECRET);
    expect(errors).toEqual([]);
    expect(replayErrors).toEqual([]);
  });

  it('renders 1,000 tool-using specialists (2 tools each, every 10th failing) live and from history, lanes virtualised', async () => {
    const server = await startServer();
    const { page, errors } = await openPage(server);
    const N = 1_000;
    const lookup = defineTool({ name: 'lookup', description: 'Looks up.', input: z.object({ n: z.number() }), run: ({ n }) => `found ${n}` });
    const check = defineTool({
      name: 'check',
      description: 'Checks.',
      input: z.object({ n: z.number() }),
      run: ({ n }) => {
        if (n % 10 === 0) throw new Error(`check ${n} failed`);
        return 'ok';
      },
    });
    const provider = createScriptedProvider({
      reply: (request, call) => {
        if (!request.tools) return { latencyMs: 20 };
        const n = Number(call.caller?.id.slice(2));
        return request.messages.length === 1
          ? {
              toolUse: [
                { name: 'lookup', input: { n } },
                { name: 'check', input: { n } },
              ],
              latencyMs: 20 + (n % 50),
            }
          : { text: `finding ${n}`, latencyMs: 20 };
      },
    });
    const specialists = Array.from({ length: N }, (_, i) => ({ id: `s-${String(i).padStart(4, '0')}`, tools: [lookup, check] }));
    const result = await runFanOut({ task: 'scale', specialists, deadlineMs: 60_000 }, { provider, inspect: server.inspect }).result;
    expect(result.status).toBe('done');
    await leadState(page, 'done');
    await page.locator('#lane-summary', { hasText: `${N} lanes` }).waitFor({ timeout: 20_000 });

    const context = await pages.newContext();
    const fresh = await context.newPage();
    const opened = Date.now();
    await fresh.goto(server.url);
    await leadState(fresh, 'done');
    await fresh.locator('#lane-summary', { hasText: `${N} lanes` }).waitFor({ timeout: 20_000 });
    await lane(fresh, 's-0000').locator('.tool').nth(1).waitFor();
    const renderMs = Date.now() - opened;
    const { maxRenderMs, messages } = JSON.parse((await fresh.evaluate('JSON.stringify(window.fanfoldInspector.stats)')) as string) as { maxRenderMs: number; messages: number };
    console.log(
      `1,000 tool-using specialists: ${server.stats.messages} messages; a fresh page rendered the view in ${renderMs} ms (${messages} messages, longest render ${Math.round(maxRenderMs)} ms)`,
    );
    expect(renderMs).toBeLessThan(15_000);
    // Only lanes in view are drawn, and their marks.
    const drawn = await fresh.locator('#lanes .lane').count();
    expect(drawn).toBeLessThan(60);
    expect(await fresh.locator('#lanes .tool').count()).toBe(drawn * 2);
    expect(await lane(fresh, 's-0000').locator('.tool.error').count()).toBe(1);
    expect(await lane(fresh, 's-0001').locator('.tool.error').count()).toBe(0);
    await fresh.locator('#lanes').hover();
    await fresh.mouse.wheel(0, 100_000);
    await lane(fresh, 's-0999').waitFor();
    expect(await lane(fresh, 's-0990').locator('.tool.error[data-tool="check"]').count()).toBe(1);
    await lane(fresh, 's-0990').locator('.lane-label').click();
    await fresh.locator('#transcript', { hasText: 'The tool "check" failed: check 990 failed' }).waitFor();
    expect(await fresh.locator('#transcript .tx-turn').count()).toBe(2);
    expect(await fresh.evaluate(`window.fanfoldInspector.transcript('s-0990').view.total`)).toEqual({ turns: 2, calls: 2, errors: 1, server: 0, running: 0 });
    expect(errors).toEqual([]);
  }, 90_000);

  it('redacts and bounds what arrives from elsewhere: secrets, hostile text, hundreds of calls', async () => {
    const server = await startServer();
    const { page, errors } = await openPage(server);
    const socket = new WebSocket(server.wsUrl);
    cleanups.push(() => socket.close());
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const t0 = Date.now();
    const at = (ms: number) => String(t0 + ms);
    const x = '<img src=x onerror="window.__xss=1">';
    socket.send(
      JSON.stringify({
        type: '@xstate.actor',
        sessionId: 'l',
        name: 'lead',
        createdAt: at(0),
        definition: { id: 'lead', initial: 'fanningOut', states: { fanningOut: {}, done: { type: 'final' } } },
        snapshot: { status: 'active', value: 'fanningOut', context: { input: {}, outcomes: [], startedAt: t0 } },
      }),
    );
    socket.send(
      JSON.stringify({
        type: '@xstate.actor',
        sessionId: 'f',
        parentId: 'l',
        name: 'fanOut',
        createdAt: at(1),
        snapshot: { status: 'active', nextIndex: 2, outcomes: [null, null], running: 2, fulfilled: 0, unsuccessful: 0 },
      }),
    );
    for (const id of ['leaky', 'busy']) {
      socket.send(
        JSON.stringify({
          type: '@xstate.actor',
          sessionId: `s-${id}`,
          parentId: 'f',
          name: id,
          createdAt: at(2),
          snapshot: { status: 'active', input: { spec: { id, angle: id, kind: 'model' } }, progress: { phase: 'tooling', attempt: 1, startedAt: t0, turn: 1 } },
        }),
      );
    }
    // Unredacted, as a recording from elsewhere might hold: the server redacts secret-looking
    // values; the page also redacts values under secret-looking keys in JSON text.
    const leaky = [
      { type: 'specialist.tool.started', id: 'leaky', tool: x, callId: 'toolu_1', turn: 1, server: false, input: JSON.stringify({ q: `find ${SECRET}`, password: 'hunter2' }), at: t0 + 10 },
      {
        type: 'specialist.tool.done',
        id: 'leaky',
        tool: x,
        callId: 'toolu_1',
        turn: 1,
        server: false,
        ms: 30,
        isError: true,
        error: `${x} failed with ${SECRET}`,
        result: `Authorization: Bearer abcdefghijklmnop ${x}`,
        at: t0 + 40,
      },
      {
        type: 'specialist.turn',
        id: 'leaky',
        turn: 1,
        model: 'm',
        stopReason: 'tool_use',
        toolUses: 1,
        final: false,
        text: `I will use ${SECRET} ${x}`,
        usage: { inputTokens: 10, outputTokens: 5 },
        at: t0 + 5,
      },
    ];
    // 300 calls in 150 turns: more than the page keeps per specialist.
    const busy = Array.from({ length: 150 }, (_, turn) => [
      { type: 'specialist.turn', id: 'busy', turn: turn + 1, model: 'm', stopReason: 'tool_use', toolUses: 2, final: false, text: `turn ${turn + 1}`, usage: {}, at: t0 + turn * 10 },
      ...[1, 2].flatMap((n) => [
        { type: 'specialist.tool.started', id: 'busy', tool: 'search', callId: `b${turn}-${n}`, turn: turn + 1, server: n === 2, input: '{}', at: t0 + turn * 10 + 1 },
        {
          type: 'specialist.tool.done',
          id: 'busy',
          tool: 'search',
          callId: `b${turn}-${n}`,
          turn: turn + 1,
          server: n === 2,
          ms: 3,
          isError: turn % 50 === 0 && n === 1,
          error: null,
          result: 'ok',
          at: t0 + turn * 10 + 4,
        },
      ]),
    ]).flat();
    const events = [...leaky, ...busy];
    for (let from = 0; from < events.length; from += 128) {
      socket.send(
        JSON.stringify({
          type: '@xstate.event',
          sessionId: 'l',
          sourceId: 'f',
          createdAt: at(50),
          event: { type: 'fanOut.progress', events: events.slice(from, from + 128), settled: [], allStarted: true },
        }),
      );
    }
    const sent = 2 + 2 + Math.ceil(events.length / 128);
    await expect.poll(() => server.stats.messages).toBe(sent);
    // What the server keeps (and /messages.jsonl serves) has the secret-looking values redacted.
    const kept = JSON.stringify(server.messages());
    expect(kept).not.toContain(SECRET);
    expect(kept).not.toContain('Bearer abcdefghijklmnop');
    expect(kept).toContain('find [redacted]');

    const text = await transcriptOf(page, 'leaky', /turn 1/);
    expect(text).toContain('find [redacted]');
    expect(text).toContain('"password":"[redacted]"');
    expect(text).not.toContain('hunter2');
    expect(text).toContain('I will use [redacted]');
    expect(text).toContain('failed with [redacted]');
    expect(text).toContain(x);
    expect(await page.locator('#transcript .tx-call').getAttribute('data-tool')).toBe(x);
    expect(await lane(page, 'leaky').locator('.tool.error').getAttribute('title')).toBe(`${x} · client tool · 30 ms · error: ${x} failed with [redacted]`);
    expect(await page.content()).not.toContain(SECRET);
    expect(await page.content()).not.toContain('hunter2');
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);

    // Hundreds of calls: the lane draws a bounded number of marks (neighbours merged), the
    // transcript keeps its last entries and says how many came before.
    await expect.poll(() => page.evaluate(`window.fanfoldInspector.transcript('busy').view.total.calls`)).toBe(300);
    const busyText = await transcriptOf(page, 'busy', /Transcript · tooling · turn 1 · 300 tool calls \(3 failed\)/);
    expect(busyText).toMatch(/…350 earlier entries \(not kept: 84 turns, 168 tool calls, 2 failed\)/);
    expect(await page.locator('#transcript .tx-turn').count()).toBe(34);
    expect(await page.locator('#transcript .tx-call').count()).toBe(66);
    expect(await page.locator('#transcript .tx-turn').last().getAttribute('data-turn')).toBe('150');
    const marks = await lane(page, 'busy').locator('.tool').count();
    expect(marks).toBeGreaterThanOrEqual(64);
    expect(marks).toBeLessThanOrEqual(128);
    const covered = await lane(page, 'busy')
      .locator('.tool')
      .evaluateAll((list) => list.reduce((sum, mark) => sum + Number(mark.getAttribute('data-calls')), 0));
    expect(covered).toBe(300);
    expect(await lane(page, 'busy').locator('.tool.error').count()).toBeGreaterThanOrEqual(1);
    expect(await lane(page, 'busy').locator('.turn-tick').count()).toBeLessThanOrEqual(128);
    expect(errors).toEqual([]);
  });
});
