/**
 * The field rules both app-file formats share (fanfold's own, `appFile.ts`, and the pattern's,
 * `patternApp.ts`): the same fields are checked with the same rules and say the same things.
 */
import { z } from 'zod';
import { MAX_TIMER_MS } from './config.ts';
import { DURATION_HINT, parseDuration } from './duration.ts';
import type { ModelPrice, PriceTable } from './pricing/prices.ts';

export const text = z.string({ error: 'expected a string' });
export const nonEmptyText = text.min(1, { error: 'expected a non-empty string' });
export const count = z.number({ error: 'expected an integer from 1 and up' }).int({ error: 'expected an integer from 1 and up' }).min(1, { error: 'expected an integer from 1 and up' });
/** A duration: milliseconds, or text like `"90s"`, within what a timer can wait. */
export const duration = z.custom<number | string>(
  (value) => {
    const ms = parseDuration(value);
    return ms !== undefined && ms <= MAX_TIMER_MS;
  },
  { error: `expected ${DURATION_HINT} (at most ${MAX_TIMER_MS} ms)` },
);
export const agentId = nonEmptyText.regex(/^[A-Za-z0-9][\w.-]*$/, { error: 'expected an id of letters, digits, "-", "_" or "." (starting with a letter or digit)' });
const usdPerMillion = z.number({ error: 'expected USD per million tokens' }).min(0, { error: 'expected USD per million tokens' });
/** A model's price, USD per million tokens; cache prices default by the API's rule. */
export const price = z.strictObject({ input: usdPerMillion, output: usdPerMillion, cacheWrite: usdPerMillion.optional(), cacheRead: usdPerMillion.optional() });
/** The task, when neither the file nor the command line gives one. */
export const TASK_MISSING = 'expected the task: set `task` in the file, or give it on the command line';
/** `task:` in a file: text, or left empty for the command line to fill. */
export const taskField = text.refine((value) => value.trim().length > 0, { error: 'expected a non-empty string' }).nullish();

/** A file's `prices` as a price table (cache writes 1.25× input and reads 0.1× unless given, as the API prices them). */
export function toPrices(prices: Record<string, z.infer<typeof price>> | undefined): PriceTable {
  const table: Record<string, ModelPrice> = {};
  for (const [model, entry] of Object.entries(prices ?? {})) {
    table[model] = { input: entry.input, output: entry.output, cacheWrite: entry.cacheWrite ?? entry.input * 1.25, cacheRead: entry.cacheRead ?? entry.input * 0.1 };
  }
  return table;
}
