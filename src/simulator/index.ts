/**
 * A loopback server that speaks the Anthropic Messages API well enough for the unmodified SDK:
 * deterministic simulated text, a latency model, prompt-cache accounting and fault injection.
 * Requests that offer tools get deterministic tool use: client `tool_use` calls with inputs
 * from each tool's schema, and the `web_search` / `web_fetch` server tools over a simulated web
 * under {@link SIMULATED_WEB_DOMAIN} (see toolUse.ts for the turn-by-turn script); when fanfold's
 * `report` tool is offered, the response with the finding also reports it (`{ confidence,
 * sources }`). A request that offers a model lead's `Agent` tool gets a simulated lead: it spawns
 * the agents its prompt asks for, joins them by id, and synthesises their findings (see lead.ts).
 * Synthesis prompts may carry weights, and a streaming fold's digest and closing requests get
 * their part of the synthesis alone (see synthesis.ts). The Message Batches endpoints give each
 * batch request the reply a non-streamed call would get, completing on the simulator's clock
 * (see batches.ts).
 *
 * ```ts
 * const sim = await startSimulator({ latency: { firstTokenMs: 0, tokensPerSecond: Infinity } });
 * const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
 * // …
 * await sim.close();
 * ```
 */
export { startSimulator } from './server.ts';
export type { RequestFilter, SimulatedRequest, SimulatedUsage, Simulator, SimulatorOptions } from './types.ts';
export type { Fault, FaultMatch, FaultRule } from './faults.ts';
export { FAULT_TYPES } from './faults.ts';
export { DEFAULT_LATENCY, type LatencyModel } from './latency.ts';
/** The simulator's time source: fanfold's `Clock` (XState's `SimulatedClock` fits). */
export type { Clock as SimulatorClock } from '../clock.ts';
export { simulatedReply, type ReplyKind, type SimulatedReply, type StopReason } from './text.ts';
export { CHARS_PER_TOKEN, estimateTokens } from './tokens.ts';
export { DEFAULT_MIN_CACHEABLE_TOKENS } from './cache.ts';
export { countWords, parseWordLimit, type WordLimit } from './words.ts';
export { splitIntoDeltas } from './sse.ts';
export { SIMULATED_TITLE_PREFIX, SIMULATED_WEB_DOMAIN, domainCovers, searchResults, simulatedPage, type SimulatedPage, type WebSearchResult } from './web.ts';
export { SERVER_TOOL_MS, serverToolMs, timeToFirstTokenMs } from './latency.ts';
export { sourcesOf, type CitedSource } from './synthesis.ts';
export { parseJoinResult } from './lead.ts';
export { BATCHES_PATH, CUSTOM_ID_PATTERN, DEFAULT_BATCH_LIST_LIMIT, MAX_BATCH_BYTES, MAX_BATCH_LIST_LIMIT, MAX_BATCH_REQUESTS } from './batchRequest.ts';
export { DEFAULT_BATCH_LATENCY, batchRequestMs, type BatchLatency, type BatchRequestStatus, type SimulatedBatch, type SimulatedBatchRequest } from './batches.ts';
export { planLead, type LeadPlan, type PlannedAgent } from './leadPlan.ts';
export type { ReplyBlock, ServerToolUsage, WebSearchCitation } from './content.ts';
export type { ClientTool, ServerTool, ToolChoice, ToolDefinition } from './tools.ts';
