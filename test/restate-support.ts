/**
 * Helpers for the Restate tests: a real `restate-server` (from the npm package) on loopback
 * with ephemeral ports and a temporary base dir, and `fanfold serve --restate` as a real child
 * process, so a test can SIGKILL it and start it again on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { watchStdout } from './support.ts';

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The restate-server binary the npm package ships for this platform. */
export function restateServerBinary(): string {
  const require = createRequire(import.meta.url);
  const name = `@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`;
  try {
    return require.resolve(name);
  } catch {
    throw new Error(`restate-server binary not found (${name}): install the devDependency @restatedev/restate-server (npm ci)`);
  }
}

/** A running Restate server. */
export interface RestateServer {
  adminUrl: string;
  ingressUrl: string;
  /** What it printed on stderr (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number, failed: () => string | null): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const failure = failed();
    if (failure) throw new Error(failure);
    if (await check().catch(() => false)) return;
    if (Date.now() > giveUpAt) throw new Error(`${what} was not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function killAndWait(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/**
 * Starts `restate-server` on loopback: ingress, admin and node ports all free ones, state in a
 * fresh temp dir. Throws (failing the test, never skipping it) if it cannot start.
 */
export async function startRestateServer(): Promise<RestateServer> {
  const binary = restateServerBinary();
  const [ingressPort, adminPort, nodePort] = [await freePort(), await freePort(), await freePort()];
  const baseDir = await mkdtemp(join(tmpdir(), 'fanfold-restate-'));
  let stderr = '';
  let exit: string | null = null;
  const child = spawn(binary, ['--base-dir', baseDir, '--node-name', 'fanfold-test', '--no-logo', '--listen-mode', 'tcp'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingressPort}`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${adminPort}`,
      RESTATE_BIND_ADDRESS: `127.0.0.1:${nodePort}`,
      RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${nodePort}/`,
      RESTATE_DISABLE_TELEMETRY: 'true',
      RESTATE_LOG_DISABLE_ANSI_CODES: 'true',
      // Few partitions: faster start on a small machine.
      RESTATE_DEFAULT_NUM_PARTITIONS: '4',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  child.on('error', (error) => (exit = `restate-server could not be started (${binary}): ${error.message}`));
  child.on('exit', (code, signal) => (exit ??= `restate-server exited during start-up (code ${code}, signal ${signal}):\n${stderr.slice(-3000)}`));
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const ingressUrl = `http://127.0.0.1:${ingressPort}`;
  const stop = async () => {
    await killAndWait(child);
    await rm(baseDir, { recursive: true, force: true });
  };
  try {
    await waitUntil(async () => (await fetch(`${adminUrl}/health`)).ok, 'restate-server admin API', 30_000, () => exit);
    await waitUntil(async () => (await fetch(`${ingressUrl}/restate/health`)).ok, 'restate-server ingress', 30_000, () => exit);
  } catch (error) {
    await stop();
    throw error;
  }
  return { adminUrl, ingressUrl, log: () => stderr, stop };
}

/** A running `fanfold serve --restate` process. */
export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const CLI = new URL('../bin/fanfold.js', import.meta.url).pathname;

/** Starts `node bin/fanfold.js serve --restate --port <port>` with `env` (plus PATH and HOME). */
export async function startService(port: number, env: Record<string, string>, extraArgs: string[] = []): Promise<ServiceProcess> {
  if (!existsSync(new URL('../dist/src/restate/service.js', import.meta.url))) throw new Error('dist/ is missing the Restate service: run `npm run build` first');
  const child = spawn(process.execPath, [CLI, 'serve', '--restate', '--port', String(port), ...extraArgs], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_resolve, reject) => child.once('exit', (code) => reject(new Error(`fanfold serve exited with ${code}:\n${output}`))));
  const listening = await Promise.race([watchStdout(child, /listening on (http:\/\/\S+)/), exited]);
  exited.catch(() => {});
  return { url: listening[1]!, child, output: () => output, kill: (signal = 'SIGKILL') => killAndWait(child, signal) };
}

/** Polls `read` until `check` holds (a condition, not a sleep); returns the last value. */
export async function pollUntil<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
