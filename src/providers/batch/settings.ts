/**
 * Batch mode's settings and the Message Batches API's limits, as plain data: what the run
 * config's `batch` option resolves to (see `FanOutConfig.batch`), with every default.
 */

/** Most requests one batch may hold: the API's limit. */
export const MAX_BATCH_REQUESTS = 100_000;

/** Largest create body one batch may have, in bytes: the API's limit (256 MB). */
export const MAX_BATCH_BYTES = 256 * 1024 * 1024;

/** What a `custom_id` must match: 1–64 letters, digits, `_` or `-` (unique within its batch). */
export const CUSTOM_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** Batch mode as the run keeps it: every field set (plain JSON, kept in checkpoints). */
export interface BatchSettings {
  /** How long the first call of a round waits for others to join its batch, in ms. */
  gatherMs: number;
  /** Wait before a batch's first poll, in ms; each later poll waits 1.5× longer, up to `maxPollMs`. */
  pollMs: number;
  /** Longest wait between two polls of a batch, in ms. */
  maxPollMs: number;
  /**
   * How long before the run's deadline its open batches are canceled, in ms, so that what they
   * finished can be read before the deadline. `null`: a tenth of the deadline, from 1 s to 10 min.
   */
  cancelMarginMs: number | null;
  /** Most requests per batch (at most {@link MAX_BATCH_REQUESTS}). */
  maxRequests: number;
  /** Largest create body per batch, in bytes (at most {@link MAX_BATCH_BYTES}). */
  maxBytes: number;
}

/** What `batch: true` means. */
export const DEFAULT_BATCH_SETTINGS: Readonly<BatchSettings> = Object.freeze({
  gatherMs: 1_000,
  pollMs: 1_000,
  maxPollMs: 60_000,
  cancelMarginMs: null,
  maxRequests: MAX_BATCH_REQUESTS,
  maxBytes: MAX_BATCH_BYTES,
});

/** Growth of the wait between two polls of one batch. */
export const POLL_FACTOR = 1.5;

/**
 * The margin before the deadline at which open batches are canceled: the configured one, else a
 * tenth of the deadline, at least 1 s and at most 10 min (canceling ends a batch once the
 * requests in flight finish, which the API does not bound; most take seconds).
 *
 * @example
 * cancelMarginOf(DEFAULT_BATCH_SETTINGS, 300_000); // 30_000
 */
export function cancelMarginOf(settings: Pick<BatchSettings, 'cancelMarginMs'>, deadlineMs: number): number {
  if (settings.cancelMarginMs !== null) return settings.cancelMarginMs;
  return Math.min(600_000, Math.max(1_000, Math.round(deadlineMs / 10)));
}
