/**
 * Credentials of an app file's agents, resolved for the CLI: a credential name (`brain:
 * { credential: anthropic_main }`) reads its key from the environment variable the file's
 * `credentials:` map gives it, or from `ANTHROPIC_API_KEY` when the map does not list it (the
 * usual case: one Anthropic key). Keys are read here and handed to providers; they are never
 * printed — errors name the credential, where it is used and the variable, not the value.
 */
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { createAnthropicProvider } from '../providers/anthropic.ts';
import type { ModelProvider } from '../providers/provider.ts';

/** What an app file says about credentials (see `AppFile.credentials`). */
export interface CredentialsDeclared {
  /** Credential name → the environment variable holding its key. */
  map: Record<string, string>;
  /** Every use of a credential name, with its path in the file. */
  used: Array<{ name: string; path: string }>;
}

/** The variable a credential name reads: its `credentials:` entry, else `ANTHROPIC_API_KEY`. */
export function credentialVariable(declared: CredentialsDeclared, name: string): string {
  return declared.map[name] ?? 'ANTHROPIC_API_KEY';
}

/** Environment variables that could hold a key for this run (the default one first). */
export function keyVariables(declared: CredentialsDeclared | undefined): string[] {
  const names = new Set(['ANTHROPIC_API_KEY']);
  for (const use of declared?.used ?? []) names.add(credentialVariable(declared!, use.name));
  return [...names];
}

/**
 * The first key that is set, and the variable it came from: a run with any key set calls the
 * API; a run with none goes to the simulator.
 */
export function firstKey(declared: CredentialsDeclared | undefined, env: Readonly<Record<string, string | undefined>>): { value: string; from: string } | null {
  for (const name of keyVariables(declared)) {
    const value = env[name];
    if (value) return { value, from: name };
  }
  return null;
}

/**
 * With keys set: every credential an agent uses must resolve to a key, or the run is refused
 * (a `ConfigError` naming each one, before any call). Returns a provider per credential name,
 * sharing `defaultProvider` for the key it already uses.
 */
export function credentialProviders(
  declared: CredentialsDeclared,
  env: Readonly<Record<string, string | undefined>>,
  source: string,
  fallback: { key: string; provider: ModelProvider },
): Record<string, ModelProvider> {
  const issues: ConfigIssue[] = [];
  const byKey = new Map<string, ModelProvider>([[fallback.key, fallback.provider]]);
  const providers: Record<string, ModelProvider> = {};
  for (const use of declared.used) {
    const variable = credentialVariable(declared, use.name);
    const key = env[variable];
    if (!key) {
      const how = declared.map[use.name] ? `the file's \`credentials\` map it to the environment variable ${variable}` : `it is not in the file's \`credentials\`, so it reads ${variable}`;
      issues.push({ path: use.path, message: `credential "${use.name}" resolves to no key: ${how}, which is not set` });
      continue;
    }
    let provider = byKey.get(key);
    if (!provider) byKey.set(key, (provider = createAnthropicProvider({ apiKey: key, env })));
    providers[use.name] = provider;
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  return providers;
}
