import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, backoffDelay, decideAfterFailure, judgeFanOut, quorumUnreachable, resolvePolicy, type ErrorInfo, type RetryPolicy, type SupervisionPolicy } from '../src/index.ts';

const noJitter: RetryPolicy = { ...DEFAULT_POLICY.retry, initialDelayMs: 100, factor: 2, maxDelayMs: 1_000, jitter: 0 };

/** The default policy with a fallback model and a retry policy without jitter. */
const policy = (override: Partial<SupervisionPolicy> = {}): SupervisionPolicy => ({
  ...DEFAULT_POLICY,
  retry: { ...noJitter },
  fallbackModels: ['claude-haiku-4-5'],
  ...override,
});

const error = (kind: ErrorInfo['kind'], extra: Partial<ErrorInfo> = {}): ErrorInfo => ({ kind, message: `${kind} error`, ...extra });
const never = () => {
  throw new Error('random must not be consulted here');
};

describe('backoffDelay', () => {
  it('grows exponentially from initialDelayMs by factor per retry', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(noJitter, n, () => 0))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay({ ...noJitter, factor: 3 }, 3, () => 0)).toBe(900);
  });

  it('never waits longer than maxDelayMs', () => {
    expect(backoffDelay(noJitter, 5, () => 0)).toBe(1_000);
    expect(backoffDelay(noJitter, 20, () => 0)).toBe(1_000);
  });

  it('takes away at most `jitter` of the wait, scaled by the injected random number', () => {
    const retry = { ...noJitter, jitter: 0.5 };
    // retry 3: 400 ms before jitter
    expect(backoffDelay(retry, 3, () => 0)).toBe(400);
    expect(backoffDelay(retry, 3, () => 0.5)).toBe(300);
    expect(backoffDelay(retry, 3, () => 0.999_999)).toBe(200);
  });

  it('applies jitter to the capped wait, keeping every delay within [cap × (1 − jitter), cap]', () => {
    const retry = { ...noJitter, jitter: 0.25 };
    for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.999]) {
      const delay = backoffDelay(retry, 10, () => r);
      expect(delay).toBeGreaterThanOrEqual(750);
      expect(delay).toBeLessThanOrEqual(1_000);
    }
    expect(backoffDelay(retry, 10, () => 0.999_999)).toBe(750);
  });

  it('with full jitter can shrink the wait to (almost) nothing', () => {
    expect(backoffDelay({ ...noJitter, jitter: 1 }, 2, () => 0.999_999)).toBe(0);
  });
});

describe('decideAfterFailure', () => {
  const onPrimary = (attemptsOnModel: number) => ({ attemptsOnModel, modelIndex: 0, modelCount: 2 });

  it('honours a retry-after exactly, on the same model', () => {
    expect(decideAfterFailure(policy(), onPrimary(1), error('rate_limited', { status: 429, retryAfterMs: 750 }), never)).toEqual({
      action: 'retry',
      delayMs: 750,
      modelIndex: 0,
      reason: 'backoff',
    });
  });

  it('caps a retry-after at maxDelayMs', () => {
    const decision = decideAfterFailure(policy(), onPrimary(1), error('rate_limited', { status: 429, retryAfterMs: 60_000 }), never);
    expect(decision).toEqual({ action: 'retry', delayMs: 1_000, modelIndex: 0, reason: 'backoff' });
  });

  it('without a retry-after backs off exponentially, using the injected random for jitter', () => {
    const jittered = policy({ retry: { ...noJitter, jitter: 0.5 } });
    expect(decideAfterFailure(jittered, onPrimary(1), error('server', { status: 500 }), () => 0)).toEqual({
      action: 'retry',
      delayMs: 100,
      modelIndex: 0,
      reason: 'backoff',
    });
    expect(decideAfterFailure(jittered, onPrimary(2), error('server', { status: 500 }), () => 0.5)).toEqual({
      action: 'retry',
      delayMs: 150,
      modelIndex: 0,
      reason: 'backoff',
    });
  });

  it('moves an overloaded (529) model straight to the next fallback model, without waiting', () => {
    expect(decideAfterFailure(policy(), onPrimary(1), error('overloaded', { status: 529 }), never)).toEqual({
      action: 'retry',
      delayMs: 0,
      modelIndex: 1,
      reason: 'fallback',
    });
  });

  it('retries an overloaded model with backoff when there is no fallback model', () => {
    const decision = decideAfterFailure(policy(), { attemptsOnModel: 1, modelIndex: 0, modelCount: 1 }, error('overloaded', { status: 529 }), () => 0);
    expect(decision).toEqual({ action: 'retry', delayMs: 100, modelIndex: 0, reason: 'backoff' });
  });

  it('moves to the next model when a retryable kind has used up its attempts', () => {
    expect(decideAfterFailure(policy(), onPrimary(3), error('server', { status: 500 }), never)).toEqual({
      action: 'retry',
      delayMs: 0,
      modelIndex: 1,
      reason: 'fallback',
    });
  });

  it('gives up at once on permanent kinds, even with attempts and fallback models left', () => {
    for (const kind of ['bad_request', 'auth', 'permission', 'not_found'] as const) {
      expect(decideAfterFailure(policy(), onPrimary(1), error(kind), never)).toEqual({ action: 'giveUp' });
    }
  });

  it('gives up when retries are exhausted and no fallback model is left', () => {
    expect(decideAfterFailure(policy(), { attemptsOnModel: 3, modelIndex: 1, modelCount: 2 }, error('server', { status: 500 }), never)).toEqual({ action: 'giveUp' });
    expect(decideAfterFailure(policy(), { attemptsOnModel: 3, modelIndex: 0, modelCount: 1 }, error('timeout'), never)).toEqual({ action: 'giveUp' });
  });

  it('gives up on an overloaded last model once its attempts are used up', () => {
    expect(decideAfterFailure(policy(), { attemptsOnModel: 3, modelIndex: 1, modelCount: 2 }, error('overloaded', { status: 529 }), never)).toEqual({ action: 'giveUp' });
  });

  it('retries only the kinds listed in retryOn', () => {
    const narrow = policy({ retry: { ...noJitter, retryOn: ['rate_limited'] } });
    expect(decideAfterFailure(narrow, { attemptsOnModel: 1, modelIndex: 0, modelCount: 1 }, error('server', { status: 500 }), never)).toEqual({ action: 'giveUp' });
  });
});

describe('resolvePolicy', () => {
  it('returns the base unchanged when there is nothing to override', () => {
    expect(resolvePolicy(DEFAULT_POLICY)).toEqual(DEFAULT_POLICY);
    expect(resolvePolicy(DEFAULT_POLICY, undefined, undefined)).toEqual(DEFAULT_POLICY);
  });

  it('merges retry field by field, keeping the fields an override leaves out', () => {
    const resolved = resolvePolicy(DEFAULT_POLICY, { retry: { maxAttempts: 5 } });
    expect(resolved.retry).toEqual({ ...DEFAULT_POLICY.retry, maxAttempts: 5 });
    expect(resolved.fallbackModels).toEqual(DEFAULT_POLICY.fallbackModels);
    expect(resolved.onFailure).toBe('skip');
  });

  it('layers overrides in order: a later override wins, field by field', () => {
    const resolved = resolvePolicy(DEFAULT_POLICY, { retry: { maxAttempts: 5, initialDelayMs: 100 }, onFailure: 'escalate', fallbackModels: ['a'] }, undefined, {
      retry: { maxAttempts: 7 },
      fallbackModels: ['b', 'c'],
      attemptTimeoutMs: null,
    });
    expect(resolved).toEqual({
      ...DEFAULT_POLICY,
      retry: { ...DEFAULT_POLICY.retry, maxAttempts: 7, initialDelayMs: 100 },
      onFailure: 'escalate',
      fallbackModels: ['b', 'c'],
      attemptTimeoutMs: null,
    });
  });

  it('does not change the base policy', () => {
    const base = resolvePolicy(DEFAULT_POLICY, { retry: { maxAttempts: 4 } });
    const snapshot = structuredClone(base);
    resolvePolicy(base, { retry: { maxAttempts: 9 }, onFailure: 'escalate' });
    expect(base).toEqual(snapshot);
  });
});

describe('quorumUnreachable', () => {
  it('is false while the unfinished specialists could still make up the quorum', () => {
    expect(quorumUnreachable({ total: 3, fulfilled: 0, unsuccessful: 0 }, 3)).toBe(false);
    expect(quorumUnreachable({ total: 3, fulfilled: 0, unsuccessful: 1 }, 2)).toBe(false);
    expect(quorumUnreachable({ total: 3, fulfilled: 1, unsuccessful: 1 }, 2)).toBe(false);
  });

  it('is true as soon as even all unfinished succeeding would fall short', () => {
    expect(quorumUnreachable({ total: 3, fulfilled: 0, unsuccessful: 2 }, 2)).toBe(true);
    expect(quorumUnreachable({ total: 3, fulfilled: 0, unsuccessful: 1 }, 3)).toBe(true);
    expect(quorumUnreachable({ total: 1, fulfilled: 0, unsuccessful: 1 }, 1)).toBe(true);
  });

  it('is false once the quorum is met, whatever the rest do', () => {
    expect(quorumUnreachable({ total: 5, fulfilled: 2, unsuccessful: 3 }, 2)).toBe(false);
  });
});

describe('judgeFanOut', () => {
  it('is complete when every specialist succeeded', () => {
    expect(judgeFanOut({ total: 3, fulfilled: 3, unsuccessful: 0 }, 1)).toEqual({ status: 'complete' });
    expect(judgeFanOut({ total: 3, fulfilled: 3, unsuccessful: 0 }, 3)).toEqual({ status: 'complete' });
  });

  it('is partial when some failed but at least quorum succeeded', () => {
    expect(judgeFanOut({ total: 3, fulfilled: 2, unsuccessful: 1 }, 2)).toEqual({ status: 'partial' });
    expect(judgeFanOut({ total: 3, fulfilled: 1, unsuccessful: 2 }, 1)).toEqual({ status: 'partial' });
  });

  it('fails below quorum with a message naming how many succeeded, of how many, and how many were required', () => {
    expect(judgeFanOut({ total: 3, fulfilled: 1, unsuccessful: 2 }, 2)).toEqual({
      status: 'failed',
      message: 'quorum not met: 1 of 3 specialists succeeded, 2 required',
    });
    expect(judgeFanOut({ total: 4, fulfilled: 0, unsuccessful: 4 }, 1)).toEqual({
      status: 'failed',
      message: 'quorum not met: 0 of 4 specialists succeeded, 1 required',
    });
  });
});
