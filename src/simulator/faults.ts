/**
 * Fault injection: rules that make matching requests fail the way real deployments fail —
 * error statuses, hung or stalled connections, dropped sockets, mid-stream errors, broken
 * bodies and slow responses — and Message Batches that go wrong on the server's side (a request
 * that errors, a batch that expires or that someone else cancels). Rules are checked in order;
 * the first that matches applies.
 *
 * Two families, never mixed: the HTTP faults act on one HTTP exchange (a Messages call, a
 * count_tokens call, or a call to a batch endpoint); the `batch_*` faults act on what a batch
 * does after its create, and are matched against each request inside a created batch (by
 * `customId`, `pattern`, `model`…). An HTTP rule is never used up by a batch request, nor a
 * batch rule by an HTTP exchange.
 */

/**
 * What goes wrong. Stream-shaped faults (`stall`, `drop`, `stream_error`) count deltas from the
 * first. On a batch endpoint the error statuses (`rate_limit`, `overloaded`, `server_error`,
 * `http_error`) refuse the call, while `hang`, `stall`, `drop`, `malformed` and `stream_error`
 * spoil the answer after the work is done — a create has made its batch, a cancel has begun —
 * which is how a client that retries blindly comes to submit a batch twice.
 */
export type Fault =
  /** 429 `rate_limit_error` with `retry-after` (seconds; from `retryAfterMs` rounded up, default 1) and `retry-after-ms` when given. */
  | { type: 'rate_limit'; retryAfterSeconds?: number; retryAfterMs?: number }
  /** 529 `overloaded_error`. */
  | { type: 'overloaded' }
  /** 500 `api_error` by default, or another status with `api_error`. */
  | { type: 'server_error'; status?: number }
  /** Any status and error type, e.g. 400 `invalid_request_error`, 403 `permission_error`, 404 `not_found_error`. */
  | { type: 'http_error'; status: number; errorType: string; message?: string }
  /** Accept the request and never send headers, until the client closes. */
  | { type: 'hang' }
  /** 200 and the stream up to `afterDeltas` deltas (default 2), then nothing, until the client closes. A JSON response stops half-way through its body. */
  | { type: 'stall'; afterDeltas?: number }
  /** Close the socket mid-body: after `afterDeltas` deltas (default 2), or half-way through a JSON body. */
  | { type: 'drop'; afterDeltas?: number }
  /** After `afterDeltas` deltas (default 2), an `event: error` of `errorType` (default `overloaded_error`), then end. A JSON request gets that error as an HTTP status instead. */
  | { type: 'stream_error'; afterDeltas?: number; errorType?: string }
  /** 200 with a broken body: truncated JSON, or a `data:` line that is not JSON after `message_start`. */
  | { type: 'malformed' }
  /** Only slows (or speeds) this request: overrides the latency model's fields, as one more layer of it. */
  | { type: 'latency'; firstTokenMs?: number; tokensPerSecond?: number; prefillTokensPerSecond?: number; cachedPrefillTokensPerSecond?: number }
  /**
   * A batch request ends `errored` at its modelled completion time, with `errorType` (default
   * `overloaded_error`) and `message` in its result: `{ type: 'errored', error: { type: 'error',
   * error: { type, message } } }`. Matched per request of a batch.
   */
  | { type: 'batch_errored'; errorType?: string; message?: string }
  /**
   * The batch with a matching request stops processing `afterMs` after its create (default 0:
   * nothing is processed) and ends `expired` at its `expires_at` (create + `batchLatency.expiryMs`,
   * 24 h by default): requests done before then keep their results, the rest are `expired`.
   */
  | { type: 'batch_expired'; afterMs?: number }
  /**
   * Someone else cancels the batch with a matching request, `afterMs` after its create (default
   * 0), as `POST …/cancel` would: `canceling`, then `ended` with its unfinished requests `canceled`.
   */
  | { type: 'batch_canceled'; afterMs?: number };

/** Every fault type, for validating rules written by hand (a YAML file, say). */
export const FAULT_TYPES: ReadonlySet<Fault['type']> = new Set<Fault['type']>([
  'rate_limit',
  'overloaded',
  'server_error',
  'http_error',
  'hang',
  'stall',
  'drop',
  'stream_error',
  'malformed',
  'latency',
  'batch_errored',
  'batch_expired',
  'batch_canceled',
]);

/** The fault types that act on a Message Batch or one of its requests rather than on an HTTP exchange. */
export const BATCH_FAULT_TYPES: ReadonlySet<Fault['type']> = new Set<Fault['type']>(['batch_errored', 'batch_expired', 'batch_canceled']);

/** Whether a fault acts on an HTTP exchange (every type but the `batch_*` ones). */
export const isExchangeFault = (fault: Fault): boolean => !BATCH_FAULT_TYPES.has(fault.type);

/**
 * Which requests a rule applies to; every given field must match. Calls to the batch endpoints
 * carry no model or text, so an HTTP rule without `model` or `pattern` reaches them too (a
 * rule with neither hits every call): give `path` (and `method`) to aim it.
 */
export interface FaultMatch {
  /** Exact model id. */
  model?: string;
  /** Substring of, or RegExp tested against, the request's text (system + messages). */
  pattern?: string | RegExp;
  /** Exact value of, or RegExp tested against, the `x-fanfold-caller` header. */
  caller?: string | RegExp;
  /** Exact value of the `x-fanfold-turn` header (the tool loop's turn, from 1). */
  turn?: number;
  /**
   * The request path: exact, or a RegExp tested against it (e.g. `/^\/v1\/messages\/batches\//`
   * for every call about one batch). Requests inside a batch have the create's path,
   * `/v1/messages/batches`.
   */
  path?: '/v1/messages' | '/v1/messages/count_tokens' | '/v1/messages/batches' | RegExp;
  /** The HTTP method: `/v1/messages/batches` is both the create (`POST`) and the list (`GET`). */
  method?: 'GET' | 'POST' | 'DELETE';
  /** Exact value of, or RegExp tested against, a batch request's `custom_id`: only `batch_*` faults can use it. */
  customId?: string | RegExp;
}

export interface FaultRule {
  match?: FaultMatch;
  /** How many matching requests get the fault; default: every one. */
  times?: number;
  fault: Fault;
}

/** What a rule is matched against. */
export interface FaultSubject {
  path: string;
  model: string | null;
  text: string;
  caller: string | null;
  /** The `x-fanfold-turn` header as a number; `null` when not sent. Optional for callers that predate turns. */
  turn?: number | null;
  /** The HTTP method; absent for callers that predate batches. */
  method?: string;
  /** The `custom_id` of a request inside a batch; absent (or `null`) for an HTTP exchange. */
  customId?: string | null;
}

/** Default `afterDeltas` of the stream-shaped faults. */
export const DEFAULT_AFTER_DELTAS = 2;

/**
 * Tests a string condition (exact, or substring when `exact` is false) or a RegExp, without
 * touching a global RegExp's `lastIndex`.
 */
export function matchesCondition(condition: string | RegExp, value: string | null, exact: boolean): boolean {
  if (value === null) return false;
  if (typeof condition === 'string') return exact ? value === condition : value.includes(condition);
  return new RegExp(condition.source, condition.flags.replace(/[gy]/g, '')).test(value);
}

/** Whether a rule's match applies to a request. */
export function ruleMatches(match: FaultMatch | undefined, subject: FaultSubject): boolean {
  if (!match) return true;
  if (match.path !== undefined && !matchesCondition(match.path, subject.path, true)) return false;
  if (match.method !== undefined && match.method !== subject.method) return false;
  if (match.customId !== undefined && !matchesCondition(match.customId, subject.customId ?? null, true)) return false;
  if (match.model !== undefined && match.model !== subject.model) return false;
  if (match.pattern !== undefined && !matchesCondition(match.pattern, subject.text, false)) return false;
  if (match.caller !== undefined && !matchesCondition(match.caller, subject.caller, true)) return false;
  if (match.turn !== undefined && match.turn !== (subject.turn ?? null)) return false;
  return true;
}

/** The ordered rule list with each rule's remaining `times`. */
export class FaultBook {
  #rules: Array<{ rule: FaultRule; remaining: number }> = [];

  add(rule: FaultRule): void {
    this.#rules.push({ rule, remaining: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.#rules = [];
  }

  /**
   * The fault for a request (first live matching rule whose fault `accepts` takes, and whose
   * count it uses up), or `null`. By default only HTTP faults apply: a batch request asks for
   * the `batch_*` ones.
   */
  take(subject: FaultSubject, accepts: (fault: Fault) => boolean = isExchangeFault): Fault | null {
    for (const entry of this.#rules) {
      if (entry.remaining <= 0 || !accepts(entry.rule.fault) || !ruleMatches(entry.rule.match, subject)) continue;
      entry.remaining--;
      return entry.rule.fault;
    }
    return null;
  }
}
