/**
 * The local inspector server: serves the inspector page and receives inspection messages.
 *
 * - `GET /` — the page (HTML, `/app.js`, `/app.css`: all served from this package, nothing
 *   from the internet; a Content-Security-Policy forbids anything else).
 * - `ws …/inspect` (and `ws …/`) — the websocket protocol of `@statelyai/inspect`'s
 *   `createWebSocketInspector({ url })`: one JSON message per frame (an array of messages per
 *   frame is accepted too). Any XState app can point its inspector here.
 * - `ws …/ui` — the page's live feed: `{"t":"hello"}`, then `{"t":"batch","more","messages"}`
 *   frames: every message so far, then new ones every 40 ms.
 * - `GET /messages.jsonl` — everything received, as a recording.
 *
 * Binds 127.0.0.1 by default; another address needs `allowRemote: true` and logs a warning.
 * On loopback, requests must name a loopback host (no DNS rebinding), and browsers may only
 * open the websockets from loopback pages (the page's feed: from the page itself).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { InspectionEvent } from 'xstate';
import { APP_CSS, APP_JS, PAGE_HTML } from './page.ts';
import { isTokenEvent, normalizeWireMessage, toWireMessage, type WireMessage } from './wire.ts';

/** Options of {@link startInspectorServer}. */
export interface InspectorServerOptions {
  /** Address to bind. Default `'127.0.0.1'`. Anything but loopback needs `allowRemote`. */
  host?: string;
  /** Port to bind; `0` picks a free one. Default `0`. */
  port?: number;
  /** Allow binding a non-loopback address (exposes run data to the network). Default `false`. */
  allowRemote?: boolean;
  /** Where warnings and notices go. Default: standard error. */
  log?: (line: string) => void;
  /** Messages kept for the page and for replay to late viewers; later ones are dropped with a warning. Default `1_000_000`. */
  maxMessages?: number;
}

/** Counters, e.g. to wait for an inspector to connect. */
export interface InspectorServerStats {
  /** Messages kept (received, replayed or fed in-process). */
  messages: number;
  /** Messages refused: not JSON, not a protocol message, a streamed delta, or over `maxMessages`. */
  dropped: number;
  /** Open inspection connections (`createWebSocketInspector` clients). */
  inspectConnections: number;
  /** Open pages. */
  pageConnections: number;
}

/** A running inspector server. */
export interface InspectorServer {
  /** The page, e.g. `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Where `createWebSocketInspector({ url })` should send, e.g. `ws://127.0.0.1:PORT/inspect`. */
  readonly wsUrl: string;
  /** An XState inspection observer that feeds this server in-process (pass as `inspect`). */
  readonly inspect: (event: InspectionEvent) => void;
  /** Feeds recorded wire messages (e.g. from `readRecording`), all at once. Throws on one that is not a protocol message. */
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
/** Messages per websocket frame to a page. */
const PUSH_CHUNK = 2_000;
/** Frames per page per push round; the rest goes on the next round, so a large history never blocks the server. */
const PUSH_FRAMES_PER_ROUND = 8;
/** A page whose socket has this much unsent data is skipped until it catches up. */
const MAX_BUFFERED = 8 * 1024 * 1024;

function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127(?:\.\d{1,3}){3}$/.test(host) || host === '::ffff:127.0.0.1';
}

function hostOf(authority: string): string {
  // `[::1]:8080` → `[::1]`; `localhost:8080` → `localhost`.
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1);
  const colon = authority.lastIndexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}

function validateOptions(options: InspectorServerOptions): { host: string; port: number; allowRemote: boolean; maxMessages: number } {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.trim() === '') throw new TypeError(`Expected \`host\` to be a non-empty string, got \`${String(host)}\``);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError(`Expected \`port\` to be an integer from 0 to 65535, got \`${String(port)}\``);
  const maxMessages = options.maxMessages ?? 1_000_000;
  if (!Number.isInteger(maxMessages) || maxMessages < 1) throw new TypeError(`Expected \`maxMessages\` to be an integer from 1 and up, got \`${String(maxMessages)}\``);
  const allowRemote = options.allowRemote === true;
  if (!isLoopback(host) && !allowRemote) {
    throw new Error(`Refusing to bind the inspector to ${host}: it would show run data to the network. Bind 127.0.0.1, or pass \`allowRemote: true\` (CLI: --host) to allow it.`);
  }
  return { host, port, allowRemote, maxMessages };
}

interface PageClient {
  socket: WebSocket;
  /** Index of the next history message to send. */
  cursor: number;
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
  const { host, port, allowRemote, maxMessages } = validateOptions(options);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  const history: string[] = [];
  const pages = new Set<PageClient>();
  let dropped = 0;
  let warnedFull = false;
  let pushTimer: NodeJS.Timeout | null = null;
  let inspectConnections = 0;
  let closed = false;

  const keep = (message: WireMessage) => {
    if (history.length >= maxMessages) {
      dropped++;
      if (!warnedFull) {
        warnedFull = true;
        log(`fanfold inspector: ${maxMessages} messages kept; later messages are dropped`);
      }
      return;
    }
    history.push(JSON.stringify(message));
    schedulePush(PUSH_INTERVAL_MS);
  };

  const schedulePush = (delayMs: number) => {
    if (pushTimer !== null || pages.size === 0 || closed) return;
    pushTimer = setTimeout(push, delayMs);
  };

  const push = () => {
    pushTimer = null;
    let behind = false;
    for (const page of pages) {
      if (page.socket.readyState !== WebSocket.OPEN) continue;
      for (let frames = 0; page.cursor < history.length; frames++) {
        if (frames >= PUSH_FRAMES_PER_ROUND || page.socket.bufferedAmount > MAX_BUFFERED) {
          behind = true;
          break;
        }
        const chunk = history.slice(page.cursor, page.cursor + PUSH_CHUNK);
        page.cursor += chunk.length;
        // `more`: another chunk follows at once, so the page can wait for it before rendering.
        const more = page.cursor < history.length;
        page.socket.send(`{"t":"batch","more":${more},"messages":[${chunk.join(',')}]}`);
      }
    }
    if (behind) schedulePush(PUSH_INTERVAL_MS);
  };

  const ingestExternal = (raw: unknown): boolean => {
    const message = normalizeWireMessage(raw);
    if (!message) {
      dropped++;
      return false;
    }
    keep(message);
    return true;
  };

  const server = createServer((request, response) => handleHttp(request, response));
  const inspectSockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const pageSockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  /** Loopback binding: the request must be addressed to a loopback name (defeats DNS rebinding). */
  const hostAllowed = (request: IncomingMessage): boolean => {
    if (allowRemote) return true;
    const authority = request.headers.host;
    return typeof authority === 'string' && isLoopback(hostOf(authority));
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
        response.setHeader('Content-Disposition', 'attachment; filename="fanfold-inspection.jsonl"');
        return send(request, response, 'application/x-ndjson; charset=utf-8', history.length === 0 ? '' : `${history.join('\n')}\n`);
      case '/favicon.ico':
        response.writeHead(204).end();
        return;
      default:
        return refuse(response, 404, 'Not found');
    }
  };

  const send = (request: IncomingMessage, response: ServerResponse, type: string, body: string) => {
    response.writeHead(200, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      // Everything comes from this server: no CDN, no fonts, no analytics, no frames.
      'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    });
    response.end(request.method === 'HEAD' ? undefined : body);
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
      // Browser apps may send inspection too, but on loopback only from loopback pages.
      if (originHeader !== undefined && !allowRemote) {
        let fromLoopback = false;
        try {
          fromLoopback = isLoopback(new URL(originHeader).hostname);
        } catch {
          fromLoopback = false;
        }
        if (!fromLoopback) return rejectUpgrade(socket, 403, 'Forbidden');
      }
      inspectSockets.handleUpgrade(request, socket, head, (ws) => onInspector(ws));
      return;
    }
    rejectUpgrade(socket, 404, 'Not Found');
  });

  const onInspector = (ws: WebSocket) => {
    inspectConnections++;
    ws.on('close', () => inspectConnections--);
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
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
      if (Array.isArray(parsed)) for (const item of parsed) ingestExternal(item);
      else ingestExternal(parsed);
    });
  };

  const onPage = (ws: WebSocket) => {
    const page: PageClient = { socket: ws, cursor: 0 };
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
  const boundPort = address.port;
  const urlHost = (() => {
    const bound = address.address;
    if (bound === '0.0.0.0') return '127.0.0.1';
    if (bound === '::') return '[::1]';
    if (host === 'localhost') return 'localhost';
    return bound.includes(':') ? `[${bound}]` : bound;
  })();
  const origin = `${urlHost}:${boundPort}`;
  if (!isLoopback(host)) {
    log(`fanfold inspector: WARNING: listening on ${host}:${boundPort}, not loopback: anyone who can reach this address can watch runs (task, outputs, errors) and send inspection data.`);
  }

  const inspect = (event: InspectionEvent) => {
    if (closed) return;
    try {
      const message = toWireMessage(event);
      if (message) keep(message);
    } catch (error) {
      // An inspector must never break the run it watches.
      dropped++;
      log(`fanfold inspector: could not convert an inspection event: ${(error as Error).message}`);
    }
  };

  return {
    url: `http://${origin}/`,
    wsUrl: `ws://${origin}/inspect`,
    inspect,
    replay: (messages) => {
      // All or nothing: check every message before the page sees any.
      const accepted: WireMessage[] = [];
      let index = 0;
      for (const raw of messages) {
        const message = normalizeWireMessage(raw);
        if (!message) {
          const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
          if (isTokenEvent((raw as { event?: unknown } | null)?.event)) {
            index++;
            continue;
          }
          throw new TypeError(`replay: message ${index} is not an inspection message (@xstate.actor, @xstate.event or @xstate.snapshot with a sessionId)${type === undefined ? '' : `, got type ${JSON.stringify(type)}`}`);
        }
        accepted.push(message);
        index++;
      }
      for (const message of accepted) keep(message);
    },
    messages: () => history.map((line) => JSON.parse(line) as WireMessage),
    get stats() {
      return { messages: history.length, dropped, inspectConnections, pageConnections: pages.size };
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
