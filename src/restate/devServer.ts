/**
 * A throwaway `restate-server` for tests, benchmarks and examples: the binary the npm package
 * `@restatedev/restate-server` ships (a devDependency), on loopback with free ports for ingress,
 * admin and node-to-node traffic, its state in a fresh temp dir removed on stop. Production
 * deployments run their own server; this is only for trying things on one machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FanfoldError } from '../errors.ts';

/**
 * Ports handed out by {@link freePort}: below Linux's default ephemeral range (32768–60999),
 * which every outgoing connection and every `listen(0)` draws from. A port picked there can be
 * taken by someone else's connection between our check and the server's bind (seen in CI:
 * restate-server failing with "Address in use"); a port below it only by another listener.
 */
const PORT_RANGE = { from: 20_000, to: 32_000 } as const;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port nobody listens on right now (on 127.0.0.1), outside the ephemeral range so that a
 * process started on it a moment later does not race outgoing connections for it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (await canListen(port)) return port;
  }
  throw new FanfoldError('restate', `no free port found on 127.0.0.1 between ${PORT_RANGE.from} and ${PORT_RANGE.to}`);
}

/** `count` distinct free ports. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** The restate-server binary of the npm package, for this platform. */
export function restateServerBinary(): string {
  const name = `@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`;
  try {
    return createRequire(import.meta.url).resolve(name);
  } catch {
    throw new FanfoldError('restate', `restate-server binary not found (${name}): install the devDependency @restatedev/restate-server (npm ci)`);
  }
}

/** A running throwaway Restate server. */
export interface DevRestateServer {
  adminUrl: string;
  ingressUrl: string;
  /** The end of what it printed on stderr, for error messages. */
  log(): string;
  /** Kills it (SIGKILL) and removes its state. */
  stop(): Promise<void>;
}

/** Kills a child process and resolves once it has exited. */
export function killAndWait(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number, failed: () => string | null): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const failure = failed();
    if (failure) throw new FanfoldError('restate', failure);
    if (await check().catch(() => false)) return;
    if (Date.now() > giveUpAt) throw new FanfoldError('restate', `${what} was not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What restate-server prints when a port it was given is taken. */
const PORT_TAKEN = /Address in use|os error 98/;
/** How often start-up is tried again, on fresh ports, when a port was taken meanwhile. */
const START_ATTEMPTS = 5;

/**
 * Starts `restate-server` on loopback with free ports and a temp base dir; resolves once its
 * admin API and ingress answer. Rejects with its output if it cannot start. A port taken
 * between choosing it and the server binding it is not a failure: it starts again on others.
 *
 * @example
 * const server = await startDevRestateServer();
 * await registerDeployment(server.adminUrl, service.url);
 */
export async function startDevRestateServer(options: { startTimeoutMs?: number } = {}): Promise<DevRestateServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options.startTimeoutMs ?? 30_000);
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !PORT_TAKEN.test(String(error))) throw error;
    }
  }
}

async function startOnce(timeoutMs: number): Promise<DevRestateServer> {
  const binary = restateServerBinary();
  const [ingressPort, adminPort, nodePort] = await freePorts(3);
  const baseDir = await mkdtemp(join(tmpdir(), 'fanfold-restate-'));
  let stderr = '';
  let failure: string | null = null;
  const child = spawn(binary, ['--base-dir', baseDir, '--node-name', 'fanfold-dev', '--no-logo', '--listen-mode', 'tcp'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingressPort}`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${adminPort}`,
      RESTATE_BIND_ADDRESS: `127.0.0.1:${nodePort}`,
      RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${nodePort}/`,
      RESTATE_DISABLE_TELEMETRY: 'true',
      RESTATE_LOG_DISABLE_ANSI_CODES: 'true',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  child.on('error', (error) => (failure = `restate-server could not be started (${binary}): ${error.message}`));
  child.on('exit', (code, signal) => (failure ??= `restate-server exited during start-up (code ${code}, signal ${signal}):\n${stderr.slice(-3000)}`));
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const ingressUrl = `http://127.0.0.1:${ingressPort}`;
  const stop = async () => {
    await killAndWait(child);
    await rm(baseDir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      async () => (await fetch(`${adminUrl}/health`)).ok,
      'restate-server admin API',
      timeoutMs,
      () => failure,
    );
    await waitUntil(
      async () => (await fetch(`${ingressUrl}/restate/health`)).ok,
      'restate-server ingress',
      timeoutMs,
      () => failure,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { adminUrl, ingressUrl, log: () => stderr, stop };
}
