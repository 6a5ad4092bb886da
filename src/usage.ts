/** Token usage of one model call, or a sum of several. Field names follow the Messages API. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
  /**
   * Server tools the API ran inside the calls (`usage.server_tool_use`); present only when
   * there were some. Web searches are billed per request on top of tokens.
   */
  serverToolUse?: ServerToolUsage;
  /**
   * The part of the token counts above that went through the Message Batches API (batch mode),
   * billed at half price; present only when some did. A specialist that mixes batched and
   * streamed calls carries both: the counts above are the sum, this is the batched share.
   */
  batched?: BatchedUsage;
}

/** Tokens of calls made through a Message Batch (a share of a {@link Usage}'s counts). */
export interface BatchedUsage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}

/** Server-tool requests of one call, or a sum. */
export interface ServerToolUsage {
  webSearchRequests: number;
  webFetchRequests: number;
}

/** A usage record with every count at zero. */
export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
}

/** A shared, frozen zero usage: the starting value of every specialist until it has tokens to count. */
export const ZERO_USAGE: Readonly<Usage> = Object.freeze(emptyUsage());

/** Adds `b` into `a` in place and returns `a` (used while folding many outcomes). */
export function addUsageInto(a: Usage, b: Partial<Usage> | undefined): Usage {
  if (!b) return a;
  a.inputTokens += b.inputTokens ?? 0;
  a.outputTokens += b.outputTokens ?? 0;
  a.cacheCreationInputTokens += b.cacheCreationInputTokens ?? 0;
  a.cacheReadInputTokens += b.cacheReadInputTokens ?? 0;
  if (b.serverToolUse) {
    // A new object: `a` may be a shallow copy sharing the nested one with another usage.
    a.serverToolUse = {
      webSearchRequests: (a.serverToolUse?.webSearchRequests ?? 0) + b.serverToolUse.webSearchRequests,
      webFetchRequests: (a.serverToolUse?.webFetchRequests ?? 0) + b.serverToolUse.webFetchRequests,
    };
  }
  if (b.batched) {
    // A new object too, for the same reason.
    a.batched = {
      inputTokens: (a.batched?.inputTokens ?? 0) + b.batched.inputTokens,
      outputTokens: (a.batched?.outputTokens ?? 0) + b.batched.outputTokens,
      cacheCreationInputTokens: (a.batched?.cacheCreationInputTokens ?? 0) + b.batched.cacheCreationInputTokens,
      cacheReadInputTokens: (a.batched?.cacheReadInputTokens ?? 0) + b.batched.cacheReadInputTokens,
    };
  }
  return a;
}

/**
 * `usage` as billed through a Message Batch: the same counts, all of them the batched share.
 *
 * @example
 * asBatched({ inputTokens: 100, outputTokens: 20, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 }).batched?.inputTokens; // 100
 */
export function asBatched(usage: Usage): Usage {
  const { inputTokens, outputTokens, cacheCreationInputTokens, cacheReadInputTokens } = usage;
  return { ...usage, batched: { inputTokens, outputTokens, cacheCreationInputTokens, cacheReadInputTokens } };
}
