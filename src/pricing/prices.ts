/**
 * The price table: USD per million tokens, per model. Data, not logic — an app file can add or
 * override entries (`prices:`), and estimates are labelled as estimates.
 *
 * Figures: the public price pages (2026). Cache writes are the 5-minute rate (1.25× input);
 * cache reads 0.1× input. Calls made through the Message Batches API cost
 * {@link BATCH_PRICE_FACTOR} of every one of these (input, output, cache writes and reads).
 */

/**
 * What Message Batches cost against the same tokens streamed: half, on input, output, cache
 * writes and cache reads alike (the public pricing page). Web searches cost the same either way.
 */
export const BATCH_PRICE_FACTOR = 0.5;

/** Prices of one model, in USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

/** Prices by model id; an id also prices its dated variants (`claude-sonnet-4-6-20260101`). */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

const opus = { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 };
const sonnet = { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 };
const haiku = { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 };

/** fanfold's default price table. */
export const DEFAULT_PRICES: PriceTable = Object.freeze({
  'claude-opus-4-8': opus,
  'claude-opus-4-7': opus,
  'claude-opus-4-6': opus,
  'claude-opus-4-5': opus,
  'claude-sonnet-4-6': sonnet,
  'claude-sonnet-4-5': sonnet,
  'claude-haiku-4-5': haiku,
});
