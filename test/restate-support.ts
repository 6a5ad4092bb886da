/**
 * Helpers for the Restate tests: a real `restate-server` (from the npm package) on loopback
 * with ephemeral ports and a temporary base dir, and `fanfold serve --restate` as a real child
 * process, so a test can SIGKILL it and start it again on the same port.
 */
import * as restate from '@restatedev/restate-sdk';
import { spawn, type ChildProcess } from 'node:child_process';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { registerDeployment } from '../src/restate/admin.ts';
import { existsSync } from 'node:fs';
import { freePort, killAndWait, startDevRestateServer, type DevRestateServer } from '../src/restate/devServer.ts';
import { watchStdout } from './support.ts';

export { freePort };

/** A running Restate server. */
export type RestateServer = DevRestateServer;

/**
 * Starts `restate-server` on loopback (free ports, temp base dir). Throws — failing the test,
 * never skipping it — if the binary is missing or does not start.
 */
export function startRestateServer(): Promise<RestateServer> {
  return startDevRestateServer();
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

/** The server's records of invocations of `service` (from its SQL introspection API). */
export async function restateInvocations(server: RestateServer, service: string): Promise<Array<{ id: string; status: string; target: string }>> {
  const response = await fetch(`${server.adminUrl}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: `SELECT id, status, target FROM sys_invocation WHERE target_service_name = '${service}'` }),
  });
  if (!response.ok) throw new Error(`query of ${service} invocations: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { rows: Array<{ id: string; status: string; target: string }> }).rows;
}

/** Service definitions served from the test process, registered with a Restate server. */
export interface TestEndpoint {
  close(): Promise<void>;
}

/**
 * Serves `definitions` from this process on an ephemeral 127.0.0.1 port (HTTP/2, the SDK's
 * logger silenced) and registers them with `server`. `close` ends the server's HTTP/2 sessions
 * first: it keeps them open, so the endpoint would not close otherwise.
 */
export async function serveForTest(server: RestateServer, definitions: readonly unknown[]): Promise<TestEndpoint> {
  let bound = restate.endpoint().setLogger(() => {});
  for (const definition of definitions) bound = bound.bind(definition as Parameters<typeof bound.bind>[0]);
  const endpoint = http2.createServer(bound.http2Handler());
  const sessions = new Set<http2.ServerHttp2Session>();
  endpoint.on('session', (session) => sessions.add(session));
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', () => resolve()));
  await registerDeployment(server.adminUrl, `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        endpoint.close(() => resolve());
      }),
  };
}
