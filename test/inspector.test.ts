/**
 * The local inspector without a browser: the wire format, recordings, the server's security
 * rules, and that no secret reaches any inspector. Real timers: these runs are short and the
 * Stately inspector defers its sends with real `setTimeout`s.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWebSocketInspector } from '@statelyai/inspect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { assign, createActor, createMachine, setup, type InspectionEvent } from 'xstate';
import { ProviderError, runFanOut, type ModelProvider, type ModelRequest, type ModelResponse, type StreamOptions } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import {
  combineInspectors,
  compactJson,
  createInspectionRecorder,
  filterInspection,
  readRecording,
  SNAPSHOT_LIMITS,
  startInspectorServer,
  toWireMessage,
  type InspectorServer,
  type WireMessage,
  type WireSnapshotMessage,
} from '../src/inspector/index.ts';
import { researchSpecialists } from './support.ts';
import { get, openSocket, until } from './inspector-support.ts';

const SECRET = 'sk-ant-secret-0123456789abcdefghijklmnopqrstuvwxyz';

let dir: string;
const servers: InspectorServer[] = [];
const cleanups: Array<() => unknown> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanfold-inspector-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(dir, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startInspectorServer>[0] = {}): Promise<InspectorServer> {
  const server = await startInspectorServer({ log: () => {}, ...options });
  servers.push(server);
  return server;
}

/** A raw websocket sink on loopback: every frame exactly as a client sent it. */
async function rawSink(): Promise<{ url: string; frames: string[] }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const frames: string[] = [];
  wss.on('connection', (socket) => socket.on('message', (data) => frames.push(String(data))));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  const { port } = wss.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}`, frames };
}

/** A Stately websocket inspector, stopped after the test. */
function statelyInspector(url: string) {
  const inspector = createWebSocketInspector({ url });
  cleanups.push(() => inspector.stop());
  return inspector;
}

describe('wire format', () => {
  it('turns inspection events into the messages createWebSocketInspector sends', async () => {
    const messages: WireMessage[] = [];
    const provider = createScriptedProvider({ latencyMs: 5 });
    await runFanOut(
      { task: 't', specialists: researchSpecialists, deadlineMs: 10_000 },
      {
        provider,
        inspect: (event) => {
          const message = toWireMessage(event);
          if (message) messages.push(message);
        },
      },
    ).result;

    const actors = messages.filter((message) => message.type === '@xstate.actor');
    const lead = actors[0]!;
    expect(lead).toMatchObject({ name: 'lead', parentId: undefined, id: null });
    expect(lead.rootId).toBe(lead.sessionId);
    expect(typeof lead.createdAt).toBe('string');
    // The definition is the machine config as JSON: states and transitions, no implementations.
    const definition = JSON.parse(lead.definition!) as { id: string; states: Record<string, unknown> };
    expect(definition.id).toBe('lead');
    expect(Object.keys(definition.states)).toEqual(['starting', 'leading', 'concluding', 'fanningOut', 'synthesizing', 'done', 'partial', 'failed', 'cancelled']);
    const fanOut = actors.find((message) => message.name === 'fanOut')!;
    expect(fanOut.parentId).toBe(lead.sessionId);
    expect(JSON.parse(fanOut.definition!)).toEqual({ id: 'fanOut' });
    for (const { id } of researchSpecialists) expect(actors.find((message) => message.name === id)?.parentId).toBe(fanOut.sessionId);

    const leadSnapshots = messages.filter((message): message is WireSnapshotMessage => message.type === '@xstate.snapshot' && message.sessionId === lead.sessionId);
    expect(leadSnapshots.map((message) => (message.snapshot as { value: unknown }).value)).toContainEqual({ fanningOut: 'waiting' });
    expect(leadSnapshots.at(-1)?.snapshot).toMatchObject({ status: 'done', value: 'done' });
    // Actor refs inside snapshots are ids, never live objects; everything is plain JSON.
    expect(JSON.parse(JSON.stringify(messages))).toEqual(messages);
    // Neither microsteps nor actions travel, as with @statelyai/inspect.
    expect(messages.every((message) => ['@xstate.actor', '@xstate.event', '@xstate.snapshot'].includes(message.type))).toBe(true);
  });

  it('bounds what it copies: cycles, functions, class instances, long arrays and strings', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    class Client {
      apiKey = SECRET;
    }
    const compacted = compactJson(
      {
        cyclic,
        fn: () => 1,
        client: new Client(),
        items: Array.from({ length: 50 }, (_, i) => i),
        text: 'x'.repeat(1_000),
        when: new Date(0),
        error: Object.assign(new Error('boom'), { status: 500, cause: { headers: { 'x-api-key': SECRET } } }),
        headers: { Authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
        note: `the key is ${SECRET}`,
        deep: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } },
      },
      SNAPSHOT_LIMITS,
    ) as Record<string, unknown>;

    expect(compacted.cyclic).toEqual({ name: 'loop', self: '[Circular]' });
    expect('fn' in compacted).toBe(false);
    expect(compacted.client).toBe('[Client]');
    expect(compacted.items).toEqual([0, 1, 2, '…47 more']);
    expect(compacted.text).toBe(`${'x'.repeat(300)}…(+700 chars)`);
    expect(compacted.when).toBe('1970-01-01T00:00:00.000Z');
    expect(compacted.error).toEqual({ name: 'Error', message: 'boom', status: 500 });
    expect(compacted.headers).toEqual({ Authorization: '[redacted]', 'content-type': 'application/json' });
    expect(compacted.note).toBe('the key is [redacted]');
    expect(JSON.stringify(compacted.deep)).toContain('[…]');
    expect(JSON.stringify(compacted)).not.toContain(SECRET);
    // Compacting again changes nothing: recordings replay to the same messages.
    expect(compactJson(compacted, SNAPSHOT_LIMITS)).toEqual(compacted);
  });

  it('keeps a huge snapshot small and its state value whole', () => {
    const machine = createMachine({
      id: 'big',
      context: { rows: Array.from({ length: 10_000 }, (_, i) => ({ id: i, payload: 'p'.repeat(100) })) },
      type: 'parallel',
      states: { a: { initial: 'one', states: { one: { initial: 'deep', states: { deep: { initial: 'deeper', states: { deeper: {} } } } } } }, b: {} },
    });
    const seen: WireMessage[] = [];
    createActor(machine, {
      inspect: (event) => {
        const m = toWireMessage(event);
        if (m) seen.push(m);
      },
    }).start();
    const snapshot = seen.find((message): message is WireSnapshotMessage => message.type === '@xstate.snapshot')!;
    expect(JSON.stringify(snapshot).length).toBeLessThan(3_000);
    expect((snapshot.snapshot as { value: unknown }).value).toEqual({ a: { one: { deep: 'deeper' } }, b: {} });
    expect((snapshot.snapshot as { context: { rows: unknown[] } }).context.rows.at(-1)).toBe('…9997 more');
  });
});

describe('Stately inspector compatibility and secrets', () => {
  /** A model backend that holds its key the ways real clients do: a field, headers, a closure. */
  class SecretHoldingProvider implements ModelProvider {
    readonly name = 'secret-holder';
    readonly apiKey = SECRET;
    readonly headers = { 'x-api-key': SECRET, authorization: `Bearer ${SECRET}` };
    private readonly inner = createScriptedProvider({ latencyMs: 20, chunks: 4 });
    private failedOnce = false;
    stream(request: ModelRequest, options: StreamOptions): Promise<ModelResponse> {
      const key = this.apiKey;
      // One transient failure whose cause carries the request headers, like an HTTP client error.
      if (options.caller?.id === 'technical' && !this.failedOnce) {
        this.failedOnce = true;
        return Promise.reject(new ProviderError('server', '503 upstream unavailable', { status: 503, cause: { request: { headers: this.headers, key } } }));
      }
      return this.inner.stream(request, options);
    }
  }

  it('sends no API key or auth header to createWebSocketInspector, the local server or a recording', async () => {
    const server = await start();
    const sink = await rawSink();
    const toSink = statelyInspector(sink.url);
    const toServer = statelyInspector(server.wsUrl);
    await until(() => server.stats.inspectConnections === 1, 'the Stately inspector connects to the server');
    const recordingPath = join(dir, 'secret-run.jsonl');
    const recorder = createInspectionRecorder(recordingPath);

    const result = await runFanOut(
      { task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 10_000, policy: { retry: { initialDelayMs: 10 } } },
      { provider: new SecretHoldingProvider(), inspect: combineInspectors(toSink.inspect, toServer.inspect, recorder.inspect, server.inspect) },
    ).result;
    await recorder.close();
    expect(result.status).toBe('done');
    expect(result.outcomes.find((outcome) => outcome.id === 'technical')?.attempts).toBe(2);

    // The Stately inspector sends each event on a later tick: wait for the lead's final snapshot.
    const leadDone = (frames: string[]) => frames.some((frame) => frame.includes('"@xstate.snapshot"') && frame.includes('"value":"done"'));
    await until(() => leadDone(sink.frames), 'the raw sink receives the whole run');
    await until(() => leadDone(server.messages().map((message) => JSON.stringify(message))), 'the server receives the whole run');

    const recording = await readFile(recordingPath, 'utf8');
    const everything = [sink.frames.join('\n'), JSON.stringify(server.messages()), recording];
    expect(sink.frames.length).toBeGreaterThan(20);
    expect(recording.split('\n').length).toBeGreaterThan(20);
    for (const text of everything) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('sk-ant-');
      expect(text).not.toMatch(/Bearer /);
    }
    // What was sent is still useful: the retry and its cause are visible, the machine definition is there.
    expect(sink.frames.join('\n')).toContain('503 upstream unavailable');
    expect(sink.frames.some((frame) => frame.includes('"definition"') && frame.includes('synthesizing'))).toBe(true);
  });

  it('filterInspection keeps secrets in a context out of a Stately inspector, and the server redacts what arrives', async () => {
    // A canary: this machine keeps a key in its context, so an unfiltered inspector leaks it.
    const machine = setup({ types: { context: {} as { apiKey: string; request: { headers: Record<string, string> }; count: number } } }).createMachine({
      id: 'client',
      context: { apiKey: SECRET, request: { headers: { authorization: `Bearer ${SECRET}` } }, count: 0 },
      initial: 'idle',
      states: { idle: { on: { go: { target: 'busy', actions: assign({ count: ({ context }) => context.count + 1 }) } } }, busy: {} },
    });
    const server = await start();
    const unfiltered = await rawSink();
    const filtered = await rawSink();
    const plain = statelyInspector(unfiltered.url);
    const safe = statelyInspector(filtered.url);
    const toServer = statelyInspector(server.wsUrl);
    await until(() => server.stats.inspectConnections === 1, 'the Stately inspector connects to the server');

    const actor = createActor(machine, { inspect: combineInspectors(plain.inspect, filterInspection(safe.inspect), toServer.inspect) });
    actor.start();
    actor.send({ type: 'go' });
    const busy = (frames: string[]) => frames.some((frame) => frame.includes('"value":"busy"'));
    await until(() => busy(unfiltered.frames) && busy(filtered.frames), 'both sinks receive the run');
    await until(() => busy(server.messages().map((message) => JSON.stringify(message))), 'the server receives the run');

    expect(unfiltered.frames.join('\n')).toContain(SECRET);
    expect(filtered.frames.join('\n')).not.toContain(SECRET);
    expect(filtered.frames.join('\n')).toContain('"apiKey":"[redacted]"');
    expect(JSON.stringify(server.messages())).not.toContain(SECRET);
  });

  it('keeps synthesis deltas out of inspection: filterInspection and the local inspector drop them', async () => {
    const raw: InspectionEvent[] = [];
    const filtered: InspectionEvent[] = [];
    const wire: WireMessage[] = [];
    // The synthesizer streams 50 deltas; specialists' deltas are already batched by the fan-out.
    const provider = createScriptedProvider({ latencyMs: 20, byCaller: { synthesizer: { text: 'fold '.repeat(100), chunks: 50 } } });
    await runFanOut(
      { task: 't', specialists: researchSpecialists, deadlineMs: 10_000 },
      {
        provider,
        inspect: combineInspectors(
          (event) => raw.push(event),
          filterInspection((event) => filtered.push(event)),
          (event) => {
            const message = toWireMessage(event);
            if (message) wire.push(message);
          },
        ),
      },
    ).result;

    const tokenEvents = (events: InspectionEvent[]) => events.filter((event) => event.type === '@xstate.event' && event.event.type === 'specialist.token');
    // Without a filter, each synthesis delta is one event to the lead (and a snapshot of its whole context).
    expect(tokenEvents(raw).length).toBeGreaterThanOrEqual(50);
    expect(tokenEvents(filtered)).toHaveLength(0);
    expect(filtered.length).toBeLessThan(raw.length - 100);
    expect(wire.some((message) => message.type !== '@xstate.actor' && message.event.type === 'specialist.token')).toBe(false);
    // The synthesis itself still shows: its actor, its start, its result.
    expect(wire.some((message) => message.type === '@xstate.snapshot' && message.event.type === 'xstate.done.actor.synthesizer')).toBe(true);
  });
});

describe('recordings', () => {
  it('records the wire messages of a run as JSONL and reads them back', async () => {
    const path = join(dir, 'run.jsonl');
    const recorder = createInspectionRecorder(path);
    const server = await start();
    await runFanOut(
      { task: 't', specialists: researchSpecialists, deadlineMs: 10_000 },
      { provider: createScriptedProvider({ latencyMs: 5 }), inspect: combineInspectors(recorder.inspect, server.inspect) },
    ).result;
    await recorder.close();

    const text = await readFile(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const messages = await readRecording(path);
    expect(messages).toHaveLength(recorder.count);
    expect(messages).toHaveLength(text.trim().split('\n').length);
    // The same run, seen by the recorder and the server: the same messages but for their creation times.
    const withoutTime = (list: unknown[]) => list.map((message) => ({ ...(message as object), createdAt: 0 }));
    expect(withoutTime(messages)).toEqual(withoutTime(server.messages()));

    // Replayed into another server, it is the same run.
    const replayed = await start();
    replayed.replay(messages);
    expect(replayed.messages()).toEqual(messages);
  });

  it('names the file and the line of a bad line', async () => {
    const path = join(dir, 'broken.jsonl');
    await writeFile(path, '{"type":"@xstate.actor","sessionId":"x:0"}\n\n{"type":"@xstate.event",\n');
    await expect(readRecording(path)).rejects.toThrow(`${path}:3: not valid JSON`);
    await writeFile(path, '{"type":"@xstate.actor","sessionId":"x:0"}\n[1,2]\n');
    await expect(readRecording(path)).rejects.toThrow(`${path}:2: expected an inspection message`);
    await expect(readRecording(join(dir, 'missing.jsonl'))).rejects.toThrow(`Could not read the inspection recording ${join(dir, 'missing.jsonl')}`);
  });

  it('replay refuses messages that are not inspection messages, keeping none of them', async () => {
    const server = await start();
    expect(() => server.replay([{ type: '@xstate.actor', sessionId: 'x:0', name: 'a' }, { type: 'nope' }])).toThrow('replay: message 1 is not an inspection message');
    expect(server.stats.messages).toBe(0);
  });
});

describe('inspector server', () => {
  it('binds loopback on an ephemeral port by default and serves only its own assets', async () => {
    const server = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(server.wsUrl).toBe(`${server.url.replace('http://', 'ws://')}inspect`);
    const page = await get(server.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    for (const asset of ['', 'app.js', 'app.css']) {
      const { body } = await get(server.url + asset);
      // Nothing from the internet: no absolute URL but the SVG namespace.
      expect(body.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
      expect(body).not.toMatch(/@import|fonts\.googleapis|cdn\./i);
    }
    expect((await get(`${server.url}nope`)).status).toBe(404);
  });

  it('refuses to bind a non-loopback address unless allowed, and warns when it is', async () => {
    await expect(startInspectorServer({ host: '0.0.0.0', log: () => {} })).rejects.toThrow('Refusing to bind the inspector to 0.0.0.0');
    await expect(startInspectorServer({ port: 70_000 })).rejects.toThrow('Expected `port` to be an integer from 0 to 65535, got `70000`');
    const lines: string[] = [];
    const server = await start({ host: '0.0.0.0', allowRemote: true, log: (line) => lines.push(line) });
    expect(lines.join('\n')).toMatch(/WARNING: listening on 0\.0\.0\.0:\d+, not loopback/);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('answers only requests addressed to loopback, and lets only loopback pages open its websockets', async () => {
    const server = await start();
    const { port } = new URL(server.url);
    // DNS rebinding: a page of evil.example resolving to 127.0.0.1 sends its own Host.
    expect((await get(server.url, { host: `evil.example:${port}` })).status).toBe(403);
    expect((await get(server.url, { host: `localhost:${port}` })).status).toBe(200);
    const ui = server.url.replace('http://', 'ws://') + 'ui';
    expect(await openSocket(ui, { origin: 'https://evil.example' })).toEqual({ opened: false, status: 403 });
    expect(await openSocket(ui, { origin: server.url.slice(0, -1) })).toEqual({ opened: true });
    expect(await openSocket(server.wsUrl, { origin: 'https://evil.example' })).toEqual({ opened: false, status: 403 });
    expect(await openSocket(server.wsUrl, { origin: 'http://localhost:5173' })).toEqual({ opened: true });
    expect(await openSocket(server.wsUrl)).toEqual({ opened: true });
  });

  it('takes one message or an array of messages per frame, and drops what is not inspection', async () => {
    const server = await start();
    const socket = new WebSocket(server.wsUrl);
    await new Promise((resolve) => socket.once('open', resolve));
    const actor = { type: '@xstate.actor', sessionId: 'x:0', rootId: 'x:0', name: 'm', createdAt: '1', definition: '{"id":"m"}', snapshot: { status: 'active' } };
    const event = { type: '@xstate.event', sessionId: 'x:0', rootId: 'x:0', createdAt: '2', event: { type: 'go' } };
    socket.send(JSON.stringify(actor));
    socket.send(JSON.stringify([event, { ...event, event: { type: 'specialist.token', id: 'a', text: 'x' } }]));
    socket.send('not json');
    socket.send(JSON.stringify({ type: 'other' }));
    await until(() => server.stats.messages + server.stats.dropped === 5, 'the server takes every frame');
    socket.close();
    expect(server.messages().map((message) => message.type)).toEqual(['@xstate.actor', '@xstate.event']);
    expect(server.stats.dropped).toBe(3);
  });
});
