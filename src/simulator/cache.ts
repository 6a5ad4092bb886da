/**
 * Prompt-caching accounting. A block with `cache_control` is a breakpoint: the prompt up to and
 * including it is a cacheable prefix if it reaches the minimum size (1024 estimated tokens by
 * default; below that nothing is cached, as with the real API). The first request with a
 * prefix pays the write (`cache_creation_input_tokens`), later ones within the TTL read it
 * (`cache_read_input_tokens`, and a read refreshes the TTL); `input_tokens` counts only the
 * tokens after the last breakpoint. Entries are per model. What a request reads is decided when
 * it arrives; what it writes becomes readable when its response begins (see
 * {@link PromptCache.account}).
 */
import type { TextPiece } from './request.ts';
import { estimateTokens } from './tokens.ts';

/** The input side of a Messages API `usage` object. */
export interface InputUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** The real API's smallest cacheable prefix on most models. */
export const DEFAULT_MIN_CACHEABLE_TOKENS = 1024;

/** Input tokens of a prompt: the sum of each piece's estimate (so prefixes add up exactly). */
export function inputTokens(pieces: readonly TextPiece[]): number {
  return pieces.reduce((sum, piece) => sum + estimateTokens(piece.text), 0);
}

/** A request's use of the cache: its input usage, and the write that makes its prefixes readable. */
export interface CacheAccount {
  usage: InputUsage;
  /** Writes (or refreshes) every cacheable breakpoint of the request, each with its own TTL from now. */
  commit(): void;
}

export class PromptCache {
  readonly #entries = new Map<string, number>();
  readonly #now: () => number;
  readonly #minTokens: number;

  constructor(now: () => number, minTokens = DEFAULT_MIN_CACHEABLE_TOKENS) {
    this.#now = now;
    this.#minTokens = minTokens;
  }

  /** Forgets every cached prefix. */
  clear(): void {
    this.#entries.clear();
  }

  /**
   * The input usage of a request as the API would report it: the longest live breakpoint prefix
   * is read, everything from there to the last breakpoint is written. Nothing changes until
   * `commit()`, which the server calls when the response begins (after the prefill): on the API
   * a cache entry becomes available only once the first response begins, so requests that
   * arrive while the writer is still prefilling each pay the write, in tokens and in time.
   */
  account(model: string, pieces: readonly TextPiece[]): CacheAccount {
    const total = inputTokens(pieces);
    const prefixTokens: number[] = [];
    let running = 0;
    for (const piece of pieces) prefixTokens.push((running += estimateTokens(piece.text)));

    const breakpoints = pieces.flatMap((piece, index) => (piece.cacheControl ? [index] : []));
    const last = breakpoints[breakpoints.length - 1];
    if (last === undefined || (prefixTokens[last] ?? 0) < this.#minTokens) {
      return { usage: { input_tokens: total, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }, commit: () => {} };
    }

    const keyOf = (index: number): string =>
      `${model}\u0000${pieces
        .slice(0, index + 1)
        .map((piece) => piece.text)
        .join('\u0001')}`;
    const now = this.#now();
    let read = 0;
    for (const index of [...breakpoints].reverse()) {
      const tokens = prefixTokens[index] ?? 0;
      if (tokens < this.#minTokens) break;
      const expiresAt = this.#entries.get(keyOf(index));
      if (expiresAt !== undefined && expiresAt > now) {
        read = tokens;
        break;
      }
    }
    const commit = (): void => {
      const at = this.#now();
      for (const index of breakpoints) {
        const piece = pieces[index];
        if (piece?.cacheControl && (prefixTokens[index] ?? 0) >= this.#minTokens) {
          this.#entries.set(keyOf(index), at + piece.cacheControl.ttlMs);
        }
      }
    };
    const cached = prefixTokens[last] ?? 0;
    return { usage: { input_tokens: total - cached, cache_creation_input_tokens: cached - read, cache_read_input_tokens: read }, commit };
  }
}
