/**
 * `fanfold/simulator`: a loopback server that speaks the Anthropic Messages API well enough for
 * the unmodified SDK, offline: deterministic simulated text and tool use, a latency model,
 * prompt-cache accounting and fault injection. Point `createAnthropicProvider` (from
 * `fanfold/anthropic`), or any Anthropic client, at its `url`.
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
export type { RequestFilter, SimulatedRequest, SimulatedUsage, Simulator, SimulatorOptions } from './types.ts';
export type { Fault, FaultMatch, FaultRule } from './faults.ts';
export type { LatencyModel } from './latency.ts';
