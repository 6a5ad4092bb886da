/**
 * Prompt-caching accounting. A block with `cache_control` is a breakpoint: the prompt up to and
 * including it is a cacheable prefix if it reaches the minimum size (1024 estimated tokens by
 * default; below that nothing is cached, as with the real API). The first request with a
 * prefix pays the write (`cache_creation_input_tokens`), later ones within the TTL read it
 * (`cache_read_input_tokens`, and a read refreshes the TTL); `input_tokens` counts only the
 * tokens after the last breakpoint. Entries are per model.
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
   * The input usage of a request, updating the cache as the API would: the longest live
   * breakpoint prefix is read, everything from there to the last breakpoint is written.
   */
  account(model: string, pieces: readonly TextPiece[]): InputUsage {
    const total = inputTokens(pieces);
    const prefixTokens: number[] = [];
    let running = 0;
    for (const piece of pieces) prefixTokens.push((running += estimateTokens(piece.text)));

    const breakpoints = pieces.flatMap((piece, index) => (piece.cacheControl ? [index] : []));
    const last = breakpoints[breakpoints.length - 1];
    if (last === undefined || (prefixTokens[last] ?? 0) < this.#minTokens) {
      return { input_tokens: total, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    }

    const now = this.#now();
    const keyOf = (index: number): string => `${model}\u0000${pieces.slice(0, index + 1).map((piece) => piece.text).join('\u0001')}`;
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
    // Write (or refresh) every cacheable breakpoint with its own TTL.
    for (const index of breakpoints) {
      const piece = pieces[index];
      if (piece?.cacheControl && (prefixTokens[index] ?? 0) >= this.#minTokens) {
        this.#entries.set(keyOf(index), now + piece.cacheControl.ttlMs);
      }
    }
    const cached = prefixTokens[last] ?? 0;
    return { input_tokens: total - cached, cache_creation_input_tokens: cached - read, cache_read_input_tokens: read };
  }
}
