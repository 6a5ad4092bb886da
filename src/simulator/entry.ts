/**
 * `fanfold/simulator`: a loopback server that speaks the Anthropic Messages API well enough for
 * the unmodified SDK, offline: deterministic simulated text and tool use, a latency model,
 * prompt-cache accounting and fault injection, and the Message Batches API
 * (`client.messages.batches.*`, progressing on the simulator's clock). Point
 * `createAnthropicProvider` (from `fanfold/anthropic`), or any Anthropic client, at its `url`.
 * The batch limits (`MAX_BATCH_REQUESTS`, `MAX_BATCH_BYTES`, `CUSTOM_ID_PATTERN`) are the API's.
 *
 * @example
 * import { startSimulator } from 'fanfold/simulator';
 * import { createAnthropicProvider } from 'fanfold/anthropic';
 * const sim = await startSimulator({ faults: [{ match: { caller: 'technical' }, times: 1, fault: { type: 'overloaded' } }] });
 * const provider = createAnthropicProvider({ apiKey: 'any', baseURL: sim.url });
 * // … run …
 * await sim.close();
 */
export { startSimulator } from './server.ts';
export { FAULT_TYPES } from './faults.ts';
export { DEFAULT_LATENCY } from './latency.ts';
export { SIMULATED_WEB_DOMAIN } from './web.ts';
export { BATCHES_PATH, CUSTOM_ID_PATTERN, DEFAULT_BATCH_LIST_LIMIT, MAX_BATCH_BYTES, MAX_BATCH_LIST_LIMIT, MAX_BATCH_REQUESTS } from './batchRequest.ts';
export { DEFAULT_BATCH_LATENCY, batchRequestMs } from './batches.ts';
export type { RequestFilter, SimulatedRequest, SimulatedUsage, Simulator, SimulatorOptions } from './types.ts';
export type { Fault, FaultMatch, FaultRule } from './faults.ts';
export type { LatencyModel } from './latency.ts';
export type { BatchLatency, BatchRequestStatus, SimulatedBatch, SimulatedBatchRequest } from './batches.ts';
