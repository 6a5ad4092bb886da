/**
 * The local inspector against what it was not built for: loopback names given explicitly,
 * secrets spelt every way, extreme times, messages and histories too big to hold, several apps
 * at once, bad recordings, busy ports, and events it cannot convert. No browser; the CLI tests
 * run bin/fanfold.js, so they need `npm run build` first.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWebSocketInspector } from '@statelyai/inspect';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { createActor, createMachine, setup, type InspectionEvent } from 'xstate';
import { openInspection, type RunInspection } from '../src/cli/inspection.ts';
import { FanfoldError } from '../src/errors.ts';
import {
  compactJson,
  createInspectionRecorder,
  EVENT_LIMITS,
  filterInspection,
  normalizeWireMessage,
  readRecording,
  startInspectorServer,
  toWireMessage,
  type InspectorNotice,
  type InspectorServer,
  type InspectorServerOptions,
  type WireActorMessage,
  type WireMessage,
} from '../src/inspector/index.ts';
import { get, openSocket, until } from './inspector-support.ts';
import { runNode, type ProcessRun } from './support.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');
let dir: string;
const servers: InspectorServer[] = [];
const cleanups: Array<() => unknown> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanfold-inspector-hardening-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(dir, { recursive: true, force: true });
});

async function start(options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const server = await startInspectorServer({ log: () => {}, ...options });
  servers.push(server);
  return server;
}

/** An inspection client (what createWebSocketInspector is, without its delays). */
async function client(server: InspectorServer): Promise<{ socket: WebSocket; send: (message: unknown) => Promise<void> }> {
  const socket = new WebSocket(server.wsUrl);
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('open', resolve));
  cleanups.push(() => socket.terminate());
  const send = (message: unknown) =>
    new Promise<void>((resolve, reject) => socket.send(typeof message === 'string' ? message : JSON.stringify(message), (error) => (error ? reject(error) : resolve())));
  return { socket, send };
}

interface PageFrame {
  t: string;
  more?: boolean;
  messages?: WireMessage[];
}

/** A page's feed (ws /ui): every frame, parsed, and the size of each as sent. */
async function page(server: InspectorServer): Promise<{ frames: PageFrame[]; sizes: number[]; messages: () => WireMessage[]; notices: () => InspectorNotice[] }> {
  const socket = new WebSocket(`${server.url.replace('http://', 'ws://')}ui`);
  const frames: PageFrame[] = [];
  const sizes: number[] = [];
  socket.on('message', (data) => {
    const text = String(data);
    sizes.push(text.length);
    frames.push(JSON.parse(text) as PageFrame);
  });
  await new Promise((resolve) => socket.once('open', resolve));
  cleanups.push(() => socket.terminate());
  return {
    frames,
    sizes,
    messages: () => frames.flatMap((frame) => (frame.t === 'batch' ? (frame.messages ?? []) : [])),
    notices: () => frames.filter((frame): frame is PageFrame & InspectorNotice => frame.t === 'notice'),
  };
}

const actor = (sessionId: string, extra: Record<string, unknown> = {}) => ({
  type: '@xstate.actor',
  sessionId,
  rootId: sessionId,
  name: sessionId,
  createdAt: String(Date.now()),
  definition: { id: sessionId },
  snapshot: { status: 'active' },
  ...extra,
});
const event = (sessionId: string, type: string, extra: Record<string, unknown> = {}) => ({
  type: '@xstate.event',
  sessionId,
  rootId: sessionId,
  createdAt: String(Date.now()),
  event: { type },
  ...extra,
});

/** Spawns the CLI (built: `npm run build`). */
/** Runs the built CLI; a process still running when the test ends is killed. */
function cli(args: string[]): Promise<ProcessRun> {
  return runNode([BIN, ...args], {}, (child) =>
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }),
  );
}

/** The finished run, or `'running'` if the process is still up after `ms`. */
function exitWithin(run: Promise<ProcessRun>, ms: number): Promise<ProcessRun | 'running'> {
  return Promise.race([run, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), ms))]);
}

/** A port some other program listens on. */
async function busyPort(): Promise<number> {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  return (blocker.address() as { port: number }).port;
}

describe('Host and Origin checks on loopback', () => {
  for (const host of ['127.0.0.1', 'localhost', '::1']) {
    it(`stay on when --inspect-host names loopback explicitly (${host})`, async (context) => {
      const lines: string[] = [];
      let inspection: RunInspection;
      try {
        inspection = await openInspection({ inspect: true, inspectHost: host }, (line) => lines.push(line));
      } catch (error) {
        // A machine without IPv6 cannot bind ::1.
        const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
        if (host === '::1' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) return context.skip();
        throw error;
      }
      const server = inspection.server!;
      servers.push(server);
      const { port, host: authority } = new URL(server.url);
      const evil = `evil.example:${port}`;
      expect(lines.join('\n')).not.toContain('WARNING');
      // DNS rebinding: a page of evil.example resolving to loopback sends its own Host.
      expect((await get(`${server.url}messages.jsonl`, { host: evil })).status).toBe(403);
      expect((await get(`${server.url}messages.jsonl`, { host: authority })).status).toBe(200);
      expect(await openSocket(server.wsUrl, { origin: 'https://evil.example' })).toEqual({ opened: false, status: 403 });
      expect(await openSocket(`${server.url.replace('http://', 'ws://')}ui`, { host: evil, origin: `http://${evil}` })).toEqual({ opened: false, status: 403 });
      expect(await openSocket(server.wsUrl)).toEqual({ opened: true });
    });
  }

  it('stay on for a server bound to loopback even with allowRemote: true', async () => {
    const server = await start({ host: '127.0.0.1', allowRemote: true });
    const { port } = new URL(server.url);
    expect((await get(server.url, { host: `evil.example:${port}` })).status).toBe(403);
    expect(await openSocket(server.wsUrl, { origin: 'https://evil.example' })).toEqual({ opened: false, status: 403 });
  });

  it('a non-loopback --inspect-host is allowed, with a warning', async () => {
    const lines: string[] = [];
    const inspection = await openInspection({ inspectHost: '0.0.0.0' }, (line) => lines.push(line));
    servers.push(inspection.server!);
    expect(lines.join('\n')).toMatch(/WARNING: listening on 0\.0\.0\.0:\d+, not loopback/);
  });
});

describe('secrets', () => {
  it('redacts text under secret-looking keys, however they are spelt', () => {
    const message = normalizeWireMessage({
      type: '@xstate.event',
      sessionId: 'x:0',
      createdAt: '1700000000000',
      event: {
        type: 'request',
        headers: { 'anthropic-api-key': 'plainsecret1', 'x-goog-api-key': 'AIzaSyPLAINSECRET2', 'x-auth-token': 'plainsecret3', 'Set-Cookie': 'sid=1', 'content-type': 'application/json' },
        ANTHROPIC_API_KEY: 'plainsecret4',
        openaiApiKey: 'plainsecret5',
        token: 'plainsecret6',
        auth: 'Basic dXNlcjpwYXNzd29yZA==',
        client_secret: 'plainsecret7',
        credentials: { password: 'plainsecret8', user: 'ada' },
        tokens: ['plainsecret9', 3],
      },
    });
    expect(message).toEqual({
      type: '@xstate.event',
      sessionId: 'x:0',
      rootId: undefined,
      sourceId: undefined,
      createdAt: '1700000000000',
      id: null,
      _version: 'unknown',
      event: {
        type: 'request',
        headers: { 'anthropic-api-key': '[redacted]', 'x-goog-api-key': '[redacted]', 'x-auth-token': '[redacted]', 'Set-Cookie': '[redacted]', 'content-type': 'application/json' },
        ANTHROPIC_API_KEY: '[redacted]',
        openaiApiKey: '[redacted]',
        token: '[redacted]',
        auth: '[redacted]',
        client_secret: '[redacted]',
        credentials: { password: '[redacted]', user: 'ada' },
        tokens: ['[redacted]', 3],
      },
    });
  });

  it("keeps what only looks like a secret: token counts, taskKey, author, event types in a machine's `on`", () => {
    const context = {
      taskKey: '["technical","plasma"]',
      usage: { inputTokens: 120, outputTokens: 80, cacheReadInputTokens: 10, cacheCreationInputTokens: 0 },
      maxTokens: 1024,
      author: 'Ada',
      authority: 'example.org',
      authenticated: true,
      note: 'Basic research first; the Bearer of bad news.',
    };
    expect(compactJson(context, EVENT_LIMITS)).toEqual(context);
    const machine = createMachine({ id: 'm', initial: 'out', states: { out: { on: { 'auth.login': 'in', 'specialist.token': { target: 'in' } } }, in: {} } });
    const seen: WireMessage[] = [];
    createActor(machine, {
      inspect: (inspection) => {
        const message = toWireMessage(inspection);
        if (message) seen.push(message);
      },
    }).start();
    const definition = JSON.parse((seen.find((message) => message.type === '@xstate.actor') as WireActorMessage).definition!) as { states: { out: { on: unknown } } };
    expect(definition.states.out.on).toEqual({ 'auth.login': 'in', 'specialist.token': { target: 'in' } });
  });

  it("redacts secret-looking text anywhere: in object keys and in the protocol's own fields", () => {
    const keyed = normalizeWireMessage(event('x:0', 'has keys', { event: { type: 'owners', byKey: { 'sk-ant-api03-keyasname0123': 'owner', plain: 1 } } }));
    expect(keyed?.type === '@xstate.event' && keyed.event).toEqual({ type: 'owners', byKey: { '[redacted]': 'owner', plain: 1 } });
    const actorMessage = normalizeWireMessage({
      type: '@xstate.actor',
      sessionId: 'Bearer insession0123',
      rootId: 'sk-ant-api03-inroot0123',
      name: 'sk-ant-api03-inname0123',
      parentId: 'Bearer inparentid0123',
    });
    expect(actorMessage).toMatchObject({ sessionId: '[redacted]', rootId: '[redacted]', name: '[redacted]', parentId: '[redacted]' });
    const eventMessage = normalizeWireMessage(event('x:0', 'go', { sourceId: 'Bearer insource0123' }));
    expect(eventMessage).toMatchObject({ sourceId: '[redacted]' });
    const snapshot = normalizeWireMessage({ type: '@xstate.snapshot', sessionId: 'x:0', event: { type: 'Bearer intype0123456' }, snapshot: { status: 'active' } });
    expect(snapshot?.type === '@xstate.snapshot' && snapshot.event).toEqual({ type: '[redacted]' });
  });

  it("cuts the protocol's own fields to 256 characters", () => {
    const long = 'n'.repeat(10_000);
    const message = normalizeWireMessage({ type: '@xstate.actor', sessionId: long, rootId: long, parentId: long, name: long });
    const cut = `${'n'.repeat(256)}…(+9744 chars)`;
    expect(message).toMatchObject({ sessionId: cut, rootId: cut, parentId: cut, name: cut });
  });

  it('filterInspection hands a Stately inspector the same redaction', () => {
    const machine = setup({ types: { context: {} as { openaiApiKey: string; headers: Record<string, string>; usage: { inputTokens: number } } } }).createMachine({
      id: 'client',
      context: { openaiApiKey: 'plainsecret1', headers: { 'x-goog-api-key': 'plainsecret2' }, usage: { inputTokens: 5 } },
    });
    const delivered: InspectionEvent[] = [];
    createActor(machine, { inspect: filterInspection((inspection) => delivered.push(inspection)) }).start();
    const snapshots = delivered.flatMap((inspection) =>
      inspection.type === '@xstate.snapshot' ? [inspection.snapshot] : inspection.type === '@xstate.actor' ? [inspection.actorRef.getSnapshot() as unknown] : [],
    );
    expect(snapshots.length).toBeGreaterThan(0);
    for (const snapshot of snapshots) {
      expect((snapshot as { context: unknown }).context).toEqual({ openaiApiKey: '[redacted]', headers: { 'x-goog-api-key': '[redacted]' }, usage: { inputTokens: 5 } });
    }
  });
});

describe('createdAt', () => {
  it('keeps a whole number of ms between 2000 and 2100, and uses the arrival time for anything else', () => {
    expect(normalizeWireMessage(event('x:0', 'a', { createdAt: '1700000000000' }))?.createdAt).toBe('1700000000000');
    expect(normalizeWireMessage(event('x:0', 'a', { createdAt: 1_700_000_000_000 }))?.createdAt).toBe('1700000000000');
    for (const createdAt of ['1.7e308', 1.7e308, '1', '-1700000000000', '1700000000000.5', '9007199254740993', 'Infinity', 'soon', 4_200_000_000_000, null]) {
      const before = Date.now();
      const got = Number(normalizeWireMessage(event('x:0', 'a', { createdAt }))?.createdAt);
      expect(got, `createdAt ${String(createdAt)}`).toBeGreaterThanOrEqual(before);
      expect(got, `createdAt ${String(createdAt)}`).toBeLessThanOrEqual(Date.now());
    }
  });
});

describe('size limits', () => {
  it('compacts a message over maxMessageBytes further: a huge definition keeps its shape', async () => {
    const server = await start();
    const states: Record<string, unknown> = {};
    for (let index = 0; index < 4_000; index++) states[`s${index}`] = { on: { GO: 's1' }, meta: { doc: 'x'.repeat(1_500) } };
    const { send } = await client(server);
    await send(actor('x:0', { name: 'big', definition: { id: 'big', initial: 's0', states } }));
    await until(() => server.stats.messages === 1, 'the server keeps the message');
    expect(server.stats.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(server.stats.droppedOverLimits).toBe(0);
    const definition = JSON.parse((server.messages()[0] as WireActorMessage).definition!) as { id: string; initial: string; states: Record<string, { on: unknown; meta: { doc: string } }> };
    expect(definition.id).toBe('big');
    expect(definition.initial).toBe('s0');
    expect(definition.states.s0?.on).toEqual({ GO: 's1' });
    expect(definition.states.s0?.meta.doc).toMatch(/^x{200}…\(\+1300 chars\)$/);
    expect(Object.keys(definition.states)).toHaveLength(501);
    expect(definition.states['…']).toMatch(/^\d+ more keys$/);
  });

  it('drops a message that does not fit even compacted, counts it, logs once and tells pages', async () => {
    const lines: string[] = [];
    const server = await start({ maxMessageBytes: 400, log: (line) => lines.push(line) });
    const viewer = await page(server);
    const { send } = await client(server);
    await send(actor('x:0'));
    await send(actor('y'.repeat(200), { name: 'z'.repeat(200) }));
    await send(actor('w'.repeat(200), { name: 'v'.repeat(200) }));
    await until(() => viewer.notices().at(-1)?.dropped === 2, 'the page is told of both');
    expect(server.stats).toMatchObject({ messages: 1, dropped: 2, droppedOverLimits: 2 });
    expect(lines).toEqual(['fanfold inspector: a message bigger than 400 bytes even compacted was dropped (others may follow)']);
    expect(viewer.notices().at(-1)).toEqual({
      t: 'notice',
      id: 'dropped',
      level: 'warning',
      dropped: 2,
      full: false,
      text: '2 messages were dropped for being too large: the inspector keeps at most 1,000,000 messages (256 MiB), each at most 400 bytes. This view is incomplete.',
    });
    expect(viewer.messages().map((message) => message.sessionId)).toEqual(['c1:x:0']);
  });

  it('stops keeping at maxHistoryBytes, logs once, and tells pages, also ones that connect later', async () => {
    const lines: string[] = [];
    const server = await start({ maxHistoryBytes: 3_000, log: (line) => lines.push(line) });
    const early = await page(server);
    const { send } = await client(server);
    await send(actor('x:0'));
    for (let index = 0; index < 40; index++) await send(event('x:0', `e${index}`));
    await until(() => server.stats.messages + server.stats.droppedOverLimits === 41, 'the server takes every frame');
    expect(server.stats.bytes).toBeLessThanOrEqual(3_000);
    expect(server.stats.messages).toBeGreaterThan(5);
    expect(lines).toEqual(['fanfold inspector: 3,000 bytes of messages kept; later messages are dropped']);
    const dropped = server.stats.droppedOverLimits;
    const expected: InspectorNotice = {
      t: 'notice',
      id: 'dropped',
      level: 'warning',
      dropped,
      full: true,
      text: `${dropped} messages were dropped: the inspector keeps at most 1,000,000 messages (3,000 bytes), each at most 1 MiB. Nothing later shows up here; restart the inspector to watch another run.`,
    };
    await until(() => early.notices().at(-1)?.dropped === dropped, 'the open page is told');
    expect(early.notices().at(-1)).toEqual(expected);
    expect(early.messages()).toHaveLength(server.stats.messages);

    const late = await page(server);
    await until(() => late.messages().length === server.stats.messages && late.notices().length === 1, 'a new page gets the history and the notice');
    expect(late.frames[0]).toEqual({ t: 'hello', version: 1 });
    expect(late.notices()).toEqual([expected]);
    // /messages.jsonl still answers, with what was kept.
    const download = await get(`${server.url}messages.jsonl`);
    expect(download.body.trim().split('\n')).toHaveLength(server.stats.messages);
  });

  it('stops keeping at maxMessages and tells pages', async () => {
    const server = await start({ maxMessages: 3 });
    const viewer = await page(server);
    server.replay([actor('x:0'), event('x:0', 'a'), event('x:0', 'b'), event('x:0', 'c'), event('x:0', 'd')]);
    await until(() => viewer.notices().length === 1 && viewer.messages().length === 3, 'the page gets three messages and a notice');
    expect(server.stats).toMatchObject({ messages: 3, droppedOverLimits: 2 });
    expect(viewer.notices()[0]).toMatchObject({ dropped: 2, full: true });
  });

  it('streams /messages.jsonl line by line and splits page frames by size', async () => {
    const server = await start();
    // Each event ~770 KB: three lists of 256 strings of 1,000 characters (EVENT_LIMITS keeps them whole).
    const list = (tag: string) => Array.from({ length: 256 }, (_, index) => `${tag}${index}`.padEnd(1_000, '.'));
    const big = (index: number) => event('x:0', `big${index}`, { event: { type: `big${index}`, a: list('a'), b: list('b'), c: list('c') } });
    server.replay([actor('x:0'), ...Array.from({ length: 12 }, (_, index) => big(index))]);
    expect(server.stats.messages).toBe(13);
    expect(server.stats.bytes).toBeGreaterThan(9_000_000);

    const download = await get(`${server.url}messages.jsonl`);
    expect(download.status).toBe(200);
    expect(Number(download.headers['content-length'])).toBe(Buffer.byteLength(download.body));
    expect(Buffer.byteLength(download.body)).toBe(server.stats.bytes + 13);
    expect(download.body.endsWith('\n')).toBe(true);
    expect(
      download.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual(server.messages());

    const viewer = await page(server);
    await until(() => viewer.messages().length === 13, 'the page gets every message');
    const batches = viewer.frames.filter((frame) => frame.t === 'batch');
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...viewer.sizes)).toBeLessThan(4.2 * 1024 * 1024);
    expect(batches.map((frame) => frame.more)).toEqual([...batches.slice(1).map(() => true), false]);
  });

  it('refuses an inspection frame over 8 MiB, closes that connection (1009) and keeps serving', async () => {
    const server = await start();
    const viewer = await page(server);
    const { socket, send } = await client(server);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await send(actor('x:0', { name: 'n'.repeat(8.5 * 1024 * 1024) })).catch(() => {});
    expect(await closed).toBe(1009);
    await until(() => viewer.notices().length === 1, 'the page is told');
    expect(server.stats).toMatchObject({ messages: 0, droppedOverLimits: 1 });
    expect((await get(server.url)).status).toBe(200);
    const again = await client(server);
    await again.send(actor('x:0'));
    await until(() => server.stats.messages === 1, 'a new connection is taken');
  });
});

describe('several apps at once', () => {
  it('gives each inspect connection its own namespace, so two apps numbering from x:0 stay apart', async () => {
    const server = await start();
    // What two XState apps in two processes send: the same ids, from x:0.
    const app = async (name: string, value: string) => {
      const { send } = await client(server);
      await send(actor('x:0', { name, definition: { id: name } }));
      await send(actor('x:1', { name: `${name}-child`, rootId: 'x:0', parentId: 'x:0' }));
      await send(event('x:0', 'ping', { sourceId: 'x:1' }));
      await send({ type: '@xstate.snapshot', sessionId: 'x:0', rootId: 'x:0', event: { type: 'ping' }, snapshot: { status: 'active', value } });
    };
    await app('alpha', 'running');
    await app('beta', 'off');
    await until(() => server.stats.messages === 8, 'both apps arrive');
    expect(
      server.messages().map((message) => ({
        type: message.type,
        sessionId: message.sessionId,
        rootId: message.rootId,
        parentId: (message as { parentId?: string }).parentId,
        sourceId: (message as { sourceId?: string }).sourceId,
      })),
    ).toEqual(
      ['c1', 'c2'].flatMap((c) => [
        { type: '@xstate.actor', sessionId: `${c}:x:0`, rootId: `${c}:x:0`, parentId: undefined, sourceId: undefined },
        { type: '@xstate.actor', sessionId: `${c}:x:1`, rootId: `${c}:x:0`, parentId: `${c}:x:0`, sourceId: undefined },
        { type: '@xstate.event', sessionId: `${c}:x:0`, rootId: `${c}:x:0`, parentId: undefined, sourceId: `${c}:x:1` },
        { type: '@xstate.snapshot', sessionId: `${c}:x:0`, rootId: `${c}:x:0`, parentId: undefined, sourceId: undefined },
      ]),
    );
    const values = server.messages().flatMap((message) => (message.type === '@xstate.snapshot' ? [`${message.sessionId}=${(message.snapshot as { value: string }).value}`] : []));
    expect(values).toEqual(['c1:x:0=running', 'c2:x:0=off']);
  });

  it('prefixes every id that createWebSocketInspector sends, consistently', async () => {
    const server = await start();
    const app = (id: string, states: [string, string]) => {
      const inspector = createWebSocketInspector({ url: server.wsUrl });
      cleanups.push(() => inspector.stop());
      const child = createMachine({ id: `${id}-child` });
      return createActor(createMachine({ id, initial: states[0], invoke: { id: 'child', src: child }, states: { [states[0]]: { on: { GO: states[1] } }, [states[1]]: {} } }), {
        inspect: inspector.inspect,
      });
    };
    const alpha = app('alpha', ['idle', 'running']);
    const beta = app('beta', ['off', 'on']);
    await until(() => server.stats.inspectConnections === 2, 'both apps connect');
    alpha.start();
    beta.start();
    alpha.send({ type: 'GO' });
    const snapshotsOf = (sessionId: string | undefined) => server.messages().filter((message) => message.type === '@xstate.snapshot' && message.sessionId === sessionId);
    const actors = () => server.messages().filter((message): message is WireActorMessage => message.type === '@xstate.actor');
    await until(() => actors().length === 4 && snapshotsOf(actors().find((message) => message.name === 'alpha')?.sessionId).length > 0, 'both apps arrive');

    const byName = new Map(actors().map((message) => [message.name, message]));
    const roots = [byName.get('alpha')!, byName.get('beta')!];
    expect(roots.map((root) => root.sessionId.replace(/x:\d+$/, 'x:N')).sort()).toEqual(['c1:x:N', 'c2:x:N']);
    for (const root of roots) {
      const prefix = root.sessionId.slice(0, 3);
      expect(root.rootId).toBe(root.sessionId);
      const children = actors().filter((message) => message.name === 'child' && message.sessionId.startsWith(prefix));
      expect(children).toHaveLength(1);
      const child = children[0]!;
      expect(child.parentId).toBe(root.sessionId);
      expect(child.rootId).toBe(root.sessionId);
    }
    const alphaSnapshot = snapshotsOf(byName.get('alpha')!.sessionId).at(-1);
    expect(alphaSnapshot?.type === '@xstate.snapshot' && (alphaSnapshot.snapshot as { value: unknown }).value).toBe('running');
    expect(snapshotsOf(byName.get('beta')!.sessionId).map((message) => (message.type === '@xstate.snapshot' ? (message.snapshot as { value: unknown }).value : null))).not.toContain('on');
  });

  it("keeps in-process inspection unprefixed, and sourceId in the sender's namespace", async () => {
    const server = await start();
    createActor(createMachine({ id: 'local' }), { inspect: server.inspect }).start();
    const { send } = await client(server);
    await send(actor('x:0'));
    await send(event('x:0', 'ping', { sourceId: 'x:1' }));
    await until(() => server.messages().some((message) => message.type === '@xstate.event' && message.event.type === 'ping'), 'the server takes both');
    const local = server.messages().find((message) => message.type === '@xstate.actor' && message.name === 'local')!;
    expect(local.sessionId).toMatch(/^x:\d+/);
    expect(server.messages().find((message) => message.type === '@xstate.event' && message.event.type === 'ping')).toMatchObject({ sessionId: 'c1:x:0', rootId: 'c1:x:0', sourceId: 'c1:x:1' });
  });

  it('a recording of websocket clients replays to the same messages; later connections get new namespaces', async () => {
    const live = await start();
    for (const name of ['one', 'two']) {
      const { send } = await client(live);
      await send(actor('x:0', { name }));
      await send(event('x:0', 'go'));
    }
    await until(() => live.stats.messages === 4, 'both clients arrive');
    const path = join(dir, 'live.jsonl');
    await writeFile(path, (await get(`${live.url}messages.jsonl`)).body);

    const replayed = await start();
    replayed.replay(await readRecording(path));
    expect(replayed.messages()).toEqual(live.messages());
    const { send } = await client(replayed);
    await send(actor('x:0', { name: 'three' }));
    await until(() => replayed.stats.messages === 5, 'the new client arrives');
    expect(replayed.messages().map((message) => message.sessionId)).toEqual(['c1:x:0', 'c1:x:0', 'c2:x:0', 'c2:x:0', 'c3:x:0']);
  });
});

describe('recordings and the CLI', () => {
  it('readRecording names the file and the line of a JSON object that is not an inspection message', async () => {
    const path = join(dir, 'bad.jsonl');
    await writeFile(path, `${JSON.stringify(actor('x:0'))}\n{"type":"@xstate.actor","name":"no session id"}\n`);
    await expect(readRecording(path)).rejects.toThrow(`${path}:2: not an inspection message: it has no sessionId (a string): {"type":"@xstate.actor","name":"no session id"}`);
    await writeFile(path, '\n{"type":"@xstate.other","sessionId":"x:0"}\n');
    await expect(readRecording(path)).rejects.toThrow(`${path}:2: not an inspection message: its type is "@xstate.other", not @xstate.actor, @xstate.event or @xstate.snapshot`);
  });

  it('fanfold inspect exits 2 on such a recording, naming file:line, and does not hang', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"type":"@xstate.actor","name":"no session id"}\n');
    const inspect = await exitWithin(cli(['inspect', bad]), 10_000);
    if (inspect === 'running') throw new Error('fanfold inspect was still running after 10 s');
    expect(inspect.code).toBe(2);
    expect(inspect.stderr).toBe(`fanfold inspect: ${bad}:1: not an inspection message: it has no sessionId (a string): {"type":"@xstate.actor","name":"no session id"}\n`);
    expect(inspect.stdout).toBe('');
  });

  it('a busy --inspect-port is a usage error and leaves the --record file as it was', async () => {
    const port = await busyPort();
    const record = join(dir, 'run.jsonl');
    await writeFile(record, 'an earlier recording\n');
    const opening = openInspection({ inspect: true, inspectPort: port, record }, () => {});
    await expect(opening).rejects.toThrow(FanfoldError);
    await expect(opening).rejects.toMatchObject({
      code: 'config',
      message: `--inspect-port: port ${port} is in use on 127.0.0.1 (another inspector?); choose another port, or leave --inspect-port out for a free one.`,
    });
    expect(await readFile(record, 'utf8')).toBe('an earlier recording\n');
  });

  it('fanfold inspect --port <busy> exits 2 saying so', async () => {
    const port = await busyPort();
    const inspect = await exitWithin(cli(['inspect', '--port', String(port)]), 10_000);
    if (inspect === 'running') throw new Error('fanfold inspect was still running after 10 s');
    expect(inspect.code).toBe(2);
    expect(inspect.stderr).toBe(`--port: port ${port} is in use on 127.0.0.1 (another inspector?); choose another port, or leave --port out for a free one.\n`);
  });
});

describe('inspectors never throw into a run', () => {
  /** An inspection event whose actor cannot even say its id. */
  const broken = {
    type: '@xstate.event',
    get actorRef(): never {
      throw new Error('no actor');
    },
    event: { type: 'x' },
    sourceRef: undefined,
    rootId: 'x:0',
  } as unknown as InspectionEvent;

  it('the recorder leaves out an event it cannot convert, says so once, and records the rest', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    cleanups.push(() => errors.mockRestore());
    const path = join(dir, 'run.jsonl');
    const recorder = createInspectionRecorder(path);
    expect(() => recorder.inspect(broken)).not.toThrow();
    expect(() => recorder.inspect(broken)).not.toThrow();
    createActor(createMachine({ id: 'ok' }), { inspect: recorder.inspect }).start();
    await recorder.close();
    expect(recorder.dropped).toBe(2);
    expect(errors.mock.calls).toEqual([['fanfold recorder: could not record an inspection event: no actor']]);
    const messages = await readRecording(path);
    expect(messages).toHaveLength(recorder.count);
    expect(messages.some((message) => (message as WireActorMessage).name === 'ok')).toBe(true);
  });

  it('the server does the same', async () => {
    const lines: string[] = [];
    const server = await start({ log: (line) => lines.push(line) });
    expect(() => server.inspect(broken)).not.toThrow();
    expect(() => server.inspect(broken)).not.toThrow();
    expect(server.stats.dropped).toBe(2);
    expect(lines).toEqual(['fanfold inspector: could not convert an inspection event: no actor']);
  });
});
