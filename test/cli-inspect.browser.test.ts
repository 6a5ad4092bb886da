/**
 * The CLI's inspection flags end to end: `fanfold research … --inspect --record run.jsonl` prints
 * a URL that a real headless Chromium opens and watches the run on, and `fanfold inspect
 * run.jsonl` replays the recording to the same final view. Model calls go to a loopback
 * simulator through ANTHROPIC_BASE_URL.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.ts';
import { sharedBrowser } from './inspector-support.ts';
import { runNode, watchStdout } from './support.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');

const { browser, closeBrowser } = sharedBrowser();
let sim: Simulator;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanfold-cli-inspect-'));
  // Slow enough that the page sees the run while it happens.
  sim = await startSimulator({ latency: { firstTokenMs: 300, tokensPerSecond: 2000 } });
});
afterEach(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});
afterAll(closeBrowser);

async function page(url: string): Promise<Page> {
  const context = await (await browser()).newContext({ viewport: { width: 1400, height: 900 } });
  const opened = await context.newPage();
  await opened.goto(url);
  return opened;
}

/** The final view a person sees: lead state and one lane per specialist with its status. */
async function finalView(view: Page) {
  await view.locator('#machine-state', { hasText: /^done$/ }).waitFor({ timeout: 20_000 });
  await expect.poll(() => view.locator('#lanes .lane[data-kind="specialist"]').count(), { timeout: 10_000 }).toBe(3);
  const lanes = view.locator('#lanes .lane[data-kind="specialist"]');
  const statuses: Record<string, string | null> = {};
  for (let index = 0; index < 3; index++) statuses[(await lanes.nth(index).getAttribute('data-actor'))!] = await lanes.nth(index).getAttribute('data-status');
  return { state: await view.locator('#machine-state').textContent(), statuses, synthesis: await view.locator('#synthesis-lane .lane').getAttribute('data-status') };
}

describe('fanfold --inspect / --record / inspect', () => {
  it('research --inspect shows the run live in a browser; --record replays to the same final view', async () => {
    const recording = join(dir, 'run.jsonl');
    const env = { ANTHROPIC_API_KEY: 'sk-ant-inspect-test-secret', ANTHROPIC_BASE_URL: sim.url };
    let live: Awaited<ReturnType<typeof finalView>> | undefined;
    let sawSynthesizing = false;
    const run = await runNode([BIN, 'research', 'nuclear fusion', '--inspect', '--record', recording], env, (child) => {
      void watchStdout(child, /Inspector: (http:\/\/127\.0\.0\.1:\d+\/)/).then(async ([, url]) => {
        const view = await page(url!);
        await view.locator('#machine-state', { hasText: /^synthesizing$/ }).waitFor({ timeout: 20_000 });
        sawSynthesizing = true;
        live = await finalView(view);
        child.kill('SIGINT');
      });
    });
    expect(run.code).toBe(0);
    // The first line still says where the calls go; the inspector's URL follows.
    expect(run.stdout.split('\n')[0]).toBe(`Calling the Anthropic API at ${sim.url} (ANTHROPIC_API_KEY is set).`);
    expect(run.stdout.split('\n')[1]).toMatch(/^Inspector: http:\/\/127\.0\.0\.1:\d+\//);
    expect(run.stderr).toContain('The inspector is still serving this run');
    expect(sawSynthesizing).toBe(true);
    expect(live).toEqual({ state: 'done', statuses: { historical: 'fulfilled', technical: 'fulfilled', societal: 'fulfilled' }, synthesis: 'fulfilled' });

    const replay = await runNode([BIN, 'inspect', recording], {}, (child) => {
      void watchStdout(child, /fanfold inspector: (http:\/\/127\.0\.0\.1:\d+\/)/).then(async ([, url]) => {
        expect(await finalView(await page(url!))).toEqual(live);
        child.kill('SIGINT');
      });
    });
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/Replaying \d+ messages from/);
    expect(await readFile(recording, 'utf8')).not.toContain('sk-ant-inspect-test-secret');
  });

  it('a recording that is not one exits 2 naming the file and line', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"type":"@xstate.actor","sessionId":"x:0"}\nnot json\n');
    const { code, stderr } = await runNode([BIN, 'inspect', bad]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${bad}:2: not valid JSON`);
  });
});
