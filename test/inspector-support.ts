/**
 * Helpers shared by the inspector's tests: raw HTTP and websocket probes, waiting on a
 * condition, one headless Chromium per test file, and the harness of a page test file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import WebSocket from 'ws';
import { startInspectorServer, type InspectorServer } from '../src/inspector/index.ts';

/** Waits until `condition` holds (polling), failing with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await expect.poll(condition, { timeout: timeoutMs, interval: 20, message: what }).toBe(true);
}

/** GET with an explicit Host header (fetch would not let us set it). */
export function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether a websocket opens, and the HTTP status if it was refused. */
export function openSocket(url: string, headers: Record<string, string> = {}): Promise<{ opened: boolean; status?: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers });
    socket.on('open', () => {
      socket.close();
      resolve({ opened: true });
    });
    socket.on('unexpected-response', (_req, res) => {
      resolve({ opened: false, status: res.statusCode ?? 0 });
      socket.terminate();
    });
    socket.on('error', () => resolve({ opened: false }));
  });
}

/** Debian's Chromium, as the machine and CI install it. */
export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'];

/**
 * One browser per test file, started by the first test that needs it: a failure to start fails
 * that test (never skips it). Close it with `closeBrowser` in `afterAll`.
 */
export function sharedBrowser(): { browser: () => Promise<Browser>; closeBrowser: () => Promise<void> } {
  let launching: Promise<Browser> | undefined;
  return {
    browser: () =>
      (launching ??= chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 }).catch((error: unknown) => {
        throw new Error(`Could not start Chromium at ${CHROMIUM} (on Debian: apt-get install chromium): ${(error as Error).message}`);
      })),
    closeBrowser: async () => {
      const started = await launching?.catch(() => undefined);
      await started?.close();
    },
  };
}

/** An opened inspector page, the URLs it requested (websockets included) and its script errors. */
export interface OpenedPage {
  page: Page;
  requests: string[];
  errors: string[];
}

/**
 * The harness of an inspector page test file: one browser for the file; inspector servers, page
 * contexts and `cleanups` stopped after each test; with `tmpPrefix`, a fresh temp folder per
 * test (`dir()`), removed after it.
 */
export function inspectorPages(options: { tmpPrefix?: string } = {}) {
  const { browser, closeBrowser } = sharedBrowser();
  const servers: InspectorServer[] = [];
  const contexts: BrowserContext[] = [];
  const cleanups: Array<() => unknown> = [];
  let dir = '';
  if (options.tmpPrefix) {
    const prefix = options.tmpPrefix;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), prefix));
    });
  }
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = '';
  });
  afterAll(closeBrowser);

  /** A new browser context, closed after the test. */
  const newContext = async (viewport = { width: 1400, height: 900 }): Promise<BrowserContext> => {
    const context = await (await browser()).newContext({ viewport });
    contexts.push(context);
    return context;
  };

  return {
    browser,
    cleanups,
    newContext,
    /** This test's temp folder (with `tmpPrefix`). */
    dir: () => dir,
    /** An inspector server on loopback, stopped after the test. */
    async startServer(): Promise<InspectorServer> {
      const server = await startInspectorServer({ log: () => {} });
      servers.push(server);
      return server;
    },
    /** Opens the page and waits for its live feed. `beforeLoad` runs first (e.g. to route its websocket). */
    async openPage(server: InspectorServer, beforeLoad?: (page: Page) => Promise<void>): Promise<OpenedPage> {
      const context = await newContext();
      const page = await context.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      page.on('websocket', (socket) => requests.push(socket.url()));
      page.on('pageerror', (error) => errors.push(error.message));
      await beforeLoad?.(page);
      await page.goto(server.url);
      await page.locator('#conn', { hasText: /^live/ }).waitFor({ timeout: 10_000 });
      return { page, requests, errors };
    },
  };
}
