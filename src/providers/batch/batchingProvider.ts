/**
 * Batch mode's provider: specialists' calls go through the Message Batches API (half price)
 * instead of streaming, and the actors do not know it — it implements the provider port.
 *
 * - **Rounds.** The first call opens a window of `gatherMs` on the run's clock; every call that
 *   arrives in it joins, then the round is submitted — split into several batches past
 *   `maxRequests` or `maxBytes` (a full window is submitted at once).
 * - **Polling.** Each batch is polled (`retrieve`) after `pollMs`, then 1.5× longer each time up
 *   to `maxPollMs`; once it has ended its results are read and each becomes its call's outcome:
 *   `succeeded` → the response (text, content, stop reason, usage marked as batched: half
 *   price); `errored` → a `ProviderError` of the API error's kind; `expired` → `timeout`;
 *   `canceled` → `cancelled` — each with `batch: true`, so the run's supervision policy decides
 *   as for any failure (a retry is a new call, so it goes into a new batch; `streamOn` makes it
 *   a streamed call instead). A poll or a read that fails for a transient reason is made again
 *   at the next poll.
 * - **Deadline.** Results are only readable once a batch ends, so `cancelMargin` before the
 *   run's deadline every open batch is canceled: requests in flight finish, the rest are
 *   canceled, the batch ends, and what succeeded is read in time for the synthesis. After that
 *   nothing new is submitted; calls without an answer wait for the deadline to stop them.
 * - **Aborts.** A call's `AbortSignal` rejects it at once. Its request stays in its batch: a
 *   batch that nobody waits for any more is canceled at its next poll.
 * - **Resume.** Every batch is reported (`onSubmitted`) as soon as its create returns; batches
 *   kept from before a crash are given back as `kept`, and a call whose `custom_id` (see
 *   `callIdentity.ts`) is in one waits for that batch instead of submitting again.
 * - **Streaming.** Calls `batched` says no to (the synthesizer, a model lead, digests) and a
 *   turn's retries after a `streamOn` failure go to the streaming `provider`.
 */
import type { Clock } from '../../clock.ts';
import { type ErrorKind, ProviderError } from '../../errors.ts';
import type { BatchEvent, BatchRequestCounts } from '../../events.ts';
import { TRANSIENT_ERROR_KINDS } from '../../policy.ts';
import { asBatched } from '../../usage.ts';
import { type ContentBlock, type ModelProvider, type ModelRequest, type ModelResponse, type StreamOptions, serverToolError } from '../provider.ts';
import type { BatchItemResult, BatchState, MessageBatchApi } from './batchApi.ts';
import { callBase, customIdOf, parseCustomId } from './callIdentity.ts';
import { type BatchSettings, POLL_FACTOR } from './settings.ts';
import { BATCH_BODY_OVERHEAD, entryBytes, splitBatches } from './splitBatches.ts';

/** A batch as a checkpoint keeps it: its id and the `custom_id`s it holds. */
export interface KeptBatch {
  id: string;
  customIds: string[];
}

/** Options of {@link createBatchingProvider}. */
export interface BatchingProviderOptions {
  /** Makes the calls that are not batched, and a turn's streamed retries; answers `countTokens`. */
  provider: ModelProvider;
  /** The backend's batch endpoints. */
  batches: MessageBatchApi;
  /** The run's clock: gathering windows, polls, the deadline's margin. */
  clock: Clock;
  settings: BatchSettings;
  /** Which calls go through batches. Default: every call that names its caller. */
  batched?: (caller: NonNullable<StreamOptions['caller']>) => boolean;
  /** The policy's `streamOn` for a caller id (a superset is safe: such a retry only streams). Default: none. */
  streamOn?: (callerId: string) => readonly ErrorKind[];
  /** When open batches are canceled so their results are read before the run's deadline (ms, on `clock`). Default: never. */
  cancelAt?: number | null;
  /** Batches created before a resume. */
  kept?: readonly KeptBatch[];
  /** Called with each batch as soon as its create returns, before anything else (a checkpoint journals it). */
  onSubmitted?: (batch: KeptBatch) => void;
  /** Batches' progress: submitted, polled (when it changed), ended. */
  onEvent?: (event: BatchEvent) => void;
}

/** The batching provider, and how the run steers it. */
export interface BatchingProvider extends ModelProvider {
  /** The run was cancelled: every open batch is canceled and nothing new is submitted. */
  cancelAll(): Promise<void>;
  /** The run was suspended (to be resumed): batches are left running on the backend; polling stops. */
  hold(): void;
  /** The run ended: polling stops, and open batches nobody waits for are canceled (unless held). */
  close(): Promise<void>;
  /** Batches created in this process and kept ones polled again, oldest first. */
  readonly submitted: readonly KeptBatch[];
  /** Resolves once no create is in flight (each batch created so far has been reported to `onSubmitted`). */
  idle(): Promise<void>;
}

interface Waiter {
  caller: NonNullable<StreamOptions['caller']>;
  request: ModelRequest;
  options: StreamOptions;
  resolve: (response: ModelResponse) => void;
  reject: (error: unknown) => void;
  detach: () => void;
}

interface Entry {
  customId: string;
  base: string;
  /** `pending`: in the gathering window; `creating`: its create is in flight; `submitted`: in `batch`. */
  phase: 'pending' | 'creating' | 'submitted' | 'held';
  batch: Tracker | null;
  waiter: Waiter | null;
  /** Its result, read while nobody waited for it (a kept or aborted entry). */
  result: BatchItemResult | null;
  /** Until it is submitted. */
  params: unknown;
  bytes: number;
}

interface Tracker {
  id: string;
  customIds: string[];
  kept: boolean;
  started: boolean;
  status: BatchState['status'];
  counts: BatchRequestCounts;
  timer: unknown;
  delay: number;
  /** Polled at least once in this process. */
  polled: boolean;
  canceled: 'deadline' | 'run' | 'unused' | null;
  resultsRead: boolean;
  /** A permanent failure of its endpoints (it cannot be polled or read): its calls failed with it. */
  failed: ProviderError | null;
}

const ZERO_COUNTS: Readonly<BatchRequestCounts> = Object.freeze({ processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 });

/**
 * Wraps a streaming provider so that specialists' calls go through Message Batches.
 *
 * @example
 * const base = createAnthropicProvider();
 * const provider = createBatchingProvider({ provider: base, batches: base.batches, clock: systemClock, settings: DEFAULT_BATCH_SETTINGS });
 */
export function createBatchingProvider(options: BatchingProviderOptions): BatchingProvider {
  const { provider, batches, clock, settings } = options;
  const batched = options.batched ?? (() => true);
  const streamOn = options.streamOn ?? (() => []);
  const emit = (event: BatchEvent) => options.onEvent?.(event);

  const entries = new Map<string, Entry>();
  /** Entries nobody waits for, by base: a kept batch's, or an aborted call's whose batch goes on. */
  const orphans = new Map<string, Entry[]>();
  const nextOccurrence = new Map<string, number>();
  const trackers = new Map<string, Tracker>();
  const submitted: KeptBatch[] = [];
  /** A turn's retries after a `streamOn` failure stream: by caller and turn, the attempt that failed. */
  const streamAfter = new Map<string, number>();
  /** The round being gathered, in arrival order, and its entries' bytes in the create body. */
  const pending = new Set<Entry>();
  let pendingBytes = 0;
  let gatherTimer: unknown = null;
  let cutOff = false;
  let runCancelled = false;
  let held = false;
  let closed = false;
  let creating = 0;
  let idleWaiters: Array<() => void> = [];
  const createDone = () => {
    creating--;
    if (creating > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  };

  for (const batch of options.kept ?? []) {
    const tracker = newTracker(batch.id, batch.customIds, 'in_progress', { ...ZERO_COUNTS, processing: batch.customIds.length }, true);
    trackers.set(batch.id, tracker);
    for (const customId of batch.customIds) {
      const parsed = parseCustomId(customId);
      if (!parsed) continue;
      // A custom_id submitted again (after a cancel) belongs to its newest batch.
      const entry: Entry = { customId, base: parsed.base, phase: 'submitted', batch: tracker, waiter: null, result: null, params: null, bytes: 0 };
      entries.set(customId, entry);
      addOrphan(entry);
      nextOccurrence.set(parsed.base, Math.max(nextOccurrence.get(parsed.base) ?? 0, parsed.occurrence + 1));
    }
  }

  const cutoffTimer = options.cancelAt == null ? null : clock.setTimeout(() => cutOffNow(), Math.max(0, options.cancelAt - clock.now()));

  function newTracker(id: string, customIds: string[], status: BatchState['status'], counts: BatchRequestCounts, kept: boolean): Tracker {
    return { id, customIds, kept, started: !kept, status, counts, timer: null, delay: settings.pollMs, polled: false, canceled: null, resultsRead: false, failed: null };
  }

  function addOrphan(entry: Entry): void {
    const list = orphans.get(entry.base);
    if (list) list.push(entry);
    else orphans.set(entry.base, [entry]);
  }

  /** The oldest entry of `base` nobody waits for whose result may still come (or has come). */
  function claimOrphan(base: string): Entry | null {
    const list = orphans.get(base);
    while (list && list.length > 0) {
      const entry = list.shift()!;
      if (entries.get(entry.customId) === entry && entry.waiter === null && entry.batch?.failed == null) {
        if (list.length === 0) orphans.delete(base);
        return entry;
      }
    }
    orphans.delete(base);
    return null;
  }

  const streamKey = (caller: Waiter['caller']) => `${caller.turn ?? 0}\u0000${caller.id}`;

  const stream = (request: ModelRequest, streamOptions: StreamOptions): Promise<ModelResponse> => {
    const { caller, signal } = streamOptions;
    if (!caller || !batched(caller)) return provider.stream(request, streamOptions);
    const failedAt = streamAfter.get(streamKey(caller));
    if (failedAt !== undefined) {
      if (caller.attempt > failedAt) return provider.stream(request, streamOptions);
      // The same attempt again: the specialist was restarted.
      streamAfter.delete(streamKey(caller));
    }
    if (signal.aborted) return Promise.reject(aborted());
    if (closed || runCancelled) return Promise.reject(new ProviderError('cancelled', 'the run has stopped: no batch takes new calls', { batch: true }));
    const params = batches.encode(request);
    const base = callBase(caller, params);
    return new Promise<ModelResponse>((resolve, reject) => {
      let entry: Entry | null = null;
      const onAbort = () => {
        waiter.detach();
        if (entry) release(entry);
        reject(aborted());
      };
      const waiter: Waiter = {
        caller,
        request,
        options: streamOptions,
        resolve: (response) => {
          waiter.detach();
          resolve(response);
        },
        reject: (error) => {
          waiter.detach();
          reject(error);
        },
        detach: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const orphan = claimOrphan(base);
      if (orphan) {
        entry = orphan;
        attach(orphan, waiter);
        return;
      }
      const occurrence = nextOccurrence.get(base) ?? 0;
      nextOccurrence.set(base, occurrence + 1);
      const customId = customIdOf(base, occurrence);
      entry = { customId, base, phase: 'pending', batch: null, waiter, result: null, params, bytes: entryBytes(customId, params) };
      entries.set(customId, entry);
      enqueue(entry);
    });
  };

  /** A waiter takes over an entry nobody waited for: its result now, or when its batch ends. */
  function attach(entry: Entry, waiter: Waiter): void {
    entry.waiter = waiter;
    const tracker = entry.batch;
    if (entry.result) {
      const result = entry.result;
      entry.result = null;
      queueMicrotask(() => {
        if (entry.waiter === waiter) deliver(entry, result);
      });
      return;
    }
    if (!tracker) return;
    if (tracker.resultsRead) {
      queueMicrotask(() => {
        if (entry.waiter === waiter) fail(entry, new ProviderError('server', `batch ${tracker.id} ended without a result for this request`, { batch: true }));
      });
      return;
    }
    if (!tracker.started) {
      tracker.started = true;
      submitted.push({ id: tracker.id, customIds: tracker.customIds });
      // A kept batch asked for within the deadline's margin is canceled like the others were.
      if (cutOff) cancel(tracker, 'deadline');
      schedulePoll(tracker, 0);
    }
  }

  /** An aborted call's entry: dropped before it is submitted, else left to its batch (a restart may claim it). */
  function release(entry: Entry): void {
    entry.waiter = null;
    if (entry.phase === 'pending') {
      pending.delete(entry);
      pendingBytes = pending.size === 0 ? 0 : Math.max(0, pendingBytes - entry.bytes - 1);
      entries.delete(entry.customId);
      if (pending.size === 0) stopGathering();
    } else if (entry.phase === 'held') {
      entries.delete(entry.customId);
    } else if (entry.phase === 'submitted') {
      addOrphan(entry);
    }
    // (`creating`: it becomes an orphan once its create returns.)
  }

  function enqueue(entry: Entry): void {
    if (cutOff || held) {
      // Too close to the deadline for a batch to end before it: the deadline will stop this call.
      entry.phase = 'held';
      return;
    }
    if (BATCH_BODY_OVERHEAD + entry.bytes > settings.maxBytes) {
      entries.delete(entry.customId);
      fail(entry, new ProviderError('bad_request', `the request takes ${entry.bytes} bytes, more than a batch may (${settings.maxBytes})`, { batch: true }), false);
      return;
    }
    // A round that this call would take past a limit is submitted first (O(1) per call: rounds hold up to 100,000).
    if (pending.size > 0 && BATCH_BODY_OVERHEAD + pendingBytes + 1 + entry.bytes > settings.maxBytes) flush();
    pendingBytes += entry.bytes + (pending.size > 0 ? 1 : 0);
    pending.add(entry);
    if (pending.size >= settings.maxRequests) flush();
    else if (gatherTimer === null) gatherTimer = clock.setTimeout(flush, settings.gatherMs);
  }

  function stopGathering(): void {
    if (gatherTimer === null) return;
    clock.clearTimeout(gatherTimer);
    gatherTimer = null;
  }

  /** Submits the round: one batch per split. */
  function flush(): void {
    stopGathering();
    const round = [...pending];
    pending.clear();
    pendingBytes = 0;
    if (round.length === 0) return;
    for (const chunk of splitBatches(round, settings).batches) submit(chunk);
  }

  function submit(chunk: Entry[]): void {
    for (const entry of chunk) entry.phase = 'creating';
    const requests = chunk.map((entry) => ({ customId: entry.customId, params: entry.params }));
    const bytes = chunk.reduce((sum, entry) => sum + entry.bytes, 0);
    // No signal: a create aborted after the backend took it would leave a batch nobody knows of.
    creating++;
    batches.create(requests).then(
      (state) => {
        createDone();
        const customIds = chunk.map((entry) => entry.customId);
        const tracker = newTracker(state.id, customIds, state.status, { ...state.counts }, false);
        trackers.set(state.id, tracker);
        const kept = { id: state.id, customIds };
        submitted.push(kept);
        // Journaled before anyone hears of it: a crash from now on finds this batch again.
        options.onSubmitted?.(kept);
        for (const entry of chunk) {
          entry.phase = 'submitted';
          entry.batch = tracker;
          entry.params = null;
          if (!entry.waiter) addOrphan(entry);
        }
        emit({ type: 'batch.submitted', batchId: state.id, requests: chunk.length, bytes, at: clock.now() });
        if (held) return;
        if (closed) return cancel(tracker, 'unused');
        if (runCancelled) cancel(tracker, 'run');
        else if (cutOff) cancel(tracker, 'deadline');
        schedulePoll(tracker, state.status === 'ended' ? 0 : settings.pollMs);
      },
      (error: unknown) => {
        createDone();
        const failure = asBatchError(error, `the batch of ${chunk.length} requests could not be created`);
        for (const entry of chunk) {
          entries.delete(entry.customId);
          if (entry.waiter) fail(entry, failure);
        }
      },
    );
  }

  function schedulePoll(tracker: Tracker, delay: number): void {
    if (held || closed || tracker.timer !== null) return;
    tracker.timer = clock.setTimeout(() => {
      tracker.timer = null;
      poll(tracker);
    }, delay);
  }

  function nextDelay(tracker: Tracker): number {
    const delay = tracker.delay;
    tracker.delay = Math.min(settings.maxPollMs, Math.round(tracker.delay * POLL_FACTOR));
    return delay;
  }

  function waitersOf(tracker: Tracker): number {
    let waiting = 0;
    for (const customId of tracker.customIds) {
      const entry = entries.get(customId);
      if (entry?.batch === tracker && entry.waiter) waiting++;
    }
    return waiting;
  }

  function poll(tracker: Tracker): void {
    if (held || closed) return;
    if (tracker.status === 'in_progress' && tracker.canceled === null && waitersOf(tracker) === 0) cancel(tracker, 'unused');
    batches.retrieve(tracker.id).then(
      (state) => {
        const changed = !tracker.polled || state.status !== tracker.status || !sameCounts(state.counts, tracker.counts);
        tracker.polled = true;
        tracker.status = state.status;
        tracker.counts = { ...state.counts };
        // An ended batch is announced once its results are read (`batch.ended`).
        if (changed && state.status !== 'ended')
          emit({ type: 'batch.progress', batchId: tracker.id, status: state.status, requests: tracker.customIds.length, counts: { ...state.counts }, kept: tracker.kept, at: clock.now() });
        if (state.status === 'ended') readResults(tracker);
        else schedulePoll(tracker, nextDelay(tracker));
      },
      (error: unknown) => pollFailed(tracker, asBatchError(error, `batch ${tracker.id} could not be polled`)),
    );
  }

  /** A poll or a read failed: try again later when it may pass, else fail the batch's calls. */
  function pollFailed(tracker: Tracker, error: ProviderError): void {
    if (TRANSIENT_ERROR_KINDS.includes(error.kind)) {
      schedulePoll(tracker, Math.max(error.retryAfterMs ?? 0, nextDelay(tracker)));
      return;
    }
    tracker.failed = error;
    for (const customId of tracker.customIds) {
      const entry = entries.get(customId);
      if (entry?.batch !== tracker) continue;
      entries.delete(customId);
      if (entry.waiter) fail(entry, error);
    }
  }

  /** Reads an ended batch's results whole, announces the end, then hands each to its call. */
  function readResults(tracker: Tracker): void {
    const items: BatchItemResult[] = [];
    const iterate = async () => {
      for await (const item of batches.results(tracker.id)) items.push(item);
    };
    iterate().then(
      () => {
        tracker.resultsRead = true;
        const counts: BatchRequestCounts = { ...ZERO_COUNTS };
        for (const item of items) counts[item.type]++;
        emit({ type: 'batch.ended', batchId: tracker.id, requests: tracker.customIds.length, counts, canceled: tracker.canceled, kept: tracker.kept, at: clock.now() });
        const answered = new Set<string>();
        for (const item of items) {
          answered.add(item.customId);
          const entry = entries.get(item.customId);
          if (!entry || entry.batch !== tracker) continue;
          if (entry.waiter) deliver(entry, item);
          else entry.result = item;
        }
        for (const customId of tracker.customIds) {
          const entry = entries.get(customId);
          if (entry?.batch === tracker && entry.waiter && !answered.has(customId))
            fail(entry, new ProviderError('server', `batch ${tracker.id} ended without a result for this request`, { batch: true }));
        }
      },
      // Read again from the start at the next poll: what was delivered is not delivered twice.
      (error: unknown) => pollFailed(tracker, asBatchError(error, `the results of batch ${tracker.id} could not be read`)),
    );
  }

  /** A result reaches the call waiting for it. */
  function deliver(entry: Entry, item: BatchItemResult): void {
    const waiter = entry.waiter!;
    const tracker = entry.batch!;
    if (waiter.options.signal.aborted) return;
    switch (item.type) {
      case 'succeeded': {
        entries.delete(entry.customId);
        const response: ModelResponse = { ...item.response, usage: asBatched(item.response.usage) };
        replayStream(response, waiter.options);
        waiter.resolve(response);
        return;
      }
      case 'errored':
        fail(entry, item.error);
        return;
      case 'expired':
        fail(entry, new ProviderError('timeout', `batch ${tracker.id} expired (24 h after it was created) before this request was processed`, { batch: true }));
        return;
      case 'canceled':
        if (tracker.canceled === 'deadline') {
          // Canceled for the deadline: the deadline itself stops this call (as a straggler).
          entry.phase = 'held';
          entry.batch = null;
          return;
        }
        if ((tracker.canceled === 'unused' || (tracker.kept && tracker.canceled === null)) && !cutOff && !runCancelled) {
          // Canceled while nobody waited for it (here, or in the process that crashed before a
          // resume): never processed, so it is submitted again now that someone does.
          entry.phase = 'pending';
          entry.batch = null;
          entry.params = batches.encode(waiter.request);
          entry.bytes = entryBytes(entry.customId, entry.params);
          enqueue(entry);
          return;
        }
        fail(
          entry,
          new ProviderError('cancelled', `batch ${tracker.id} was canceled before this request was processed${tracker.canceled === 'run' ? ' (the run was cancelled)' : ''}`, { batch: true }),
        );
    }
  }

  /** Rejects a call; a batch failure the caller's policy streams after marks its turn to stream. */
  function fail(entry: Entry, error: ProviderError, removed = true): void {
    const waiter = entry.waiter;
    if (!waiter) return;
    if (removed) entries.delete(entry.customId);
    entry.waiter = null;
    if (error.batch && streamOn(waiter.caller.id).includes(error.kind)) streamAfter.set(streamKey(waiter.caller), waiter.caller.attempt);
    waiter.reject(error);
  }

  function cancel(tracker: Tracker, why: NonNullable<Tracker['canceled']>): void {
    if (tracker.status === 'ended' || tracker.canceled !== null || tracker.failed) return;
    tracker.canceled = why;
    batches.cancel(tracker.id).then(
      (state) => {
        tracker.status = state.status === 'ended' || tracker.status === 'ended' ? 'ended' : state.status;
        tracker.counts = { ...state.counts };
      },
      // It may have ended meanwhile (a 400): the next poll says so.
      () => {},
    );
  }

  /** The deadline's margin: cancel what is open, so what it finished is read in time. */
  function cutOffNow(): void {
    if (cutOff || held || closed) return;
    cutOff = true;
    stopGathering();
    for (const entry of pending) entry.phase = 'held';
    pending.clear();
    pendingBytes = 0;
    for (const tracker of trackers.values()) {
      if (!tracker.started || tracker.status === 'ended') continue;
      cancel(tracker, 'deadline');
      if (tracker.timer !== null) {
        clock.clearTimeout(tracker.timer);
        tracker.timer = null;
      }
      tracker.delay = settings.pollMs;
      schedulePoll(tracker, settings.pollMs);
    }
  }

  function stopTimers(): void {
    stopGathering();
    if (cutoffTimer !== null) clock.clearTimeout(cutoffTimer);
    for (const tracker of trackers.values()) {
      if (tracker.timer === null) continue;
      clock.clearTimeout(tracker.timer);
      tracker.timer = null;
    }
  }

  const cancelAll = async (): Promise<void> => {
    if (runCancelled || held || closed) return;
    runCancelled = true;
    stopGathering();
    const stopped = new ProviderError('cancelled', 'the run was cancelled before this call was submitted', { batch: true });
    for (const entry of [...pending, ...[...entries.values()].filter((entry) => entry.phase === 'held')]) fail(entry, stopped);
    pending.clear();
    pendingBytes = 0;
    const open = [...trackers.values()].filter((tracker) => tracker.started && tracker.status !== 'ended' && tracker.canceled === null && !tracker.failed);
    for (const tracker of open) tracker.canceled = 'run';
    await Promise.all(open.map((tracker) => batches.cancel(tracker.id).catch(() => {})));
  };

  const hold = () => {
    if (closed) return;
    held = true;
    stopTimers();
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    const wasHeld = held;
    closed = true;
    stopTimers();
    if (wasHeld || runCancelled) return;
    const open = [...trackers.values()].filter((tracker) => tracker.started && tracker.status !== 'ended' && tracker.canceled === null && !tracker.failed && waitersOf(tracker) === 0);
    for (const tracker of open) tracker.canceled = 'unused';
    await Promise.all(open.map((tracker) => batches.cancel(tracker.id).catch(() => {})));
  };

  const wrapper: BatchingProvider = {
    name: provider.name,
    stream,
    cancelAll,
    hold,
    close,
    submitted,
    idle: () => (creating === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    ...(provider.countTokens ? { countTokens: (request: ModelRequest, countOptions?: { signal?: AbortSignal }) => provider.countTokens!(request, countOptions) } : {}),
  };
  return wrapper;
}

/** The error a call gets when its signal aborted (as the streaming provider's). */
function aborted(): ProviderError {
  return new ProviderError('cancelled', 'the call was aborted');
}

function asBatchError(error: unknown, what: string): ProviderError {
  if (error instanceof ProviderError) return error.batch ? error : new ProviderError(error.kind, error.message, { ...optionalFields(error), batch: true, cause: error });
  return new ProviderError('unknown', `${what}: ${error instanceof Error ? error.message : String(error)}`, { batch: true, cause: error });
}

function optionalFields(error: ProviderError): { status?: number; retryAfterMs?: number } {
  return { ...(error.status !== undefined ? { status: error.status } : {}), ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}) };
}

function sameCounts(a: BatchRequestCounts, b: BatchRequestCounts): boolean {
  return a.processing === b.processing && a.succeeded === b.succeeded && a.errored === b.errored && a.canceled === b.canceled && a.expired === b.expired;
}

/**
 * Gives a batched call's listeners what a streamed one would have: its text (once, whole) and
 * its server tools' starts and ends, from the content blocks.
 */
function replayStream(response: ModelResponse, options: StreamOptions): void {
  if (options.onServerTool) {
    const names = new Map<string, string>();
    for (const block of response.content ?? []) {
      if (block.type === 'server_tool_use') {
        const use = block as ContentBlock & { id: string; name: string; input: unknown };
        names.set(use.id, use.name);
        options.onServerTool({ phase: 'started', id: use.id, name: use.name, input: use.input ?? {} });
      } else if (block.type.endsWith('_tool_result') && typeof (block as { tool_use_id?: unknown }).tool_use_id === 'string') {
        const result = block as ContentBlock & { tool_use_id: string; content: unknown };
        const error = serverToolError(result.content);
        options.onServerTool({
          phase: 'done',
          id: result.tool_use_id,
          name: names.get(result.tool_use_id) ?? block.type.replace(/_tool_result$/, ''),
          isError: error !== null,
          error,
          content: result.content,
        });
      }
    }
  }
  if (options.onText && response.text) options.onText(response.text);
}
