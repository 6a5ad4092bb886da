/**
 * The local inspector server: serves the inspector page and receives inspection messages.
 *
 * - `GET /` — the page (HTML, `/app.js`, `/app.css`: all served from this package, nothing
 *   from the internet; a Content-Security-Policy forbids anything else).
 * - `ws …/inspect` (and `ws …/`) — the websocket protocol of `@statelyai/inspect`'s
 *   `createWebSocketInspector({ url })`: one JSON message per frame (an array of messages per
 *   frame is accepted too), frames up to 8 MiB. Any XState app can point its inspector here.
 *   Each connection's ids get a prefix of their own (`c1:`, `c2:`…), as every XState app
 *   numbers its actors from `x:0`.
 * - `ws …/ui` — the page's live feed: `{"t":"hello"}`, then `{"t":"batch","more","messages"}`
 *   frames: every message so far, then new ones every 40 ms; and a {@link InspectorNotice}
 *   (`{"t":"notice",…}`) whenever messages were dropped for the server's limits.
 * - `GET /messages.jsonl` — everything received, as a recording.
 *
 * Limits, so that no sender can exhaust it: each message at most `maxMessageBytes` (bigger
 * ones are compacted further, else dropped), and at most `maxMessages` / `maxHistoryBytes` kept.
 *
 * Binds 127.0.0.1 by default; another address needs `allowRemote: true` and logs a warning.
 * Bound to loopback, requests must name a loopback host (no DNS rebinding), and browsers may
 * only open the websockets from loopback pages (the page's feed: from the page itself).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { InspectionEvent } from 'xstate';
import { FanfoldError } from '../errors.ts';
import { APP_CSS, APP_JS, PAGE_HTML } from './page.ts';
import { MAX_MESSAGE_BYTES, normalizeWireMessage, serializeWireMessage, toWireMessage, wireMessageProblem, type WireMessage } from './wire.ts';
import { aggregateLightChildren } from './aggregate.ts';

/** Options of {@link startInspectorServer}. */
export interface InspectorServerOptions {
  /** Address to bind. Default `'127.0.0.1'`. Anything but loopback needs `allowRemote`. */
  host?: string;
  /** Port to bind; `0` picks a free one. Default `0`. */
  port?: number;
  /** Allow binding a non-loopback address (exposes run data to the network). Default `false`. A server bound to loopback checks Host and Origin whatever this says. */
  allowRemote?: boolean;
  /** Where warnings and notices go. Default: standard error. */
  log?: (line: string) => void;
  /** Messages kept for the page and for replay to late viewers; later ones are dropped, with a warning and a notice to pages. Default `1_000_000`. */
  maxMessages?: number;
  /** Bytes of messages (as JSON) kept; later ones are dropped like those past `maxMessages`. Default 256 MiB. */
  maxHistoryBytes?: number;
  /** Bytes of one message (as JSON): a bigger one is compacted further (its definition, event or snapshot cut down), else dropped. Default 1 MiB. */
  maxMessageBytes?: number;
}

/** Counters, e.g. to wait for an inspector to connect. */
export interface InspectorServerStats {
  /** Messages kept (received, replayed or fed in-process). */
  messages: number;
  /** Bytes of the messages kept, as JSON (the size of `/messages.jsonl` but for its line breaks). */
  bytes: number;
  /** Messages refused: not JSON, not a protocol message, a streamed delta, or over a limit. */
  dropped: number;
  /** Of `dropped`, those refused for a limit (`maxMessages`, `maxHistoryBytes`, `maxMessageBytes`, a frame over 8 MiB): pages are told. */
  droppedOverLimits: number;
  /** Open inspection connections (`createWebSocketInspector` clients). */
  inspectConnections: number;
  /** Open pages. */
  pageConnections: number;
}

/**
 * What the server tells pages (on `ws …/ui`) when messages were dropped for its limits, so a
 * page never shows an incomplete run as if it were whole. Sent after `hello` to a page that
 * connects once anything was dropped, and again when the count changes (at most every 40 ms).
 * A notice replaces an earlier one with the same `id`.
 */
export interface InspectorNotice {
  t: 'notice';
  /** What the notice is about; a later notice with the same id replaces it. `'dropped'` is the only one so far. */
  id: 'dropped';
  level: 'warning';
  /** For a person, as plain text, e.g. "12 messages were dropped: the inspector keeps at most 1,000,000 messages (256 MiB), each at most 1 MiB. Nothing later shows up here; restart the inspector to watch another run." */
  text: string;
  /** Messages dropped for limits so far. */
  dropped: number;
  /** True once the history is full: nothing later shows up (restart the inspector to watch another run). */
  full: boolean;
}

/** A running inspector server. */
export interface InspectorServer {
  /** The page, e.g. `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Where `createWebSocketInspector({ url })` should send, e.g. `ws://127.0.0.1:PORT/inspect`. */
  readonly wsUrl: string;
  /** An XState inspection observer that feeds this server in-process (pass as `inspect`). Never throws. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Feeds recorded wire messages (e.g. from `readRecording`), all at once, ids as they are. Throws on one that is not a protocol message, keeping none. */
  replay(messages: Iterable<unknown>): void;
  /** Every message kept so far, as wire messages. */
  messages(): WireMessage[];
  readonly stats: InspectorServerStats;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
/** How often new messages are pushed to pages; the page renders at most once per animation frame anyway. */
const PUSH_INTERVAL_MS = 40;
/** Messages per websocket frame to a page, at most. */
const PUSH_CHUNK = 2_000;
/** Characters of messages per websocket frame to a page, at most (but at least one message a frame). */
const PUSH_FRAME_CHARS = 4 * 1024 * 1024;
/** Frames per page per push round; the rest goes on the next round, so a large history never blocks the server. */
const PUSH_FRAMES_PER_ROUND = 8;
/** A page whose socket has this much unsent data is skipped until it catches up. */
const MAX_BUFFERED = 8 * 1024 * 1024;
/** The largest websocket frame an inspection client may send. */
const MAX_INSPECT_FRAME = 8 * 1024 * 1024;
/** Characters of `/messages.jsonl` written at once. */
const DOWNLOAD_CHUNK_CHARS = 1024 * 1024;

/**
 * True for an address or name that is this machine only: `127.0.0.1` (and all of `127.0.0.0/8`),
 * `::1`, `localhost`.
 *
 * @example
 * isLoopbackHost('::1'); // → true
 * isLoopbackHost('0.0.0.0'); // → false
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return LOOPBACK_HOSTS.has(name) || /^127(?:\.\d{1,3}){3}$/.test(name) || /^(?:\[?::ffff:)127(?:\.\d{1,3}){3}\]?$/.test(name) || name === 'localhost.';
}

function hostOf(authority: string): string {
  // `[::1]:8080` → `[::1]`; `localhost:8080` → `localhost`.
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1);
  const colon = authority.lastIndexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new FanfoldError('config', `Expected \`${name}\` to be an integer from 1 and up, got \`${String(value)}\``);
  return value;
}

function validateOptions(options: InspectorServerOptions): { host: string; port: number; maxMessages: number; maxHistoryBytes: number; maxMessageBytes: number } {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.trim() === '') throw new FanfoldError('config', `Expected \`host\` to be a non-empty string, got \`${String(host)}\``);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new FanfoldError('config', `Expected \`port\` to be an integer from 0 to 65535, got \`${String(port)}\``);
  const maxMessages = positiveInteger('maxMessages', options.maxMessages ?? 1_000_000);
  const maxHistoryBytes = positiveInteger('maxHistoryBytes', options.maxHistoryBytes ?? 256 * 1024 * 1024);
  const maxMessageBytes = positiveInteger('maxMessageBytes', options.maxMessageBytes ?? MAX_MESSAGE_BYTES);
  if (!isLoopbackHost(host) && options.allowRemote !== true) {
    throw new FanfoldError('config', `Refusing to bind the inspector to ${host}: it would show run data to the network. Bind 127.0.0.1, or pass \`allowRemote: true\` (CLI: --host) to allow it.`);
  }
  return { host, port, maxMessages, maxHistoryBytes, maxMessageBytes };
}

/** `268435456` → `256 MiB`. */
function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes.toLocaleString('en-US')} bytes`;
}

/** Session-id fields of a message, all in one namespace. */
function withPrefix(message: WireMessage, prefix: string): WireMessage {
  const ids = { sessionId: prefix + message.sessionId, rootId: message.rootId === undefined ? undefined : prefix + message.rootId };
  switch (message.type) {
    case '@xstate.actor':
      return { ...message, ...ids, parentId: message.parentId === undefined ? undefined : prefix + message.parentId };
    case '@xstate.event':
      return { ...message, ...ids, sourceId: message.sourceId === undefined ? undefined : prefix + message.sourceId };
    default:
      return { ...message, ...ids };
  }
}

interface PageClient {
  socket: WebSocket;
  /** Index of the next history message to send. */
  cursor: number;
  /** `droppedOverLimits` when this page was last told; -1: never. */
  told: number;
}

/**
 * Starts the local inspector: a page showing the lead's statechart, the actor tree, a timeline
 * with one lane per specialist, and an event log, live.
 *
 * @example
 * const inspector = await startInspectorServer();
 * console.log(`Inspector: ${inspector.url}`);
 * const run = runFanOut(config, { provider, inspect: inspector.inspect });
 * // or, from any XState app: createWebSocketInspector({ url: inspector.wsUrl })
 */
export async function startInspectorServer(options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const { host, port, maxMessages, maxHistoryBytes, maxMessageBytes } = validateOptions(options);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  /** Each message kept, as its JSON line. */
  const history: string[] = [];
  let historyBytes = 0;
  const pages = new Set<PageClient>();
  let dropped = 0;
  let droppedOverLimits = 0;
  let full = false;
  let pushTimer: NodeJS.Timeout | null = null;
  let inspectConnections = 0;
  /** The last connection number given out: connection N's ids are prefixed `cN:`. */
  let connections = 0;
  let closed = false;
  /** Whether Host and Origin are checked: always when bound to loopback, whatever `allowRemote` says. */
  let loopbackBound = isLoopbackHost(host);
  const warned = new Set<string>();
  const warnOnce = (key: string, line: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    log(line);
  };

  const overLimit = (key: 'full' | 'large' | 'frame', line: string) => {
    dropped++;
    droppedOverLimits++;
    warnOnce(key, `fanfold inspector: ${line}`);
    // Pages are told even when nothing new is kept.
    schedulePush(PUSH_INTERVAL_MS);
  };

  const keep = (message: WireMessage) => {
    if (history.length >= maxMessages) {
      full = true;
      return overLimit('full', `${maxMessages.toLocaleString('en-US')} messages kept; later messages are dropped`);
    }
    const line = serializeWireMessage(message, maxMessageBytes);
    if (line === undefined) {
      return overLimit('large', `a message bigger than ${formatBytes(maxMessageBytes)} even compacted was dropped (others may follow)`);
    }
    const bytes = Buffer.byteLength(line);
    if (historyBytes + bytes > maxHistoryBytes) {
      full = true;
      return overLimit('full', `${formatBytes(maxHistoryBytes)} of messages kept; later messages are dropped`);
    }
    history.push(line);
    historyBytes += bytes;
    schedulePush(PUSH_INTERVAL_MS);
  };

  const notice = (): InspectorNotice => {
    const limit = `the inspector keeps at most ${maxMessages.toLocaleString('en-US')} messages (${formatBytes(maxHistoryBytes)}), each at most ${formatBytes(maxMessageBytes)}`;
    const count = `${droppedOverLimits.toLocaleString('en-US')} message${droppedOverLimits === 1 ? ' was' : 's were'} dropped`;
    const text = full ? `${count}: ${limit}. Nothing later shows up here; restart the inspector to watch another run.` : `${count} for being too large: ${limit}. This view is incomplete.`;
    return { t: 'notice', id: 'dropped', level: 'warning', text, dropped: droppedOverLimits, full };
  };

  const schedulePush = (delayMs: number) => {
    if (pushTimer !== null || pages.size === 0 || closed) return;
    pushTimer = setTimeout(push, delayMs);
  };

  const push = () => {
    pushTimer = null;
    let behind = false;
    for (const page of pages) {
      try {
        if (page.socket.readyState !== WebSocket.OPEN) continue;
        if (page.told !== droppedOverLimits && droppedOverLimits > 0) {
          page.told = droppedOverLimits;
          page.socket.send(JSON.stringify(notice()));
        }
        for (let frames = 0; page.cursor < history.length; frames++) {
          if (frames >= PUSH_FRAMES_PER_ROUND || page.socket.bufferedAmount > MAX_BUFFERED) {
            behind = true;
            break;
          }
          // Up to PUSH_CHUNK messages and PUSH_FRAME_CHARS characters (one message at least).
          let end = page.cursor;
          let chars = 0;
          while (end < history.length && end - page.cursor < PUSH_CHUNK) {
            const length = history[end]!.length + 1;
            if (end > page.cursor && chars + length > PUSH_FRAME_CHARS) break;
            chars += length;
            end++;
          }
          const chunk = history.slice(page.cursor, end);
          page.cursor = end;
          // `more`: another chunk follows at once, so the page can wait for it before rendering.
          const more = page.cursor < history.length;
          page.socket.send(`{"t":"batch","more":${more},"messages":[${chunk.join(',')}]}`);
        }
      } catch (error) {
        // One page's trouble is not the server's: drop it (it reconnects and gets everything again).
        warnOnce('push', `fanfold inspector: could not update a page: ${(error as Error).message}`);
        pages.delete(page);
        page.socket.terminate();
      }
    }
    if (behind) schedulePush(PUSH_INTERVAL_MS);
  };

  const ingestExternal = (raw: unknown, prefix: string): boolean => {
    const message = normalizeWireMessage(raw);
    if (!message) {
      dropped++;
      return false;
    }
    keep(withPrefix(message, prefix));
    return true;
  };

  const server = createServer((request, response) => {
    try {
      handleHttp(request, response);
    } catch (error) {
      warnOnce('http', `fanfold inspector: a request failed: ${(error as Error).message}`);
      if (!response.headersSent) refuse(response, 500, 'Internal error');
      else response.destroy();
    }
  });
  const inspectSockets = new WebSocketServer({ noServer: true, maxPayload: MAX_INSPECT_FRAME });
  const pageSockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  /** Bound to loopback: the request must be addressed to a loopback name (defeats DNS rebinding). */
  const hostAllowed = (request: IncomingMessage): boolean => {
    if (!loopbackBound) return true;
    const authority = request.headers.host;
    return typeof authority === 'string' && isLoopbackHost(hostOf(authority));
  };

  const sameOrigin = (request: IncomingMessage, originHeader: string): boolean => {
    try {
      const from = new URL(originHeader);
      return from.host === request.headers.host && (from.protocol === 'http:' || from.protocol === 'https:');
    } catch {
      return false;
    }
  };

  const handleHttp = (request: IncomingMessage, response: ServerResponse) => {
    if (!hostAllowed(request)) return refuse(response, 403, 'Forbidden: this inspector only answers requests addressed to a loopback host.');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return refuse(response, 405, 'Method not allowed');
    }
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/':
      case '/index.html':
        return send(request, response, 'text/html; charset=utf-8', PAGE_HTML);
      case '/app.js':
        return send(request, response, 'text/javascript; charset=utf-8', APP_JS);
      case '/app.css':
        return send(request, response, 'text/css; charset=utf-8', APP_CSS);
      case '/messages.jsonl':
        return download(request, response);
      case '/favicon.ico':
        response.writeHead(204).end();
        return;
      default:
        return refuse(response, 404, 'Not found');
    }
  };

  const headers = (type: string, length: number) => ({
    'Content-Type': type,
    'Content-Length': length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    // Everything comes from this server: no CDN, no fonts, no analytics, no frames.
    'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  });

  const send = (request: IncomingMessage, response: ServerResponse, type: string, body: string) => {
    response.writeHead(200, headers(type, Buffer.byteLength(body)));
    response.end(request.method === 'HEAD' ? undefined : body);
  };

  /** The messages kept when the request came, one line each, written as the client reads them (never one huge string). */
  const download = (request: IncomingMessage, response: ServerResponse) => {
    const end = history.length;
    response.writeHead(200, {
      ...headers('application/x-ndjson; charset=utf-8', historyBytes + end),
      'Content-Disposition': 'attachment; filename="fanfold-inspection.jsonl"',
    });
    if (request.method === 'HEAD') return void response.end();
    let at = 0;
    const pump = () => {
      try {
        while (at < end) {
          if (response.destroyed) return;
          let next = at;
          let chars = 0;
          while (next < end && (next === at || chars < DOWNLOAD_CHUNK_CHARS)) chars += history[next++]!.length + 1;
          const ok = response.write(`${history.slice(at, next).join('\n')}\n`);
          at = next;
          if (!ok) return void response.once('drain', pump);
        }
        response.end();
      } catch (error) {
        warnOnce('download', `fanfold inspector: could not send messages.jsonl: ${(error as Error).message}`);
        response.destroy();
      }
    };
    pump();
  };

  const refuse = (response: ServerResponse, status: number, text: string) => {
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    response.end(`${text}\n`);
  };

  const rejectUpgrade = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  };

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    try {
      upgrade(request, socket, head);
    } catch (error) {
      warnOnce('upgrade', `fanfold inspector: a websocket upgrade failed: ${(error as Error).message}`);
      socket.destroy();
    }
  });

  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!hostAllowed(request)) return rejectUpgrade(socket, 403, 'Forbidden');
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const originHeader = request.headers.origin;
    if (path === '/ui') {
      // The page's feed carries run data: only the page itself (or a non-browser client) may read it.
      if (originHeader !== undefined && !sameOrigin(request, originHeader)) return rejectUpgrade(socket, 403, 'Forbidden');
      pageSockets.handleUpgrade(request, socket, head, (ws) => onPage(ws));
      return;
    }
    if (path === '/inspect' || path === '/') {
      // Browser apps may send inspection too, but to a loopback-bound server only from loopback pages.
      if (originHeader !== undefined && loopbackBound) {
        let fromLoopback = false;
        try {
          fromLoopback = isLoopbackHost(new URL(originHeader).hostname);
        } catch {
          fromLoopback = false;
        }
        if (!fromLoopback) return rejectUpgrade(socket, 403, 'Forbidden');
      }
      inspectSockets.handleUpgrade(request, socket, head, (ws) => onInspector(ws));
      return;
    }
    rejectUpgrade(socket, 404, 'Not Found');
  };

  const onInspector = (ws: WebSocket) => {
    inspectConnections++;
    // Every XState app numbers its actors from `x:0`: each connection gets a namespace of its own.
    const prefix = `c${++connections}:`;
    ws.on('close', () => inspectConnections--);
    ws.on('error', (error) => {
      // ws closes the connection after this (1009 for a frame over the limit).
      if (/max payload/i.test(error.message)) overLimit('frame', `a frame bigger than ${formatBytes(MAX_INSPECT_FRAME)} was refused and its connection closed`);
    });
    ws.on('message', (data, isBinary) => {
      try {
        if (isBinary) {
          dropped++;
          return;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(String(data));
        } catch {
          dropped++;
          return;
        }
        if (Array.isArray(parsed)) for (const item of parsed) ingestExternal(item, prefix);
        else ingestExternal(parsed, prefix);
      } catch (error) {
        // A message the server cannot take must never bring it down.
        dropped++;
        warnOnce('message', `fanfold inspector: could not take a message: ${(error as Error).message}`);
      }
    });
  };

  const onPage = (ws: WebSocket) => {
    const page: PageClient = { socket: ws, cursor: 0, told: -1 };
    pages.add(page);
    ws.on('close', () => pages.delete(page));
    ws.on('error', () => {});
    // A page that connects (or reconnects) gets everything from the start.
    ws.send(JSON.stringify({ t: 'hello', version: 1 }));
    schedulePush(0);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log(`fanfold inspector: server error: ${error.message}`));
  const address = server.address() as AddressInfo;
  loopbackBound = isLoopbackHost(address.address);
  const boundPort = address.port;
  const urlHost = (() => {
    const bound = address.address;
    if (bound === '0.0.0.0') return '127.0.0.1';
    if (bound === '::') return '[::1]';
    if (host === 'localhost') return 'localhost';
    return bound.includes(':') ? `[${bound}]` : bound;
  })();
  const origin = `${urlHost}:${boundPort}`;
  if (!loopbackBound) {
    log(`fanfold inspector: WARNING: listening on ${host}:${boundPort}, not loopback: anyone who can reach this address can watch runs (task, outputs, errors) and send inspection data.`);
  }

  // A very large run arrives as aggregated progress (aggregate.ts).
  const inspect = aggregateLightChildren((event: InspectionEvent) => {
    if (closed) return;
    try {
      const message = toWireMessage(event);
      if (message) keep(message);
    } catch (error) {
      // An inspector must never break the run it watches.
      dropped++;
      warnOnce('inspect', `fanfold inspector: could not convert an inspection event: ${(error as Error).message}`);
    }
  });

  return {
    url: `http://${origin}/`,
    wsUrl: `ws://${origin}/inspect`,
    inspect,
    replay: (messages) => {
      // All or nothing: check every message before the page sees any.
      const accepted: WireMessage[] = [];
      let index = 0;
      for (const raw of messages) {
        const problem = wireMessageProblem(raw);
        if (problem !== undefined)
          throw new FanfoldError('config', `replay: message ${index} is not an inspection message (@xstate.actor, @xstate.event or @xstate.snapshot with a sessionId): ${problem}`);
        // undefined: a streamed delta, left out.
        const message = normalizeWireMessage(raw);
        if (message) accepted.push(message);
        index++;
      }
      for (const message of accepted) {
        // A recording of websocket clients (`/messages.jsonl`) holds their `cN:` ids as they were:
        // new connections number on from there, so they never share a namespace with it.
        const used = /^c(\d{1,9}):/.exec(message.sessionId);
        if (used) connections = Math.max(connections, Number(used[1]));
        keep(message);
      }
    },
    messages: () => history.map((line) => JSON.parse(line) as WireMessage),
    get stats() {
      return { messages: history.length, bytes: historyBytes, dropped, droppedOverLimits, inspectConnections, pageConnections: pages.size };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (pushTimer !== null) clearTimeout(pushTimer);
      pushTimer = null;
      for (const client of [...inspectSockets.clients, ...pageSockets.clients]) client.terminate();
      inspectSockets.close();
      pageSockets.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
