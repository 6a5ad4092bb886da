/**
 * Where model calls go by default: the real Anthropic API when `ANTHROPIC_API_KEY` is set, else
 * (or when asked) fanfold's simulator, started on loopback for this process. Either way calls go
 * through the same Anthropic provider and the unmodified SDK, so offline runs exercise the real
 * path.
 */
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/index.ts';
import { createAnthropicProvider, type AnthropicProvider } from './anthropic.ts';

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
  /** Use the simulator even when a key is set. Default `false`. */
  simulate?: boolean;
  /** Why the simulator is used when `simulate` is set, for the banner. Default: "the simulator was asked for". */
  simulateReason?: string;
  /** Environment to read `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Options for the simulator, when it is used (latency, faults). */
  simulator?: SimulatorOptions;
  /**
   * The key to call the API with and the variable it came from (an app file's credential),
   * instead of `ANTHROPIC_API_KEY`. Default: `ANTHROPIC_API_KEY` from `env`.
   */
  key?: { value: string; from: string } | null;
  /** The variables a key could have come from, for the banner when none is set. Default `['ANTHROPIC_API_KEY']`. */
  keyVariables?: readonly string[];
}

/** The key the simulator is called with: it is no secret, and it never reaches the real API. */
const SIMULATOR_KEY = 'sk-fanfold-simulator';

/**
 * Opens the backend: the real API, or a simulator started for this process. Close it when done.
 *
 * @example
 * const backend = await openBackend();
 * console.log(backend.banner);
 * const result = await runFanOut(config, { provider: backend.provider }).result;
 * await backend.close();
 */
export async function openBackend(options: BackendOptions = {}): Promise<Backend> {
  const env = options.env ?? process.env;
  const key = options.key === undefined ? (env['ANTHROPIC_API_KEY'] ? { value: env['ANTHROPIC_API_KEY'], from: 'ANTHROPIC_API_KEY' } : null) : options.key;
  if (key && !options.simulate) {
    const provider = createAnthropicProvider({ apiKey: key.value, env });
    return { mode: 'anthropic', provider, banner: `Calling the Anthropic API at ${provider.baseURL} (${key.from} is set).`, close: async () => {} };
  }
  const simulator: Simulator = await startSimulator(options.simulator);
  const provider = createAnthropicProvider({ apiKey: SIMULATOR_KEY, baseURL: simulator.url, env: {} });
  const variables = options.keyVariables ?? ['ANTHROPIC_API_KEY'];
  const why = options.simulate ? (options.simulateReason ?? 'the simulator was asked for') : variables.length === 1 ? `${variables[0]} is not set` : `none of ${variables.join(', ')} is set`;
  return {
    mode: 'simulator',
    provider,
    banner: `SIMULATED: offline run against fanfold's built-in simulator at ${simulator.url} (${why}); replies are generated, not written by a model.`,
    close: () => simulator.close(),
  };
}
