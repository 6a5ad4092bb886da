/**
 * The Message Batches port: what batch mode needs of a backend — submit requests as one batch,
 * ask how it stands, cancel it, read its results once it has ended. One small interface that
 * the Anthropic adapter implements (`anthropicBatchApi.ts`); the batching provider is written
 * against it alone.
 */
import type { ProviderError } from '../../errors.ts';
import type { ModelRequest, ModelResponse } from '../provider.ts';

/** One request of a batch: its `custom_id` and its params as the batch carries them. */
export interface BatchEntry {
  customId: string;
  /** What {@link MessageBatchApi.encode} made of the request (plain JSON). */
  params: unknown;
}

/** How many of a batch's requests are where (the API's `request_counts`). */
export interface BatchCounts {
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
}

/** A batch as the backend reports it. */
export interface BatchState {
  id: string;
  status: 'in_progress' | 'canceling' | 'ended';
  counts: BatchCounts;
}

/** One request's result, read once its batch has ended. */
export type BatchItemResult = { customId: string } & (
  | { type: 'succeeded'; response: ModelResponse }
  /** Its `kind` comes from the API error's type, as a streamed call's would; `batch` is set. */
  | { type: 'errored'; error: ProviderError }
  | { type: 'canceled' }
  | { type: 'expired' }
);

/**
 * A backend's Message Batches endpoints. Every method rejects with a `ProviderError` (its
 * `kind` as for a model call) and never retries on its own: a create retried after its answer
 * was lost would submit the batch twice.
 */
export interface MessageBatchApi {
  /** The request as one batch entry's params (what a streamed call would send, without `stream`). */
  encode(request: ModelRequest): unknown;
  /** Submits the entries as one batch. */
  create(entries: readonly BatchEntry[], options?: { signal?: AbortSignal }): Promise<BatchState>;
  retrieve(id: string): Promise<BatchState>;
  /** Asks the backend to cancel the batch: requests in flight may still finish; it ends once they have. */
  cancel(id: string): Promise<BatchState>;
  /** The results of an ended batch, in any order. A dropped answer rejects the iteration: read them again. */
  results(id: string): AsyncIterable<BatchItemResult>;
}

/** A provider that also has batch endpoints (`createAnthropicProvider` does). */
export interface BatchCapable {
  readonly batches: MessageBatchApi;
}

/** True when `provider` has batch endpoints. */
export function hasBatches<T extends object>(provider: T): provider is T & BatchCapable {
  const batches = (provider as { batches?: unknown }).batches;
  return typeof batches === 'object' && batches !== null && typeof (batches as MessageBatchApi).create === 'function';
}
