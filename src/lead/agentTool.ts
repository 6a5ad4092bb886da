/**
 * The `Agent` tool of a model lead: its contract with the model. One tool, two uses:
 *
 * - **spawn** — `Agent({ prompt, description?, template? })` starts a specialist from a template
 *   in the background and returns its id at once (`{"agent_id":"explorer-1",…}`); several spawn
 *   calls in one response start in parallel;
 * - **join** — `Agent({ agent_ids: [...], timeout_s? })` waits until every one of them has
 *   finished (or hit its deadline) and returns their results in the order given, one
 *   `<agent …>` block each.
 *
 * The lead machine carries the calls out (`machines/lead.ts`); this module only says what the
 * model sees and reads: the tool's definition, how its input is parsed, and how results are
 * written. The simulator reads the same formats to play a lead offline.
 */
import { FanfoldError } from '../errors.ts';
import type { ClientToolDefinition } from '../providers/provider.ts';

/** The name the model calls. */
export const AGENT_TOOL_NAME = 'Agent';

/** A spawn call, parsed. */
export interface SpawnCall {
  kind: 'spawn';
  /** The specialist's whole brief: objective, what to return, tools or sources to use, boundaries. */
  prompt: string;
  /** A short label of its angle, for reports; default: made from the prompt. */
  description: string | null;
  /** The template it is made from; default: the first template. */
  template: string | null;
}

/** A join call, parsed. */
export interface JoinCall {
  kind: 'join';
  ids: string[];
  /** Stop the ones still running after this long (ms from the call); `null`: their own deadlines. */
  timeoutMs: number | null;
}

/** What an `Agent` call asks for. */
export type AgentCall = SpawnCall | JoinCall;

/**
 * The tool's definition as the model sees it, listing the templates it may spawn from.
 *
 * @example
 * agentToolDefinition(['explorer']).name; // 'Agent'
 */
export function agentToolDefinition(templates: readonly string[]): ClientToolDefinition {
  const first = templates[0] ?? 'specialist';
  return {
    kind: 'client',
    name: AGENT_TOOL_NAME,
    description:
      'Delegate to specialist sub-agents that work in parallel. ' +
      'Spawn: call with `prompt` (and optionally `description` and `template`); the agent starts in the background and its `agent_id` comes back at once. ' +
      'Make several spawn calls in one response to run agents in parallel. Give each a self-contained brief: its objective, what to return, which sources or tools to use, and its boundaries. ' +
      'Join: call with `agent_ids` to wait until all of them have finished; their results come back in the order given, each with its status ' +
      '(an agent that timed out or failed is reported with why). Then answer, or spawn more.',
    inputSchema: {
      type: 'object',
      properties: {
        prompt: { type: 'string', description: 'Spawn: the brief of a new agent.' },
        description: { type: 'string', description: 'Spawn: a short label of its angle (3-6 words).' },
        template: { type: 'string', enum: [...templates], description: `Spawn: which kind of agent (default "${first}").` },
        agent_ids: { type: 'array', items: { type: 'string' }, description: 'Join: ids returned by spawn calls, in the order you want their results.' },
        timeout_s: { type: 'number', description: 'Join: wait at most this many seconds; agents still running then are stopped and reported as timed out.' },
      },
    },
  };
}

/**
 * Parses an `Agent` call's input. Throws a `FanfoldError` (code `tool`) whose message tells the model what to fix
 * (it comes back to it as an error result).
 */
export function parseAgentCall(input: unknown, templates: readonly string[]): AgentCall {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new FanfoldError('tool', 'Expected an object with `prompt` (to spawn an agent) or `agent_ids` (to wait for agents).');
  // Models often send `null` for an optional field they leave out.
  const fields = Object.fromEntries(Object.entries(input as Record<string, unknown>).filter(([, value]) => value !== null));
  const hasPrompt = fields['prompt'] !== undefined;
  const hasIds = fields['agent_ids'] !== undefined;
  if (hasPrompt === hasIds) throw new FanfoldError('tool', 'Give either `prompt` (to spawn one agent) or `agent_ids` (to wait for agents), not both and not neither.');
  if (hasIds) {
    const ids = fields['agent_ids'];
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && id.length > 0))
      throw new FanfoldError('tool', '`agent_ids` must be a non-empty list of agent ids (strings returned by spawn calls).');
    const timeout = fields['timeout_s'];
    if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)) throw new FanfoldError('tool', '`timeout_s` must be a number of seconds above 0.');
    return { kind: 'join', ids: [...new Set(ids as string[])], timeoutMs: typeof timeout === 'number' ? Math.min(Math.ceil(timeout * 1000), 2_147_483_647) : null };
  }
  const prompt = fields['prompt'];
  if (typeof prompt !== 'string' || prompt.trim() === '') throw new FanfoldError('tool', '`prompt` must be a non-empty string: the brief of the agent to spawn.');
  const description = fields['description'];
  if (description !== undefined && typeof description !== 'string') throw new FanfoldError('tool', '`description` must be a string.');
  const template = fields['template'];
  if (template !== undefined && (typeof template !== 'string' || !templates.includes(template))) {
    throw new FanfoldError('tool', `\`template\` must be one of ${templates.map((name) => `"${name}"`).join(', ')}, got ${JSON.stringify(template)}.`);
  }
  return {
    kind: 'spawn',
    prompt: prompt.trim(),
    description: typeof description === 'string' && description.trim() !== '' ? description.trim() : null,
    template: (template as string | undefined) ?? null,
  };
}

/** A spawn call's result: the new agent's id, as JSON the model reads. */
export function spawnResultText(agentId: string, template: string, description: string): string {
  return JSON.stringify({ agent_id: agentId, template, description, status: 'running' });
}

/** One joined agent, as the join reports it. */
export interface JoinedAgent {
  id: string;
  template: string;
  description: string;
  status: 'fulfilled' | 'rejected' | 'timedOut' | 'skipped';
  /** The finding, when fulfilled. */
  output: string | null;
  /** Why it is missing, in words, when not fulfilled. */
  reason: string | null;
}

const attribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/\n/g, ' ');

/**
 * A join's result: one `<agent id="…" template="…" description="…" status="…">` block per
 * agent, in the order asked; a finished one holds its finding, a missing one a `reason`.
 */
export function joinResultText(agents: readonly JoinedAgent[]): string {
  const done = agents.filter((agent) => agent.status === 'fulfilled').length;
  const blocks = agents.map((agent) => {
    const head = `<agent id="${attribute(agent.id)}" template="${attribute(agent.template)}" description="${attribute(agent.description)}" status="${agent.status}"${agent.reason ? ` reason="${attribute(agent.reason)}"` : ''}>`;
    return agent.status === 'fulfilled' ? `${head}\n${agent.output ?? ''}\n</agent>` : `${head}</agent>`;
  });
  return [`${done} of ${agents.length} agents finished.`, ...blocks].join('\n\n');
}

/** A lead agent's `Agent` call, sent to its parent (the lead machine), which answers with {@link AgentResultEvent}. */
export interface AgentCallEvent {
  type: 'agent.call';
  /** The model's id for the call (`toolu_…`): the answer names it, and a call re-sent after a restore is recognised by it. */
  callId: string;
  input: unknown;
  /** The lead's turn that made the call. */
  turn: number;
  /** When it was made, on the run's clock (the lead machine reads no clock). */
  at: number;
}

/** The lead machine's answer to an `Agent` call: the tool result the lead's model reads. */
export interface AgentResultEvent {
  type: 'agent.result';
  callId: string;
  content: string;
  isError: boolean;
}
