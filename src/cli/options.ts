/**
 * Parsers for the CLI's option values: bad values get commander's usage error (exit 2) with a
 * message that says what was expected.
 */
import { InvalidArgumentError } from 'commander';
import { MAX_TIMER_MS } from '../config.ts';
import { DURATION_HINT, parseDuration } from '../duration.ts';
import { checkRunId } from '../runId.ts';

/** `--deadline 90s` → 90000. */
export function durationOption(value: string): number {
  const ms = parseDuration(/^\d+$/.test(value) ? Number(value) : value);
  if (ms === undefined || ms > MAX_TIMER_MS) throw new InvalidArgumentError(`expected ${DURATION_HINT}, got "${value}"`);
  return ms;
}

/** `--concurrency 4` → 4. */
export function positiveIntOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected an integer from 1 and up, got "${value}"`);
  return n;
}

/** `--port 8080` → 8080 (0 = any free port). */
export function portOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  return n;
}

/** `--model claude-haiku-4-5` → as given; an empty value is an error, not "use the default". */
export function nonEmptyOption(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a non-empty value');
  return value.trim();
}

/** `--run-id fusion-1` → as given, when it follows the run-id rule (see `src/runId.ts`). */
export function runIdOption(value: string): string {
  try {
    checkRunId(value);
  } catch (error) {
    // Commander's usage error (exit 2) carries the rule's own message.
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}

/** `--budget 0.05` (or `$0.05`) → 0.05 USD. */
export function usdOption(value: string): number {
  const usd = Number(value.replace(/^\$/, ''));
  if (!/^\$?\d*\.?\d+$/.test(value) || !(usd > 0)) throw new InvalidArgumentError(`expected an amount of USD above 0, e.g. 0.05, got "${value}"`);
  return usd;
}
