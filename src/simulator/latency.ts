/**
 * The latency model: a delay before the first token, then output paced at a token rate.
 * Each streamed delta is sent once its tokens have been "generated"; a JSON response is sent
 * when the whole reply would have been.
 */
import { hashString } from './random.ts';
import { estimateTokens } from './tokens.ts';

/** How fast the simulated model answers. */
export interface LatencyModel {
  /** Time from receiving the request to the first token (and the response headers). */
  firstTokenMs: number;
  /** Output rate after the first token; `Infinity` sends everything at once. */
  tokensPerSecond: number;
}

/** Used when the options say nothing: a quarter of a second to first token, 150 tokens/s. */
export const DEFAULT_LATENCY: LatencyModel = { firstTokenMs: 250, tokensPerSecond: 150 };

/** Later layers override earlier ones, field by field. */
export function resolveLatency(...layers: ReadonlyArray<Partial<LatencyModel> | undefined>): LatencyModel {
  const model = { ...DEFAULT_LATENCY };
  for (const layer of layers) {
    if (layer?.firstTokenMs !== undefined) model.firstTokenMs = layer.firstTokenMs;
    if (layer?.tokensPerSecond !== undefined) model.tokensPerSecond = layer.tokensPerSecond;
  }
  return model;
}

/** Throws a `RangeError` for a latency no clock could honour. */
export function assertLatency(layer: Partial<LatencyModel> | undefined, where: string): void {
  if (layer?.firstTokenMs !== undefined && !(layer.firstTokenMs >= 0)) {
    throw new RangeError(`${where}.firstTokenMs must be >= 0 (got ${layer.firstTokenMs})`);
  }
  if (layer?.tokensPerSecond !== undefined && !(layer.tokensPerSecond > 0)) {
    throw new RangeError(`${where}.tokensPerSecond must be > 0 or Infinity (got ${layer.tokensPerSecond})`);
  }
}

/** Milliseconds to generate `tokens` at the model's rate (0 at an infinite rate). */
export function generationMs(tokens: number, latency: LatencyModel): number {
  return Number.isFinite(latency.tokensPerSecond) ? (tokens / latency.tokensPerSecond) * 1000 : 0;
}

/**
 * The wait before each streamed delta: `firstTokenMs` before the first, then each later delta
 * after the time its own tokens take. A JSON response waits the sum.
 */
export function deltaDelays(deltas: readonly string[], latency: LatencyModel): number[] {
  return deltas.map((delta, index) => (index === 0 ? latency.firstTokenMs : generationMs(estimateTokens(delta), latency)));
}

/** The range of a server tool's simulated run time at the default first-token latency. */
export const SERVER_TOOL_MS = { min: 300, max: 800 } as const;

/**
 * How long a server tool (web search, web fetch) takes before its result block: 300–800 ms,
 * fixed per tool call id, scaled by the model's first-token latency relative to the default
 * (so an instant model, `firstTokenMs: 0`, never waits).
 */
export function serverToolMs(toolUseId: string, latency: LatencyModel): number {
  const base = SERVER_TOOL_MS.min + (hashString(toolUseId) % (SERVER_TOOL_MS.max - SERVER_TOOL_MS.min + 1));
  return Math.round((base * latency.firstTokenMs) / DEFAULT_LATENCY.firstTokenMs);
}
