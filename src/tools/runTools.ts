/**
 * The tools of one run: the toolbox its specialists resolve against, and the MCP servers it
 * owns. MCP servers are started once per run (not per specialist), before any model call, and
 * only those some specialist refers to; a reference they cannot satisfy is a `ConfigError`
 * before any call; they are stopped when the run ends, however it ends.
 */
import { normalizeConfig, type FanOutConfig, type LeadInput, type NormalizedConfig, type SpecialistSpec } from '../config.ts';
import type { McpServers } from './mcp.ts';
import { checkToolReferences, createToolbox, type Toolbox, type ToolboxSources } from './toolbox.ts';
import type { ToolSpec } from './types.ts';

/**
 * Opens MCP servers. The MCP client is loaded only here, on first use: a run (or an app that
 * imports fanfold) without MCP servers never loads it.
 */
async function openMcpServers(servers: NormalizedConfig['mcp'], options: { source: string }): Promise<McpServers> {
  const mcp = await import('./mcp.ts');
  return mcp.openMcpServers(servers, options);
}

/** A run's tools. */
export interface RunTools {
  toolbox: Toolbox;
  /** Resolves once MCP servers are up and every reference checked; `null` when nothing is left to wait for. */
  ready: Promise<void> | null;
  /** Stops the run's MCP servers (if any). Never rejects. */
  close(): Promise<void>;
}

/** Every distinct tool list of a run's specialists, with the config path of one specialist that has it. */
export function toolListsOf(level: Pick<LeadInput, 'specialists'> & { lead?: LeadInput['lead'] }, prefix = ''): Array<{ path: string; tools: readonly ToolSpec[] }> {
  const lists = new Map<readonly ToolSpec[], string>();
  const visit = (specs: readonly SpecialistSpec[], at: string) =>
    specs.forEach((spec, index) => {
      const path = `${at}specialists[${index}]`;
      if (spec.tools.length > 0 && !lists.has(spec.tools)) lists.set(spec.tools, `${path}.tools`);
      if (spec.fanOut) visit(spec.fanOut.specialists, `${path}.`);
    });
  // A model lead's templates are the config's `specialists` (the ones it spawned are copies of
  // them); its own tools are `lead.tools`.
  if (level.lead) {
    visit(level.lead.templates, prefix);
    lists.set(level.lead.agent.tools, `${prefix}lead.tools`);
  } else {
    visit(level.specialists, prefix);
  }
  return [...lists].map(([tools, path]) => ({ path, tools }));
}

/** Names of the MCP servers some specialist refers to. */
export function mcpServersUsed(level: Pick<LeadInput, 'specialists'> & { lead?: LeadInput['lead'] }): Set<string> {
  const used = new Set<string>();
  for (const { tools } of toolListsOf(level)) for (const tool of tools) if (tool.source === 'mcp') used.add(tool.server);
  return used;
}

/**
 * The tools of a normalised config. Without MCP servers to start, every check runs now (a bad
 * reference throws here); otherwise `ready` starts the servers, checks, and rejects with a
 * `ConfigError` naming what failed. `mcp`: servers already started (see {@link startMcpServers}).
 */
export function prepareRunTools(normalized: NormalizedConfig, source: string, mcp?: McpServers): RunTools {
  const sources: ToolboxSources = { codeTools: normalized.codeTools, mcp: mcp ?? null };
  const toolbox = createToolbox(sources);
  const lists = toolListsOf(normalized.input);
  const used = mcpServersUsed(normalized.input);
  let owned: McpServers | null = mcp ?? null;
  const close = async () => {
    const servers = owned;
    owned = null;
    await servers?.close();
  };
  if (lists.length === 0) return { toolbox, ready: null, close };
  if (used.size === 0 || mcp) {
    checkToolReferences(source, normalized.mcpToolReferences, lists, toolbox, mcp ?? null);
    return { toolbox, ready: null, close };
  }
  const needed = Object.fromEntries(Object.entries(normalized.mcp).filter(([name]) => used.has(name)));
  const ready = openMcpServers(needed, { source }).then((servers) => {
    owned = servers;
    sources.mcp = servers;
    try {
      checkToolReferences(source, normalized.mcpToolReferences, lists, toolbox, servers);
    } catch (error) {
      return close().then(() => Promise.reject(error));
    }
    return undefined;
  });
  return { toolbox, ready, close };
}

/**
 * Starts the MCP servers a run config refers to and checks every tool reference against what
 * they offer, before any model call: for callers (the CLI) that want a bad server or tool to
 * fail before a run starts. Pass the result as `mcp` in the run options; the run stops the
 * servers when it ends. Throws a `ConfigError` naming the server (with its stderr's last
 * lines) or the tool reference.
 *
 * @example
 * const mcp = await startMcpServers(config, { source: 'app.yaml' });
 * const run = runFanOut(config, { provider, mcp });
 */
export async function startMcpServers(config: FanOutConfig, options: { source?: string } = {}): Promise<McpServers> {
  const source = options.source ?? 'run config';
  const normalized = normalizeConfig(config, source);
  const used = mcpServersUsed(normalized.input);
  const needed = Object.fromEntries(Object.entries(normalized.mcp).filter(([name]) => used.has(name)));
  const servers = await openMcpServers(needed, { source });
  try {
    checkToolReferences(source, normalized.mcpToolReferences, toolListsOf(normalized.input), createToolbox({ codeTools: normalized.codeTools, mcp: servers }), servers);
  } catch (error) {
    await servers.close();
    throw error;
  }
  return servers;
}
