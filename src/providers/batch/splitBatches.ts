/**
 * Splitting a round of calls into batches the API takes: at most `maxRequests` requests and
 * `maxBytes` of create body each (the API's limits are 100,000 and 256 MB). A pure function of
 * the entries' sizes, in order.
 */

/** The create body's bytes besides its entries: `{"requests":[` … `]}`. */
export const BATCH_BODY_OVERHEAD = '{"requests":[]}'.length;

/** The limits one batch must keep. */
export interface BatchLimits {
  maxRequests: number;
  maxBytes: number;
}

/**
 * Groups entries, in order, into batches within `limits`: a batch closes when the next entry
 * would pass either limit (entries are joined by a comma, as in the JSON body). An entry too
 * large for any batch is returned in `tooLarge` instead.
 *
 * @example
 * splitBatches([{ bytes: 60 }, { bytes: 60 }, { bytes: 60 }], { maxRequests: 2, maxBytes: 1_000 }).batches.length; // 2
 */
export function splitBatches<T extends { bytes: number }>(entries: readonly T[], limits: BatchLimits): { batches: T[][]; tooLarge: T[] } {
  const batches: T[][] = [];
  const tooLarge: T[] = [];
  let current: T[] = [];
  let size = BATCH_BODY_OVERHEAD;
  for (const entry of entries) {
    if (BATCH_BODY_OVERHEAD + entry.bytes > limits.maxBytes) {
      tooLarge.push(entry);
      continue;
    }
    const added = entry.bytes + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && (current.length >= limits.maxRequests || size + added > limits.maxBytes)) {
      batches.push(current);
      current = [];
      size = BATCH_BODY_OVERHEAD;
    }
    size += entry.bytes + (current.length > 0 ? 1 : 0);
    current.push(entry);
  }
  if (current.length > 0) batches.push(current);
  return { batches, tooLarge };
}

/** The bytes one entry takes in the create body. */
export function entryBytes(customId: string, params: unknown): number {
  return Buffer.byteLength(JSON.stringify({ custom_id: customId, params }));
}
