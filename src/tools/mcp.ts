/**
 * The MCP servers of a run: {@link openMcpServers} starts every server of the run's `mcp` in
 * parallel with the official `@modelcontextprotocol/sdk` client, lists each one's tools once and
 * hands them out as {@link ToolDefinition}s the specialists' loops run like any other tool.
 *
 * If any server fails to start, the ones that did are stopped and the call rejects with a
 * `ConfigError` holding one issue per failed server (`mcp.<name>`). A server that dies later
 * only fails its own tools' calls (`MCP server "<name>" is not running (…)`), which the loop
 * turns into error results; the run goes on. `env` and `headers` values never appear in any
 * message.
 */
import { systemClock, type Clock } from '../clock.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { McpServerConfig } from './mcpConfig.ts';
import { connectMcpServer, McpStartError, type McpConnection } from './mcpConnection.ts';
import type { McpToolDefinition } from './mcpToolDefinition.ts';
import type { ToolDefinition } from './tool.ts';

export type { McpToolDefinition } from './mcpToolDefinition.ts';
export { DEFAULT_START_TIMEOUT_MS } from './mcpConnection.ts';

/** Options of {@link openMcpServers}. */
export interface OpenMcpServersOptions {
  /** Names the config in a `ConfigError` (a file path, say). Default `'run config'`. */
  source?: string;
  /** How fanfold introduces itself to servers (`clientInfo.name`). Default `'fanfold'`. */
  clientName?: string;
  /** `clientInfo.version`. Default `'0.1.0'`. */
  clientVersion?: string;
  /** Times `startTimeoutMs`. Default: the system clock. */
  clock?: Clock;
}

/** The started MCP servers of a run. */
export interface McpServers {
  /** The tools of each server, as ToolDefinitions, in the server's order (after its `allowedTools`); `undefined` for an unknown server. */
  tools(server: string): readonly McpToolDefinition[] | undefined;
  /** Server names, in the config's order. */
  readonly names: readonly string[];
  /** Stops every server (closes the clients; stdio children are ended, killed if they do not exit within ~2 s). Idempotent; never rejects. */
  close(): Promise<void>;
}

/**
 * Starts the servers and lists their tools.
 *
 * @example
 * const mcp = await openMcpServers({ files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '.'] } });
 * try {
 *   const [readFile] = mcp.tools('files') ?? [];
 * } finally {
 *   await mcp.close();
 * }
 */
export async function openMcpServers(servers: Record<string, McpServerConfig>, options: OpenMcpServersOptions = {}): Promise<McpServers> {
  const entries = Object.entries(servers);
  const connect = { clientName: options.clientName ?? 'fanfold', clientVersion: options.clientVersion ?? '0.1.0', clock: options.clock ?? systemClock };
  const settled = await Promise.allSettled(entries.map(([name, config]) => connectMcpServer(name, config, connect)));
  const connections = new Map<string, McpConnection>();
  const issues: ConfigIssue[] = [];
  settled.forEach((result, index) => {
    const name = entries[index]![0];
    if (result.status === 'fulfilled') connections.set(name, result.value);
    else if (result.reason instanceof McpStartError) issues.push({ path: result.reason.path, message: result.reason.message });
    // connectMcpServer throws nothing else; should it, its text is not shown (it could hold a secret).
    else issues.push({ path: `mcp.${name}`, message: 'the MCP server failed to start: an unexpected error' });
  });
  if (issues.length > 0) {
    await Promise.all([...connections.values()].map((connection) => connection.close()));
    throw new ConfigError(options.source ?? 'run config', issues);
  }
  const names = Object.freeze(entries.map(([name]) => name));
  let closing: Promise<void> | null = null;
  return {
    names,
    tools: (server) => connections.get(server)?.tools,
    close() {
      closing ??= Promise.all([...connections.values()].map((connection) => connection.close())).then(
        () => {},
        () => {},
      );
      return closing;
    },
  };
}

/** True for a tool that came from an MCP server. */
export function isMcpTool(tool: ToolDefinition): tool is McpToolDefinition {
  const mcp = (tool as { mcp?: { server?: unknown; tool?: unknown } }).mcp;
  return typeof mcp?.server === 'string' && typeof mcp.tool === 'string';
}
