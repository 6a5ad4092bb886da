/**
 * Secret redaction shared by everything fanfold shows or keeps: inspector messages, tool inputs
 * and results in run events, loop steps in checkpoints. A value that looks like a credential
 * becomes `[redacted]`, wherever it appears in the text.
 */

/**
 * Values that look like credentials wherever they appear: Anthropic and OpenAI-style keys,
 * Google API keys, GitHub tokens, `Bearer …` and `Basic …` credentials. `Basic` needs a token
 * that does not read as a word (a digit, `+`, `/`, `=` or a capital after a small letter), so
 * prose such as "Basic research" is left alone.
 */
const SECRET_VALUE =
  /sk-ant-[A-Za-z0-9_-]+|\bsk-[A-Za-z0-9_-]{20,}|\bAIza[A-Za-z0-9_-]{30,}|\bgh[pousr]_[A-Za-z0-9]{30,}|\bBearer\s+[A-Za-z0-9._~+/=-]{8,}|\bBasic\s+(?=[A-Za-z]*(?:[0-9+/=]|[a-z][A-Z]))[A-Za-z0-9+/]{8,}={0,2}/g;

/** Replaces anything that looks like a credential in `text` by `[redacted]`. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_VALUE, '[redacted]');
}

/** Longest preview of a tool input, result or turn text in run events. */
export const PREVIEW_CHARS = 1_000;

/**
 * A short, redacted text of any value for events and transcripts: strings as they are, other
 * values as JSON; cut at `max` characters with a marker saying how much was left out.
 */
export function preview(value: unknown, max = PREVIEW_CHARS): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  const clean = redactSecrets(text);
  return clean.length <= max ? clean : `${clean.slice(0, max)}…(+${clean.length - max} chars)`;
}

/** A copy of a JSON value with every string redacted (loop steps before they are journaled). */
export function redactDeep<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? redactSecrets(item) : item))) as T;
}
