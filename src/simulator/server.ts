/**
 * The loopback server: speaks enough of the Anthropic Messages API (`POST /v1/messages`, JSON
 * and SSE, `POST /v1/messages/count_tokens`, and the Message Batches endpoints under
 * `/v1/messages/batches`) that the unmodified SDK works against it, with deterministic text and
 * tool use, a latency model, prompt-cache accounting and injectable faults. Built on node:http only.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PromptCache, inputTokens, type CacheAccount } from './cache.ts';
import { BATCHES_PATH, MAX_BATCH_BYTES, isBatchPath, parseBatchCreate, parseBatchListQuery, routeBatch, type BatchCall } from './batchRequest.ts';
import { BatchStore, DEFAULT_BATCH_LATENCY, batchLatencyIssues, type SimulatedBatch } from './batches.ts';
import { systemClock, type Clock as SimulatorClock } from '../clock.ts';
import { FanfoldError } from '../errors.ts';
import { errorBody, errorTypeForStatus, statusForErrorType } from './errors.ts';
import { Exchange, type ExchangeHost } from './exchange.ts';
import { BATCH_FAULT_TYPES, DEFAULT_AFTER_DELTAS, FAULT_TYPES, FaultBook, matchesCondition, type Fault, type FaultRule } from './faults.ts';
import { assertLatency, deltaDelays, latencyIssues, resolveLatency, serverToolMs, timeToFirstTokenMs, type LatencyModel } from './latency.ts';
import { parseMessagesBody, peekModel, peekStream, type ParsedMessagesRequest } from './request.ts';
import { MALFORMED_FRAME, MESSAGE_STOP, PING, messageDelta, messageStart, sseFrame, streamError, streamedBlock, type MessageUsage, type StreamedBlock } from './sse.ts';
import { replyFor, replyMessage, type SimulatedReply } from './text.ts';
import { CHARS_PER_TOKEN, codePointLength } from './tokens.ts';
import type { RequestFilter, SimulatedRequest, SimulatedUsage, Simulator, SimulatorOptions } from './types.ts';

const MESSAGES_PATH = '/v1/messages';
const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';
/** The real API's request size limit. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** What to do with a request, decided before it is logged as received. */
type Decision =
  | { kind: 'error'; status: number; type: string; message: string }
  | { kind: 'messages' | 'count'; request: ParsedMessagesRequest; fault: Fault | null }
  | { kind: 'batch'; call: BatchCall; fault: Fault | null; origin: string };

type StreamFault = Extract<Fault, { type: 'stall' | 'drop' | 'stream_error' }>;

interface Waiter {
  matches(record: SimulatedRequest): boolean;
  resolve(record: SimulatedRequest): void;
  reject(error: Error): void;
}

const pad = (seq: number): string => String(seq).padStart(6, '0');

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? null : first;
}

/** fanfold's provider percent-encodes caller ids (they may contain `/`); a bad escape is kept as sent. */
function decodeCaller(value: string | null): string | null {
  if (value === null) return null;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** An integer header (`x-fanfold-attempt`, `x-fanfold-turn`), or `null` when absent or not an integer. */
function integerOf(value: string | null): number | null {
  const number = value === null ? Number.NaN : Number(value);
  return Number.isInteger(number) ? number : null;
}

/** A reply as it is streamed: each block's events, and the wait before it (a server tool's run time before its result). */
type StreamPlan = Array<StreamedBlock & { waitMs: number }>;

function streamPlan(reply: SimulatedReply, latency: LatencyModel): StreamPlan {
  return reply.content.map((block, index) => ({
    ...streamedBlock(block, index),
    waitMs: block.type === 'web_search_tool_result' || block.type === 'web_fetch_tool_result' ? serverToolMs(block.tool_use_id, latency) : 0,
  }));
}

/** The final usage object: with `server_tool_use` when the request offered tools. */
function finalUsage(usage: SimulatedUsage, reply: SimulatedReply): SimulatedUsage {
  usage.output_tokens = reply.outputTokens;
  if (reply.serverToolUse) usage.server_tool_use = { ...reply.serverToolUse };
  return { ...usage };
}

function isStreamFault(fault: Fault | null): fault is StreamFault {
  return fault?.type === 'stall' || fault?.type === 'drop' || fault?.type === 'stream_error';
}

function validateRule(rule: FaultRule): void {
  // A misspelt type would otherwise match and do nothing: a fault test that tests nothing.
  if (!FAULT_TYPES.has(rule.fault?.type)) {
    throw new FanfoldError('config', `Unknown fault type ${JSON.stringify(rule.fault?.type)}: expected one of ${[...FAULT_TYPES].join(', ')}`);
  }
  if (rule.fault.type === 'http_error' && (!Number.isInteger(rule.fault.status) || rule.fault.status < 400 || rule.fault.status > 599 || typeof rule.fault.errorType !== 'string')) {
    throw new FanfoldError('config', 'An http_error fault needs `status` (400-599) and `errorType` (e.g. "invalid_request_error")');
  }
  if (rule.fault.type === 'latency') assertLatency(rule.fault, 'fault');
  const batchFault = BATCH_FAULT_TYPES.has(rule.fault.type);
  if (rule.match?.customId !== undefined && !batchFault) {
    throw new FanfoldError('config', `A rule that matches customId applies only to requests inside a batch: use it with ${[...BATCH_FAULT_TYPES].join(', ')}, not ${rule.fault.type}`);
  }
  if (batchFault && typeof rule.match?.path === 'string' && rule.match.path !== BATCHES_PATH) {
    throw new FanfoldError('config', `A ${rule.fault.type} fault matches requests inside a batch, whose path is ${BATCHES_PATH}, never ${rule.match.path}`);
  }
  if ((rule.fault.type === 'batch_expired' || rule.fault.type === 'batch_canceled') && rule.fault.afterMs !== undefined && !(Number.isFinite(rule.fault.afterMs) && rule.fault.afterMs >= 0)) {
    throw new FanfoldError('config', `A ${rule.fault.type} fault's afterMs must be a finite number >= 0 (got ${rule.fault.afterMs})`);
  }
}

/** Reads a request body, keeping at most `limit` bytes; rejects if the client goes away first. */
function readBody(req: IncomingMessage, limit: number): Promise<{ raw: string; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      done = true;
      resolve({ raw: Buffer.concat(chunks).toString('utf8'), tooLarge: size > limit });
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!done) reject(new Error('request closed before its body was read'));
    });
  });
}

class LoopbackSimulator implements Simulator, ExchangeHost {
  readonly clock: SimulatorClock;
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #exchanges = new Set<Exchange>();
  readonly #records: SimulatedRequest[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #faults = new FaultBook();
  readonly #cache: PromptCache;
  readonly #batches: BatchStore;
  readonly #options: SimulatorOptions;
  readonly #apiKey: string | null;
  #seq = 0;
  #url = '';
  #closing: Promise<void> | null = null;

  constructor(options: SimulatorOptions) {
    const issues = [
      ...latencyIssues(options.latency, 'latency'),
      ...Object.entries(options.latencyByModel ?? {}).flatMap(([model, latency]) => latencyIssues(latency, `latencyByModel[${model}]`)),
      ...batchLatencyIssues(options.batchLatency, 'batchLatency'),
    ];
    if (options.batchCounts !== undefined && options.batchCounts !== 'progressive' && options.batchCounts !== 'at_end') {
      issues.push(`batchCounts must be 'progressive' or 'at_end' (got ${JSON.stringify(options.batchCounts)})`);
    }
    if (issues.length > 0) throw new FanfoldError('config', issues.join('; '));
    this.#options = options;
    this.#apiKey = options.apiKey ?? null;
    this.clock = options.clock ?? systemClock;
    this.#cache = new PromptCache(() => this.clock.now(), options.minCacheableTokens);
    this.#batches = new BatchStore({
      clock: this.clock,
      cache: this.#cache,
      faults: this.#faults,
      latency: { ...DEFAULT_BATCH_LATENCY, ...options.batchLatency },
      counts: options.batchCounts ?? 'progressive',
    });
    for (const rule of options.faults ?? []) this.addFault(rule);
    this.#server = http.createServer((req, res) => this.#onRequest(req, res));
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address() as AddressInfo;
        const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
        this.#url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}`;
        resolve();
      });
    });
  }

  get url(): string {
    return this.#url;
  }

  get requests(): readonly SimulatedRequest[] {
    return this.#records;
  }

  count(filter: RequestFilter = {}): number {
    return this.#records.filter(
      (record) =>
        (filter.model === undefined || record.model === filter.model) &&
        (filter.path === undefined || record.path === filter.path) &&
        (filter.caller === undefined || matchesCondition(filter.caller, record.caller, true)) &&
        (filter.turn === undefined || record.turn === filter.turn) &&
        (filter.batchId === undefined || record.batchId === filter.batchId) &&
        (filter.pattern === undefined || matchesCondition(filter.pattern, record.text, false)),
    ).length;
  }

  waitFor(predicate: (request: SimulatedRequest) => boolean, state: 'received' | 'ended' = 'received'): Promise<SimulatedRequest> {
    const matches = (record: SimulatedRequest): boolean => (state === 'received' || record.endedAt !== null) && predicate(record);
    try {
      const found = this.#records.find(matches);
      if (found) return Promise.resolve(found);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const promise = this.#closing
      ? Promise.reject(new FanfoldError('usage', 'simulator is closed'))
      : new Promise<SimulatedRequest>((resolve, reject) => this.#waiters.add({ matches, resolve, reject }));
    // Marked handled here so a waiter nobody awaits does not fail the run when close() rejects it;
    // callers that await it still see the rejection.
    promise.catch(() => {});
    return promise;
  }

  batches(): SimulatedBatch[] {
    return this.#batches.log();
  }

  addFault(rule: FaultRule): void {
    validateRule(rule);
    this.#faults.add(rule);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#batches.close();
      for (const exchange of this.#exchanges) exchange.abandon();
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    }).then(() => {
      // Sockets are gone; record anything whose close event has not been seen yet.
      for (const exchange of [...this.#exchanges]) {
        this.#list(exchange);
        exchange.end('client_closed');
      }
      for (const waiter of this.#waiters) waiter.reject(new FanfoldError('usage', 'simulator closed before a matching request arrived'));
      this.#waiters.clear();
    });
    return this.#closing;
  }

  // ExchangeHost

  changed(record: SimulatedRequest): void {
    for (const waiter of this.#waiters) {
      let matched: boolean;
      try {
        matched = waiter.matches(record);
      } catch (error) {
        this.#waiters.delete(waiter);
        waiter.reject(error as Error);
        continue;
      }
      if (matched) {
        this.#waiters.delete(waiter);
        waiter.resolve(record);
      }
    }
  }

  forget(exchange: Exchange): void {
    this.#exchanges.delete(exchange);
  }

  // Request handling

  /** Adds a record to the log, keeping it in `seq` order (bodies can finish out of order). */
  #list(exchange: Exchange): void {
    if (exchange.listed) return;
    exchange.listed = true;
    let at = this.#records.length;
    while (at > 0 && (this.#records[at - 1]?.seq ?? 0) > exchange.record.seq) at--;
    this.#records.splice(at, 0, exchange.record);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const seq = ++this.#seq;
    const requestId = `req_sim_${pad(seq)}`;
    res.setHeader('request-id', requestId);
    res.setHeader('x-fanfold-simulator', 'true');
    const record: SimulatedRequest = {
      seq,
      path: (req.url ?? '/').split('?')[0] ?? '/',
      model: null,
      stream: false,
      caller: decodeCaller(header(req, 'x-fanfold-caller')),
      attempt: integerOf(header(req, 'x-fanfold-attempt')),
      turn: integerOf(header(req, 'x-fanfold-turn')),
      text: '',
      receivedAt: this.clock.now(),
      endedAt: null,
      status: null,
      fault: null,
      outcome: 'pending',
      usage: null,
      batchId: null,
    };
    const exchange = new Exchange(record, res, requestId, this);
    this.#exchanges.add(exchange);
    // The client aborted, or close() cut the connection, before we finished.
    res.on('close', () => {
      if (exchange.finished) return;
      this.#list(exchange);
      exchange.end('client_closed');
    });
    readBody(req, record.path === BATCHES_PATH ? MAX_BATCH_BYTES : MAX_BODY_BYTES).then(
      ({ raw, tooLarge }) => this.#dispatch(exchange, req, raw, tooLarge),
      () => {}, // the close handler records it
    );
  }

  #dispatch(exchange: Exchange, req: IncomingMessage, raw: string, tooLarge: boolean): void {
    if (exchange.finished) return;
    const decision = this.#decide(exchange.record, req, raw, tooLarge);
    if (decision.kind !== 'error') exchange.record.fault = decision.fault?.type ?? null;
    this.#list(exchange);
    this.changed(exchange.record); // received
    if (decision.kind === 'error') {
      exchange.sendJson(decision.status, errorBody(decision.type, decision.message, exchange.requestId), 'completed');
      return;
    }
    if (decision.kind === 'batch') void this.#batchCall(exchange, decision.call, decision.fault, decision.origin);
    else void this.#respond(exchange, decision.kind, decision.request, decision.fault);
  }

  /** Routing, auth, JSON and validation, then the fault; fills the record's request fields. */
  #decide(record: SimulatedRequest, req: IncomingMessage, raw: string, tooLarge: boolean): Decision {
    const error = (status: number, message: string): Decision => ({ kind: 'error', status, type: errorTypeForStatus(status), message });
    const path = record.path;
    if (isBatchPath(path)) return this.#decideBatch(record, req, raw, tooLarge);
    if (path !== MESSAGES_PATH && path !== COUNT_TOKENS_PATH) return error(404, `Not found: ${req.method ?? 'GET'} ${path}`);
    if (req.method !== 'POST') return error(405, `Method ${req.method ?? ''} is not allowed on ${path}`);
    const refused = this.#authError(req);
    if (refused) return error(401, refused);

    if (tooLarge) return error(413, `Request exceeds the maximum size of ${MAX_BODY_BYTES} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (cause) {
      return error(400, `Request body is not valid JSON: ${(cause as Error).message}`);
    }
    record.model = peekModel(body);
    record.stream = path === MESSAGES_PATH && peekStream(body);
    const parsed = parseMessagesBody(body, path === MESSAGES_PATH ? 'create' : 'count_tokens');
    if (!parsed.ok) return error(400, parsed.message);
    record.text = parsed.request.text;
    const fault = this.#faults.take({ path, method: 'POST', model: parsed.request.model, text: parsed.request.text, caller: record.caller, turn: record.turn });
    return { kind: path === MESSAGES_PATH ? 'messages' : 'count', request: parsed.request, fault };
  }

  /** Why a request's credentials are refused (a 401), or `null`. */
  #authError(req: IncomingMessage): string | null {
    // Both auth styles: x-api-key (SDK 0.x, curl) and Authorization: Bearer (SDK 1.x).
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '')?.[1] ?? null;
    const keys = [header(req, 'x-api-key'), bearer].filter((key): key is string => key !== null);
    if (keys.length === 0) return 'x-api-key header is required';
    if (this.#apiKey !== null && !keys.includes(this.#apiKey)) return 'invalid x-api-key';
    return null;
  }

  /**
   * A batch endpoint: route, auth, then the create body or list query, then the HTTP fault.
   * Batch calls carry no model or text, so only rules without `model` or `pattern` reach them.
   */
  #decideBatch(record: SimulatedRequest, req: IncomingMessage, raw: string, tooLarge: boolean): Decision {
    const error = (status: number, message: string): Decision => ({ kind: 'error', status, type: errorTypeForStatus(status), message });
    const method = req.method ?? 'GET';
    const route = routeBatch(method, record.path);
    if ('error' in route) return error(route.error, route.error === 404 ? `Not found: ${method} ${record.path}` : `Method ${method} is not allowed on ${record.path}`);
    if ('id' in route) record.batchId = route.id;
    const refused = this.#authError(req);
    if (refused) return error(401, refused);

    let call: BatchCall;
    if (route.op === 'create') {
      if (tooLarge) return error(413, `Request exceeds the maximum size of ${MAX_BATCH_BYTES} bytes`);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch (cause) {
        return error(400, `Request body is not valid JSON: ${(cause as Error).message}`);
      }
      const parsed = parseBatchCreate(body);
      if (!parsed.ok) return error(400, parsed.message);
      call = { op: 'create', items: parsed.items };
    } else if (route.op === 'list') {
      const parsed = parseBatchListQuery(new URL(req.url ?? '/', 'http://simulator').searchParams);
      if (!parsed.ok) return error(400, parsed.message);
      call = { op: 'list', query: parsed.query };
    } else {
      call = route;
    }
    const fault = this.#faults.take({ path: record.path, method, model: null, text: '', caller: record.caller, turn: record.turn });
    // results_url points where the client reached us (the Host header), so it works through a port mapping too.
    const host = header(req, 'host');
    return { kind: 'batch', call, fault, origin: host ? `http://${host}` : this.#url };
  }

  /**
   * Answers a batch endpoint. Error-status faults refuse the call; the others act once the work
   * is done (a create has made its batch), as when a server commits and the answer is lost.
   */
  async #batchCall(exchange: Exchange, call: BatchCall, fault: Fault | null, origin: string): Promise<void> {
    if (this.#refuseWithFault(exchange, fault)) return;
    if (fault?.type === 'latency' && !(await exchange.sleep(fault.firstTokenMs ?? 0))) return;
    const outcome = this.#batches.perform(call, { seq: exchange.record.seq, caller: exchange.record.caller, turn: exchange.record.turn, origin });
    exchange.record.batchId = outcome.batchId;
    if (fault?.type === 'hang') return; // Headers are never sent; the close handler records how it ended.
    if (!outcome.ok) {
      exchange.sendJson(outcome.status, errorBody(outcome.type, outcome.message, exchange.requestId), 'completed');
      return;
    }
    this.#sendText(exchange, outcome.body, outcome.contentType, fault);
  }

  /** Sends the error response of an error-status fault; `true` when the fault was one. */
  #refuseWithFault(exchange: Exchange, fault: Fault | null): boolean {
    const fail = (status: number, type: string, message: string, headers: Record<string, string> = {}): true => {
      exchange.sendJson(status, errorBody(type, message, exchange.requestId), 'fault', headers);
      return true;
    };
    switch (fault?.type) {
      case 'rate_limit': {
        const seconds = fault.retryAfterSeconds ?? (fault.retryAfterMs !== undefined ? Math.ceil(fault.retryAfterMs / 1000) : 1);
        const headers: Record<string, string> = { 'retry-after': String(seconds) };
        if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
        return fail(429, 'rate_limit_error', 'Rate limit exceeded (simulated).', headers);
      }
      case 'overloaded':
        return fail(529, 'overloaded_error', 'Overloaded (simulated).');
      case 'server_error': {
        const status = fault.status ?? 500;
        return fail(status, errorTypeForStatus(status), 'Internal server error (simulated).');
      }
      case 'http_error':
        return fail(fault.status, fault.errorType, fault.message ?? `Simulated ${fault.errorType}.`);
      default:
        return false;
    }
  }

  async #respond(exchange: Exchange, kind: 'messages' | 'count', request: ParsedMessagesRequest, fault: Fault | null): Promise<void> {
    if (this.#refuseWithFault(exchange, fault)) return;
    if (fault?.type === 'hang') return; // Headers are never sent; the close handler records how it ended.
    const latency = resolveLatency(this.#options.latency, this.#options.latencyByModel?.[request.model], fault?.type === 'latency' ? fault : undefined);
    if (kind === 'count') await this.#countTokens(exchange, request, fault);
    else if (request.stream) await this.#streamMessage(exchange, request, latency, fault);
    else await this.#jsonMessage(exchange, request, latency, fault);
  }

  /** count_tokens answers at once, with no prefill: it is not a generation (only a `latency` fault's first-token delay slows it). */
  async #countTokens(exchange: Exchange, request: ParsedMessagesRequest, fault: Fault | null): Promise<void> {
    if (fault?.type === 'latency' && !(await exchange.sleep(fault.firstTokenMs ?? 0))) return;
    this.#sendBody(exchange, { input_tokens: inputTokens(request.pieces) }, fault);
  }

  /**
   * Generation starts after the prefill: the usage is recorded and the request's cache writes
   * become readable (its reads were decided on arrival, and set the prefill time).
   */
  #startUsage(exchange: Exchange, account: CacheAccount): SimulatedUsage {
    account.commit();
    const usage: SimulatedUsage = { ...account.usage, output_tokens: 0 };
    exchange.record.usage = usage;
    return usage;
  }

  async #jsonMessage(exchange: Exchange, request: ParsedMessagesRequest, latency: LatencyModel, fault: Fault | null): Promise<void> {
    const reply = replyFor(request);
    const plan = streamPlan(reply, latency);
    const delays = deltaDelays(
      plan.flatMap((block) => block.deltas.map((delta) => delta.text)),
      latency,
    );
    // Sent when the whole reply would have been: every delta's generation time and every server tool's run time.
    const toolMs = plan.reduce((sum, block) => sum + block.waitMs, 0);
    const account = this.#cache.account(request.model, request.pieces);
    if (!(await exchange.sleep(timeToFirstTokenMs(account.usage, latency)))) return;
    const usage = this.#startUsage(exchange, account);
    if (!(await exchange.sleep(delays.slice(1).reduce((sum, ms) => sum + ms, 0) + toolMs))) return;
    const message = replyMessage(`msg_sim_${pad(exchange.record.seq)}`, request.model, reply, finalUsage(usage, reply));
    this.#sendBody(exchange, message, fault);
  }

  /** A 200 JSON body, or what a fault makes of it. */
  #sendBody(exchange: Exchange, body: unknown, fault: Fault | null): void {
    this.#sendText(exchange, JSON.stringify(body), 'application/json', fault);
  }

  /** A 200 body (JSON, or a batch's JSON lines), or what a fault makes of it. */
  #sendText(exchange: Exchange, text: string, contentType: string, fault: Fault | null): void {
    const half = text.slice(0, Math.floor(text.length / 2));
    const headers = { 'content-type': contentType };
    switch (fault?.type) {
      case 'stall':
        // Full content-length, half the bytes: the client waits for the rest forever.
        exchange.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(text) });
        exchange.write(half);
        return;
      case 'drop':
        exchange.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(text) });
        exchange.write(half);
        exchange.drop();
        return;
      case 'malformed':
        exchange.sendRaw(200, half, 'fault', headers);
        return;
      case 'stream_error': {
        const type = fault.errorType ?? 'overloaded_error';
        exchange.sendJson(statusForErrorType(type), errorBody(type, `Simulated ${type}.`, exchange.requestId), 'fault');
        return;
      }
      default:
        exchange.sendRaw(200, text, 'completed', headers);
    }
  }

  async #streamMessage(exchange: Exchange, request: ParsedMessagesRequest, latency: LatencyModel, fault: Fault | null): Promise<void> {
    const reply = replyFor(request);
    const plan = streamPlan(reply, latency);
    const deltaCount = plan.reduce((sum, block) => sum + block.deltas.length, 0);
    const delays = deltaDelays(
      plan.flatMap((block) => block.deltas.map((delta) => delta.text)),
      latency,
    );
    const send = (event: string, data: unknown): void => exchange.write(sseFrame(event, data));

    // Headers and message_start go out with the first token, after the prefill.
    const account = this.#cache.account(request.model, request.pieces);
    if (!(await exchange.sleep(timeToFirstTokenMs(account.usage, latency)))) return;
    const usage = this.#startUsage(exchange, account);
    exchange.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const startUsage: MessageUsage = { ...usage, output_tokens: 1 };
    send('message_start', messageStart(`msg_sim_${pad(exchange.record.seq)}`, request.model, startUsage));
    send('ping', PING);
    if (fault?.type === 'malformed') {
      exchange.write(MALFORMED_FRAME);
      exchange.finishResponse('fault');
      return;
    }

    // Stream faults count deltas of every kind (text, citations, tool input JSON) across blocks.
    const cut = isStreamFault(fault) ? Math.max(0, Math.min(fault.afterDeltas ?? DEFAULT_AFTER_DELTAS, deltaCount)) : null;
    let sent = 0;
    let sentChars = 0;
    for (const [blockIndex, block] of plan.entries()) {
      // A server tool runs between its call and its result.
      if (block.waitMs > 0 && !(await exchange.sleep(block.waitMs))) return;
      send('content_block_start', block.start);
      for (const delta of block.deltas) {
        if (sent === cut) return this.#streamFault(exchange, fault as StreamFault);
        if (sent > 0 && !(await exchange.sleep(delays[sent] ?? 0))) return;
        send('content_block_delta', delta.payload);
        sent++;
        sentChars += codePointLength(delta.text);
        usage.output_tokens = Math.ceil(sentChars / CHARS_PER_TOKEN);
      }
      if (blockIndex === plan.length - 1 && cut !== null) return this.#streamFault(exchange, fault as StreamFault);
      send('content_block_stop', block.stop);
    }
    if (cut !== null) return this.#streamFault(exchange, fault as StreamFault);

    send('message_delta', messageDelta(reply.stopReason, reply.stopSequence, finalUsage(usage, reply)));
    send('message_stop', MESSAGE_STOP);
    exchange.finishResponse('completed');
  }

  #streamFault(exchange: Exchange, fault: StreamFault): void {
    switch (fault.type) {
      case 'stall':
        return; // Nothing more is sent; the close handler records how it ended.
      case 'drop':
        exchange.drop();
        return;
      case 'stream_error': {
        const type = fault.errorType ?? 'overloaded_error';
        exchange.write(sseFrame('error', streamError(type, `Simulated ${type}.`, exchange.requestId)));
        exchange.finishResponse('fault');
        return;
      }
    }
  }
}

/**
 * Starts a simulator listening on loopback (an ephemeral port unless `port` is given).
 * Point the SDK at it with `new Anthropic({ apiKey: 'sk-test', baseURL: sim.url })`, and
 * always `await sim.close()` when done.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = new LoopbackSimulator(options);
  await simulator.listen(options.host ?? '127.0.0.1', options.port ?? 0);
  return simulator;
}
