/**
 * The latency model: a delay before the first token — a fixed part plus the prefill of the
 * prompt, where input read from the prompt cache goes much faster than the rest — then output
 * paced at a token rate. Each streamed delta is sent once its tokens have been "generated"; a
 * JSON response is sent when the whole reply would have been.
 */
import { FanfoldError } from '../errors.ts';
import type { InputUsage } from './cache.ts';
import { hashString } from './random.ts';
import { estimateTokens } from './tokens.ts';

/** How fast the simulated model answers. */
export interface LatencyModel {
  /**
   * The fixed part of the time to first token (and the response headers): queueing, network,
   * the first decoding step. Prefill (below) adds to it.
   */
  firstTokenMs: number;
  /** Output rate after the first token; `Infinity` sends everything at once. */
  tokensPerSecond: number;
  /**
   * Prefill rate of the input not read from the prompt cache: `input_tokens +
   * cache_creation_input_tokens` of the usage (a cache write is prefilled like any other
   * input). `Infinity` makes prefill free.
   */
  prefillTokensPerSecond: number;
  /** Prefill rate of the input read from the prompt cache (`cache_read_input_tokens`). */
  cachedPrefillTokensPerSecond: number;
}

/**
 * Used when the options say nothing: a quarter of a second plus prefill to first token, then
 * 150 tokens/s.
 *
 * Why 20,000 uncached tokens/s: it makes a 20,000-token prompt add 1 s, and it fits Anthropic's
 * published prompt-caching figures for a 10,000-token prompt (time to first token 1.6 s
 * uncached, 1.1 s cached: 0.5 s for 10,000 tokens). Per-token prefill grows with length (the
 * same figures give 11.5 s for 100,000 tokens on 2024's Claude 3.5 Sonnet, ~9,000 tokens/s), so
 * a linear rate is kept for the prompt sizes a fan-out sends: a few hundred to a few tens of
 * thousands of tokens.
 * Why 200,000 cached tokens/s (10× faster): Anthropic says caching cuts latency "by up to 85%
 * for long prompts" (79% for a 100,000-token book). At 10× a fully cached 100,000-token prompt
 * goes from 5.25 s to 0.75 s to first token here, 86%; at 20× it would be 90%, beyond any
 * published figure. 10× is also the price ratio: a cache read costs 0.1× base input.
 */
export const DEFAULT_LATENCY: LatencyModel = {
  firstTokenMs: 250,
  tokensPerSecond: 150,
  prefillTokensPerSecond: 20_000,
  cachedPrefillTokensPerSecond: 200_000,
};

/**
 * Later layers override earlier ones, field by field. A layer that sets `tokensPerSecond:
 * Infinity` (an instant model) also sets the prefill rates it leaves out to `Infinity`, so
 * `{ firstTokenMs: 0, tokensPerSecond: Infinity }` answers at once whatever the prompt's size,
 * as it did before prefill was modelled.
 */
export function resolveLatency(...layers: ReadonlyArray<Partial<LatencyModel> | undefined>): LatencyModel {
  const model = { ...DEFAULT_LATENCY };
  for (const layer of layers) {
    if (layer === undefined) continue;
    const implied = layer.tokensPerSecond === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : undefined;
    const prefill = layer.prefillTokensPerSecond ?? implied;
    const cachedPrefill = layer.cachedPrefillTokensPerSecond ?? implied;
    if (layer.firstTokenMs !== undefined) model.firstTokenMs = layer.firstTokenMs;
    if (layer.tokensPerSecond !== undefined) model.tokensPerSecond = layer.tokensPerSecond;
    if (prefill !== undefined) model.prefillTokensPerSecond = prefill;
    if (cachedPrefill !== undefined) model.cachedPrefillTokensPerSecond = cachedPrefill;
  }
  return model;
}

/** The rates of a {@link LatencyModel}: each must be > 0 or `Infinity`. */
const RATE_FIELDS = ['tokensPerSecond', 'prefillTokensPerSecond', 'cachedPrefillTokensPerSecond'] as const;

/** What is wrong with a latency layer, one message per bad field (none when it is fine). */
export function latencyIssues(layer: Partial<LatencyModel> | undefined, where: string): string[] {
  const issues: string[] = [];
  if (layer?.firstTokenMs !== undefined && !(layer.firstTokenMs >= 0)) {
    issues.push(`${where}.firstTokenMs must be >= 0 (got ${layer.firstTokenMs})`);
  }
  for (const field of RATE_FIELDS) {
    const value = layer?.[field];
    if (value !== undefined && !(value > 0)) issues.push(`${where}.${field} must be > 0 or Infinity (got ${value})`);
  }
  return issues;
}

/** Throws a `FanfoldError` (code `config`) for a latency no clock could honour, naming every bad field at once. */
export function assertLatency(layer: Partial<LatencyModel> | undefined, where: string): void {
  const issues = latencyIssues(layer, where);
  if (issues.length > 0) throw new FanfoldError('config', issues.join('; '));
}

/** Milliseconds for `tokens` at `perSecond` (0 at an infinite rate). */
const msAt = (tokens: number, perSecond: number): number => (Number.isFinite(perSecond) ? (tokens / perSecond) * 1000 : 0);

/** Milliseconds to generate `tokens` at the model's rate (0 at an infinite rate). */
export function generationMs(tokens: number, latency: LatencyModel): number {
  return msAt(tokens, latency.tokensPerSecond);
}

/**
 * Milliseconds to prefill a request's input, from the same usage the response reports: the
 * uncached input (`input_tokens + cache_creation_input_tokens`) at `prefillTokensPerSecond`, the
 * cache read at `cachedPrefillTokensPerSecond`.
 */
export function prefillMs(usage: InputUsage, latency: LatencyModel): number {
  return msAt(usage.input_tokens + usage.cache_creation_input_tokens, latency.prefillTokensPerSecond) + msAt(usage.cache_read_input_tokens, latency.cachedPrefillTokensPerSecond);
}

/**
 * Time to first token (and to the response headers) of a generated message: `firstTokenMs`
 * plus the prefill of its input, given the input usage the simulator reports for it.
 *
 * @example
 * const usage = { input_tokens: 1_000, cache_creation_input_tokens: 0, cache_read_input_tokens: 20_000 };
 * timeToFirstTokenMs(usage, DEFAULT_LATENCY); // 250 + 50 + 100 = 400
 */
export function timeToFirstTokenMs(usage: InputUsage, latency: LatencyModel): number {
  return latency.firstTokenMs + prefillMs(usage, latency);
}

/**
 * The wait after the first token before each streamed delta: nothing for the first (it goes
 * out with the headers, after {@link timeToFirstTokenMs}), then each later delta after the time
 * its own tokens take. A JSON response waits the sum.
 */
export function deltaDelays(deltas: readonly string[], latency: LatencyModel): number[] {
  return deltas.map((delta, index) => (index === 0 ? 0 : generationMs(estimateTokens(delta), latency)));
}

/** The range of a server tool's simulated run time at the default first-token latency. */
export const SERVER_TOOL_MS = { min: 300, max: 800 } as const;

/**
 * How long a server tool (web search, web fetch) takes before its result block: 300–800 ms,
 * fixed per tool call id, scaled by the model's first-token latency relative to the default
 * (so an instant model, `firstTokenMs: 0`, never waits).
 */
export function serverToolMs(toolUseId: string, latency: Pick<LatencyModel, 'firstTokenMs'>): number {
  const base = SERVER_TOOL_MS.min + (hashString(toolUseId) % (SERVER_TOOL_MS.max - SERVER_TOOL_MS.min + 1));
  return Math.round((base * latency.firstTokenMs) / DEFAULT_LATENCY.firstTokenMs);
}
