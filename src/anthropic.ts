/**
 * `fanfold/anthropic`: the Anthropic Messages API as a fanfold provider, and `openBackend`, the
 * CLI's choice of backend for code (the real API when a key is set, else the simulator started
 * on loopback). Kept off the package root so that importing fanfold loads no model SDK client.
 *
 * @example
 * import { runFanOut } from 'fanfold';
 * import { createAnthropicProvider } from 'fanfold/anthropic';
 * const result = await runFanOut(config, { provider: createAnthropicProvider() }).result;
 */
export { createAnthropicProvider, ANTHROPIC_API_URL } from './providers/anthropic.ts';
export { openBackend } from './providers/backend.ts';
export { createAnthropicBatchApi } from './providers/batch/anthropicBatchApi.ts';
export type { AnthropicProvider, AnthropicProviderOptions } from './providers/anthropic.ts';
export type { Backend, BackendOptions } from './providers/backend.ts';
export type { AnthropicBatchApiOptions } from './providers/batch/anthropicBatchApi.ts';
