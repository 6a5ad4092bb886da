/**
 * How a run names its MCP servers: a map from a server name (what specialists' `tools` refer
 * to) to how to reach it — a command started as a child process (stdio), or a URL (Streamable
 * HTTP). The `env` and `headers` given here may hold credentials: they go to the server and
 * nowhere else (not into the machine's input, snapshots, checkpoints, events or logs).
 */
import { z } from 'zod';

/** An MCP server started as a child process, speaking over its stdin and stdout. */
export interface McpStdioServerConfig {
  command: string;
  args?: string[];
  /** Extra environment for the process (added to a minimal one: `PATH`, `HOME`, …). Kept secret. */
  env?: Record<string, string>;
  /** Working directory of the process. Default: the current one. */
  cwd?: string;
  /** Only these of its tools are offered. Default: all. */
  allowedTools?: string[];
  /** How long starting it and listing its tools may take, in ms. Default `30_000`. */
  startTimeoutMs?: number;
}

/** An MCP server reached over Streamable HTTP. */
export interface McpHttpServerConfig {
  url: string;
  /** Extra request headers (an `Authorization` header, say). Kept secret. */
  headers?: Record<string, string>;
  allowedTools?: string[];
  startTimeoutMs?: number;
}

/** One MCP server of a run. */
export type McpServerConfig = McpStdioServerConfig | McpHttpServerConfig;

/** MCP server names: they appear in tool references (`github.search_issues`), so no dots. */
export const MCP_SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const text = z.string({ error: 'expected a string' });
const nonEmpty = text.min(1, { error: 'expected a non-empty string' });
const strings = z.record(text, text, { error: 'expected a map of strings' });
const toolNames = z.array(nonEmpty, { error: 'expected a list of tool names' });
const startTimeout = z
  .number({ error: 'expected an integer from 1 to 600000 (ms)' })
  .int({ error: 'expected an integer from 1 to 600000 (ms)' })
  .min(1, { error: 'expected an integer from 1 to 600000 (ms)' })
  .max(600_000, { error: 'expected an integer from 1 to 600000 (ms)' });

const stdioSchema = z.strictObject({
  command: nonEmpty,
  args: z.array(text, { error: 'expected a list of strings' }).optional(),
  env: strings.optional(),
  cwd: nonEmpty.optional(),
  allowedTools: toolNames.optional(),
  startTimeoutMs: startTimeout.optional(),
});

const httpSchema = z.strictObject({
  url: nonEmpty.refine((value) => /^https?:\/\/[^/]/i.test(value) && URL.canParse(value), { error: 'expected an http(s) URL' }),
  headers: strings.optional(),
  allowedTools: toolNames.optional(),
  startTimeoutMs: startTimeout.optional(),
});

/** The run's `mcp:` map. */
export const mcpServersSchema = z.record(text, z.unknown(), { error: 'expected a map from server names to `{ command, args?, env? }` or `{ url }`' }).superRefine((servers, ctx) => {
  for (const [name, server] of Object.entries(servers)) {
    if (!MCP_SERVER_NAME.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'expected a server name of letters, digits, "_" or "-" (starting with a letter or digit, no dots)', params: { plain: true } });
    }
    const isObject = server !== null && typeof server === 'object' && !Array.isArray(server);
    const hasCommand = isObject && 'command' in server;
    const hasUrl = isObject && 'url' in server;
    if (!isObject || hasCommand === hasUrl) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'expected `{ command, args?, env? }` (a stdio server) or `{ url }` (Streamable HTTP), exactly one of them', params: { plain: true } });
      continue;
    }
    const parsed = (hasCommand ? stdioSchema : httpSchema).safeParse(server);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [name, ...issue.path] } as never);
  }
});

/** True for a stdio server config. */
export function isStdioServer(server: McpServerConfig): server is McpStdioServerConfig {
  return 'command' in server;
}
