/**
 * The inspector page in a real headless Chromium (Debian's, at /usr/bin/chromium), driven by
 * playwright-core, while runs execute against the in-process scripted provider. Real timers
 * with small latencies; every wait is on something the page shows, never a fixed sleep.
 * If the browser cannot start, these tests fail.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createWebSocketInspector } from '@statelyai/inspect';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup } from 'xstate';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { combineInspectors, createInspectionRecorder, readRecording } from '../src/inspector/index.ts';
import { researchSpecialists } from './support.ts';
import { inspectorPages } from './inspector-support.ts';

const SCREENSHOTS = 'test-output';

const pages = inspectorPages({ tmpPrefix: 'fanfold-inspector-page-' });
const { startServer, openPage, cleanups } = pages;

const leadState = (page: Page, state: RegExp | string) =>
  page.locator('#machine-state', { hasText: typeof state === 'string' ? new RegExp(`^${state.replace('.', '\\.')}$`) : state }).waitFor({ timeout: 15_000 });

const lane = (page: Page, id: string) => page.locator(`#lanes .lane[data-actor="${id}"]`);
const treeRow = (page: Page, id: string) => page.locator(`#tree .tree-row[data-actor="${id}"]`);

/** What the page shows, as text: the state, the path, the lanes, the actor tree. */
async function visibleView(page: Page) {
  return {
    state: await page.locator('#machine-state').textContent(),
    path: await page.locator('#state-path').textContent(),
    summary: (await page.locator('#summary').textContent())?.replace(/ · [\d.]+ (ms|s)( so far)?/, ''),
    lanes: await page.locator('#lanes .lane').allTextContents(),
    synthesis: await page.locator('#synthesis-lane').textContent(),
    tree: (await page.locator('#tree .tree-row').allTextContents()).map((row) => row.replace(/\d+(\.\d+)? (ms|s)/g, '')),
    digest: await page.evaluate('window.fanfoldInspector.digest()'),
  };
}

describe('inspector page', () => {
  it('shows a run live: the lead synthesizing then done, three specialist lanes, a retry, the event log by actor', async () => {
    const server = await startServer();
    const { page, requests, errors } = await openPage(server);
    const provider = createScriptedProvider({
      latencyMs: 150,
      chunks: 3,
      byCaller: {
        societal: [{ error: { kind: 'server', message: '503 upstream unavailable' }, latencyMs: 60 }, { latencyMs: 150 }],
        // A slow synthesis, so that a person (and this test) sees the lead in `synthesizing`.
        synthesizer: { latencyMs: 800, chunks: 5 },
      },
    });
    const run = runFanOut(
      { task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 10_000, policy: { retry: { initialDelayMs: 30, jitter: 0 } } },
      { provider, inspect: server.inspect },
    );

    await leadState(page, 'synthesizing');
    await page.locator('#chart .state.active[data-state="synthesizing"]').waitFor();
    expect(await page.locator('#chart .state.active[data-state="fanningOut"]').count()).toBe(0);
    expect((await run.result).status).toBe('done');
    await leadState(page, 'done');

    // The statechart: every state, its transitions, the final state highlighted.
    await page.locator('#chart .state.active[data-state="done"]').waitFor();
    for (const state of ['fanningOut', 'fanningOut.dispatching', 'fanningOut.waiting', 'fanningOut.stopping', 'synthesizing', 'partial', 'failed', 'cancelled']) {
      expect(await page.locator(`#chart .state[data-state="${state}"]`).count(), state).toBe(1);
    }
    const chart = await page.locator('#chart').textContent();
    expect(chart).toContain('done: fanOut → synthesizing');
    expect(chart).toContain('run.deadline → stopping [notStopping]');
    expect(await page.locator('#state-path').textContent()).toMatch(/fanningOut\.waiting → synthesizing → done$/);

    // One lane per specialist with its final state; the retry is marked on its lane.
    await expect.poll(() => page.locator('#lanes .lane[data-kind="specialist"]').count()).toBe(3);
    for (const { id } of researchSpecialists) expect(await lane(page, id).getAttribute('data-status'), id).toBe('fulfilled');
    expect(await lane(page, 'societal').textContent()).toContain('2 attempts');
    expect(await lane(page, 'historical').textContent()).toContain('1 attempt');
    const retry = lane(page, 'societal').locator('.mark.retry');
    expect(await retry.count()).toBe(1);
    expect(await retry.getAttribute('title')).toContain('503 upstream unavailable');
    expect(await page.locator('#synthesis-lane .lane').getAttribute('data-status')).toBe('fulfilled');
    expect(await page.locator('#lane-summary').textContent()).toMatch(/3 lanes · up to 3 in parallel · slowest: societal/);
    expect(await page.locator('#lanes .lane.slowest').getAttribute('data-actor')).toBe('societal');

    // The actor tree: lead → fanOut → specialists, the synthesizer, each with its state.
    expect(await treeRow(page, 'lead').locator('.st').textContent()).toBe('done');
    expect(await treeRow(page, 'fanOut').locator('.st').textContent()).toBe('done · 3/3 settled');
    expect(await treeRow(page, 'societal').locator('.attempts').textContent()).toBe('2');
    expect(await treeRow(page, 'synthesizer').locator('.st').textContent()).toBe('fulfilled');
    expect(await treeRow(page, 'historical').locator('.tokens').textContent()).toMatch(/^\d+ \/ \d+$/);

    // The event log, filtered by actor: click the actor in the tree.
    await treeRow(page, 'societal').click();
    await expect.poll(async () => new Set(await page.locator('#log .log-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-actor'))))).toEqual(new Set(['societal']));
    expect(await page.locator('#log').textContent()).toContain('attempt.failed');
    expect(await page.locator('#details').textContent()).toContain('503 upstream unavailable');
    await page.locator('#log-actor').selectOption('');
    await expect.poll(async () => (await page.locator('#log .log-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-actor')))).includes('lead')).toBe(true);
    await treeRow(page, 'societal').click();

    await mkdir(SCREENSHOTS, { recursive: true });
    await page.locator('#log-actor').selectOption('');
    await page.screenshot({ path: `${SCREENSHOTS}/inspector-3.png` });
    // Everything came from the inspector server itself.
    const origin = new URL(server.url).host;
    expect(requests.filter((url) => new URL(url).host !== origin)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('shows why a run went partial — a failed specialist, one cut off by the deadline — with sub-leads, and a recording replays to the same view', async () => {
    const server = await startServer();
    const { page } = await openPage(server);
    const path = join(pages.dir(), 'run.jsonl');
    const recorder = createInspectionRecorder(path);
    const provider = createScriptedProvider({
      latencyMs: 120,
      byCaller: {
        technical: { error: { kind: 'bad_request', message: 'prompt rejected: too long' }, latencyMs: 80 },
        economic: { hang: true },
      },
    });
    const specialists = [
      ...researchSpecialists.slice(0, 2),
      // A sub-lead (N-level fan-out): its own specialists and synthesis.
      { id: 'societal', angle: 'Societal impact', specialists: [{ id: 'energy' }, { id: 'policy' }] },
      { id: 'economic', angle: 'Economics' },
    ];
    const result = await runFanOut({ task: 'nuclear fusion', specialists, deadlineMs: 2_000 }, { provider, inspect: combineInspectors(server.inspect, recorder.inspect) }).result;
    await recorder.close();
    expect(result.status).toBe('partial');

    await leadState(page, 'partial');
    // The failed specialist and its error, on its lane and in the tree.
    await expect.poll(() => lane(page, 'technical').getAttribute('data-status')).toBe('rejected');
    expect(await lane(page, 'technical').locator('.bar-note').textContent()).toBe('bad_request: prompt rejected: too long');
    expect(await treeRow(page, 'technical').locator('.err').textContent()).toBe('bad_request: prompt rejected: too long');
    expect(await treeRow(page, 'technical').locator('.st').textContent()).toBe('rejected');
    // The straggler the deadline cut off: its lane ends in a timeout mark; the lead went through `stopping`.
    expect(await lane(page, 'economic').getAttribute('data-status')).toBe('timedOut');
    expect(await lane(page, 'economic').locator('.mark.end-timeout').count()).toBe(1);
    expect(await lane(page, 'economic').locator('.bar-note').textContent()).toMatch(/^deadline: the run's 2000 ms deadline passed/);
    expect(await page.locator('#state-path').textContent()).toContain('fanningOut.stopping → synthesizing → partial');
    // The sub-lead is a group of lanes, its specialists and its synthesis under it.
    expect(await treeRow(page, 'societal').getAttribute('data-kind')).toBe('lead');
    expect(await lane(page, 'societal').getAttribute('data-status')).toBe('fulfilled');
    expect(await lane(page, 'energy').locator('.lane-name').textContent()).toBe('societal/energy');
    expect(await page.locator('#lanes .lane .lane-name').allTextContents()).toEqual(['historical', 'technical', 'societal', 'societal/energy', 'societal/policy', 'societal/synthesizer', 'economic']);
    expect(await page.locator('#summary').textContent()).toContain('4 specialists (2 fulfilled, 1 rejected, 1 timedOut) + 3 below');
    await page.locator('#chart .state.active[data-state="partial"]').waitFor();
    const live = await visibleView(page);

    // Replay the recording into another server: the same final view.
    const replayServer = await startServer();
    replayServer.replay(await readRecording(path));
    const { page: replayPage } = await openPage(replayServer);
    await leadState(replayPage, 'partial');
    await expect.poll(() => replayPage.locator('#lanes .lane').count()).toBe(7);
    const replayed = await visibleView(replayPage);
    expect(replayed).toEqual(live);
    expect(replayed.lanes.join('\n')).toContain('prompt rejected: too long');
  });

  it('shows any XState app that sends with createWebSocketInspector from @statelyai/inspect', async () => {
    const server = await startServer();
    const { page } = await openPage(server);
    const door = setup({
      types: { context: {} as { opens: number }, events: {} as { type: 'OPEN' } | { type: 'CLOSE' } | { type: 'LOCK' } | { type: 'UNBOLT' } | { type: 'UNLOCK'; key: string } },
      guards: { hasKey: ({ event }) => event.type === 'UNLOCK' && event.key === 'brass' },
    }).createMachine({
      id: 'door',
      context: { opens: 0 },
      initial: 'closed',
      states: {
        closed: { on: { OPEN: { target: 'opened', actions: assign({ opens: ({ context }) => context.opens + 1 }) }, LOCK: 'locked' } },
        opened: { on: { CLOSE: 'closed' } },
        locked: {
          initial: 'bolted',
          states: { bolted: { on: { UNBOLT: 'unbolted' } }, unbolted: {} },
          on: { UNLOCK: { guard: 'hasKey', target: 'closed' } },
        },
      },
    });
    const inspector = createWebSocketInspector({ url: server.wsUrl });
    cleanups.push(() => inspector.stop());
    await expect.poll(() => server.stats.inspectConnections).toBe(1);

    const actor = createActor(door, { inspect: inspector.inspect });
    cleanups.push(() => actor.stop());
    actor.start();
    for (const type of ['OPEN', 'CLOSE', 'LOCK', 'UNBOLT'] as const) actor.send({ type });

    await leadState(page, 'locked.unbolted');
    expect(await page.locator('#machine-name').textContent()).toBe('door');
    await page.locator('#chart .state.active[data-state="locked.unbolted"]').waitFor();
    expect(await page.locator('#chart .state.active[data-state="locked"]').count()).toBe(1);
    expect(await page.locator('#chart .state.active[data-state="opened"]').count()).toBe(0);
    expect(await page.locator('#chart').textContent()).toContain('UNLOCK → closed [hasKey]');
    expect(await page.locator('#state-path').textContent()).toBe('closed → opened → closed → locked.bolted → locked.unbolted');
    const types = await page.locator('#log .log-row .type').allTextContents();
    for (const type of ['OPEN', 'CLOSE', 'LOCK', 'UNBOLT']) expect(types).toContain(type);
    expect(await treeRow(page, 'door').locator('.st').textContent()).toBe('locked.unbolted');

    await page.locator('#log-text').fill('UNBOLT');
    await expect.poll(() => page.locator('#log .log-row.k-event .type').allTextContents()).toEqual(['UNBOLT']);
  });

  it('renders a 1,000-specialist run live and from history, lanes virtualised', async () => {
    const server = await startServer();
    const { page } = await openPage(server);
    const N = 1_000;
    const specialists = Array.from({ length: N }, (_, i) => ({ id: `s-${String(i).padStart(4, '0')}` }));
    const byCaller: Record<string, ScriptedReply | ScriptedReply[]> = {};
    specialists.forEach(({ id }, i) => {
      const latencyMs = 100 + ((i * 7919) % 400);
      byCaller[id] =
        i % 97 === 13
          ? { error: { kind: 'bad_request', message: `rejected prompt #${i}` }, latencyMs }
          : i % 101 === 7
            ? [{ error: { kind: 'server', message: '503' }, latencyMs: 50 }, { latencyMs }]
            : { latencyMs, chunks: 3 };
    });
    const provider = createScriptedProvider({ latencyMs: 200, byCaller });
    const started = Date.now();
    const result = await runFanOut({ task: 'scale', specialists, deadlineMs: 60_000, policy: { retry: { initialDelayMs: 20 } } }, { provider, inspect: server.inspect }).result;
    const runMs = Date.now() - started;
    expect(result.status).toBe('partial');
    const failed = result.outcomes.filter((outcome) => outcome.status === 'rejected').length;

    // The live page catches up with the run.
    const ended = Date.now();
    await leadState(page, 'partial');
    await page.locator('#lane-summary', { hasText: `${N} lanes` }).waitFor({ timeout: 20_000 });
    const liveCatchUpMs = Date.now() - ended;
    expect(await page.locator('#summary').textContent()).toContain(`${N} specialists (${N - failed} fulfilled, ${failed} rejected)`);

    // A fresh page renders the whole history: the time a person waits for the 1,000 view.
    const context = await pages.newContext();
    const fresh = await context.newPage();
    const opened = Date.now();
    await fresh.goto(server.url);
    await leadState(fresh, 'partial');
    await fresh.locator('#lane-summary', { hasText: `${N} lanes` }).waitFor({ timeout: 20_000 });
    await fresh.locator('#tree .tree-row[data-actor="s-0000"]').waitFor();
    const renderMs = Date.now() - opened;
    const pageStats = (await fresh.evaluate('JSON.stringify(window.fanfoldInspector.stats)')) as string;
    const { renders, maxRenderMs, messages } = JSON.parse(pageStats) as { renders: number; maxRenderMs: number; messages: number };
    console.log(
      `1,000-specialist inspector view: run ${runMs} ms, ${server.stats.messages} messages; live page caught up ${liveCatchUpMs} ms after the run; ` +
        `fresh page rendered the full view in ${renderMs} ms (${messages} messages, ${renders} renders, longest render ${Math.round(maxRenderMs)} ms)`,
    );
    expect(renderMs).toBeLessThan(15_000);

    // Virtualised: a screenful of rows in the DOM, not a thousand.
    expect(await fresh.locator('#lanes .lane').count()).toBeLessThan(60);
    expect(await fresh.locator('#tree .tree-row').count()).toBeLessThan(60);
    // Scrolling brings the last lane into view.
    await fresh.locator('#lanes').hover();
    await fresh.mouse.wheel(0, 100_000);
    await lane(fresh, 's-0999').waitFor();
    // Sorted slowest first, the slowest specialist tops the list.
    await fresh.locator('#lane-sort').selectOption('slowest');
    const slowest = /slowest: (s-\d{4})/.exec((await fresh.locator('#lane-summary').textContent()) ?? '')?.[1];
    expect(slowest).toBeDefined();
    await fresh.locator('#lanes').hover();
    await fresh.mouse.wheel(0, -100_000);
    await expect.poll(() => fresh.locator('#lanes .lane').first().getAttribute('data-actor')).toBe(slowest);
    await fresh.locator('#lane-sort').selectOption('order');
    await expect.poll(() => fresh.locator('#lanes .lane').first().getAttribute('data-actor')).toBe('s-0000');
    await mkdir(SCREENSHOTS, { recursive: true });
    await fresh.screenshot({ path: `${SCREENSHOTS}/inspector-1000.png` });
  }, 90_000);
});
