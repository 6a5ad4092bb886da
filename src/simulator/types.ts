/**
 * The simulator's public surface: options, the request log entry, and the handle tests and
 * examples hold.
 */
import type { Clock as SimulatorClock } from '../clock.ts';
import type { BatchLatency, SimulatedBatch } from './batches.ts';
import type { Fault, FaultRule } from './faults.ts';
import type { LatencyModel } from './latency.ts';

export interface SimulatorOptions {
  /** Interface to listen on; default `'127.0.0.1'`. */
  host?: string;
  /** Port; default 0 (an ephemeral port, see {@link Simulator.url}). */
  port?: number;
  /**
   * Default latency; unspecified fields default to `DEFAULT_LATENCY`: 250 ms plus prefill
   * to first token, prefill at 20,000 uncached and 200,000 cached input tokens/s, then 150
   * tokens/s. A layer with `tokensPerSecond: Infinity` makes the prefill rates it leaves out
   * `Infinity` too: an instant model stays instant.
   */
  latency?: Partial<LatencyModel>;
  /** Per-model overrides of {@link latency}, field by field (a `latency` fault overrides both for one request). */
  latencyByModel?: Record<string, Partial<LatencyModel>>;
  /** Initial fault rules, checked in order (see {@link Simulator.addFault}). */
  faults?: FaultRule[];
  /**
   * When a string, every request must carry it (in `x-api-key` or `Authorization: Bearer`),
   * else 401 `authentication_error`. Default `null`: any non-empty key is accepted; a missing
   * key is still a 401.
   */
  apiKey?: string | null;
  /** Time source for pacing and timestamps; default real timers and `Date.now()`. */
  clock?: SimulatorClock;
  /** Smallest cacheable prompt prefix in estimated tokens; default 1024. */
  minCacheableTokens?: number;
  /**
   * When a Message Batch's requests complete, field by field over `DEFAULT_BATCH_LATENCY`:
   * request `i` completes `baseMs` (1,000) + `i` × `perRequestMs` (10) + 0–`jitterMs` (1,000,
   * fixed per `custom_id`) after the create; `canceling` lasts `cancelMs` (500); `expires_at` is
   * `expiryMs` (24 h) after the create. Timers run on {@link clock}.
   */
  batchLatency?: Partial<BatchLatency>;
  /**
   * How a batch in progress reports `request_counts`. `progressive` (default): each request
   * moves from `processing` to its result as it completes. `at_end`: every request stays
   * `processing` until the batch ends, which is what the API reference promises ("Requests
   * start as processing and move to one of the other statuses only once processing of the
   * entire batch ends"); a client should work under both.
   */
  batchCounts?: 'progressive' | 'at_end';
}

/** Token usage as the API reports it. */
export interface SimulatedUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** Server tool requests of the reply; present when the request offered tools. */
  server_tool_use?: { web_search_requests: number; web_fetch_requests: number };
}

/** One request as the simulator saw it; the object is updated in place as the request proceeds. */
export interface SimulatedRequest {
  /** 1, 2, 3… in order of arrival. */
  seq: number;
  path: string;
  model: string | null;
  stream: boolean;
  /** The `x-fanfold-caller` header, if sent (percent-decoded: fanfold's provider encodes it). */
  caller: string | null;
  /** The `x-fanfold-attempt` header as a number, if sent. */
  attempt: number | null;
  /** The `x-fanfold-turn` header as a number (the tool loop's turn, from 1), if sent. */
  turn: number | null;
  /** System and message text joined with blank lines, for assertions and fault patterns. */
  text: string;
  /** `clock.now()` when the request arrived. */
  receivedAt: number;
  /** `clock.now()` when the response ended or the connection closed; `null` while pending. */
  endedAt: number | null;
  /** The HTTP status sent; `null` if headers were never sent. */
  status: number | null;
  fault: Fault['type'] | null;
  /**
   * `completed`: a full response was sent (errors included, unless caused by a fault).
   * `fault`: an injected fault ended it. `client_closed`: the connection closed before the
   * response ended — the client aborted, or {@link Simulator.close} cut it off.
   */
  outcome: 'pending' | 'completed' | 'fault' | 'client_closed';
  /** Usage of a generated message (set when generation starts; output grows as deltas go out); `null` otherwise. */
  usage: SimulatedUsage | null;
  /**
   * The Message Batch a call to a batch endpoint is about: the id in its path, or the batch a
   * create made (`null` until made, and for a create that was refused). `null` for other requests.
   */
  batchId: string | null;
}

/** Filter for {@link Simulator.count}; every given field must match. */
export interface RequestFilter {
  model?: string;
  /** Exact caller, or a RegExp tested against it. */
  caller?: string | RegExp;
  /** Exact `x-fanfold-turn`. */
  turn?: number;
  path?: string;
  /** Substring of, or RegExp tested against, the request text. */
  pattern?: string | RegExp;
  /** Exact {@link SimulatedRequest.batchId}. */
  batchId?: string;
}

/** A running simulator. */
export interface Simulator {
  /** `http://HOST:PORT`: the SDK's `baseURL` (or `ANTHROPIC_BASE_URL`). */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly SimulatedRequest[];
  /** How many requests match the filter (all requests without one). */
  count(filter?: RequestFilter): number;
  /**
   * Resolves with the first request (past or future) matching the predicate once it reaches
   * the given state (default: received — its body has been read and its fault chosen). Lets
   * tests wait deterministically without sleeps. Rejects if the simulator closes first.
   */
  waitFor(predicate: (request: SimulatedRequest) => boolean, state?: 'received' | 'ended'): Promise<SimulatedRequest>;
  /**
   * Every Message Batch created so far, oldest first (deleted ones included), each with its
   * requests' `custom_id`s, results and usage: copies taken now. Requests inside a batch are not
   * in {@link requests} (which logs HTTP calls: the create is there, with its `batchId`).
   *
   * @example
   * // No request was submitted twice, across every batch:
   * const ids = sim.batches().flatMap((batch) => batch.requests.map((request) => request.customId));
   * expect(new Set(ids).size).toBe(ids.length);
   */
  batches(): SimulatedBatch[];
  /** Appends a fault rule (checked after the existing ones). */
  addFault(rule: FaultRule): void;
  /** Removes every fault rule. */
  clearFaults(): void;
  /** Stops listening and destroys open sockets (hung requests included). */
  close(): Promise<void>;
}
