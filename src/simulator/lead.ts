/**
 * The simulated model lead: what the simulated model does when a request offers the `Agent`
 * tool of src/lead/agentTool.ts (a client tool of that name whose schema has `agent_ids`). It
 * reads the conversation so far and takes the next step of a fan-out, seeded by the request like
 * all simulated text:
 *
 * 1. no `Agent` call yet: a short text, then one spawn call (`{ prompt, description, template }`)
 *    per agent of its plan (leadPlan.ts), all in one reply; `stop_reason: 'tool_use'`;
 * 2. spawn results in and no join yet: a short text, then one join call whose `agent_ids` are
 *    every started agent's id in spawn order (a spawn that came back as an error is left out);
 *    `tool_use`;
 * 3. the join result in: the synthesis — synthesis.ts's, fed with the fulfilled agents as
 *    findings and every missing agent (timed out, failed, skipped, not started) as a gap with
 *    why; `end_turn`.
 *
 * `tool_choice: none` answers at once with whatever results the conversation holds;
 * `disable_parallel_tool_use` spawns one agent per reply until the plan is spawned, then joins;
 * `any` (or `Agent` forced) writes no text before its calls, as the API prefills, and with
 * nothing left to call joins again. A request that forces a different tool is not a lead's:
 * the tool-use script (toolUse.ts) answers it.
 */
import { AGENT_TOOL_NAME, type JoinedAgent } from '../lead/agentTool.ts';
import type { ReplyBlock, ToolUseBlock } from './content.ts';
import { planLead, type LeadPlan, type PlannedAgent } from './leadPlan.ts';
import { Random, hashString } from './random.ts';
import type { ParsedMessagesRequest } from './request.ts';
import { SIMULATED_LABEL } from './specialist.ts';
import { synthesisReply, type Finding, type MissingAngle } from './synthesis.ts';
import { fanfoldToolOf, resultText, type ToolReplyDraft } from './toolUse.ts';
import type { ClientTool, ConversationMessage, ToolDefinition } from './tools.ts';
import { headWords } from './vocab.ts';
import { isRecord } from './isRecord.ts';

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The `Agent` tool among the offered tools: named `Agent`, with `agent_ids` in its schema (a lookalike without it is an ordinary tool). */
export function agentToolOf(tools: readonly ToolDefinition[]): ClientTool | null {
  return fanfoldToolOf(tools, AGENT_TOOL_NAME, 'agent_ids');
}

/** The template names the tool's schema lists (`template.enum`); empty when it lists none. */
export function templatesOf(tool: ClientTool): string[] {
  const properties = tool.inputSchema['properties'];
  const template = isRecord(properties) ? properties['template'] : undefined;
  const names = isRecord(template) ? template['enum'] : undefined;
  return Array.isArray(names) ? names.filter((name): name is string => typeof name === 'string' && name !== '') : [];
}

/** One spawn call of the conversation and what came of it. */
interface SpawnRecord {
  description: string;
  /** From the result; `null` until it is in, or when the spawn failed. */
  agentId: string | null;
  /** Why the spawn failed (an error result, or a result without an id); `null` otherwise. */
  error: string | null;
}

/** One join call of the conversation and its result (`null` until it is in). */
interface JoinRecord {
  ids: string[];
  result: { text: string; isError: boolean } | null;
}

interface LeadConversation {
  spawns: SpawnRecord[];
  joins: JoinRecord[];
}

/** The agent id in a spawn result: its JSON's `agent_id` (a result written by other code may wrap the JSON in prose). */
function agentIdOf(text: string): string | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && typeof parsed['agent_id'] === 'string' && parsed['agent_id'] !== '') return parsed['agent_id'];
  } catch {
    // Not JSON alone: look for the field.
  }
  return /"agent_id"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? null;
}

function readConversation(messages: readonly ConversationMessage[]): LeadConversation {
  const conversation: LeadConversation = { spawns: [], joins: [] };
  const calls = new Map<string, SpawnRecord | JoinRecord>();
  for (const message of messages) {
    for (const block of message.blocks) {
      if (block['type'] === 'tool_use' && block['name'] === AGENT_TOOL_NAME) {
        const input = isRecord(block['input']) ? block['input'] : {};
        const ids = input['agent_ids'];
        if (Array.isArray(ids)) {
          const join: JoinRecord = { ids: ids.filter((id): id is string => typeof id === 'string'), result: null };
          conversation.joins.push(join);
          calls.set(String(block['id']), join);
        } else {
          const description = str(input['description'])?.trim() || headWords(str(input['prompt']) ?? 'agent', 6);
          const spawn: SpawnRecord = { description, agentId: null, error: null };
          conversation.spawns.push(spawn);
          calls.set(String(block['id']), spawn);
        }
      } else if (block['type'] === 'tool_result') {
        const call = calls.get(String(block['tool_use_id']));
        if (!call) continue;
        const text = resultText(block['content']);
        const isError = block['is_error'] === true;
        if ('ids' in call) {
          call.result = { text, isError };
        } else if (isError) {
          call.error = headWords(text.replace(/\s+/g, ' '), 16) || 'the spawn failed';
        } else {
          call.agentId = agentIdOf(text);
          if (call.agentId === null) call.error = `no agent id in the result "${headWords(text.replace(/\s+/g, ' '), 10)}"`;
        }
      }
    }
  }
  return conversation;
}

const unescapeAttribute = (value: string): string =>
  value
    .replace(/&lt;/g, '<')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
const JOIN_STATUSES = new Set<JoinedAgent['status']>(['fulfilled', 'rejected', 'timedOut', 'skipped']);

/**
 * The agents of a join result (`joinResultText`'s format): one per `<agent …>` block, in order.
 * Attribute values never hold a raw `"` (it is escaped), so a `>` inside one does not end the tag.
 *
 * @example
 * parseJoinResult(joinResultText(agents)); // deep-equals `agents`
 */
export function parseJoinResult(text: string): JoinedAgent[] {
  const agents: JoinedAgent[] = [];
  for (const match of text.matchAll(/<agent((?:\s+[\w-]+="[^"]*")*)\s*>([\s\S]*?)<\/agent>/g)) {
    const attributes = new Map<string, string>();
    for (const pair of (match[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)) attributes.set(pair[1] ?? '', unescapeAttribute(pair[2] ?? ''));
    const status = attributes.get('status') as JoinedAgent['status'] | undefined;
    const body = (match[2] ?? '').trim();
    agents.push({
      id: attributes.get('id') ?? `agent-${agents.length + 1}`,
      template: attributes.get('template') ?? '',
      description: attributes.get('description') ?? '',
      status: status && JOIN_STATUSES.has(status) ? status : 'rejected',
      output: status === 'fulfilled' ? body : null,
      reason: attributes.get('reason') ?? null,
    });
  }
  return agents;
}

const STATUS_WORDS: Record<Exclude<JoinedAgent['status'], 'fulfilled'>, string> = { timedOut: 'timed out', rejected: 'failed', skipped: 'skipped' };

/** Why a joined agent is missing: its status in words, and its reason when the reason does not already say it. */
function missingReason(agent: JoinedAgent): string {
  const words = agent.status === 'fulfilled' ? 'no output' : STATUS_WORDS[agent.status];
  if (!agent.reason) return words;
  return agent.reason.toLowerCase().startsWith(words) ? agent.reason : `${words} — ${agent.reason}`;
}

/** The findings and gaps the conversation holds: the last join's agents, failed spawns, agents never joined, and agents never spawned. */
function foldResults(plan: LeadPlan, conversation: LeadConversation): { findings: Finding[]; missing: MissingAngle[] } {
  const findings: Finding[] = [];
  const missing: MissingAngle[] = [];
  const accounted = new Set<string>();
  const answered = conversation.joins.filter((join) => join.result !== null);
  // The last join that worked; else the last one that failed (an unknown id, …).
  const join = answered.filter((record) => !record.result?.isError).at(-1) ?? answered.at(-1);
  const described = new Map(conversation.spawns.flatMap((spawn) => (spawn.agentId ? [[spawn.agentId, spawn.description] as const] : [])));
  if (join?.result?.isError) {
    const why = `the join failed — ${headWords(join.result.text.replace(/\s+/g, ' '), 16)}`;
    for (const id of join.ids) {
      missing.push({ id, angle: described.get(id) ?? id, reason: why });
      accounted.add(id);
    }
  } else if (join?.result) {
    for (const agent of parseJoinResult(join.result.text)) {
      const angle = agent.description || described.get(agent.id) || agent.id;
      if (agent.status === 'fulfilled') findings.push({ id: agent.id, angle, text: agent.output ?? '' });
      else missing.push({ id: agent.id, angle, reason: missingReason(agent) });
      accounted.add(agent.id);
    }
  }
  for (const spawn of conversation.spawns) {
    // The id slot says what happened: no agent exists to name.
    if (spawn.error !== null) missing.push({ id: 'could not be started', angle: spawn.description, reason: spawn.error });
    else if (spawn.agentId !== null && !accounted.has(spawn.agentId)) missing.push({ id: spawn.agentId, angle: spawn.description, reason: 'still running — not joined' });
  }
  for (const agent of plan.agents.slice(conversation.spawns.length)) missing.push({ id: 'not dispatched', angle: agent.description, reason: '' });
  return { findings, missing };
}

function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

const agentsWord = (count: number, template: string | null): string => `${count} ${template ? `${template} ` : ''}agent${count === 1 ? '' : 's'}`;

/** The short text before spawn calls: the whole plan on the first turn, what comes next on later ones. */
function spawnText(plan: LeadPlan, next: readonly PlannedAgent[], spawned: number, oneAtATime: boolean): string {
  const labels = next.map((agent) => agent.label);
  if (spawned === 0) {
    const all = plan.agents.map((agent) => agent.label).join(', ');
    const how = plan.agents.length === 1 ? '' : oneAtATime ? ', one at a time' : ' in parallel';
    return `${SIMULATED_LABEL} I'll dispatch ${agentsWord(plan.agents.length, plan.template)}${how}: ${all}.${oneAtATime && plan.agents.length > 1 ? ` First: ${labels[0] ?? ''}.` : ''}`;
  }
  if (next.length === 1) return `${SIMULATED_LABEL} Next: the ${labels[0] ?? ''} agent (${spawned + 1} of ${plan.agents.length}).`;
  return `${SIMULATED_LABEL} Dispatching the remaining ${next.length} agents: ${labels.join(', ')}.`;
}

/** The short text before the join call. */
function joinText(conversation: LeadConversation, ids: readonly string[]): string {
  const failed = conversation.spawns.filter((spawn) => spawn.error !== null);
  if (failed.length === 0)
    return `${SIMULATED_LABEL} ${ids.length === 1 ? 'The agent is' : `All ${ids.length} agents are`} running (${ids.join(', ')}); I'll wait for ${ids.length === 1 ? 'it' : 'all of them'}.`;
  const names = listOf(failed.map((spawn) => spawn.description));
  return `${SIMULATED_LABEL} ${ids.length} of ${conversation.spawns.length} agents started (${names} could not be); I'll wait for the ${ids.length === 1 ? 'one that did' : `${ids.length} that did`}.`;
}

/**
 * The reply for a request that offers the `Agent` tool (see the module comment for the script),
 * or `null` when the request is not a lead's (no `Agent` tool, or another tool is forced).
 */
export function leadReply(request: ParsedMessagesRequest): ToolReplyDraft | null {
  const tool = agentToolOf(request.tools);
  if (!tool) return null;
  const choice = request.toolChoice ?? { type: 'auto', name: null, disableParallelToolUse: false };
  if (choice.type === 'tool' && choice.name !== tool.name) return null;

  const seed = hashString(request.seedSource);
  const tag = seed.toString(16).padStart(8, '0');
  const plan = planLead(request.system, request.firstUserText, templatesOf(tool));
  const conversation = readConversation(request.messages);
  const blocks: ReplyBlock[] = [];
  const finish = (stopReason: ToolReplyDraft['stopReason']): ToolReplyDraft => ({ blocks, stopReason, serverToolUse: { web_search_requests: 0, web_fetch_requests: 0 } });
  // A forced call is prefilled by the API: no text before it.
  const forced = choice.type === 'any' || choice.type === 'tool';
  const say = (text: string): void => {
    if (!forced) blocks.push({ type: 'text', text });
  };
  const call = (input: Record<string, unknown>): void => {
    blocks.push({ type: 'tool_use', id: `toolu_sim_${tag}_${blocks.filter((block) => block.type === 'tool_use').length + 1}`, name: tool.name, input } satisfies ToolUseBlock);
  };
  const spawn = (from: number): ToolReplyDraft => {
    const next = plan.agents.slice(from, choice.disableParallelToolUse ? from + 1 : undefined);
    say(spawnText(plan, next, from, choice.disableParallelToolUse));
    for (const agent of next) call({ prompt: agent.prompt, description: agent.description, ...(plan.template ? { template: plan.template } : {}) });
    return finish('tool_use');
  };
  const started = conversation.spawns.flatMap((record) => (record.agentId !== null ? [record.agentId] : []));
  const join = (): ToolReplyDraft => {
    say(joinText(conversation, started));
    call({ agent_ids: started });
    return finish('tool_use');
  };
  const answer = (): ToolReplyDraft => {
    const { findings, missing } = foldResults(plan, conversation);
    blocks.push({ type: 'text', text: synthesisReply({ task: plan.task, findings, missing }, new Random(seed)) });
    return finish('end_turn');
  };

  if (choice.type === 'none') return answer();
  const joined = conversation.joins.length > 0;
  if (!joined && conversation.spawns.length < plan.agents.length) return spawn(conversation.spawns.length);
  if (!joined && started.length > 0) return join();
  if (!forced) return answer();
  // Forced to call with nothing left to do: wait for the agents again, or start over when none started.
  return started.length > 0 ? join() : spawn(0);
}
