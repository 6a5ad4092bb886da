/**
 * The Message Batches model: the batches the simulator holds, how they progress on its clock,
 * and what each endpoint answers. A batch's requests get the same replies as non-streamed
 * `POST /v1/messages` calls (same text, same usage, the same prompt cache); only when they
 * come differs (see {@link BatchLatency}).
 */
import type { Clock as SimulatorClock } from '../clock.ts';
import type { PromptCache } from './cache.ts';
import { BATCHES_PATH, type BatchCall, type BatchItemInput, type BatchListQuery } from './batchRequest.ts';
import type { Fault, FaultBook, FaultSubject } from './faults.ts';
import { hashString } from './random.ts';
import type { ParsedMessagesRequest } from './request.ts';
import { replyFor, replyMessage } from './text.ts';
import type { SimulatedUsage } from './types.ts';

/**
 * When a batch's requests complete, on the simulator's clock. Request `i` (from 0, in the
 * create's order) completes `baseMs + i × perRequestMs + jitter` after the create, where the
 * jitter is 0–`jitterMs`, fixed by a hash of its `custom_id`: the same batch always completes
 * in the same order, that order is not the request order, and `request_counts.processing`
 * falls step by step. The batch ends when its last request completes. The model's `latency`
 * does not apply: a batch's time is queueing, not generation.
 *
 * The defaults finish a small batch in about two seconds and 1,000 requests in about twelve,
 * so offline examples run in seconds (the API takes minutes to hours, and at most 24 h).
 */
export interface BatchLatency {
  /** Before any request of a batch completes. Default 1,000 ms. */
  baseMs: number;
  /** Added for each request before this one in the batch. Default 10 ms. */
  perRequestMs: number;
  /** Largest extra delay, fixed per `custom_id`. Default 1,000 ms. */
  jitterMs: number;
  /**
   * How long a batch stays `canceling`: requests due within it still complete (in flight, not
   * interruptible, as the API allows), the rest are `canceled` when it ends. Default 500 ms.
   */
  cancelMs: number;
  /** From create to `expires_at`, when requests not done are `expired`. Default 24 h, as on the API. */
  expiryMs: number;
}

/** The {@link BatchLatency} used for fields the options leave out. */
export const DEFAULT_BATCH_LATENCY: BatchLatency = {
  baseMs: 1_000,
  perRequestMs: 10,
  jitterMs: 1_000,
  cancelMs: 500,
  expiryMs: 24 * 60 * 60_000,
};

/** What is wrong with a batch latency, one message per bad field (none when it is fine). */
export function batchLatencyIssues(layer: Partial<BatchLatency> | undefined, where: string): string[] {
  return Object.entries(layer ?? {}).flatMap(([field, value]) => {
    if (!(field in DEFAULT_BATCH_LATENCY)) return [`${where}.${field} is not a batch latency field (expected one of ${Object.keys(DEFAULT_BATCH_LATENCY).join(', ')})`];
    const min = field === 'expiryMs' ? '> 0' : '>= 0';
    const ok = typeof value === 'number' && Number.isFinite(value) && (field === 'expiryMs' ? value > 0 : value >= 0);
    return ok ? [] : [`${where}.${field} must be a finite number ${min} (got ${String(value)})`];
  });
}

/**
 * Milliseconds from a batch's create to the completion of its request at `index` with
 * `customId` (see {@link BatchLatency}).
 *
 * @example
 * batchRequestMs('q-1', 2, { ...DEFAULT_BATCH_LATENCY, jitterMs: 0 }); // 1_000 + 2 × 10 = 1_020
 */
export function batchRequestMs(customId: string, index: number, latency: BatchLatency): number {
  return latency.baseMs + index * latency.perRequestMs + Math.round((hashString(customId) / 0x1_0000_0000) * latency.jitterMs);
}

/** Where a batch request is. */
export type BatchRequestStatus = 'processing' | 'succeeded' | 'errored' | 'canceled' | 'expired';

/** One request of a logged batch. */
export interface SimulatedBatchRequest {
  customId: string;
  model: string;
  /** System and message text joined with blank lines, as in {@link SimulatedRequest.text}. */
  text: string;
  /** `batch_errored` when a fault rule made it end `errored`. */
  fault: 'batch_errored' | null;
  /** `clock.now()` when it is modelled to complete; `null` when a `batch_expired` fault stopped it. */
  dueAt: number | null;
  status: BatchRequestStatus;
  /** `clock.now()` when it reached its final status; `null` while processing. */
  endedAt: number | null;
  /** Usage of its message once `succeeded`; `null` otherwise. */
  usage: SimulatedUsage | null;
}

/** A batch as the simulator saw it: a copy, taken when {@link Simulator.batches} is called. */
export interface SimulatedBatch {
  id: string;
  /** The `seq` of the create in the request log. */
  seq: number;
  /** The create's `x-fanfold-caller` header, if sent. */
  caller: string | null;
  createdAt: number;
  expiresAt: number;
  processingStatus: 'in_progress' | 'canceling' | 'ended';
  /** The batch-level fault a rule gave it. */
  fault: 'batch_expired' | 'batch_canceled' | null;
  cancelInitiatedAt: number | null;
  /** `client`: `POST …/cancel`; `server`: a `batch_canceled` fault. */
  canceledBy: 'client' | 'server' | null;
  endedAt: number | null;
  /** Deleted with `DELETE /v1/messages/batches/{id}` (kept in the log, gone from the API). */
  deleted: boolean;
  /** In the create's order. */
  requests: SimulatedBatchRequest[];
}

/** `request_counts` of the API's batch object. */
type RequestCounts = Record<BatchRequestStatus, number>;

/** The API's `message_batch` object. */
export interface MessageBatchObject {
  id: string;
  type: 'message_batch';
  processing_status: SimulatedBatch['processingStatus'];
  request_counts: RequestCounts;
  ended_at: string | null;
  created_at: string;
  expires_at: string;
  archived_at: null;
  cancel_initiated_at: string | null;
  results_url: string | null;
}

/** What an endpoint answers: a body to send, or an error status with the API's error type. */
export type BatchOutcome = { ok: true; body: string; contentType: string; batchId: string | null } | { ok: false; status: number; type: string; message: string; batchId: string | null };

/** Who is calling: what the create's log entry and fault rules need, and the origin `results_url` points at. */
export interface BatchCaller {
  seq: number;
  caller: string | null;
  turn: number | null;
  /** `http://host:port` the client reached the simulator at. */
  origin: string;
}

/** What the store needs from its simulator. */
export interface BatchStoreHost {
  readonly clock: SimulatorClock;
  readonly cache: PromptCache;
  readonly faults: FaultBook;
  readonly latency: BatchLatency;
  /** `at_end`: counts other than `processing` stay 0 until the batch ends, as the API reference describes. */
  readonly counts: 'progressive' | 'at_end';
}

interface Item {
  index: number;
  customId: string;
  /** Dropped once the request is done. */
  request: ParsedMessagesRequest | null;
  model: string;
  text: string;
  fault: Extract<Fault, { type: 'batch_errored' }> | null;
  /** `Infinity` when a `batch_expired` fault stopped it. */
  dueAt: number;
  status: BatchRequestStatus;
  endedAt: number | null;
  usage: SimulatedUsage | null;
  result: Record<string, unknown> | null;
}

interface Batch {
  serial: number;
  id: string;
  seq: number;
  caller: string | null;
  createdAt: number;
  expiresAt: number;
  items: Item[];
  /** Items by due time (then request order): they complete in this order. */
  order: Item[];
  /** The next item of `order` to complete. */
  next: number;
  /** Items in the order they reached a final status: the order of the results file. */
  finished: Item[];
  counts: RequestCounts;
  status: SimulatedBatch['processingStatus'];
  fault: SimulatedBatch['fault'];
  cancelInitiatedAt: number | null;
  canceledBy: SimulatedBatch['canceledBy'];
  /** When `canceling` ends. */
  cancelEndsAt: number | null;
  /** When a `batch_canceled` fault cancels it. */
  serverCancelAt: number | null;
  endedAt: number | null;
  deleted: boolean;
  timer: unknown;
}

/** Node's timers fire at once beyond this (about 24.8 days); a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const pad = (n: number): string => String(n).padStart(6, '0');
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const isBatchLevel = (fault: Fault): boolean => fault.type === 'batch_expired' || fault.type === 'batch_canceled';
const isRequestLevel = (fault: Fault): boolean => fault.type === 'batch_errored';

type BatchLevelFault = Extract<Fault, { type: 'batch_expired' | 'batch_canceled' }>;

/** A batch-level rule applies once per batch: to the first of its requests that matches it. */
function firstBatchFault(faults: FaultBook, subjects: readonly FaultSubject[]): BatchLevelFault | null {
  for (const subject of subjects) {
    const fault = faults.take(subject, isBatchLevel);
    if (fault) return fault as BatchLevelFault;
  }
  return null;
}

/** The batches of one simulator: created, progressed on its clock, answered from. */
export class BatchStore {
  readonly #host: BatchStoreHost;
  readonly #batches: Batch[] = [];
  readonly #byId = new Map<string, Batch>();
  #closed = false;

  constructor(host: BatchStoreHost) {
    this.#host = host;
  }

  /** Answers one batch endpoint call. */
  perform(call: BatchCall, caller: BatchCaller): BatchOutcome {
    if (call.op === 'create') return this.#json(this.#wire(this.#create(call.items, caller), caller.origin));
    if (call.op === 'list') return this.#list(call.query, caller.origin);
    const batch = this.#byId.get(call.id);
    if (!batch || batch.deleted) return { ok: false, status: 404, type: 'not_found_error', message: `Message batch ${call.id} not found`, batchId: call.id };
    switch (call.op) {
      case 'retrieve':
        return this.#json(this.#wire(batch, caller.origin));
      case 'cancel':
        if (batch.status === 'ended') return this.#refuse(batch, `Message batch ${batch.id} has already ended and cannot be canceled`);
        this.#beginCancel(batch, this.#host.clock.now(), 'client');
        this.#run(batch);
        return this.#json(this.#wire(batch, caller.origin));
      case 'results':
        // The API serves results only once processing has ended (and the SDK asks only when `results_url` is set).
        if (batch.status !== 'ended')
          return { ok: false, status: 404, type: 'not_found_error', message: `Results of message batch ${batch.id} are not available until it has ended (it is ${batch.status})`, batchId: batch.id };
        return { ok: true, body: this.#results(batch), contentType: 'application/x-jsonl', batchId: batch.id };
      case 'delete':
        if (batch.status !== 'ended') return this.#refuse(batch, `Message batch ${batch.id} cannot be deleted while it is ${batch.status}: cancel it and wait for it to end`);
        batch.deleted = true;
        return this.#json({ id: batch.id, type: 'message_batch_deleted' }, batch.id);
    }
  }

  /** Every batch ever created, oldest first, deleted ones included. */
  log(): SimulatedBatch[] {
    return this.#batches.map((batch) => ({
      id: batch.id,
      seq: batch.seq,
      caller: batch.caller,
      createdAt: batch.createdAt,
      expiresAt: batch.expiresAt,
      processingStatus: batch.status,
      fault: batch.fault,
      cancelInitiatedAt: batch.cancelInitiatedAt,
      canceledBy: batch.canceledBy,
      endedAt: batch.endedAt,
      deleted: batch.deleted,
      requests: batch.items.map((item) => ({
        customId: item.customId,
        model: item.model,
        text: item.text,
        fault: item.fault ? 'batch_errored' : null,
        dueAt: Number.isFinite(item.dueAt) ? item.dueAt : null,
        status: item.status,
        endedAt: item.endedAt,
        usage: item.usage ? structuredClone(item.usage) : null,
      })),
    }));
  }

  /** Stops every batch's timer: nothing progresses after the simulator closes. */
  close(): void {
    this.#closed = true;
    for (const batch of this.#batches) this.#stopTimer(batch);
  }

  #json(body: unknown, batchId: string | null = (body as { id?: string }).id ?? null): BatchOutcome {
    return { ok: true, body: JSON.stringify(body), contentType: 'application/json', batchId };
  }

  #refuse(batch: Batch, message: string): BatchOutcome {
    return { ok: false, status: 400, type: 'invalid_request_error', message, batchId: batch.id };
  }

  #create(inputs: BatchItemInput[], caller: BatchCaller): Batch {
    const { clock, latency, faults } = this.#host;
    const now = clock.now();
    const serial = this.#batches.length + 1;
    const subjectOf = (input: BatchItemInput): FaultSubject => ({
      path: BATCHES_PATH,
      method: 'POST',
      model: input.request.model,
      text: input.request.text,
      caller: caller.caller,
      turn: caller.turn,
      customId: input.customId,
    });
    const batchFault = firstBatchFault(faults, inputs.map(subjectOf));
    const stopAt = batchFault?.type === 'batch_expired' ? now + (batchFault.afterMs ?? 0) : Number.POSITIVE_INFINITY;
    const items = inputs.map((input, index): Item => {
      const dueAt = now + batchRequestMs(input.customId, index, latency);
      return {
        index,
        customId: input.customId,
        request: input.request,
        model: input.request.model,
        text: input.request.text,
        fault: faults.take(subjectOf(input), isRequestLevel) as Item['fault'],
        dueAt: dueAt <= stopAt ? dueAt : Number.POSITIVE_INFINITY,
        status: 'processing',
        endedAt: null,
        usage: null,
        result: null,
      };
    });
    const batch: Batch = {
      serial,
      id: `msgbatch_sim_${pad(serial)}`,
      seq: caller.seq,
      caller: caller.caller,
      createdAt: now,
      expiresAt: now + latency.expiryMs,
      items,
      order: [...items].sort((a, b) => a.dueAt - b.dueAt || a.index - b.index),
      next: 0,
      finished: [],
      counts: { processing: items.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      status: 'in_progress',
      fault: batchFault?.type ?? null,
      cancelInitiatedAt: null,
      canceledBy: null,
      cancelEndsAt: null,
      serverCancelAt: batchFault?.type === 'batch_canceled' ? now + (batchFault.afterMs ?? 0) : null,
      endedAt: null,
      deleted: false,
      timer: undefined,
    };
    this.#batches.push(batch);
    this.#byId.set(batch.id, batch);
    this.#run(batch);
    return batch;
  }

  /**
   * Plays a batch's events up to now, in time order — requests completing, a server-side
   * cancel, the end of `canceling`, expiry — then sets one timer for the next. One timer per
   * batch, not one per request: a 100,000-request batch stays cheap on any clock.
   */
  #run(batch: Batch): void {
    this.#stopTimer(batch);
    const now = this.#host.clock.now();
    while (batch.status !== 'ended') {
      const item = batch.order[batch.next];
      const itemAt = item?.dueAt ?? Number.POSITIVE_INFINITY;
      const at = Math.min(itemAt, batch.serverCancelAt ?? Number.POSITIVE_INFINITY, batch.cancelEndsAt ?? Number.POSITIVE_INFINITY, batch.expiresAt);
      if (at > now) {
        if (this.#closed) return;
        batch.timer = this.#host.clock.setTimeout(
          () => {
            batch.timer = undefined;
            this.#run(batch);
          },
          Math.min(at - now, MAX_TIMER_MS),
        );
        return;
      }
      // At the same instant a request completes first: it was in flight when the cancel or expiry came.
      if (item && itemAt === at) {
        this.#complete(batch, item, at);
        batch.next++;
        if (batch.next === batch.order.length) this.#end(batch, at, null);
      } else if (batch.serverCancelAt === at) {
        batch.serverCancelAt = null;
        this.#beginCancel(batch, at, 'server');
      } else {
        this.#end(batch, at, batch.cancelEndsAt === at ? 'canceled' : 'expired');
      }
    }
  }

  #stopTimer(batch: Batch): void {
    if (batch.timer === undefined) return;
    this.#host.clock.clearTimeout(batch.timer);
    batch.timer = undefined;
  }

  #beginCancel(batch: Batch, at: number, by: 'client' | 'server'): void {
    if (batch.status !== 'in_progress') return; // a second cancel changes nothing
    batch.status = 'canceling';
    batch.cancelInitiatedAt = at;
    batch.canceledBy = by;
    batch.cancelEndsAt = at + this.#host.latency.cancelMs;
  }

  /** A request's result, decided as a non-streamed `/v1/messages` call with the same params would be. */
  #complete(batch: Batch, item: Item, at: number): void {
    const request = item.request as ParsedMessagesRequest;
    if (item.fault) {
      const type = item.fault.errorType ?? 'overloaded_error';
      this.#settle(batch, item, 'errored', at, {
        type: 'errored',
        error: { type: 'error', error: { type, message: item.fault.message ?? `Simulated ${type}.` }, request_id: null },
      });
      return;
    }
    const reply = replyFor(request);
    const account = this.#host.cache.account(request.model, request.pieces);
    account.commit();
    const usage: SimulatedUsage = { ...account.usage, output_tokens: reply.outputTokens };
    if (reply.serverToolUse) usage.server_tool_use = { ...reply.serverToolUse };
    item.usage = usage;
    const message = replyMessage(`msg_sim_b${pad(batch.serial)}_${pad(item.index + 1)}`, request.model, reply, { ...usage });
    this.#settle(batch, item, 'succeeded', at, { type: 'succeeded', message });
  }

  #settle(batch: Batch, item: Item, status: BatchRequestStatus, at: number, result: Record<string, unknown>): void {
    item.status = status;
    item.endedAt = at;
    item.result = result;
    item.request = null;
    batch.counts.processing--;
    batch.counts[status]++;
    batch.finished.push(item);
  }

  /** Ends a batch; `kind` is what its unfinished requests become (none are left when it is `null`). */
  #end(batch: Batch, at: number, kind: 'canceled' | 'expired' | null): void {
    if (kind) {
      for (const item of batch.items) if (item.status === 'processing') this.#settle(batch, item, kind, at, { type: kind });
    }
    batch.status = 'ended';
    batch.endedAt = at;
    batch.cancelEndsAt = null;
    batch.serverCancelAt = null;
    this.#stopTimer(batch);
  }

  #wire(batch: Batch, origin: string): MessageBatchObject {
    const ended = batch.status === 'ended';
    const counts = ended || this.#host.counts === 'progressive' ? { ...batch.counts } : { processing: batch.items.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: batch.status,
      request_counts: counts,
      ended_at: iso(batch.endedAt),
      created_at: iso(batch.createdAt) as string,
      expires_at: iso(batch.expiresAt) as string,
      archived_at: null,
      cancel_initiated_at: iso(batch.cancelInitiatedAt),
      // Absolute, on the simulator itself, as the API's is on the API: the SDK fetches it as given.
      results_url: ended ? `${origin}${BATCHES_PATH}/${encodeURIComponent(batch.id)}/results` : null,
    };
  }

  /** Newest first; `after_id` pages towards older batches, `before_id` towards newer ones. */
  #list(query: BatchListQuery, origin: string): BatchOutcome {
    const visible = this.#batches.filter((batch) => !batch.deleted).reverse();
    const cursor = query.afterId ?? query.beforeId;
    const at = cursor === null ? -1 : visible.findIndex((batch) => batch.id === cursor);
    if (cursor !== null && at < 0)
      return { ok: false, status: 400, type: 'invalid_request_error', message: `${query.afterId !== null ? 'after_id' : 'before_id'}: no message batch ${cursor}`, batchId: null };
    let from: number;
    let to: number;
    if (query.beforeId !== null) {
      to = at;
      from = Math.max(0, at - query.limit);
    } else {
      from = at + 1;
      to = Math.min(visible.length, from + query.limit);
    }
    const page = visible.slice(from, to);
    const hasMore = query.beforeId !== null ? from > 0 : to < visible.length;
    return this.#json({ data: page.map((batch) => this.#wire(batch, origin)), has_more: hasMore, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null }, null);
  }

  /** JSON lines: requests in the order they finished (not the create's order, as on the API). */
  #results(batch: Batch): string {
    return batch.finished.map((item) => `${JSON.stringify({ custom_id: item.customId, result: item.result })}\n`).join('');
  }
}
