/**
 * Maps what the Anthropic SDK throws to fanfold's error kinds, so supervision policies decide on
 * a discriminant and a person reads a message they can act on. Never puts a credential in a
 * message: SDK errors carry headers and bodies from the server, not the request's headers.
 */
import { AnthropicError, APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { ProviderError, type ErrorKind } from '../errors.ts';

/** What the mapping needs to know about the call that failed. */
export interface FailedCall {
  model: string;
  baseURL: string;
  /** Aborted by the run (attempt deadline, run deadline, cancel). */
  aborted: boolean;
  /** The API key: removed from any message, whatever the SDK or the network put in it. */
  secret?: string;
}

/** Kinds of the error types the API puts in bodies and mid-stream `error` events. */
const KIND_BY_API_ERROR_TYPE: Record<string, ErrorKind> = {
  overloaded_error: 'overloaded',
  rate_limit_error: 'rate_limited',
  api_error: 'server',
  timeout_error: 'timeout',
  invalid_request_error: 'bad_request',
  authentication_error: 'auth',
  permission_error: 'permission',
  not_found_error: 'not_found',
  request_too_large: 'bad_request',
};

/**
 * The kind of an error type the API puts in error bodies, mid-stream `error` events and a batch
 * request's `errored` result (`overloaded_error` → `overloaded`); `server` for a type it does not know.
 */
export function kindOfApiErrorType(type: string): ErrorKind {
  return KIND_BY_API_ERROR_TYPE[type] ?? 'server';
}

/**
 * Reads how long the server asked us to wait: `retry-after-ms`, else `retry-after` as seconds
 * or as an HTTP date. `undefined` when absent or unreadable.
 */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Turns anything the SDK threw into a {@link ProviderError} with the right kind; no credential survives in its message. */
export function toProviderError(error: unknown, call: FailedCall): ProviderError {
  const mapped = mapError(error, call);
  const message = redact(mapped.message, call.secret);
  if (message === mapped.message) return mapped;
  return new ProviderError(mapped.kind, message, {
    ...(mapped.status !== undefined ? { status: mapped.status } : {}),
    ...(mapped.retryAfterMs !== undefined ? { retryAfterMs: mapped.retryAfterMs } : {}),
    ...(mapped.batch ? { batch: true } : {}),
  });
}

/** Removes the key itself and any `Bearer …` credential from a message. */
function redact(message: string, secret: string | undefined): string {
  let out = secret ? message.split(secret).join('[redacted]') : message;
  out = out.replace(/Bearer\s+\S+/gi, 'Bearer [redacted]');
  return out;
}

function mapError(error: unknown, call: FailedCall): ProviderError {
  if (error instanceof ProviderError) return error;
  if (error instanceof APIUserAbortError || call.aborted) {
    return new ProviderError('cancelled', 'the call was aborted', { cause: error });
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new ProviderError('timeout', `no response from ${call.baseURL} before the SDK's request timeout`, { cause: error });
  }
  if (error instanceof APIConnectionError) {
    const reason = causeMessage(error) ?? error.message;
    return new ProviderError('connection', `could not reach ${call.baseURL}: ${reason}`, { cause: error });
  }
  if (error instanceof APIError) return fromApiError(error, call);
  if (error instanceof SyntaxError || (error instanceof Error && error.cause instanceof SyntaxError)) {
    const reason = error instanceof SyntaxError ? error.message : (error.cause as SyntaxError).message;
    return new ProviderError('server', `the API sent a malformed response: ${reason}`, { cause: error });
  }
  if (error instanceof Error && isDroppedConnection(error)) {
    return new ProviderError('connection', `the connection to ${call.baseURL} dropped mid-response (${error.message})`, { cause: error });
  }
  if (error instanceof AnthropicError) {
    return new ProviderError('server', `the API's response could not be read: ${error.message}`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError('unknown', message, { cause: error });
}

function fromApiError(error: APIError, call: FailedCall): ProviderError {
  const status = error.status;
  const detail = apiMessage(error);
  const retryAfterMs = parseRetryAfter(error.headers);
  const extra = { ...(status !== undefined ? { status } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), cause: error };
  if (status === undefined) {
    // An `error` event inside a 200 stream: the body's type says what happened.
    const type = typeof error.type === 'string' ? error.type : '';
    const kind = kindOfApiErrorType(type);
    return new ProviderError(kind, `the stream failed mid-response (${type || 'error'}): ${detail}`, extra);
  }
  switch (status) {
    case 400:
    case 413:
    case 422:
      return new ProviderError('bad_request', `the API rejected the request (${status}): ${detail}`, extra);
    case 401:
      return new ProviderError('auth', `ANTHROPIC_API_KEY was rejected (401): ${detail}. Check the key, or unset it to run against the built-in simulator.`, extra);
    case 402:
      return new ProviderError('permission', `the account cannot be billed for this request (402): ${detail}`, extra);
    case 403:
      return new ProviderError('permission', `ANTHROPIC_API_KEY is not allowed to do this (403): ${detail}`, extra);
    case 404:
      return new ProviderError('not_found', `not found (404): ${detail}. Check the model id "${call.model}" and ANTHROPIC_BASE_URL (${call.baseURL}).`, extra);
    case 408:
      return new ProviderError('timeout', `the API timed out the request (408): ${detail}`, extra);
    case 429:
      return new ProviderError('rate_limited', `rate limited (429)${retryAfterMs !== undefined ? `, asked to wait ${retryAfterMs} ms` : ''}: ${detail}`, extra);
    case 529:
      return new ProviderError('overloaded', `the API is overloaded (529): ${detail}`, extra);
    default:
      if (status >= 500 || status === 409) return new ProviderError('server', `server error (${status}): ${detail}`, extra);
      return new ProviderError('bad_request', `the API refused the request (${status}): ${detail}`, extra);
  }
}

/** The server's own message, without the status prefix the SDK adds. */
function apiMessage(error: APIError): string {
  const body = error.error as { error?: { message?: unknown } } | undefined;
  const message = body?.error?.message;
  if (typeof message === 'string' && message) return message;
  return error.message.replace(/^\d{3}\s+/, '') || 'no details';
}

function causeMessage(error: Error): string | undefined {
  let cause: unknown = error.cause;
  let message: string | undefined;
  // fetch wraps the socket error one or two levels down (TypeError: fetch failed → ECONNREFUSED).
  for (let depth = 0; depth < 4 && cause instanceof Error; depth += 1) {
    message = (cause as Error & { code?: string }).code ?? cause.message;
    cause = cause.cause;
  }
  return message;
}

function isDroppedConnection(error: Error): boolean {
  const text = `${error.message} ${causeMessage(error) ?? ''}`;
  return /\bterminated\b|ECONNRESET|EPIPE|socket hang up|other side closed|UND_ERR_SOCKET|premature close/i.test(text);
}
