/**
 * The run's toolbox: turns a specialist's tool specs (JSON, in the machine's input) into what
 * its loop needs — the definitions offered to the model, and the runnable tool behind a name
 * the model called. Code tools come from the run's registry, MCP tools from the servers the
 * run started; both are resolved once per distinct tool list (specialists that inherit one list
 * share it), so 10,000 specialists with the same tools cost one resolution.
 */
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { ModelToolDefinition } from '../providers/provider.ts';
import { serverToolDefinition } from './serverTools.ts';
import { AGENT_TOOL_NAME, agentToolDefinition } from '../lead/agentTool.ts';
import { REPORT_TOOL_NAME, reportToolDefinition } from '../findings/reportTool.ts';
import type { ToolDefinition } from './tool.ts';
import type { ToolSpec } from './types.ts';

/** Where MCP tools come from: the servers a run started (see `mcp.ts`). */
export interface McpToolSource {
  /** The tools a server offers (its `allowedTools`), or `undefined` for an unknown server. */
  tools(server: string): readonly ToolDefinition[] | undefined;
}

/** The tools of one specialist, resolved. */
export interface ResolvedTools {
  /** In the order the config lists them (an MCP server's tools in the server's order). */
  definitions: ModelToolDefinition[];
  /** Client tools by the name the model calls them. */
  byName: ReadonlyMap<string, ToolDefinition>;
}

/** Resolves tool specs for specialists' loops. */
export interface Toolbox {
  /** Throws a `ConfigError` for a reference the toolbox cannot resolve (checked before any call by {@link checkToolReferences}). */
  resolve(tools: readonly ToolSpec[]): ResolvedTools;
}

/** What a toolbox is made of. */
export interface ToolboxSources {
  /** Code tools by spec `key` (`NormalizedConfig.codeTools`). */
  codeTools: ReadonlyMap<string, ToolDefinition>;
  /** The run's MCP servers; `null` when it has none (or they are not started yet). */
  mcp: McpToolSource | null;
}

/** The MCP tool a name refers to: its own MCP name or the name the model sees. */
function findMcpTool(tools: readonly ToolDefinition[], name: string): ToolDefinition | undefined {
  return tools.find((tool) => (tool as { mcp?: { tool?: string } }).mcp?.tool === name) ?? tools.find((tool) => tool.name === name);
}

/**
 * A toolbox over the given sources. `sources.mcp` may be set later (when the run's servers have
 * started); nothing resolves MCP tools before that.
 *
 * @example
 * const toolbox = createToolbox({ codeTools: normalized.codeTools, mcp: null });
 * toolbox.resolve(spec.tools).definitions; // what the model is offered
 */
export function createToolbox(sources: ToolboxSources): Toolbox {
  const cache = new WeakMap<readonly ToolSpec[], ResolvedTools>();
  const fail = (message: string): never => {
    throw new ConfigError('run config', [{ path: 'tools', message }]);
  };
  return {
    resolve(tools) {
      const cached = cache.get(tools);
      if (cached) return cached;
      const definitions: ModelToolDefinition[] = [];
      const byName = new Map<string, ToolDefinition>();
      const addClient = (tool: ToolDefinition) => {
        if (byName.has(tool.name)) fail(`two tools of one specialist are both named "${tool.name}"`);
        byName.set(tool.name, tool);
        definitions.push({ kind: 'client', name: tool.name, description: tool.description, inputSchema: tool.inputSchema });
      };
      for (const spec of tools) {
        if (spec.source === 'server') definitions.push(serverToolDefinition(spec));
        // The lead machine answers `Agent` calls (see specialist.ts): offered, never run here.
        // Read by the loop itself (`agentLoop.ts`): offered, never run.
        else if (spec.source === 'report') {
          if (byName.has(REPORT_TOOL_NAME)) fail(`the tool name "${REPORT_TOOL_NAME}" is the specialist's own (weighted synthesis): another of its tools has it`);
          definitions.push(reportToolDefinition());
        } else if (spec.source === 'agent') {
          if (byName.has(AGENT_TOOL_NAME)) fail(`the tool name "${AGENT_TOOL_NAME}" is the lead's own spawn-and-join tool: another of its tools has it`);
          definitions.push(agentToolDefinition(spec.templates));
        } else if (spec.source === 'code') addClient(sources.codeTools.get(spec.key) ?? fail(`no code tool is registered under ${spec.key}: pass the run's config (its defineTool tools) again`));
        else {
          const offered = sources.mcp?.tools(spec.server) ?? fail(`the MCP server "${spec.server}" is not running`);
          if (spec.tool === null) offered.forEach(addClient);
          else addClient(findMcpTool(offered, spec.tool) ?? fail(`the MCP server "${spec.server}" has no tool "${spec.tool}"`));
        }
      }
      const resolved = { definitions, byName };
      cache.set(tools, resolved);
      return resolved;
    },
  };
}

/**
 * Checks, once the run's MCP servers have listed their tools and before any model call, that
 * every `"<server>.<tool>"` reference names a tool the server offers and that no specialist
 * ends up with two tools of one name. Throws a `ConfigError` listing every problem.
 */
export function checkToolReferences(
  source: string,
  references: ReadonlyArray<{ path: string; server: string; tool: string }>,
  toolLists: Iterable<{ path: string; tools: readonly ToolSpec[] }>,
  toolbox: Toolbox,
  mcp: McpToolSource | null,
): void {
  const issues: ConfigIssue[] = [];
  for (const reference of references) {
    const offered = mcp?.tools(reference.server);
    if (offered && !findMcpTool(offered, reference.tool)) {
      const names = offered.map((tool) => `"${(tool as { mcp?: { tool?: string } }).mcp?.tool ?? tool.name}"`).join(', ');
      issues.push({ path: reference.path, message: `the MCP server "${reference.server}" has no tool "${reference.tool}" (it offers ${names || 'none'}, after its allowedTools)` });
    }
  }
  if (issues.length === 0) {
    for (const { path, tools } of toolLists) {
      try {
        toolbox.resolve(tools);
      } catch (error) {
        issues.push({ path, message: error instanceof ConfigError ? error.issues[0]!.message : String(error) });
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
}
