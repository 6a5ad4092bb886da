/**
 * The simulator's token estimator.
 *
 * Real tokenizers are model-specific and not available offline, so the simulator uses a fixed,
 * documented rule instead: one token per four characters, rounded up, where a character is a
 * Unicode code point (so an emoji counts once, not twice as in UTF-16). It is deterministic, close
 * enough to English BPE tokenizers for budgeting tests, and the same rule is used everywhere:
 * input tokens, output tokens, `count_tokens`, prompt-cache thresholds and `max_tokens` truncation.
 */

/** Characters per token in {@link estimateTokens}. */
export const CHARS_PER_TOKEN = 4;

/** Estimated tokens of `text`: `ceil(codePoints / 4)`; the empty string is 0 tokens. */
export function estimateTokens(text: string): number {
  return Math.ceil(codePointLength(text) / CHARS_PER_TOKEN);
}

/** The number of Unicode code points in `text`. */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * The longest prefix of `text` that fits in `maxTokens` under {@link estimateTokens}.
 * It cuts on a code-point boundary, never inside a surrogate pair.
 */
export function truncateToTokens(text: string, maxTokens: number): string {
  const limit = Math.max(0, maxTokens) * CHARS_PER_TOKEN;
  let count = 0;
  let end = 0;
  for (const char of text) {
    if (count === limit) break;
    count++;
    end += char.length;
  }
  return text.slice(0, end);
}
