/**
 * Scale-out on Restate: two instances of the fanfold service (separate processes,
 * `test/fixtures/restate-instance.ts`) behind a real load balancer — Debian's haproxy, HTTP/2
 * cleartext on both sides, balancing per stream — registered as one deployment. One instance is
 * SIGKILLed mid-run: the run still completes, both instances served specialists, and no model
 * call whose result Restate had journaled is made again.
 *
 * haproxy must be installed (`.ci/run` installs it with apt-get); without it this test fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Subscription } from 'rxjs';
import type { FanOutConfig, RunEvent, RunResult } from '../src/index.ts';
import { freePort, killAndWait, startDevRestateServer, type DevRestateServer } from '../src/restate/devServer.ts';
import { awaitRestateRun, followRestateRun, registerDeployment, startRestateRun } from '../src/restate/index.ts';
import { pollUntil } from './restate-support.ts';
import { watchStdout } from './support.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const FIXTURE = new URL('./fixtures/restate-instance.ts', import.meta.url).pathname;

const SPECIALISTS = Array.from({ length: 80 }, (_, index) => `spec-${index + 1}`);
/** Every third specialist fails its first attempt (503) and retries after a journaled backoff. */
const FAIL_FIRST = SPECIALISTS.filter((_, index) => index % 3 === 0);
/**
 * Most specialists one chunk invocation runs: chunks are what the instances share, so a run
 * needs several of them to spread.
 */
const CHUNK_SIZE = 10;
const VICTIM = 'a';
const SURVIVOR = 'b';
/**
 * Longest a killed instance's finished call may go unjournaled: the time from the call's end to
 * Restate's acknowledgement of its `ctx.run` entry, which on loopback takes far less. A call
 * that ended longer than this before the kill and still ran again had its journaled result
 * thrown away (or was never journaled).
 */
const JOURNAL_ACK_MS = 200;
/** From the test's start until the run must have completed: room for reports within the test's 60 s. */
const RUN_BUDGET_MS = 50_000;
/** The backoff of a failed first attempt: the kill catches specialists sleeping in it. */
const BACKOFF_MS = 1_000;

/** A line of the shared call log: the instances' `start`/`end` lines and the test's kill marker. */
interface LogLine {
  event: 'start' | 'end' | 'kill';
  tag?: string;
  caller?: string;
  attempt?: number;
  instance: string;
  pid?: number;
  at: number;
  result?: string;
}

interface Instance {
  name: string;
  child: ChildProcess;
  output(): string;
}

let dir: string;
let callLog: string;
let server: DevRestateServer | undefined;
const instances = new Map<string, Instance>();
let haproxyBinary: string;
let haproxy: ChildProcess | undefined;
let haproxyOutput = '';
let balancerUrl: string;
let following: Subscription | undefined;

const readLog = (): LogLine[] =>
  readFileSync(callLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);

/** Starts one service instance as its own process; resolves once it listens. */
async function startInstance(name: string, port: number): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      INSTANCE_NAME: name,
      INSTANCE_PORT: String(port),
      CALL_LOG: callLog,
      FAIL_FIRST: FAIL_FIRST.join(','),
      CHUNK_SIZE: String(CHUNK_SIZE),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const instance = { name, child, output: () => output };
  instances.set(name, instance);
  const exited = new Promise<never>((_resolve, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`instance ${name} exited during start-up (code ${code}, signal ${signal}):\n${output}`))),
  );
  exited.catch(() => {});
  await Promise.race([watchStdout(child, /listening on http/), exited]);
  return instance;
}

/**
 * haproxy's config: h2c in, h2c out to both instances, a backend chosen per request (each
 * invocation is one HTTP/2 stream, so streams of one connection spread over both instances).
 */
function haproxyConfig(port: number, backends: Array<{ name: string; port: number }>): string {
  return [
    'global',
    // Restate multiplexes every invocation on few connections: allow many streams per connection.
    '  tune.h2.max-concurrent-streams 1000',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    // An invocation is a stream that can stay open for minutes: never cut it for being long.
    '  timeout client 10m',
    '  timeout server 10m',
    '  timeout check 500ms',
    // A request that could not reach an instance (it died) goes to another one.
    '  retries 3',
    '  option redispatch 1',
    'frontend fanfold',
    `  bind 127.0.0.1:${port} proto h2`,
    '  default_backend instances',
    'backend instances',
    '  balance roundrobin',
    // A TCP check every 200 ms; one failure takes a dead instance out of the rotation.
    ...backends.map((backend) => `  server ${backend.name} 127.0.0.1:${backend.port} proto h2 check inter 200ms fall 1 rise 1`),
    '',
  ].join('\n');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The haproxy binary: on PATH, or where Debian puts it (`/usr/sbin`, often not on a non-root
 * user's PATH). Throws, failing the test, when it is not installed.
 */
function findHaproxy(): string {
  for (const candidate of ['haproxy', '/usr/sbin/haproxy']) if (!spawnSync(candidate, ['-v']).error) return candidate;
  throw new Error(
    'haproxy is not installed: this test runs a real haproxy in front of two service instances. `.ci/run` installs it (apt-get install haproxy); install it the same way to run this test.',
  );
}

/** Starts haproxy in the foreground with its own config; resolves once it accepts connections. */
async function startHaproxy(port: number, backends: Array<{ name: string; port: number }>): Promise<void> {
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(port, backends));
  const child = spawn(haproxyBinary, ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  haproxy = child;
  child.stdout!.on('data', (chunk: Buffer) => (haproxyOutput = (haproxyOutput + chunk.toString()).slice(-20_000)));
  child.stderr!.on('data', (chunk: Buffer) => (haproxyOutput = (haproxyOutput + chunk.toString()).slice(-20_000)));
  let failure: string | null = null;
  child.once('error', (error) => (failure = `haproxy could not be started: ${error.message}`));
  child.once('exit', (code, signal) => (failure ??= `haproxy exited during start-up (code ${code}, signal ${signal}):\n${haproxyOutput}`));
  await pollUntil(
    async () => failure ?? (await canConnect(port)),
    (state) => state !== false,
    'haproxy to accept connections',
    10_000,
    50,
  ).then((state) => {
    if (typeof state === 'string') throw new Error(state);
  });
}

/**
 * Starts the server, both instances and haproxy, and registers haproxy as the deployment. Part
 * of the test rather than a `beforeAll`, so a missing haproxy fails the test instead of leaving
 * it reported as skipped.
 */
async function setUp(): Promise<void> {
  haproxyBinary = findHaproxy();
  dir = mkdtempSync(join(tmpdir(), 'fanfold-scale-out-'));
  callLog = join(dir, 'calls.jsonl');
  writeFileSync(callLog, '');
  server = await startDevRestateServer();
  const [portA, portB, balancerPort] = [await freePort(), await freePort(), await freePort()];
  await Promise.all([startInstance(VICTIM, portA!), startInstance(SURVIVOR, portB!)]);
  await startHaproxy(balancerPort!, [
    { name: VICTIM, port: portA! },
    { name: SURVIVOR, port: portB! },
  ]);
  balancerUrl = `http://127.0.0.1:${balancerPort}`;
  // Restate knows the balancer only: the instances behind it are one deployment to it.
  await registerDeployment(server.adminUrl, balancerUrl);
}

afterAll(async () => {
  following?.unsubscribe();
  if (haproxy) await killAndWait(haproxy);
  for (const instance of instances.values()) await killAndWait(instance.child);
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 20_000);

/** What the processes printed last, for a failure's message. */
function diagnostics(): string {
  const tail = (text: string) => text.slice(-2_000);
  return [
    ...[...instances.values()].map((instance) => `instance ${instance.name}:\n${tail(instance.output())}`),
    `haproxy:\n${tail(haproxyOutput)}`,
    `restate-server:\n${tail(server?.log() ?? '')}`,
  ].join('\n');
}

/** Invocations the Restate server has not completed, from its SQL introspection, for a failure's message. */
async function unfinishedInvocations(): Promise<string> {
  try {
    const response = await fetch(`${server!.adminUrl}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: "SELECT target, status, retry_count, last_failure FROM sys_invocation WHERE status != 'completed'" }),
    });
    return JSON.stringify(((await response.json()) as { rows?: unknown[] }).rows ?? [], null, 1).slice(0, 4_000);
  } catch (error) {
    return `(could not query the server: ${String(error)})`;
  }
}

/** `promise`, or a failure naming what did not happen (with what the processes said) after `ms`. */
async function withinTime<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => {
        void unfinishedInvocations().then((rows) => reject(new Error(`timed out waiting for ${what}; unfinished invocations: ${rows}\n${diagnostics()}`)));
      },
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The call tag (`<instance>#<n>`) a reply or error message carries. */
const tagIn = (text: string | null | undefined): string | undefined => /\[call (\S+)\]/.exec(text ?? '')?.[1];

describe('fanfold on Restate, scaled out', () => {
  it('completes a run on two instances behind haproxy when one is SIGKILLed mid-run; finished calls are not made again', async () => {
    const testStart = Date.now();
    await setUp();
    const retry = { maxAttempts: 2, initialDelayMs: BACKOFF_MS, factor: 1, jitter: 0 };
    const config: FanOutConfig = {
      task: 'scale-out run',
      specialists: SPECIALISTS.map((id) => (FAIL_FIRST.includes(id) ? { id, policy: { retry } } : { id })),
      deadlineMs: 55_000,
    };
    const runId = 'scale-out-run';
    await startRestateRun(server!.ingressUrl, runId, config);
    const events: RunEvent[] = [];
    const followed = new Promise<void>((resolve, reject) => {
      following = followRestateRun(server!.ingressUrl, runId, { pollMs: 100 }).subscribe({ next: (event) => events.push(event), complete: resolve, error: reject });
    });
    followed.catch(() => {}); // awaited below; a failure before that must not go unhandled

    // Kill the victim while both instances serve and some of its specialists sleep in their
    // backoff after a first attempt it finished (and Restate journaled) long enough ago.
    const ended = (lines: LogLine[], instance: string) => lines.filter((line) => line.event === 'end' && line.instance === instance).length;
    const journaledFailures = (lines: LogLine[]) =>
      lines.filter((line) => line.event === 'end' && line.instance === VICTIM && line.result === 'failed' && Date.now() - line.at > 2 * JOURNAL_ACK_MS).length;
    await pollUntil(
      async () => readLog(),
      (lines) => ended(lines, SURVIVOR) >= 5 && journaledFailures(lines) >= 2,
      'the victim to be mid-way through some specialists',
      30_000,
      20,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; calls ended: ${VICTIM} ${ended(readLog(), VICTIM)}, ${SURVIVOR} ${ended(readLog(), SURVIVOR)}\n${diagnostics()}`);
    });
    const victim = instances.get(VICTIM)!;
    appendFileSync(callLog, `${JSON.stringify({ event: 'kill', instance: VICTIM, at: Date.now() })}\n`);
    await killAndWait(victim.child, 'SIGKILL');

    const result: RunResult = await withinTime(
      Promise.all([awaitRestateRun(server!.ingressUrl, runId, { pollMs: 100 }), followed]),
      testStart + RUN_BUDGET_MS - Date.now(),
      'the run to complete after the kill',
    ).then(([value]) => value);

    expect(result.status).toBe('done');
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status, outcome.attempts])).toEqual(SPECIALISTS.map((id) => [id, 'fulfilled', FAIL_FIRST.includes(id) ? 2 : 1]));
    expect(result.synthesis).toEqual(expect.any(String));

    // Which call Restate journaled for each (caller, attempt): the reply's tag for the last
    // attempt (and the synthesis), the error's tag for a failed attempt (its retrying event).
    const journaled = new Map<string, string>();
    const key = (caller: string, attempt: number) => `${caller} attempt ${attempt}`;
    for (const outcome of result.outcomes) journaled.set(key(outcome.id, outcome.attempts), tagIn(outcome.output)!);
    journaled.set(key('synthesizer', 1), tagIn(result.synthesizer?.output)!);
    for (const event of events) if (event.type === 'specialist.retrying') journaled.set(key(event.id, event.attempt - 1), tagIn(event.error.message)!);
    expect(journaled.size).toBe(SPECIALISTS.length + FAIL_FIRST.length + 1);
    expect([...journaled.values()].every((tag) => /^[ab]#\d+$/.test(tag))).toBe(true);

    const lines = readLog();
    const killTime = lines.find((line) => line.event === 'kill')!.at;

    interface Call {
      tag: string;
      key: string;
      instance: string;
      start: number;
      end: number | null;
      endTime: number | null;
    }
    const calls = new Map<string, Call>();
    lines.forEach((line, index) => {
      if (line.event === 'start') calls.set(line.tag!, { tag: line.tag!, key: key(line.caller!, line.attempt!), instance: line.instance, start: index, end: null, endTime: null });
      if (line.event === 'end') Object.assign(calls.get(line.tag!)!, { end: index, endTime: line.at });
    });
    const byKey = new Map<string, Call[]>();
    for (const call of calls.values()) byKey.set(call.key, [...(byKey.get(call.key) ?? []), call]);
    expect([...byKey.keys()].sort()).toEqual([...journaled.keys()].sort());

    // The kill caught calls in flight on the victim; otherwise this test proves nothing.
    const cutShort = [...calls.values()].filter((call) => call.instance === VICTIM && call.end === null);
    expect(cutShort.length).toBeGreaterThan(0);

    // Restate runs a step at least once: a call in flight on the killed instance (started, no
    // end) is made again on the survivor, and so is one that ended there a moment before the kill,
    // before its result reached the journal. Nothing else may run twice: no call of a (caller,
    // attempt) starts after the journaled call of it ended, and only the killed instance made
    // calls whose results were not journaled.
    for (const [name, list] of byKey) {
      const kept = calls.get(journaled.get(name)!);
      expect(kept, `${name}: the journaled call ${journaled.get(name)} is in the log`).toBeDefined();
      expect(kept!.end, `${name}: the journaled call ended`).not.toBeNull();
      for (const call of list) {
        if (call === kept) continue;
        expect(call.instance, `${name}: ${call.tag} was made besides the journaled ${kept!.tag}`).toBe(VICTIM);
        if (call.endTime !== null) expect(killTime - call.endTime, `${name}: ${call.tag} ended on the victim too long before the kill to be unjournaled`).toBeLessThan(JOURNAL_ACK_MS);
      }
      const laterStarts = list.filter((call) => call !== kept && call.start > kept!.end!);
      expect(
        laterStarts.map((call) => call.tag),
        `${name}: calls made after the journaled ${kept!.tag} had ended`,
      ).toEqual([]);
    }
    // Every call cut short was made again (on the survivor: the victim is gone).
    for (const call of cutShort) expect(calls.get(journaled.get(call.key)!)!.instance).toBe(SURVIVOR);

    // The kill moved specialists mid-way: a first attempt finished on the victim is read back from
    // the journal on the survivor, which makes only the second attempt.
    const moved = FAIL_FIRST.filter((id) => calls.get(journaled.get(key(id, 1))!)!.instance === VICTIM && calls.get(journaled.get(key(id, 2))!)!.instance === SURVIVOR);
    expect(moved.length).toBeGreaterThan(0);

    // Both instances served specialists: each made calls whose results the run kept.
    const servedBy = (instance: string) => [...journaled.values()].filter((tag) => tag.startsWith(`${instance}#`)).length;
    expect(servedBy(VICTIM)).toBeGreaterThan(0);
    expect(servedBy(SURVIVOR)).toBeGreaterThan(0);
  }, 60_000);
});
