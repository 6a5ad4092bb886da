/**
 * The inspector page against awkward input, in Debian's headless Chromium (/usr/bin/chromium)
 * driven by playwright-core: two XState apps that number their actors alike, the same specialist
 * id under two sub-leads, hostile names, absurd timestamps, and the server's notices.
 * If the browser cannot start, these tests fail.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import type { Page, WebSocketRoute } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import type { InspectorServer } from '../src/inspector/index.ts';
import { inspectorPages } from './inspector-support.ts';

const pages = inspectorPages();
const { startServer, openPage, cleanups } = pages;

/** A raw inspection connection to the server, as any app could open. */
async function rawInspector(server: InspectorServer): Promise<WebSocket> {
  const socket = new WebSocket(server.wsUrl);
  cleanups.push(() => socket.close());
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return socket;
}

/** Whether the page's main thread answers within `ms` (an endless loop never does). */
async function answersWithin(page: Page, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const frozen = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([page.evaluate('1 + 1').then(() => true as const), frozen]);
  } finally {
    clearTimeout(timer);
  }
}

/** Each root the page knows, as `name=state`, in arrival order. */
const roots = (page: Page) =>
  page.evaluate(`(() => {
    const S = window.fanfoldInspector.model();
    return S.roots.map((key) => S.actors.get(key).name + '=' + S.actors.get(key).valueStr);
  })()`) as Promise<string[]>;

const laneNamed = (page: Page, label: string) => page.locator('#lanes .lane', { has: page.locator('.lane-name', { hasText: new RegExp(`^${label}$`) }) });
const logKeys = (page: Page) => page.locator('#log .log-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')));

describe('inspector page robustness', () => {
  it('keeps two XState apps apart when both number their actors from x:0 (each app its own process and connection)', async () => {
    const server = await startServer();
    const { page, errors } = await openPage(server);
    /** An ordinary XState app in its own process: starts its machine on START, sends GO on GO, exits on EXIT. */
    const app = (id: string, states: [string, string]) => {
      const code = `
        import { createInterface } from 'node:readline';
        import { createActor, createMachine } from 'xstate';
        import { createWebSocketInspector } from '@statelyai/inspect';
        const inspector = createWebSocketInspector({ url: ${JSON.stringify(server.wsUrl)} });
        const machine = createMachine({ id: '${id}', initial: '${states[0]}', states: { ${states[0]}: { on: { GO: '${states[1]}' } }, ${states[1]}: {} } });
        let actor;
        createInterface({ input: process.stdin }).on('line', (line) => {
          if (line === 'START') actor = createActor(machine, { inspect: inspector.inspect }).start();
          if (line === 'GO') actor.send({ type: 'GO' });
          if (line === 'EXIT') { inspector.stop(); setTimeout(() => process.exit(0), 100); }
        });`;
      const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: join(import.meta.dirname, '..') });
      child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
      const closed = new Promise((resolve) => child.on('close', resolve));
      cleanups.push(() => child.kill());
      return { say: (line: string) => child.stdin.write(`${line}\n`), closed };
    };

    const alpha = app('alpha', ['idle', 'running']);
    await expect.poll(() => server.stats.inspectConnections, { timeout: 10_000 }).toBe(1);
    alpha.say('START');
    await expect.poll(() => roots(page), { timeout: 10_000 }).toEqual(['alpha=idle']);
    const beta = app('beta', ['off', 'on']);
    await expect.poll(() => server.stats.inspectConnections, { timeout: 10_000 }).toBe(2);
    beta.say('START');
    await expect.poll(() => roots(page), { timeout: 10_000 }).toEqual(['alpha=idle', 'beta=off']);
    // Each app's event moves its own machine only.
    alpha.say('GO');
    await expect.poll(() => roots(page), { timeout: 10_000 }).toEqual(['alpha=running', 'beta=off']);
    beta.say('GO');
    await expect.poll(() => roots(page), { timeout: 10_000 }).toEqual(['alpha=running', 'beta=on']);
    expect(await page.locator('#root-select option').count()).toBe(2);
    alpha.say('EXIT');
    beta.say('EXIT');
    await Promise.all([alpha.closed, beta.closed]);
    expect(errors).toEqual([]);
  }, 40_000);

  it('selects the specialist whose lane is clicked when two sub-leads each have a specialist "a"', async () => {
    const server = await startServer();
    const { page, errors } = await openPage(server);
    const provider = createScriptedProvider({
      latencyMs: 30,
      // Only beta's "a" fails.
      reply: (request, call) => (call.caller?.id === 'a' && JSON.stringify(request).includes('Beta angle') ? { error: { kind: 'bad_request', message: 'BETA-A FAILED' }, latencyMs: 30 } : undefined),
    });
    const specialists = [
      { id: 'alpha', angle: 'Alpha angle', specialists: [{ id: 'a' }, { id: 'b' }] },
      { id: 'beta', angle: 'Beta angle', specialists: [{ id: 'a' }, { id: 'c' }] },
    ];
    await runFanOut({ task: 'duplicate ids', specialists, deadlineMs: 10_000 }, { provider, inspect: server.inspect }).result;
    await page.locator('#machine-state', { hasText: /^(done|partial)$/ }).waitFor({ timeout: 10_000 });
    await laneNamed(page, 'beta/a').waitFor({ timeout: 10_000 });

    const alphaA = laneNamed(page, 'alpha/a'),
      betaA = laneNamed(page, 'beta/a');
    expect(await alphaA.getAttribute('data-actor')).toBe('a');
    expect(await betaA.getAttribute('data-actor')).toBe('a');
    expect(await alphaA.getAttribute('data-status')).toBe('fulfilled');
    expect(await betaA.getAttribute('data-status')).toBe('rejected');
    const alphaKey = await alphaA.getAttribute('data-key'),
      betaKey = await betaA.getAttribute('data-key');
    expect(alphaKey).toBeTruthy();
    expect(betaKey).toBeTruthy();
    expect(betaKey).not.toBe(alphaKey);

    // The log's actor list names each by its sub-lead, and lists each once.
    const options = await page.locator('#log-actor option').allTextContents();
    expect(options.filter((text) => text === 'alpha › a (specialist)')).toHaveLength(1);
    expect(options.filter((text) => text === 'beta › a (specialist)')).toHaveLength(1);
    expect(options.filter((text) => text === 'a (specialist)')).toHaveLength(0);
    const values = await page.locator('#log-actor option').evaluateAll((list) => list.map((option) => option.getAttribute('value')));
    expect(new Set(values).size).toBe(values.length);

    // Clicking beta's "a": its details, its tree row, its lane highlighted, the log filtered to it.
    await betaA.locator('.lane-label').click();
    await expect.poll(() => page.locator('#details-name').textContent()).toMatch(/^beta › a \(specialist, /);
    expect(await page.locator('#details').textContent()).toContain('BETA-A FAILED');
    expect(await page.locator('#tree .tree-row.selected').getAttribute('data-key')).toBe(betaKey);
    expect(await page.locator('#lanes .lane.selected').getAttribute('data-key')).toBe(betaKey);
    expect(await page.locator('#log-actor').inputValue()).toBe(betaKey);
    await expect.poll(async () => new Set(await logKeys(page))).toEqual(new Set([betaKey]));

    // And alpha's "a", the other way round.
    await alphaA.locator('.lane-label').click();
    await expect.poll(() => page.locator('#details-name').textContent()).toMatch(/^alpha › a \(specialist, /);
    expect(await page.locator('#details').textContent()).not.toContain('BETA-A FAILED');
    expect(await page.locator('#details').textContent()).toContain('"state": "fulfilled"');
    expect(await page.locator('#tree .tree-row.selected').getAttribute('data-key')).toBe(alphaKey);
    expect(await page.locator('#lanes .lane.selected').getAttribute('data-key')).toBe(alphaKey);
    expect(await page.locator('#log-actor').inputValue()).toBe(alphaKey);
    await expect.poll(async () => new Set(await logKeys(page))).toEqual(new Set([alphaKey]));
    expect(await page.locator('#log .log-row .actor').first().textContent()).toMatch(/(^|→ )alpha › a$/);

    // The synthesis lane selects the lead's synthesizer.
    await page.locator('#synthesis-lane .lane .lane-label').click();
    await expect.poll(() => page.locator('#details-name').textContent()).toMatch(/^synthesizer \(synthesizer, /);
    expect(errors).toEqual([]);
  });

  it('renders hostile ids, names, event types and error messages as text (no XSS)', async () => {
    const server = await startServer();
    const { page, errors } = await openPage(server);
    const x = '<img src=x onerror="window.__xss=1"></script><script>window.__xss=2</script>';
    const socket = await rawInspector(server);
    const definition = JSON.stringify({ id: x, initial: x, states: { [x]: { on: { [x]: { target: x, guard: x } }, invoke: { src: x, id: x } } } });
    socket.send(JSON.stringify({ type: '@xstate.actor', sessionId: x, name: x, definition, snapshot: { status: 'error', value: x, error: { kind: x, message: x } } }));
    socket.send(JSON.stringify({ type: '@xstate.event', sessionId: x, sourceId: x, event: { type: x, error: { message: x }, id: x } }));
    socket.send(JSON.stringify({ type: '@xstate.snapshot', sessionId: x, event: { type: x }, snapshot: { status: 'done', value: { [x]: x } } }));
    await expect.poll(() => server.stats.messages).toBe(3);

    await expect.poll(() => page.locator('#machine-name').textContent()).toBe(x);
    const row = page.locator('#tree .tree-row').first();
    expect(await row.getAttribute('data-actor')).toBe(x);
    await row.click();
    await expect.poll(() => page.locator('#details-name').textContent()).toContain(x);
    expect(await page.locator('#details').textContent()).toContain(JSON.stringify(x).slice(1, -1));
    expect(await page.locator('#log .log-row .type').allTextContents()).toContain(x);
    expect(await page.locator('#chart').textContent()).toContain(x);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(1);
    expect(errors).toEqual([]);
  });

  it('ignores absurd createdAt values (1.7e308, -1.7e308, Infinity, NaN, empty, year 2255, 1970) and stays responsive', async () => {
    const server = await startServer();
    const { page, errors } = await openPage(server);
    const socket = await rawInspector(server);
    const start = Date.now();
    socket.send(
      JSON.stringify({
        type: '@xstate.actor',
        sessionId: 'r',
        name: 'root',
        createdAt: String(start),
        definition: { id: 'root', initial: 'a', states: { a: { on: { next: 'b' } }, b: {} } },
        snapshot: { status: 'active', value: 'a' },
      }),
    );
    await page.locator('#machine-name', { hasText: /^root$/ }).waitFor();
    const absurd = ['1.7e308', '-1.7e308', 'Infinity', 'NaN', '', '9e15', '1000'];
    for (const [index, createdAt] of absurd.entries()) {
      socket.send(JSON.stringify({ type: '@xstate.event', sessionId: 'r', createdAt, event: { type: `late-${index}` } }));
    }
    socket.send(JSON.stringify({ type: '@xstate.snapshot', sessionId: 'r', createdAt: '1.7e308', event: { type: 'next' }, snapshot: { status: 'active', value: 'b' } }));
    await expect.poll(() => server.stats.messages).toBe(absurd.length + 2);

    await page.locator('#machine-state', { hasText: /^b$/ }).waitFor({ timeout: 5_000 });
    expect(await answersWithin(page, 5_000)).toBe(true);
    await expect.poll(() => page.locator('#log .log-row.k-event').count()).toBe(absurd.length);
    // Every message's time is the previous one's: the log counts milliseconds from the root's start.
    const maxT = (await page.evaluate('window.fanfoldInspector.model().maxT')) as number;
    expect(maxT).toBeGreaterThanOrEqual(start);
    expect(maxT).toBeLessThan(Date.now() + 1_000);
    for (const time of await page.locator('#log .log-row .t').allTextContents()) expect(time).toMatch(/^\+\d+ ms$/);
    const ticks = await page.locator('#axis .tick').allTextContents();
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks.length).toBeLessThanOrEqual(51);
    expect(ticks[0]).toBe('0 ms');
    expect(await page.locator('#summary').textContent()).not.toMatch(/NaN|Infinity|undefined/);
    expect(errors).toEqual([]);
  });

  it("stays responsive when a run's own times (startedAt, endedAt) are absurd", async () => {
    const server = await startServer();
    const { page, errors } = await openPage(server);
    const socket = await rawInspector(server);
    socket.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'r', name: 'root', definition: { id: 'root', initial: 'a', states: { a: {} } }, snapshot: { status: 'active', value: 'a' } }));
    // A specialist-shaped child whose progress and outcome carry times at the edge of a double.
    socket.send(
      JSON.stringify({
        type: '@xstate.actor',
        sessionId: 'c',
        parentId: 'r',
        name: 'c',
        snapshot: {
          status: 'done',
          input: { spec: { id: 'c' } },
          progress: { phase: 'done', attempt: 1, startedAt: 1.7e308 },
          output: { status: 'fulfilled', attempts: 1, startedAt: -1.7e308, endedAt: 1.7e308 },
        },
      }),
    );
    await expect.poll(() => server.stats.messages).toBe(2);
    const lane = page.locator('#lanes .lane[data-actor="c"]');
    await lane.waitFor({ timeout: 5_000 });
    expect(await answersWithin(page, 5_000)).toBe(true);
    expect(await lane.getAttribute('data-status')).toBe('fulfilled');
    expect(await lane.locator('.lane-status').textContent()).toMatch(/^fulfilled · 1 attempt · \d+ ms$/);
    const ticks = await page.locator('#axis .tick').count();
    expect(ticks).toBeGreaterThan(0);
    expect(ticks).toBeLessThanOrEqual(51);
    expect(errors).toEqual([]);
  });

  it("shows the server's notices in a banner, as text: repeats counted, a notice with an id replaced, each dismissable", async () => {
    const server = await startServer();
    let route: WebSocketRoute | undefined;
    const { page, errors } = await openPage(server, (page) =>
      page.routeWebSocket(/\/ui$/, (ws) => {
        ws.connectToServer();
        route = ws;
      }),
    );
    expect(route).toBeDefined();
    const banner = page.locator('#notices');
    expect(await banner.isHidden()).toBe(true);

    const html = '<img src=x onerror="window.__xss=1"> 12 messages were dropped';
    route!.send(JSON.stringify({ type: '@fanfold.notice', level: 'warning', message: html }));
    await banner.waitFor({ state: 'visible' });
    const notices = banner.locator('.notice');
    expect(await notices.count()).toBe(1);
    expect(await notices.first().getAttribute('data-level')).toBe('warning');
    expect(await notices.first().locator('.notice-text').textContent()).toBe(html);
    expect(await page.locator('img').count()).toBe(0);

    // The same notice again is counted; an unknown level is shown as a warning.
    route!.send(JSON.stringify({ type: '@fanfold.notice', level: 'warning', message: html }));
    await expect.poll(() => notices.first().locator('.notice-text').textContent()).toBe(`${html} (×2)`);
    route!.send(JSON.stringify({ type: '@fanfold.notice', level: 'onclick', message: 'odd level' }));
    await expect.poll(() => notices.count()).toBe(2);
    expect(await notices.nth(1).getAttribute('class')).toBe('notice level-warning');

    // {t: 'notice', id}: a later notice with the same id replaces the earlier one.
    route!.send(JSON.stringify({ t: 'notice', id: 'dropped', level: 'error', text: '3 messages were dropped' }));
    await expect.poll(() => notices.count()).toBe(3);
    route!.send(JSON.stringify({ t: 'notice', id: 'dropped', level: 'error', text: '7 messages were dropped' }));
    await expect.poll(() => banner.locator('.notice[data-id="dropped"] .notice-text').allTextContents()).toEqual(['7 messages were dropped']);
    expect(await notices.count()).toBe(3);
    expect(await banner.locator('.notice[data-id="dropped"]').getAttribute('data-level')).toBe('error');

    // Dismissed one by one, the banner goes away.
    for (let left = 3; left > 0; left--) {
      await notices.first().locator('.notice-close').click();
      await expect.poll(() => notices.count()).toBe(left - 1);
    }
    expect(await banner.isHidden()).toBe(true);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('does not take a notice-shaped message from an inspected app for a notice of the server', async () => {
    const server = await startServer();
    const { page, errors } = await openPage(server);
    const socket = await rawInspector(server);
    socket.send(JSON.stringify({ type: '@fanfold.notice', sessionId: 'n', level: 'error', message: 'spoofed' }));
    socket.send(JSON.stringify({ t: 'notice', sessionId: 'n', level: 'error', text: 'spoofed' }));
    // On a connection of its own, in case the server closes one that sent something else.
    (await rawInspector(server)).send(
      JSON.stringify({ type: '@xstate.actor', sessionId: 'after', name: 'after', definition: { id: 'after', initial: 'a', states: { a: {} } }, snapshot: { status: 'active', value: 'a' } }),
    );
    await page.locator('#machine-name', { hasText: /^after$/ }).waitFor({ timeout: 5_000 });
    expect(await page.locator('#notices .notice').count()).toBe(0);
    expect(await page.locator('#notices').isHidden()).toBe(true);
    expect(errors).toEqual([]);
  });
});
