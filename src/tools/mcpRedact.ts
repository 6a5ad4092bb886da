/**
 * Scrubbing of an MCP server's secrets. The `env` of a stdio server and the `headers` of an HTTP
 * one may hold credentials; any text fanfold makes from what a server did (start failures, its
 * stderr, call errors) goes through a redactor that replaces those values — and anything that
 * looks like a credential ({@link redactSecrets}) — by `[redacted]`.
 */
import { redactSecrets } from '../inspector/wire.ts';

/** Values shorter than this are not scrubbed: they cannot be credentials (`1`, `on`, `dev`), and replacing them everywhere would garble the text. */
export const MIN_SECRET_LENGTH = 4;

const REDACTED = '[redacted]';

/** Replaces secrets in a text. */
export type Redactor = (text: string) => string;

/**
 * A redactor for the given secret values (env or header values). Each value is also scrubbed
 * as JSON-escaped and URL-encoded text, and a header value's words (the token of
 * `Bearer <token>`) on their own.
 *
 * @example
 * const redact = createRedactor(['s3cr3t-token']);
 * redact('login with s3cr3t-token failed'); // → 'login with [redacted] failed'
 */
export function createRedactor(values: Iterable<string>): Redactor {
  const secrets = new Set<string>();
  const add = (value: string) => {
    if (value.length >= MIN_SECRET_LENGTH) secrets.add(value);
  };
  for (const value of values) {
    add(value);
    add(JSON.stringify(value).slice(1, -1));
    add(encodeURIComponent(value));
    for (const word of value.split(/\s+/)) if (word.length >= 8) add(word);
  }
  // Longest first, so a value that contains another is replaced whole.
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    let clean = text;
    for (const secret of ordered) if (clean.includes(secret)) clean = clean.split(secret).join(REDACTED);
    return redactSecrets(clean);
  };
}

/** The longest value a redactor scrubs, so text cut at an arbitrary point can drop a secret's partial head. */
export function longestSecret(values: Iterable<string>): number {
  let longest = 0;
  for (const value of values) longest = Math.max(longest, value.length, encodeURIComponent(value).length, JSON.stringify(value).length);
  return longest;
}
