/**
 * Fault injection: rules that make matching requests fail the way real deployments fail —
 * error statuses, hung or stalled connections, dropped sockets, mid-stream errors, broken
 * bodies and slow responses. Rules are checked in order; the first that matches applies.
 */

/** What goes wrong. Stream-shaped faults (`stall`, `drop`, `stream_error`) count deltas from the first. */
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
  | { type: 'latency'; firstTokenMs?: number; tokensPerSecond?: number; prefillTokensPerSecond?: number; cachedPrefillTokensPerSecond?: number };

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
]);

/** Which requests a rule applies to; every given field must match. */
export interface FaultMatch {
  /** Exact model id. */
  model?: string;
  /** Substring of, or RegExp tested against, the request's text (system + messages). */
  pattern?: string | RegExp;
  /** Exact value of, or RegExp tested against, the `x-fanfold-caller` header. */
  caller?: string | RegExp;
  /** Exact value of the `x-fanfold-turn` header (the tool loop's turn, from 1). */
  turn?: number;
  path?: '/v1/messages' | '/v1/messages/count_tokens';
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
  if (match.path !== undefined && match.path !== subject.path) return false;
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

  /** The fault for a request (first live matching rule, whose count it uses up), or `null`. */
  take(subject: FaultSubject): Fault | null {
    for (const entry of this.#rules) {
      if (entry.remaining <= 0 || !ruleMatches(entry.rule.match, subject)) continue;
      entry.remaining--;
      return entry.rule.fault;
    }
    return null;
  }
}
