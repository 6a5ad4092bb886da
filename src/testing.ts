/**
 * `fanfold/testing`: a deterministic, in-process provider for tests, benchmarks and offline
 * demos. Replies, latency, failures, hangs and token counts are scripted per caller and attempt;
 * every call is recorded.
 *
 * @example
 * import { runFanOut } from 'fanfold';
 * import { createScriptedProvider } from 'fanfold/testing';
 * const provider = createScriptedProvider({ byCaller: { technical: [{ error: { kind: 'rate_limited', message: '429' } }, {}] } });
 * const result = await runFanOut(config, { provider }).result;
 * provider.calls.length; // every call, with its caller and attempt
 */
export { createScriptedProvider } from './providers/scripted.ts';
export type { ScriptedProvider, ScriptedProviderOptions, ScriptedReply, ScriptedCall } from './providers/scripted.ts';
