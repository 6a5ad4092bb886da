/**
 * Where the CLI's model calls go: the real Anthropic API when `ANTHROPIC_API_KEY` is set, else
 * (or with `--simulate`) fanfold's simulator, started on loopback for the run. Either way the
 * calls go through the same Anthropic provider and the unmodified SDK.
 */
import { createAnthropicProvider, type AnthropicProvider } from '../providers/anthropic.ts';
import { startSimulator, type Simulator } from '../simulator/index.ts';

/** The chosen backend. */
export interface Backend {
  mode: 'anthropic' | 'simulator';
  provider: AnthropicProvider;
  /** One plain line saying where calls go (printed first by the CLI). */
  banner: string;
  close(): Promise<void>;
}

/** Options of {@link openBackend}. */
export interface BackendOptions {
  /** Force the simulator even when a key is set. */
  simulate: boolean;
  env: Readonly<Record<string, string | undefined>>;
}

/** The key the simulator is called with: it is no secret, and it never reaches the real API. */
const SIMULATOR_KEY = 'sk-fanfold-simulator';

/** Opens the backend: the real API, or a simulator started for this process. */
export async function openBackend(options: BackendOptions): Promise<Backend> {
  const apiKey = options.env['ANTHROPIC_API_KEY'];
  if (apiKey && !options.simulate) {
    const provider = createAnthropicProvider({ apiKey, env: options.env });
    return { mode: 'anthropic', provider, banner: `Calling the Anthropic API at ${provider.baseURL} (ANTHROPIC_API_KEY is set).`, close: async () => {} };
  }
  const simulator: Simulator = await startSimulator();
  const provider = createAnthropicProvider({ apiKey: SIMULATOR_KEY, baseURL: simulator.url, env: {} });
  const why = options.simulate ? '--simulate was given' : 'ANTHROPIC_API_KEY is not set';
  return {
    mode: 'simulator',
    provider,
    banner: `SIMULATED: offline run against fanfold's built-in simulator at ${simulator.url} (${why}); replies are generated, not written by a model.`,
    close: () => simulator.close(),
  };
}
