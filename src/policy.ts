/**
 * Supervision policies as plain data, and the pure functions that decide what a failure means.
 * Nothing here does I/O or reads the clock: the specialist actor asks, this module answers.
 */
import type { ErrorInfo, ErrorKind } from './errors.ts';

/** How a specialist retries one model. */
export interface RetryPolicy {
  /** Attempts per model, the first included. Default `3`. */
  maxAttempts: number;
  /** Wait before the first retry, in ms. Default `500`. */
  initialDelayMs: number;
  /** Growth of the wait per retry. Default `2`. */
  factor: number;
  /** Cap on any single wait, a server's `retry-after` included, in ms. Default `30_000`. */
  maxDelayMs: number;
  /** Share of each wait taken away at random (0 = none, 1 = full jitter). Default `0.25`. */
  jitter: number;
  /** Error kinds worth another attempt. Default: 429, 529, 5xx, timeouts, dropped connections. */
  retryOn: ErrorKind[];
}

/**
 * What fanfold does when a specialist fails. Given per specialist, with a run-wide default;
 * every field is optional in config and filled from {@link DEFAULT_POLICY}.
 */
export interface SupervisionPolicy {
  retry: RetryPolicy;
  /** Alternate models, tried in order when the current one is overloaded or out of retries. Default `[]`. */
  fallbackModels: string[];
  /** Error kinds that move to the next fallback model at once instead of retrying. Default `['overloaded']`. */
  fallbackOn: ErrorKind[];
  /**
   * Batch mode: kinds of a batched call's failure (its result `errored` → the API error's kind,
   * `expired` → `timeout`, `canceled` → `cancelled`, or a batch endpoint refusing it) after which
   * the call is made again at once as a streamed call at full price, on the same model — checked
   * before `fallbackOn`, and whether or not the kind is retryable. That turn's further retries
   * stream too; the next turn is batched again. `[]`: a batch failure is decided like any other
   * (a retry is a new call, in a new batch). Default `[]`.
   */
  streamOn: ErrorKind[];
  /**
   * What the specialist's final failure means for the run: `'skip'` — the run goes on and the
   * synthesizer is told the angle is missing and why; `'escalate'` — the run fails at once and
   * the other specialists are stopped. Default `'skip'`.
   */
  onFailure: 'skip' | 'escalate';
  /** Deadline of one attempt — one model call — in ms (the call is aborted and counts as a `timeout`); `null` for none. Default `120_000`. */
  attemptTimeoutMs: number | null;
  /**
   * Most model turns of a specialist's tool-use loop, the last included. The turn that reaches
   * it is offered no tools, so the model writes its finding. Default `10`.
   */
  maxTurns: number;
  /** Most tool calls (client and server) of one specialist; past it, the next turn is its last, without tools. Default `20`. */
  maxToolCalls: number;
  /** Most client tool calls of one specialist running at once (a turn's calls run in parallel). Default `8`. */
  maxToolConcurrency: number;
  /** Deadline of one client tool call in ms (its signal aborts and the model gets an error result); `null` for none. Default `60_000`. */
  toolTimeoutMs: number | null;
}

/** A policy override as written in config: any subset, `retry` merged field by field. */
export type PolicyOverride = Partial<Omit<SupervisionPolicy, 'retry'>> & { retry?: Partial<RetryPolicy> };

/** Error kinds retried by default: the transient ones. */
export const TRANSIENT_ERROR_KINDS: readonly ErrorKind[] = Object.freeze(['rate_limited', 'overloaded', 'server', 'timeout', 'connection']);

/** The policy used where config says nothing. */
export const DEFAULT_POLICY: Readonly<SupervisionPolicy> = Object.freeze({
  retry: Object.freeze({
    maxAttempts: 3,
    initialDelayMs: 500,
    factor: 2,
    maxDelayMs: 30_000,
    jitter: 0.25,
    retryOn: Object.freeze([...TRANSIENT_ERROR_KINDS]) as ErrorKind[],
  }),
  fallbackModels: Object.freeze([]) as unknown as string[],
  fallbackOn: Object.freeze(['overloaded']) as ErrorKind[],
  streamOn: Object.freeze([]) as unknown as ErrorKind[],
  onFailure: 'skip',
  attemptTimeoutMs: 120_000,
  maxTurns: 10,
  maxToolCalls: 20,
  maxToolConcurrency: 8,
  toolTimeoutMs: 60_000,
}) as Readonly<SupervisionPolicy>;

/**
 * Layers overrides over a base policy (later wins); `retry` is merged field by field.
 *
 * @example
 * resolvePolicy(DEFAULT_POLICY, runDefault, { retry: { maxAttempts: 5 } })
 */
export function resolvePolicy(base: SupervisionPolicy, ...overrides: Array<PolicyOverride | undefined>): SupervisionPolicy {
  let policy: SupervisionPolicy = base;
  for (const override of overrides) {
    if (!override) continue;
    const { retry, ...rest } = override;
    policy = { ...policy, ...(rest as Partial<SupervisionPolicy>), retry: retry ? { ...policy.retry, ...retry } : policy.retry };
  }
  return policy;
}

/** Where a specialist stands in its attempts, as the decision functions need it. */
export interface AttemptPosition {
  /** Attempts already made on the current model. */
  attemptsOnModel: number;
  /** Index of the current model in `[primary, ...fallbackModels]`. */
  modelIndex: number;
  /** Number of models available, primary included. */
  modelCount: number;
}

/** What to do after a failed attempt. */
export type FailureDecision = { action: 'retry'; delayMs: number; modelIndex: number; reason: 'backoff' | 'fallback' } | { action: 'giveUp' };

/**
 * True when a failed batched call is made again as a streamed call at once (the policy's
 * `streamOn`). The batch provider asks the same question to know how to make that next call.
 */
export function streamsAfter(policy: Pick<SupervisionPolicy, 'streamOn'>, error: Pick<ErrorInfo, 'kind' | 'batch'>): boolean {
  return error.batch === true && (policy.streamOn ?? []).includes(error.kind);
}

/**
 * The wait before retry number `retryNumber` (1 for the first retry): exponential, capped,
 * with jitter. `random` returns a number in [0, 1).
 */
export function backoffDelay(retry: RetryPolicy, retryNumber: number, random: () => number): number {
  const raw = retry.initialDelayMs * retry.factor ** Math.max(0, retryNumber - 1);
  const capped = Math.min(retry.maxDelayMs, raw);
  return Math.round(capped * (1 - retry.jitter * random()));
}

/**
 * Decides what follows a failed attempt. Order of preference:
 * 0. a batched call's failure of a kind listed in `streamOn` is made again at once, streamed, on
 *    the same model (batch mode; see {@link streamsAfter});
 * 1. a kind listed in `fallbackOn` (overload) moves to the next model at once;
 * 2. a retryable kind with attempts left waits (the server's `retry-after` when given, capped
 *    by `maxDelayMs`, else exponential backoff) and tries the same model again;
 * 3. a retryable kind with no attempts left moves to the next model, if any;
 * 4. otherwise give up.
 */
export function decideAfterFailure(policy: SupervisionPolicy, position: AttemptPosition, error: ErrorInfo, random: () => number): FailureDecision {
  if (streamsAfter(policy, error)) return { action: 'retry', delayMs: 0, modelIndex: position.modelIndex, reason: 'fallback' };
  const nextModel = position.modelIndex + 1 < position.modelCount ? position.modelIndex + 1 : null;
  const retryable = policy.retry.retryOn.includes(error.kind);
  if (nextModel !== null && policy.fallbackOn.includes(error.kind)) {
    return { action: 'retry', delayMs: 0, modelIndex: nextModel, reason: 'fallback' };
  }
  if (retryable && position.attemptsOnModel < policy.retry.maxAttempts) {
    const delayMs = error.retryAfterMs !== undefined ? Math.min(error.retryAfterMs, policy.retry.maxDelayMs) : backoffDelay(policy.retry, position.attemptsOnModel, random);
    return { action: 'retry', delayMs, modelIndex: position.modelIndex, reason: 'backoff' };
  }
  if (retryable && nextModel !== null) {
    return { action: 'retry', delayMs: 0, modelIndex: nextModel, reason: 'fallback' };
  }
  return { action: 'giveUp' };
}

/** Counts the run decision needs. */
export interface Tally {
  total: number;
  fulfilled: number;
  /** Specialists that ended without output (rejected, timed out or skipped). */
  unsuccessful: number;
}

/** True when even if every unfinished specialist succeeded, fewer than `quorum` would have. */
export function quorumUnreachable(tally: Tally, quorum: number): boolean {
  const unfinished = tally.total - tally.fulfilled - tally.unsuccessful;
  return tally.fulfilled + unfinished < quorum;
}

/** The verdict on a finished fan-out, before synthesis. */
export type FanOutVerdict = { status: 'complete' } | { status: 'partial' } | { status: 'failed'; message: string };

/**
 * Judges a finished fan-out against its quorum: all fulfilled → `complete`; at least `quorum`
 * → `partial` (synthesize on what arrived); fewer → `failed` with a message saying by how much.
 */
export function judgeFanOut(tally: Tally, quorum: number): FanOutVerdict {
  if (tally.fulfilled === tally.total) return { status: 'complete' };
  if (tally.fulfilled >= quorum) return { status: 'partial' };
  return {
    status: 'failed',
    message: `quorum not met: ${tally.fulfilled} of ${tally.total} specialists succeeded, ${quorum} required`,
  };
}
