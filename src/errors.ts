/**
 * What went wrong with one attempt, as a discriminant. Policies decide on the kind, never on
 * message text.
 * - transient: `rate_limited` (429), `overloaded` (529), `server` (other 5xx), `timeout`
 *   (the attempt's own deadline or the provider's), `connection` (dropped or refused socket)
 * - permanent: `bad_request` (400), `auth` (401), `permission` (403), `not_found` (404)
 * - run control: `deadline` (the run's deadline cut it off), `cancelled` (the run stopped it),
 *   `budget` (the call would have passed the run's or the specialist's budget)
 * - `unknown`: anything else, e.g. an error thrown by a task function
 */
export type ErrorKind = 'rate_limited' | 'overloaded' | 'server' | 'timeout' | 'connection' | 'bad_request' | 'auth' | 'permission' | 'not_found' | 'deadline' | 'cancelled' | 'budget' | 'unknown';

/** The JSON-serialisable record of an error kept in outcomes, events and snapshots. */
export interface ErrorInfo {
  kind: ErrorKind;
  message: string;
  /** HTTP status, when the error came from an HTTP response. */
  status?: number;
  /** How long the server asked us to wait before retrying (from `retry-after`). */
  retryAfterMs?: number;
  /**
   * The call went through a Message Batch (batch mode) and failed there: its result was
   * `errored`, `expired` or `canceled`, or a batch endpoint refused it. A policy's `streamOn`
   * decides on such failures.
   */
  batch?: true;
}

/**
 * What kind of problem a {@link FanfoldError} is, and so what a caller (or the CLI's exit code)
 * does about it. A closed set: match on it, never on message text.
 * - `config`: a config, app file, option, argument, run id or environment variable is invalid,
 *   or names something that is not there (a file, a free port); fix the input and run again.
 *   Nothing was called.
 * - `usage`: fanfold's API was used in a way it does not support (actors not built with
 *   `createRunActors`, a closed simulator, a task function returning the wrong type).
 * - `provider`: a model call failed ({@link ProviderError}, with its `kind`).
 * - `budget`: the run's budget refused it before any call (`BudgetExceededError`).
 * - `checkpoint`: a run to resume is missing, damaged, or taken by another process
 *   (`CheckpointError`).
 * - `tool`: a tool call got input it cannot take, its tool (an MCP server) failed, or it was
 *   stopped (its timeout, its specialist stopping; the reason its `signal` gives); the model
 *   gets it as an error result.
 * - `restate`: the Restate ingress could not be reached or refused a call
 *   (`RestateIngressError`), or a run ended there with an internal error.
 * - `internal`: something fanfold did not expect; a bug to report.
 */
export type FanfoldErrorCode = 'config' | 'usage' | 'provider' | 'budget' | 'checkpoint' | 'tool' | 'restate' | 'internal';

/** Every {@link FanfoldErrorCode}, in the order documented. */
export const FANFOLD_ERROR_CODES: readonly FanfoldErrorCode[] = Object.freeze(['config', 'usage', 'provider', 'budget', 'checkpoint', 'tool', 'restate', 'internal']);

/**
 * Base class of every error fanfold throws; `code` tells them apart without `instanceof`.
 *
 * @example
 * try { await run.result; } catch (error) { if (error instanceof FanfoldError && error.code === 'budget') raiseBudget(); }
 */
export class FanfoldError extends Error {
  readonly code: FanfoldErrorCode;
  constructor(code: FanfoldErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FanfoldError';
    this.code = code;
  }
}

/**
 * `error` as a {@link FanfoldError}: itself when it is one, else an `internal` error with the
 * same message and `error` as its `cause`. For the places where fanfold hands on what it caught.
 */
export function toFanfoldError(error: unknown): FanfoldError {
  if (error instanceof FanfoldError) return error;
  const message = error instanceof Error ? error.message || error.name : String(error);
  return new FanfoldError('internal', message, { cause: error });
}

/** One problem found while validating a config: where it is and what was expected. */
export interface ConfigIssue {
  /** Dotted path inside the config, e.g. `specialists[2].policy.retry.maxAttempts`. */
  path: string;
  message: string;
}

/**
 * A run config (or an app file) is invalid. The message names the source, every path and what
 * was expected, so a person can fix it without reading code.
 */
export class ConfigError extends FanfoldError {
  readonly issues: readonly ConfigIssue[];
  readonly source: string;
  constructor(source: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`);
    super('config', `Invalid fanfold config in ${source}:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
    this.source = source;
  }
}

/**
 * A model call failed. Providers throw this so the supervision policy can decide by `kind`;
 * the original error stays in `cause`.
 *
 * @example
 * throw new ProviderError('rate_limited', 'Too many requests', { status: 429, retryAfterMs: 2000 });
 */
export class ProviderError extends FanfoldError {
  readonly kind: ErrorKind;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  /** The call failed inside a Message Batch (see {@link ErrorInfo.batch}). */
  readonly batch: boolean;
  constructor(kind: ErrorKind, message: string, options: { status?: number; retryAfterMs?: number; batch?: boolean; cause?: unknown } = {}) {
    super('provider', message, { cause: options.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.batch = options.batch ?? false;
  }
}

/** Turns anything thrown by a provider or task function into an {@link ErrorInfo}. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof ProviderError) {
    const info: ErrorInfo = { kind: error.kind, message: error.message };
    if (error.status !== undefined) info.status = error.status;
    if (error.retryAfterMs !== undefined) info.retryAfterMs = error.retryAfterMs;
    if (error.batch) info.batch = true;
    return info;
  }
  if (error instanceof Error) return { kind: 'unknown', message: error.message || error.name };
  return { kind: 'unknown', message: String(error) };
}
