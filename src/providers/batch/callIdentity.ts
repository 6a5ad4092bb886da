/**
 * A batched call's `custom_id`, stable across a crash without anything plumbed through the
 * actors: the same caller making the same request on the same attempt and turn gets the same
 * base, and an occurrence number tells repeats of one base apart. A specialist restarted after
 * a resume makes the same request again, so it finds its kept batch entry by this id and the
 * request is never submitted twice.
 *
 * Shape: `<caller>_a<attempt>[_t<turn>]_<hash>_<occurrence>`, where `<caller>` is the caller id
 * cut to letters, digits and `-` (readable in logs), and `<hash>` 16 hex digits of a SHA-256 of
 * the caller id, attempt, turn and request params. At most 64 characters, as the API requires.
 */
import { createHash } from 'node:crypto';
import type { StreamOptions } from '../provider.ts';
import { CUSTOM_ID_PATTERN } from './settings.ts';

/** Room kept at the end of a `custom_id` for `_<occurrence>` (up to 9,999,999). */
const OCCURRENCE_ROOM = 8;
const MAX_ID = 64;

/**
 * The base of a call's `custom_id`: the same for the same caller, attempt, turn and params.
 *
 * @example
 * callBase({ id: 'historical', attempt: 1 }, { model: 'claude-haiku-4-5', max_tokens: 200, messages: [] }); // 'historical_a1_…'
 */
export function callBase(caller: NonNullable<StreamOptions['caller']>, params: unknown): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([caller.id, caller.attempt, caller.turn ?? null, params]))
    .digest('hex')
    .slice(0, 16);
  const tail = `_a${caller.attempt}${caller.turn !== undefined ? `_t${caller.turn}` : ''}_${hash}`;
  const room = Math.max(0, MAX_ID - OCCURRENCE_ROOM - tail.length);
  const readable = caller.id.replace(/[^a-zA-Z0-9-]+/g, '-').slice(0, room) || 'call';
  return `${readable.slice(0, room)}${tail}`;
}

/** The `custom_id` of the `occurrence`-th call (from 0) with `base`. */
export function customIdOf(base: string, occurrence: number): string {
  const id = `${base}_${occurrence}`;
  if (!CUSTOM_ID_PATTERN.test(id)) throw new RangeError(`not a valid custom_id: ${id}`);
  return id;
}

/** The base and occurrence a `custom_id` was made of; `null` for one fanfold did not make. */
export function parseCustomId(customId: string): { base: string; occurrence: number } | null {
  const at = customId.lastIndexOf('_');
  if (at <= 0) return null;
  const occurrence = Number(customId.slice(at + 1));
  return Number.isSafeInteger(occurrence) && occurrence >= 0 ? { base: customId.slice(0, at), occurrence } : null;
}
