/**
 * The one rule for run ids, used wherever a run id comes in: the file checkpoint store (it names
 * a directory), the CLI's `--run-id` and `resume <run-id>`, `resumeFanOut`, and the Restate
 * client (it is a virtual object's key, in ingress URLs and in the XState adapter's actor
 * registry).
 */
import { FanfoldError } from './errors.ts';

/** The most characters a run id may have: short enough for a file name and a URL path segment. */
export const MAX_RUN_ID_LENGTH = 100;

/**
 * Ids a run may not have: the lead's own children on Restate, which the XState adapter keys by
 * id in the same registry as the run itself.
 */
export const RESERVED_RUN_IDS: readonly string[] = Object.freeze(['fanOut', 'deadline', 'synthesizer']);

/**
 * Letters, digits, `.`, `_` and `-`, starting with a letter or digit: safe as a directory name
 * (no `/`, no `..`, no hidden dot-directory) and in a URL without escaping.
 */
const RUN_ID_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_RUN_ID_LENGTH - 1}}$`);

/** The rule in words, for error messages and help text. */
export const RUN_ID_RULE = `1-${MAX_RUN_ID_LENGTH} letters, digits, ".", "_" or "-", starting with a letter or digit, and not ${RESERVED_RUN_IDS.join(', ')}`;

/** Whether `runId` follows the rule (see {@link RUN_ID_RULE}). */
export function isValidRunId(runId: unknown): runId is string {
  return typeof runId === 'string' && RUN_ID_PATTERN.test(runId) && !RESERVED_RUN_IDS.includes(runId);
}

/**
 * Throws a `FanfoldError` (code `config`) naming the id and the rule when `runId` breaks it.
 *
 * @example
 * checkRunId('fusion-1'); // fine
 * checkRunId('../etc');   // throws: Invalid run id "../etc": use 1-100 letters, …
 */
export function checkRunId(runId: unknown): asserts runId is string {
  if (!isValidRunId(runId)) {
    const shown = typeof runId === 'string' ? `"${runId}"` : String(runId);
    throw new FanfoldError('config', `Invalid run id ${shown}: use ${RUN_ID_RULE}`);
  }
}

/**
 * A new run id that follows the rule: sortable by start time (UTC, to the second), with six
 * random hex digits so that runs started in the same second on one machine do not collide.
 *
 * @example
 * newRunId(new Date('2025-03-01T12:00:00Z')); // '20250301-120000-' and six hex digits
 */
export function newRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .replace('T', '-');
  return `${stamp}-${Math.random().toString(16).slice(2, 8).padEnd(6, '0')}`;
}
