/**
 * Durations as people write them in app files and on the command line: `1500` (ms), `"1500ms"`,
 * `"90s"`, `"2m"`, `"1h"`, `"1.5s"`.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** What a duration may look like, for error messages. */
export const DURATION_HINT = 'a duration: milliseconds as a number, or a string like "1500ms", "90s", "2m"';

/**
 * Parses a duration to whole milliseconds; `undefined` when it is not one (negative, zero,
 * unitless text, or an unknown unit).
 *
 * @example
 * parseDuration('90s'); // 90000
 */
export function parseDuration(value: unknown): number | undefined {
  // Whole milliseconds from 1 up: a value that rounds to 0 is no duration.
  if (typeof value === 'number') return Number.isFinite(value) && Math.round(value) >= 1 ? Math.round(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!;
  return Math.round(ms) >= 1 ? Math.round(ms) : undefined;
}
