/**
 * Helpers shared by the inspector's tests: raw HTTP and websocket probes, waiting on a
 * condition, and one headless Chromium per test file.
 */
import { request } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { expect } from 'vitest';
import WebSocket from 'ws';

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
